//! One entry point for every forecasting method, with the automatic choice a user gets when
//! they name none.

use super::baseline::{drift, naive, seasonal_naive};
use super::croston::{CrostonKind, croston, demand_pattern};
use super::ets::{AutoEtsOptions, EtsFit, MAX_SEASON_LENGTH, SpecPattern, auto_ets};
use super::events::{Events, fit_ets_with_events};
use super::long_season::deseasonalised_ets;
use super::{Forecast, check_series};
use crate::ModelError;

/// How to forecast a series.
#[derive(Debug, Clone, PartialEq)]
pub enum Method {
    /// SBA for intermittent demand (ADI ≥ 1.32), otherwise the ETS model with the lowest AICc
    /// (for seasons over 24 periods, non-seasonal ETS of the series with its classical
    /// seasonal index taken out and put back); the seasonal naive (or naive) forecast when no
    /// ETS model can be fitted.
    Auto,
    /// ETS with the components the pattern fixes and the rest chosen by AICc.
    Ets(SpecPattern),
    /// The last value.
    Naive,
    /// The value a season before.
    SeasonalNaive,
    /// The line through the first and last values.
    Drift,
    /// Croston's method or one of its corrections.
    Croston(CrostonKind),
}

/// A series' forecast and the model that made it.
#[derive(Debug, Clone, PartialEq)]
pub struct SeriesForecast {
    /// The model's name, e.g. `ETS(M,Ad,M)`, `SBA`, `SeasonalNaive`.
    pub model: String,
    /// Point forecasts and interval.
    pub forecast: Forecast,
    /// The ETS fit, when the model is one.
    pub ets: Option<EtsFit>,
    /// The events' effects per period, when events were given to an ETS model.
    pub effects: Vec<(String, f64)>,
}

/// Average inter-demand interval from which a series counts as intermittent (Syntetos, Boylan
/// & Croston 2005).
const INTERMITTENT_ADI: f64 = 1.32;

/// Forecasts `horizon` periods of `y` with a `level` interval (0 < level < 1).
pub fn forecast_series(
    y: &[f64],
    method: &Method,
    season_length: usize,
    horizon: usize,
    level: f64,
) -> Result<SeriesForecast, ModelError> {
    forecast_series_with_events(y, None, method, season_length, horizon, level)
}

/// [`forecast_series`] with known events as regressors of the ETS models (the baselines and
/// Croston's methods ignore them).
pub fn forecast_series_with_events(
    y: &[f64],
    events: Option<&Events>,
    method: &Method,
    season_length: usize,
    horizon: usize,
    level: f64,
) -> Result<SeriesForecast, ModelError> {
    check_series(y)?;
    if !(level > 0.0 && level < 1.0) {
        return Err(ModelError::InvalidParameter {
            name: "level",
            value: level,
            hint: "the interval's coverage must lie strictly between 0 and 1, e.g. 0.95",
        });
    }
    let plain = |model: &str, forecast: Forecast| SeriesForecast {
        model: model.to_string(),
        forecast,
        ets: None,
        effects: Vec::new(),
    };
    let ets = |pattern: SpecPattern| -> Result<SeriesForecast, ModelError> {
        let options = AutoEtsOptions {
            pattern,
            ..AutoEtsOptions::new(season_length)
        };
        if let Some(events) = events.filter(|e| !e.names.is_empty()) {
            let fit = fit_ets_with_events(y, events, &options)?;
            return Ok(SeriesForecast {
                model: format!("{} + events", fit.ets.spec),
                forecast: fit.forecast(&events.future, horizon, level),
                effects: fit.effects,
                ets: Some(fit.ets),
            });
        }
        let fit = auto_ets(y, &options)?;
        Ok(SeriesForecast {
            model: fit.spec.to_string(),
            forecast: fit.forecast(horizon, level),
            ets: Some(fit),
            effects: Vec::new(),
        })
    };
    match method {
        Method::Auto => {
            if y.iter().all(|&v| v == y[0]) {
                return Ok(plain("Naive", naive(y, horizon, level)?));
            }
            let non_negative = y.iter().all(|&v| v >= 0.0);
            if non_negative && demand_pattern(y).0 >= INTERMITTENT_ADI {
                return Ok(plain("SBA", croston(y, CrostonKind::Sba, horizon, level)?));
            }
            // Seasons too long for seasonal ETS (weeks in a year): seasonal index + ETS (with
            // the events, if any), when there are two seasons to learn the index from.
            if season_length > MAX_SEASON_LENGTH
                && y.len() >= 2 * season_length
                && let Ok(model) = deseasonalised_ets(y, season_length, events)
            {
                let future = events.map_or(&[][..], |e| e.future.as_slice());
                return Ok(SeriesForecast {
                    model: model.name(),
                    forecast: model.forecast(future, horizon, level),
                    effects: model.effects,
                    ets: Some(model.fit),
                });
            }
            match ets(SpecPattern::default()) {
                Ok(found) => Ok(found),
                Err(_) if season_length > 1 && y.len() >= season_length => Ok(plain(
                    "SeasonalNaive",
                    seasonal_naive(y, season_length, horizon, level)?,
                )),
                Err(_) => Ok(plain("Naive", naive(y, horizon, level)?)),
            }
        }
        Method::Ets(pattern) => ets(*pattern),
        Method::Naive => Ok(plain("Naive", naive(y, horizon, level)?)),
        Method::SeasonalNaive => Ok(plain(
            "SeasonalNaive",
            seasonal_naive(y, season_length, horizon, level)?,
        )),
        Method::Drift => Ok(plain("Drift", drift(y, horizon, level)?)),
        Method::Croston(kind) => {
            let name = match kind {
                CrostonKind::Classic => "Croston",
                CrostonKind::Sba => "SBA",
                CrostonKind::Tsb { .. } => "TSB",
            };
            Ok(plain(name, croston(y, *kind, horizon, level)?))
        }
    }
}
