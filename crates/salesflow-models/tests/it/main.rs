//! Integration tests of `salesflow-models` against published references and lifetimes.

mod common;
mod fits;
mod lifetimes;
mod recovery;
mod robustness;
mod sim;
mod special;
