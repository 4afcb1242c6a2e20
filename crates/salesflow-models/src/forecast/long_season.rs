//! Seasons longer than ETS can carry — 52 weeks, 365 days — handled the way R's `stlf` does:
//! take the seasonal pattern out (here by classical decomposition of the whole series),
//! forecast what is left with non-seasonal ETS, and put the pattern back. Seasonal ETS keeps
//! one state per period of the season, and beyond 24 of them there is neither the data to
//! estimate them nor a likelihood surface Nelder–Mead can search.

use super::Forecast;
use super::ets::initial::classical_seasonal;
use super::ets::{AutoEtsOptions, EtsFit, Season, SpecPattern, auto_ets};
use super::events::{Events, add_effects, fit_ets_with_events};
use crate::ModelError;

/// An ETS fit of the seasonally adjusted series with the seasonal index to put back.
pub(crate) struct DeseasonalisedEts {
    pub fit: EtsFit,
    /// One index per position in the season (offsets, or factors when multiplicative).
    pub index: Vec<f64>,
    pub multiplicative: bool,
    /// Observations fitted (the position of the first forecast in the season).
    pub n: usize,
    /// Effects of the known events on the adjusted series, when events were given.
    pub effects: Vec<(String, f64)>,
}

/// Fits the long-season model: needs two full seasons. Known events, when given, are
/// regressors of the ETS model of the adjusted series (in its units: effects scaled by the
/// index when the index is multiplicative).
pub(crate) fn deseasonalised_ets(
    y: &[f64],
    m: usize,
    events: Option<&Events>,
) -> Result<DeseasonalisedEts, ModelError> {
    if y.len() < 2 * m {
        return Err(ModelError::SeriesTooShort {
            model: format!("a seasonal index of {m} periods"),
            length: y.len(),
            needed: 2 * m,
        });
    }
    // Factors for positive data (sales seasons scale with the level), offsets otherwise.
    let multiplicative = y.iter().all(|&v| v > 0.0);
    let seasonal = classical_seasonal(y, m, multiplicative).ok_or(ModelError::InvalidModel {
        model: format!("seasonal index of {m} periods"),
        hint: "the moving average of the series is not usable (zero or non-finite); use --season-length 1",
    })?;
    let index: Vec<f64> = seasonal[..m].to_vec();
    let adjusted: Vec<f64> = y
        .iter()
        .zip(&seasonal)
        .map(|(v, s)| if multiplicative { v / s } else { v - s })
        .collect();
    let options = AutoEtsOptions {
        pattern: SpecPattern {
            season: Some(Season::None),
            ..SpecPattern::default()
        },
        ..AutoEtsOptions::new(1)
    };
    let (fit, effects) = match events.filter(|e| !e.names.is_empty()) {
        Some(events) => {
            let fit = fit_ets_with_events(&adjusted, events, &options)?;
            (fit.ets, fit.effects)
        }
        None => (auto_ets(&adjusted, &options)?, Vec::new()),
    };
    Ok(DeseasonalisedEts {
        fit,
        index,
        multiplicative,
        n: y.len(),
        effects,
    })
}

impl DeseasonalisedEts {
    /// The ETS forecast of the adjusted series, plus the effects of the events in `future`
    /// (one row per event), with the season put back (the interval too).
    pub(crate) fn forecast(&self, future: &[Vec<f64>], horizon: usize, level: f64) -> Forecast {
        let mut forecast = self.fit.forecast(horizon, level);
        add_effects(&mut forecast, &self.effects, future);
        let m = self.index.len();
        for h in 0..horizon {
            let s = self.index[(self.n + h) % m];
            for v in [
                &mut forecast.mean[h],
                &mut forecast.lower[h],
                &mut forecast.upper[h],
            ] {
                *v = if self.multiplicative { *v * s } else { *v + s };
            }
        }
        forecast
    }

    /// E.g. `ETS(A,Ad,N) + seasonal index (52)`.
    pub(crate) fn name(&self) -> String {
        let events = if self.effects.is_empty() {
            ""
        } else {
            " + events"
        };
        format!(
            "{} + seasonal index ({}){events}",
            self.fit.spec,
            self.index.len()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::forecast::accuracy::rolling_origin;

    /// Three years of weekly sales with a yearly peak.
    fn weekly() -> Vec<f64> {
        let mut rng = crate::rng::SplitMix64::new(5);
        (0..156)
            .map(|t| {
                let season = 1.0 + 0.4 * (2.0 * std::f64::consts::PI * t as f64 / 52.0).cos();
                (1000.0 + 2.0 * t as f64) * season * (1.0 + 0.03 * rng.normal())
            })
            .collect()
    }

    #[test]
    fn a_yearly_pattern_in_weekly_data_is_forecast_and_beats_plain_ets() {
        let y = weekly();
        let model = deseasonalised_ets(&y, 52, None).unwrap();
        let forecast = model.forecast(&[], 52, 0.95);
        // Week 0 of the next year is the peak, week 26 the trough.
        assert!(
            forecast.mean[0] > 1.8 * forecast.mean[26],
            "{:?}",
            &forecast.mean[..3]
        );
        assert!(model.name().ends_with("+ seasonal index (52)"));
        let seasonal = rolling_origin(&y, 52, 13, 3, 13, |train, h| {
            Ok(deseasonalised_ets(train, 52, None)?
                .forecast(&[], h, 0.95)
                .mean)
        })
        .unwrap();
        let plain = rolling_origin(&y, 52, 13, 3, 13, |train, h| {
            Ok(auto_ets(train, &AutoEtsOptions::new(1))?
                .forecast(h, 0.95)
                .mean)
        })
        .unwrap();
        assert!(
            seasonal.mase.unwrap() < 0.7 * plain.mase.unwrap(),
            "seasonal {:?} vs plain {:?}",
            seasonal.mase,
            plain.mase
        );
        assert!(deseasonalised_ets(&y[..90], 52, None).is_err());
    }

    #[test]
    fn events_ride_along_with_the_seasonal_index() {
        let mut y = weekly();
        let promo: Vec<f64> = (0..y.len()).map(|t| f64::from(t % 9 == 4)).collect();
        for (v, p) in y.iter_mut().zip(&promo) {
            *v += 300.0 * p;
        }
        let events = Events {
            names: vec!["promo".into()],
            history: vec![promo],
            future: vec![vec![1.0, 0.0]],
        };
        let model = deseasonalised_ets(&y, 52, Some(&events)).unwrap();
        assert!(
            model.name().ends_with("+ seasonal index (52) + events"),
            "{}",
            model.name()
        );
        let with = model.forecast(&events.future, 2, 0.95);
        let without = model.forecast(&[vec![0.0, 0.0]], 2, 0.95);
        // Week 0 carries the promotion: about 300 more (scaled by that week's index).
        let lift = with.mean[0] - without.mean[0];
        assert!(lift > 150.0 && lift < 600.0, "lift {lift}");
        assert_eq!(with.mean[1], without.mean[1]);
    }
}
