//! Time-series forecasting: the exponential-smoothing family with automatic selection
//! ([`ets`]), the baselines every forecast should beat ([`baseline`]), Croston's method and
//! its corrections for intermittent demand ([`croston`]), and rolling-origin backtests with
//! scaled errors ([`accuracy`]).
//!
//! A series here is a plain slice of values one period apart, oldest first; dates, gaps and
//! aggregation are the engine's business.

pub mod accuracy;
pub mod baseline;
pub mod croston;
pub mod ets;
pub mod events;
mod long_season;
mod method;
mod nelder_mead;
mod panel;

pub use method::{Method, SeriesForecast, forecast_series, forecast_series_with_events};
pub use panel::{PanelOptions, PanelResult, forecast_panel};

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

/// R's type-7 quantile (linear interpolation) of sorted values.
pub(crate) fn quantile(sorted: &[f64], p: f64) -> f64 {
    let position = p * (sorted.len() - 1) as f64;
    let below = position.floor() as usize;
    let above = (below + 1).min(sorted.len() - 1);
    sorted[below] + (position - below as f64) * (sorted[above] - sorted[below])
}
