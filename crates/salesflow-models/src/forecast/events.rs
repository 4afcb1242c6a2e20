//! Known events — promotions, holidays, launches — as regressors beside exponential
//! smoothing: `y_t = z_t + Σ_k β_k x_{k,t}`, where `z` follows the ETS model and `x_k` marks
//! the periods of event `k` (1 in a period with the event, 0 without, or any known amount).
//!
//! ETS has no regressors of its own (neither R's `ets` nor statsforecast's AutoETS take any), so
//! the effects are estimated by back-fitting, the way additive models are fitted: fit ETS to
//! `y − Xβ`, regress what the ETS one-step forecasts leave unexplained (`y_t − ẑ_t`, which is
//! `x_t β` plus the ETS error) on `X` by least squares, repeat until β settles. The forecast adds
//! the future events' effects to the ETS forecast of `z`; the interval is the ETS one shifted,
//! not widened for the uncertainty of β.

use super::ets::{AutoEtsOptions, EtsFit, auto_ets, fit_ets};
use super::{Forecast, check_series};
use crate::ModelError;
use crate::linear::qr::Qr;

/// Event columns over a series' history and its forecast horizon.
#[derive(Debug, Clone, PartialEq)]
pub struct Events {
    /// One name per event column.
    pub names: Vec<String>,
    /// Per event, one value per period of the history.
    pub history: Vec<Vec<f64>>,
    /// Per event, one value per forecast period.
    pub future: Vec<Vec<f64>>,
}

/// An ETS fit with event effects.
#[derive(Debug, Clone, PartialEq)]
pub struct EtsWithEvents {
    /// The ETS fit of the series less the event effects.
    pub ets: EtsFit,
    /// Each event's effect per period it marks, in the series' units.
    pub effects: Vec<(String, f64)>,
    /// Back-fitting rounds used.
    pub rounds: usize,
}

/// Most back-fitting rounds; they usually settle in three or four.
const MAX_ROUNDS: usize = 8;

/// Fits ETS (chosen by AICc on the first round, then kept) with the event effects.
pub fn fit_ets_with_events(
    y: &[f64],
    events: &Events,
    options: &AutoEtsOptions,
) -> Result<EtsWithEvents, ModelError> {
    check_series(y)?;
    let n = y.len();
    let k = events.names.len();
    for (name, column) in events.names.iter().zip(&events.history) {
        if column.len() != n {
            return Err(ModelError::InvalidModel {
                model: format!("event `{name}`"),
                hint: "an event column needs one value per period of the series",
            });
        }
        if column.iter().all(|&v| v == 0.0) {
            return Err(ModelError::InvalidModel {
                model: format!("event `{name}`"),
                hint: "the event never happens in the history, so its effect cannot be estimated; drop it",
            });
        }
    }
    let columns: Vec<f64> = events.history.concat();
    let qr = Qr::new(columns, n, k).map_err(|collinear| ModelError::Collinear {
        column: events.names[collinear.0].clone(),
    })?;
    // The effects add, so the models do too: an additive error (and with it, under the
    // usual restriction, no multiplicative season) unless the caller fixed the error type.
    // Multiplicative models would also fail as soon as `y − Xβ` touches zero.
    let mut options = options.clone();
    if options.pattern.error.is_none() {
        options.pattern.error = Some(super::ets::ErrorType::Additive);
    }
    let options = &options;
    let scale = y.iter().map(|v| v.abs()).sum::<f64>() / n as f64;
    let mut beta = vec![0.0; k];
    let mut spec = None;
    let mut rounds = 0;
    let mut fit = loop {
        rounds += 1;
        let adjusted: Vec<f64> = (0..n)
            .map(|t| y[t] - (0..k).map(|j| events.history[j][t] * beta[j]).sum::<f64>())
            .collect();
        let fit = match spec {
            None => auto_ets(&adjusted, options)?,
            Some(spec) => fit_ets(&adjusted, options.season_length, spec, &options.fit)?,
        };
        spec = Some(fit.spec);
        let unexplained: Vec<f64> = (0..n).map(|t| y[t] - fit.fitted[t]).collect();
        let next = qr.solve(&unexplained);
        let change = next
            .iter()
            .zip(&beta)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f64::max);
        beta = next;
        if change <= 1e-6 * scale.max(f64::MIN_POSITIVE) || rounds == MAX_ROUNDS {
            break fit;
        }
    };
    // The last β belongs with a fit of the series adjusted by it.
    let adjusted: Vec<f64> = (0..n)
        .map(|t| y[t] - (0..k).map(|j| events.history[j][t] * beta[j]).sum::<f64>())
        .collect();
    if let Ok(refit) = fit_ets(&adjusted, options.season_length, fit.spec, &options.fit) {
        fit = refit;
    }
    Ok(EtsWithEvents {
        ets: fit,
        effects: events.names.iter().cloned().zip(beta).collect(),
        rounds,
    })
}

impl EtsWithEvents {
    /// The ETS forecast plus the effects of the events in `future` (one row per event, as
    /// [`Events::future`]).
    pub fn forecast(&self, future: &[Vec<f64>], horizon: usize, level: f64) -> Forecast {
        let mut forecast = self.ets.forecast(horizon, level);
        add_effects(&mut forecast, &self.effects, future);
        forecast
    }
}

/// Adds `Σ β_k x_{k,h}` of the future events to each period of a forecast and its interval
/// (a shift: β's own uncertainty is not added to the interval).
pub(crate) fn add_effects(forecast: &mut Forecast, effects: &[(String, f64)], future: &[Vec<f64>]) {
    for h in 0..forecast.mean.len() {
        let effect: f64 = effects
            .iter()
            .zip(future)
            .map(|((_, beta), column)| beta * column.get(h).copied().unwrap_or(0.0))
            .sum();
        forecast.mean[h] += effect;
        forecast.lower[h] += effect;
        forecast.upper[h] += effect;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A seasonal series with a planted promotion effect of +40 in eight months.
    fn promoted() -> (Vec<f64>, Vec<f64>) {
        let mut rng = crate::rng::SplitMix64::new(11);
        let promo: Vec<f64> = (0..96)
            .map(|t| if t % 11 == 3 { 1.0 } else { 0.0 })
            .collect();
        let y = (0..96)
            .map(|t| {
                let season = 20.0 * (2.0 * std::f64::consts::PI * t as f64 / 12.0).sin();
                200.0 + 0.5 * t as f64 + season + 40.0 * promo[t] + 3.0 * rng.normal()
            })
            .collect();
        (y, promo)
    }

    #[test]
    fn a_planted_promotion_effect_is_recovered_and_forecast() {
        let (y, promo) = promoted();
        let events = Events {
            names: vec!["promo".into()],
            history: vec![promo],
            future: vec![vec![0.0, 1.0, 0.0]],
        };
        let fit = fit_ets_with_events(&y, &events, &AutoEtsOptions::new(12)).unwrap();
        let effect = fit.effects[0].1;
        assert!((effect - 40.0).abs() < 4.0, "effect {effect}");
        let with = fit.forecast(&events.future, 3, 0.95);
        let without = fit.ets.forecast(3, 0.95);
        assert!((with.mean[1] - without.mean[1] - effect).abs() < 1e-9);
        assert_eq!(with.mean[0], without.mean[0]);
    }

    #[test]
    fn events_that_never_happen_or_repeat_another_are_refused_by_name() {
        let (y, promo) = promoted();
        let never = Events {
            names: vec!["launch".into()],
            history: vec![vec![0.0; y.len()]],
            future: vec![vec![1.0]],
        };
        let message = fit_ets_with_events(&y, &never, &AutoEtsOptions::new(12))
            .unwrap_err()
            .to_string();
        assert!(
            message.contains("launch") && message.contains("never happens"),
            "{message}"
        );
        let twice = Events {
            names: vec!["promo".into(), "sale".into()],
            history: vec![promo.clone(), promo],
            future: vec![vec![0.0], vec![0.0]],
        };
        let message = fit_ets_with_events(&y, &twice, &AutoEtsOptions::new(12))
            .unwrap_err()
            .to_string();
        assert!(message.contains("sale"), "{message}");
    }
}
