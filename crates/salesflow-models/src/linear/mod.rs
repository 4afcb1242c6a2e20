//! Linear models: ordinary least squares with statsmodels' inference, ridge, and
//! L2-regularised logistic regression, on a [`FeatureMatrix`](crate::features::FeatureMatrix).

mod logistic;
mod ols;
pub(crate) mod qr;

pub use logistic::{LogisticFit, LogisticOptions, fit_logistic};
pub use ols::{Coefficient, LinearFit, LinearOptions, ResidualDiagnostics, fit_linear};
