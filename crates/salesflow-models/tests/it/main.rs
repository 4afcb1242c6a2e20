//! Integration tests of `salesflow-models` against published references and lifetimes.

mod basket;
mod budget;
mod common;
mod experiments;
mod fits;
mod forecast;
mod lifetimes;
mod predict;
mod recommend;
mod recovery;
mod robustness;
mod segment;
mod sim;
mod special;
