//! The integration tests: the real `salesflow` executable driven as a user would.

mod bad_input;
mod cdnow;
mod cleaning;
mod clv;
mod demo;
mod sql;
mod util;
