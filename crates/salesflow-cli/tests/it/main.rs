//! The integration tests: the real `salesflow` executable driven as a user would.

mod abtest;
mod analyze;
mod bad_input;
mod basket;
mod cdnow;
mod cleaning;
mod clv;
mod crm;
mod demo;
mod forecast;
mod predict;
mod recommend;
mod sql;
mod util;
