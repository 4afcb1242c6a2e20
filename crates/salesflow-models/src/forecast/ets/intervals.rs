//! Prediction intervals of ETS forecasts (Hyndman et al. 2008, ch. 6): exact normal intervals
//! for the linear models (class 1: additive error, additive or no trend and season), the exact
//! variance of class 2 (multiplicative error, additive components), and quantiles of simulated
//! paths for the rest, as R's forecast does when no formula exists.

use super::fit::EtsFit;
use super::recursion::simulate_step;
use super::{ErrorType, Season, Trend};
use crate::forecast::{Forecast, normal_quantile};
use crate::rng::SplitMix64;

/// Simulated paths for models without a variance formula (R's `npaths`).
const PATHS: usize = 5000;

impl EtsFit {
    /// Point forecasts with `level` (e.g. 0.95) prediction intervals.
    pub fn forecast(&self, horizon: usize, level: f64) -> Forecast {
        let mean = self.point_forecast(horizon);
        let linear_components =
            self.spec.trend != Trend::Multiplicative && self.spec.season != Season::Multiplicative;
        let (lower, upper) = if linear_components {
            let c = self.error_weights(horizon);
            let sigma2 = self.sigma2;
            let variances: Vec<f64> = match self.spec.error {
                ErrorType::Additive => {
                    let mut running = 0.0;
                    (0..horizon)
                        .map(|h| {
                            if h > 0 {
                                running += c[h - 1] * c[h - 1];
                            }
                            sigma2 * (1.0 + running)
                        })
                        .collect()
                }
                ErrorType::Multiplicative => {
                    let mut theta: Vec<f64> = Vec::with_capacity(horizon);
                    for h in 0..horizon {
                        let carried: f64 =
                            (1..=h).map(|j| c[j - 1] * c[j - 1] * theta[h - j]).sum();
                        theta.push(mean[h] * mean[h] + sigma2 * carried);
                    }
                    theta
                        .iter()
                        .zip(&mean)
                        .map(|(t, mu)| (1.0 + sigma2) * t - mu * mu)
                        .collect()
                }
            };
            let z = normal_quantile(0.5 + level / 2.0);
            mean.iter()
                .zip(&variances)
                .map(|(mu, v)| {
                    let half = z * v.max(0.0).sqrt();
                    (mu - half, mu + half)
                })
                .unzip()
        } else {
            self.simulated_bounds(horizon, level)
        };
        Forecast {
            mean,
            lower,
            upper,
            level,
        }
    }

    /// `c_j`, j = 1..horizon: how much of today's error is still in the forecast j periods on.
    fn error_weights(&self, horizon: usize) -> Vec<f64> {
        let s = self.smoothing;
        let m = self.season_length;
        let mut damped_sum = 0.0;
        let mut power = 1.0;
        (1..=horizon)
            .map(|j| {
                power *= s.phi;
                damped_sum += power;
                let trend = match self.spec.trend {
                    Trend::None => 0.0,
                    _ => s.beta * damped_sum,
                };
                let season = if self.spec.season != Season::None && j % m == 0 {
                    s.gamma
                } else {
                    0.0
                };
                s.alpha + trend + season
            })
            .collect()
    }

    /// Quantiles of simulated future paths (seeded, so the same fit gives the same bounds).
    fn simulated_bounds(&self, horizon: usize, level: f64) -> (Vec<f64>, Vec<f64>) {
        let sigma = self.sigma2.max(0.0).sqrt();
        let mut rng = SplitMix64::new(0x05EE_DE75);
        let mut paths = vec![0.0; PATHS * horizon];
        for path in paths.chunks_exact_mut(horizon) {
            let mut states = self.last.clone();
            for value in path.iter_mut() {
                *value = simulate_step(
                    self.spec,
                    &self.smoothing,
                    &mut states,
                    sigma * rng.normal(),
                );
            }
        }
        let tail = (1.0 - level) / 2.0;
        let mut column = vec![0.0; PATHS];
        (0..horizon)
            .map(|h| {
                for (c, path) in column.iter_mut().zip(paths.chunks_exact(horizon)) {
                    *c = path[h];
                }
                (
                    select_quantile(&mut column, tail),
                    select_quantile(&mut column, 1.0 - tail),
                )
            })
            .unzip()
    }
}

/// R's type-7 quantile by selection (two order statistics) rather than a full sort: the
/// simulated intervals take two quantiles of 5,000 paths per horizon step.
fn select_quantile(values: &mut [f64], p: f64) -> f64 {
    let position = p * (values.len() - 1) as f64;
    let below = position.floor() as usize;
    let (_, low, rest) = values.select_nth_unstable_by(below, f64::total_cmp);
    let low = *low;
    let high = rest.iter().copied().min_by(f64::total_cmp).unwrap_or(low);
    low + (position - below as f64) * (high - low)
}
