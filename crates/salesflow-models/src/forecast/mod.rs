//! Time-series forecasting: the exponential-smoothing family with automatic selection
//! ([`ets`]), the baselines every forecast should beat ([`baseline`]), Croston's method and
//! its corrections for intermittent demand ([`croston`]), and rolling-origin backtests with
//! scaled errors ([`accuracy`]).
//!
//! A series here is a plain slice of values one period apart, oldest first; dates, gaps and
//! aggregation are the engine's business.

pub mod ets;
mod nelder_mead;

use crate::ModelError;

/// Point forecasts with a prediction interval.
#[derive(Debug, Clone, PartialEq)]
pub struct Forecast {
    /// The point forecast of each future period.
    pub mean: Vec<f64>,
    /// Lower end of the prediction interval.
    pub lower: Vec<f64>,
    /// Upper end of the prediction interval.
    pub upper: Vec<f64>,
    /// The interval's coverage, e.g. 0.95.
    pub level: f64,
}

/// Rejects an empty series or a non-finite value, naming its position.
pub(crate) fn check_series(y: &[f64]) -> Result<(), ModelError> {
    if y.is_empty() {
        return Err(ModelError::EmptyInput { what: "series" });
    }
    if let Some(row) = y.iter().position(|v| !v.is_finite()) {
        return Err(ModelError::InvalidInput {
            row,
            field: "value",
            value: y[row],
            hint: "every value must be a finite number; fill or drop missing periods first",
        });
    }
    Ok(())
}

/// The standard normal quantile.
pub(crate) fn normal_quantile(p: f64) -> f64 {
    use statrs::distribution::{ContinuousCDF, Normal};
    Normal::standard().inverse_cdf(p)
}
