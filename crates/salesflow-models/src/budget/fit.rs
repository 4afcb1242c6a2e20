//! Response curves fitted from spend history: how each channel's outcome (new customers,
//! leads, attributed revenue) per period rises with its spend, with carry-over and season.
//!
//! For series `s` (a channel, or a channel within a segment) in period `t`:
//! `μ = d_season(t) · (b_s + β_s · Hill(a_st; K_c, h_c))`, with `a = adstock(spend, α_c)` over
//! `max_lag` periods and `c` the series' channel: channels share their curve (K, h, α) across
//! segments, each series has its own baseline `b_s` and ceiling `β_s`, and all share the
//! seasonal factors `d` (the first season is 1). Fitted by maximum quasi-likelihood (Poisson
//! deviance, so counts and amounts both work); standard errors come from the Hessian scaled by
//! the Pearson dispersion, so over-dispersed data get honestly wider intervals.

use super::curves::{Curve, Hill, adstock, adstock_weights};
use crate::ModelError;
use crate::clv::optim::{Objective, bfgs, cholesky, hessian, parallel_gradient, spd_inverse};
use crate::rng::SplitMix64;

/// One series of spend and outcome per period.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// Which channel curve (0-based) the series follows.
    pub channel: usize,
    /// Spend per period.
    pub spend: Vec<f64>,
    /// Outcome per period (same length).
    pub outcome: Vec<f64>,
}

/// A fitted channel curve with standard errors.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ChannelFit {
    /// Spend per period at half the ceiling (K).
    pub half_saturation: f64,
    /// Its standard error.
    pub half_saturation_se: f64,
    /// Hill shape h.
    pub shape: f64,
    /// Its standard error.
    pub shape_se: f64,
    /// Adstock carry-over α.
    pub carryover: f64,
    /// Its standard error.
    pub carryover_se: f64,
}

/// Everything fitted.
#[derive(Debug, Clone, PartialEq)]
pub struct ResponseFit {
    /// One per channel.
    pub channels: Vec<ChannelFit>,
    /// Ceiling β of each series (outcome per period at saturation, season 1).
    pub ceiling: Vec<f64>,
    /// Baseline b of each series (outcome per period without spend, season 1).
    pub baseline: Vec<f64>,
    /// Seasonal factor of each season (the first is 1).
    pub season: Vec<f64>,
    /// Pearson dispersion (1 for Poisson counts; larger when noisier).
    pub dispersion: f64,
    /// Whether the optimiser met its tolerance.
    pub converged: bool,
    /// Adstock length used.
    pub max_lag: usize,
    /// For drawing plausible curves: the fitted parameter vector, the indices the data pin
    /// down, and the Cholesky factor of their (dispersion-scaled) covariance.
    sampling: Option<Sampling>,
}

#[derive(Debug, Clone, PartialEq)]
struct Sampling {
    x: Vec<f64>,
    free: Vec<usize>,
    cholesky: Vec<f64>,
    series: usize,
    channels: usize,
    seasons: usize,
    scale: Vec<f64>,
}

/// One plausible set of curves, drawn from the fit's uncertainty.
#[derive(Debug, Clone, PartialEq)]
pub struct CurveDraw {
    /// Ceiling β per series.
    pub ceiling: Vec<f64>,
    /// Half-saturation K per channel.
    pub half_saturation: Vec<f64>,
    /// Shape h per channel.
    pub shape: Vec<f64>,
    /// Mean seasonal factor.
    pub season_mean: f64,
}

impl ResponseFit {
    /// `n` parameter sets drawn from the asymptotic normal distribution of the estimates (on
    /// the fitting scale: logs and logits), for intervals of anything computed from the curves.
    /// Empty when the covariance could not be computed.
    pub fn draws(&self, n: usize, seed: u64) -> Vec<CurveDraw> {
        let Some(s) = &self.sampling else {
            return Vec::new();
        };
        let m = s.free.len();
        let mut rng = SplitMix64::new(seed);
        (0..n)
            .map(|_| {
                // Independent normals, correlated through the Cholesky factor.
                let z: Vec<f64> = (0..m).map(|_| rng.normal()).collect();
                let mut x = s.x.clone();
                for (row, &i) in s.free.iter().enumerate() {
                    x[i] += (0..=row)
                        .map(|col| s.cholesky[row * m + col] * z[col])
                        .sum::<f64>();
                }
                let (series, channels, season) =
                    unpack(&x, s.series, s.channels, s.seasons, &s.scale);
                CurveDraw {
                    ceiling: series.iter().map(|p| p.1).collect(),
                    half_saturation: channels.iter().map(|c| c.0).collect(),
                    shape: channels.iter().map(|c| c.1).collect(),
                    season_mean: season.iter().sum::<f64>() / season.len() as f64,
                }
            })
            .collect()
    }
}

/// Hill shapes are kept in (0.2, 10): beyond, a curve is a step or a line, and the data
/// cannot tell such shapes apart (the likelihood goes flat and the optimiser wanders).
const SHAPE_MIN: f64 = 0.2;
const SHAPE_MAX: f64 = 10.0;

fn shape_of(z: f64) -> f64 {
    SHAPE_MIN + (SHAPE_MAX - SHAPE_MIN) / (1.0 + (-z).exp())
}

/// d shape / dz, for the delta-method standard error.
fn shape_slope(z: f64) -> f64 {
    let s = 1.0 / (1.0 + (-z).exp());
    (SHAPE_MAX - SHAPE_MIN) * s * (1.0 - s)
}

/// (baseline, ceiling) per series, (K, shape, carry-over) per channel, and season factors.
type Unpacked = (Vec<(f64, f64)>, Vec<(f64, f64, f64)>, Vec<f64>);

struct Problem<'a> {
    series: &'a [Series],
    channels: usize,
    season_of: &'a [usize],
    seasons: usize,
    max_lag: usize,
    scale: Vec<f64>,
    total: f64,
}

/// Parameter layout: [ln b_s, ln β_s for each series] [ln K_c, ln h_c, logit α_c for each
/// channel] [ln d_m for seasons 1..].
fn unpack(x: &[f64], n: usize, c_count: usize, seasons: usize, scale: &[f64]) -> Unpacked {
    let series = (0..n)
        .map(|s| (x[2 * s].exp(), x[2 * s + 1].exp()))
        .collect();
    let channels = (0..c_count)
        .map(|c| {
            let o = 2 * n + 3 * c;
            (
                x[o].exp() * scale[c],
                shape_of(x[o + 1]),
                1.0 / (1.0 + (-x[o + 2]).exp()),
            )
        })
        .collect();
    let mut season = vec![1.0];
    season.extend((1..seasons).map(|m| x[2 * n + 3 * c_count + m - 1].exp()));
    (series, channels, season)
}

impl Problem<'_> {
    fn unpack(&self, x: &[f64]) -> Unpacked {
        unpack(
            x,
            self.series.len(),
            self.channels,
            self.seasons,
            &self.scale,
        )
    }

    fn means(&self, x: &[f64]) -> Vec<Vec<f64>> {
        let (series, channels, season) = self.unpack(x);
        self.series
            .iter()
            .zip(&series)
            .map(|(s, &(b, beta))| {
                let (k, h, alpha) = channels[s.channel];
                let curve = Hill {
                    beta,
                    half_saturation: k,
                    shape: h,
                };
                let carried = adstock(&s.spend, &adstock_weights(alpha, self.max_lag));
                carried
                    .iter()
                    .enumerate()
                    .map(|(t, &a)| season[self.season_of[t]] * (b + curve.value(a)))
                    .collect()
            })
            .collect()
    }
}

impl Objective for Problem<'_> {
    /// About fifty parameters and a single-core evaluation: the finite differences are spread
    /// over the cores.
    fn value_grad(&self, x: &[f64], g: &mut [f64], central: bool) -> f64 {
        parallel_gradient(self, x, g, central)
    }

    /// Mean Poisson negative log-likelihood (without the constant), per unit of outcome.
    fn value(&self, x: &[f64]) -> f64 {
        let mut sum = 0.0;
        for (s, mu) in self.series.iter().zip(self.means(x)) {
            for (&y, &m) in s.outcome.iter().zip(&mu) {
                if !(m > 0.0 && m.is_finite()) {
                    return f64::INFINITY;
                }
                sum += m - y * m.ln();
            }
        }
        sum / self.total
    }
}

/// Fits the curves. `season_of[t]` is period t's season (`0..seasons`); every series has one
/// value per period.
pub fn fit_response(
    series: &[Series],
    channels: usize,
    season_of: &[usize],
    seasons: usize,
    max_lag: usize,
) -> Result<ResponseFit, ModelError> {
    let periods = season_of.len();
    let bad = |name, value: f64, hint| Err(ModelError::InvalidParameter { name, value, hint });
    if series.is_empty() || channels == 0 {
        return Err(ModelError::EmptyInput {
            what: "marketing spend",
        });
    }
    if max_lag == 0 || seasons == 0 || season_of.iter().any(|&m| m >= seasons) {
        return bad(
            "seasons",
            seasons as f64,
            "every period needs a season below `seasons`, and max_lag >= 1",
        );
    }
    for (i, s) in series.iter().enumerate() {
        if s.channel >= channels || s.spend.len() != periods || s.outcome.len() != periods {
            return bad(
                "series",
                i as f64,
                "each series needs a valid channel and one spend and outcome per period",
            );
        }
        if let Some((row, &value)) = s
            .spend
            .iter()
            .chain(&s.outcome)
            .enumerate()
            .find(|(_, v)| !(v.is_finite() && **v >= 0.0))
        {
            return Err(ModelError::InvalidInput {
                row: row % periods,
                field: "spend/outcome",
                value,
                hint: "spend and outcome must be finite numbers >= 0",
            });
        }
    }
    let total: f64 = series.iter().flat_map(|s| &s.outcome).sum();
    if total <= 0.0 {
        return Err(ModelError::EmptyInput {
            what: "outcomes (all zero)",
        });
    }
    // Spend is measured relative to each channel's median positive spend, so K starts at 1.
    let scale: Vec<f64> = (0..channels)
        .map(|c| {
            let mut positive: Vec<f64> = series
                .iter()
                .filter(|s| s.channel == c)
                .flat_map(|s| s.spend.iter().copied().filter(|&v| v > 0.0))
                .collect();
            positive.sort_by(f64::total_cmp);
            positive.get(positive.len() / 2).copied().unwrap_or(1.0)
        })
        .collect();
    let problem = Problem {
        series,
        channels,
        season_of,
        seasons,
        max_lag,
        scale,
        total,
    };
    let mut x0 = Vec::new();
    for s in series {
        let mean = (s.outcome.iter().sum::<f64>() / periods as f64).max(1e-3);
        x0.push((0.2 * mean).ln());
        x0.push((2.0 * mean).ln());
    }
    let shape_one = {
        let s = (1.0 - SHAPE_MIN) / (SHAPE_MAX - SHAPE_MIN);
        (s / (1.0 - s)).ln()
    };
    // Starts: half-saturation at half, one and two times the median spend; the best wins.
    let mut best: Option<crate::clv::optim::Minimum> = None;
    for log_k in [-(2f64.ln()), 0.0, 2f64.ln()] {
        let mut start = x0.clone();
        for _ in 0..channels {
            start.extend([log_k, shape_one, -2.0]);
        }
        start.extend(std::iter::repeat_n(0.0, seasons - 1));
        if let Some(m) = bfgs(&problem, &start, None, 3000, 1e-9)
            && best.as_ref().is_none_or(|b| m.f < b.f)
        {
            best = Some(m);
        }
    }
    let mut best = best.ok_or(ModelError::NoFiniteStart {
        model: "response curves",
    })?;
    // BFGS in this many dimensions can stall in a flat valley: restart from where it stopped.
    for _ in 0..3 {
        if best.converged {
            break;
        }
        match bfgs(&problem, &best.x.clone(), None, 3000, 1e-9) {
            Some(next) if next.f <= best.f => best = next,
            _ => break,
        }
    }
    let x = best.x;
    let k = x.len();
    let h = hessian(&problem, 0.0, &x);
    let dispersion = {
        let mut pearson = 0.0;
        let mut n = 0.0;
        for (s, mu) in series.iter().zip(problem.means(&x)) {
            for (&y, &m) in s.outcome.iter().zip(&mu) {
                pearson += (y - m).powi(2) / m;
                n += 1.0;
            }
        }
        (pearson / (n - k as f64).max(1.0)).max(1e-12)
    };
    // The objective is the log-likelihood divided by `total`; scale back, then by dispersion.
    // Directions the data cannot pin down (a carry-over with one lag, or one driven to zero)
    // have no curvature: invert the Hessian on the others and report NaN for those.
    let free: Vec<usize> = (0..k).filter(|&i| h[i * k + i] * total > 1e-8).collect();
    let m = free.len();
    let sub: Vec<f64> = free
        .iter()
        .flat_map(|&i| free.iter().map(move |&j| (i, j)))
        .map(|(i, j)| h[i * k + j] * total)
        .collect();
    let covariance = spd_inverse(&sub, m);
    let se = |i: usize| match (free.iter().position(|&f| f == i), covariance.as_ref()) {
        (Some(p), Some(c)) => (c[p * m + p] * dispersion).max(0.0).sqrt(),
        _ => f64::NAN,
    };
    let sampling = covariance.as_ref().and_then(|c| {
        let scaled: Vec<f64> = c.iter().map(|v| v * dispersion).collect();
        cholesky(&scaled, m).map(|cholesky| Sampling {
            x: x.clone(),
            free: free.clone(),
            cholesky,
            series: series.len(),
            channels,
            seasons,
            scale: problem.scale.clone(),
        })
    });
    let (series_params, channel_params, season) = problem.unpack(&x);
    let n = series.len();
    let channels_fit = channel_params
        .iter()
        .enumerate()
        .map(|(c, &(kc, hc, alpha))| {
            let o = 2 * n + 3 * c;
            ChannelFit {
                half_saturation: kc,
                half_saturation_se: kc * se(o),
                shape: hc,
                shape_se: shape_slope(x[o + 1]) * se(o + 1),
                // With one lag there is no carry-over to estimate.
                carryover: if max_lag > 1 { alpha } else { 0.0 },
                carryover_se: if max_lag > 1 {
                    alpha * (1.0 - alpha) * se(o + 2)
                } else {
                    0.0
                },
            }
        })
        .collect();
    Ok(ResponseFit {
        channels: channels_fit,
        ceiling: series_params.iter().map(|p| p.1).collect(),
        baseline: series_params.iter().map(|p| p.0).collect(),
        season,
        dispersion,
        converged: best.converged,
        max_lag,
        sampling,
    })
}
