//! Pure statistics and machine learning on plain slices: numbers in, numbers out.
//!
//! No I/O and no DataFusion: the engine hands this crate compact per-customer summaries
//! (compressed to distinct rows with weights) and gets numbers back. Every model is tested
//! against a published reference.
//!
//! What is here now:
//! - [`clv`]: customer-lifetime-value models — BG/NBD, MBG/NBD and Pareto/NBD for repeat
//!   purchases in continuous time, BG/BB in discrete time, Gamma-Gamma for spend, the
//!   shifted-beta-geometric model for subscription retention, and discounted value over CAC;
//!   with their shared special functions (log-gamma, digamma, Gauss 2F1) and a small BFGS
//!   maximum-likelihood fitter.
//! - [`segment`]: customer segmentation — RFM scores with the published named segments, and
//!   k-means on standardised features with k chosen by the silhouette.
//! - [`ModelError`]: the one error type of the crate.
//!
//! Regression, trees, clustering, forecasting, basket rules, recommenders, budget
//! optimisation and A/B tests will join as sibling modules. Dependency arrows: models depend
//! on nothing in the workspace; engine and analytics call into models, never the reverse.
#![warn(missing_docs)]

pub mod basket;
pub mod budget;
pub mod clv;
pub mod error;
pub mod evaluate;
pub mod experiments;
pub mod features;
pub mod forecast;
pub mod linear;
pub mod parallel;
pub mod recommend;
mod rng;
pub mod segment;
mod sigmoid;
pub mod tree;

pub use error::ModelError;
