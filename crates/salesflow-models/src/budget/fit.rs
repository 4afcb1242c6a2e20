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
use crate::clv::optim::{Objective, bfgs, cholesky, hessian, spd_inverse};
use crate::rng::SplitMix64;
use crate::sigmoid::{logistic, logistic_pair};

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

/// What a response fit reads: the series, how many channel curves they follow, each period's
/// season (`0..seasons`), and the adstock length (1: no carry-over).
#[derive(Debug, Clone, Copy)]
pub struct ResponseData<'a> {
    /// One per (channel, segment); every series has one value per period.
    pub series: &'a [Series],
    /// Number of channel curves.
    pub channels: usize,
    /// Season of each period.
    pub season_of: &'a [usize],
    /// Number of seasons.
    pub seasons: usize,
    /// Periods over which spend acts (adstock length).
    pub max_lag: usize,
}

/// A curve to test the fit against: channel `channel` with half-saturation K and shape h.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HeldCurve {
    /// The channel (0-based).
    pub channel: usize,
    /// Its half-saturation K.
    pub half_saturation: f64,
    /// Its Hill shape h (within 0.2..10).
    pub shape: f64,
}

/// A fitted channel curve with standard errors.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ChannelFit {
    /// Spend per period at half the ceiling (K).
    pub half_saturation: f64,
    /// Its standard error (Wald, from the Hessian: with weak data the likelihood is far from
    /// quadratic in K and this understates the uncertainty; see the interval).
    pub half_saturation_se: f64,
    /// 95 % profile-likelihood interval of K: the values at which the fit, re-optimised over
    /// every other parameter, is worse by χ²₁(0.95)/2 in log-likelihood. `None` on a side the
    /// data do not close within a factor of 100 of the estimate.
    pub half_saturation_interval: (Option<f64>, Option<f64>),
    /// Hill shape h.
    pub shape: f64,
    /// Its standard error.
    pub shape_se: f64,
    /// Adstock carry-over α.
    pub carryover: f64,
    /// Its standard error.
    pub carryover_se: f64,
}

/// Weakly informative priors on each channel's curve, as pymc-marketing and Robyn put on
/// theirs: two years of weekly spend that moves ±30 % around its level cannot tell a curve
/// that saturates at ten times the spend seen from a straight line, and without them such a
/// channel's half-saturation runs off to infinity with a singular Hessian (which then leaves
/// every channel without a standard error). Where the data speak they dominate; where they are
/// silent the estimate stays at a plausible value with a wide interval.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Priors {
    /// Standard deviation of `ln(K / median positive spend)` (normal, centred at 0); `None`:
    /// flat.
    pub half_saturation_log_sd: Option<f64>,
    /// Standard deviation of `ln h` (normal, centred at h = 1, the plain concave curve).
    pub shape_log_sd: Option<f64>,
    /// Beta(a, b) density on the carry-over α (as a penalty on α, so that with a <= 1 the
    /// estimate may reach 0).
    pub carryover_beta: Option<(f64, f64)>,
}

impl Default for Priors {
    /// K within 1/20 to 20 times the median spend and h within 0.37 to 2.7 with 95 %
    /// probability (Robyn bounds h to 0.5..3); pymc-marketing's Beta(1, 3) on the carry-over.
    fn default() -> Self {
        Priors {
            half_saturation_log_sd: Some(1.5),
            shape_log_sd: Some(0.5),
            carryover_beta: Some((1.0, 3.0)),
        }
    }
}

impl Priors {
    /// No priors: the plain maximum-likelihood fit.
    pub fn flat() -> Self {
        Priors {
            half_saturation_log_sd: None,
            shape_log_sd: None,
            carryover_beta: None,
        }
    }

    /// Negative log prior density of channel parameters `(x_K, z_h, z_α)` on the fitting scale
    /// (the carry-over's as a density of α, without the logit's Jacobian), and its gradient
    /// added into `g`.
    fn penalty(&self, p: [f64; 3], g: &mut [f64]) -> f64 {
        let [log_k, z_h, z_alpha] = p;
        let mut value = 0.0;
        if let Some(sd) = self.half_saturation_log_sd {
            value += 0.5 * (log_k / sd).powi(2);
            g[0] += log_k / (sd * sd);
        }
        if let Some(sd) = self.shape_log_sd {
            let h = shape_of(z_h);
            value += 0.5 * (h.ln() / sd).powi(2);
            g[1] += h.ln() / (sd * sd) / h * shape_slope(z_h);
        }
        if let Some((a, b)) = self.carryover_beta {
            // The Beta density of α itself, without the Jacobian of the logit: with it, the
            // density on the logit scale vanishes at α = 0 and pushes every carry-over to
            // about 1/4 even when the data say none, which smooths the spend and makes the
            // fitted curves steeper than they are.
            let alpha = logistic(z_alpha);
            value -= (a - 1.0) * ln_sigmoid(z_alpha) + (b - 1.0) * ln_sigmoid(-z_alpha);
            g[2] += (b - 1.0) * alpha - (a - 1.0) * (1.0 - alpha);
        }
        value
    }
}

/// ln(1 / (1 + e^−z)) without overflow.
fn ln_sigmoid(z: f64) -> f64 {
    if z >= 0.0 {
        -(-z).exp().ln_1p()
    } else {
        z - z.exp().ln_1p()
    }
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
    /// For drawing plausible curves around `optimum`: the indices the data pin down, and the
    /// Cholesky factor of their (dispersion-scaled) covariance.
    sampling: Option<Sampling>,
    /// The optimum on the fitting scale, the data weight it was found with, and the
    /// objective there: what [`likelihood_ratio`] starts from and compares with.
    optimum: Vec<f64>,
    data_weight: f64,
    objective: f64,
    priors: Priors,
}

#[derive(Debug, Clone, PartialEq)]
struct Sampling {
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
                let mut x = self.optimum.clone();
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
    SHAPE_MIN + (SHAPE_MAX - SHAPE_MIN) * logistic(z)
}

/// d shape / dz, for the delta-method standard error.
fn shape_slope(z: f64) -> f64 {
    let (s, rest) = logistic_pair(z);
    (SHAPE_MAX - SHAPE_MIN) * s * rest
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
    priors: Priors,
    /// Weight of the data against the priors: 1 / dispersion, so that over-dispersed data
    /// count for what they are worth (the quasi-likelihood).
    data_weight: f64,
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
                logistic(x[o + 2]),
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

    /// The priors' negative log density over all channels, gradient added into `g`.
    fn prior_penalty(&self, x: &[f64], g: &mut [f64]) -> f64 {
        let o = 2 * self.series.len();
        (0..self.channels)
            .map(|c| {
                let at = o + 3 * c;
                self.priors
                    .penalty([x[at], x[at + 1], x[at + 2]], &mut g[at..at + 3])
            })
            .sum()
    }

    /// Pearson dispersion of the outcomes around their means at `x`.
    fn dispersion(&self, x: &[f64]) -> f64 {
        let mut pearson = 0.0;
        let mut n = 0.0;
        for (s, mu) in self.series.iter().zip(self.means(x)) {
            for (&y, &m) in s.outcome.iter().zip(&mu) {
                pearson += (y - m).powi(2) / m;
                n += 1.0;
            }
        }
        (pearson / (n - x.len() as f64).max(1.0)).max(1e-12)
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
    /// Value and exact gradient in one pass over the periods (the chain rule through the
    /// season, the Hill curve and the adstock weights): one evaluation instead of the 2k + 1
    /// of central differences with about fifty parameters.
    fn value_grad(&self, x: &[f64], g: &mut [f64], _central: bool) -> f64 {
        g.fill(0.0);
        let (series, channels, season) = self.unpack(x);
        let n = self.series.len();
        let season_at = 2 * n + 3 * self.channels;
        let mut sum = 0.0;
        for (s_index, (s, &(b, beta))) in self.series.iter().zip(&series).enumerate() {
            let c = s.channel;
            let (k, h, alpha) = channels[c];
            let weights = adstock_weights(alpha, self.max_lag);
            let weight_slopes = adstock_weight_slopes(alpha, self.max_lag);
            let carried = adstock(&s.spend, &weights);
            let carried_slope = adstock(&s.spend, &weight_slopes);
            let o = 2 * n + 3 * c;
            let (mut by_b, mut by_beta, mut by_k, mut by_h, mut by_alpha) =
                (0.0, 0.0, 0.0, 0.0, 0.0);
            for (t, (&a, &y)) in carried.iter().zip(&s.outcome).enumerate() {
                let m = self.season_of[t];
                let d = season[m];
                // H and 1 − H as logistic functions of h ln(a/K): finite however far from K,
                // and no cancellation near saturation.
                let (hill, hill_rest, log_ratio) = if a > 0.0 {
                    let log_ratio = (a / k).ln();
                    let (hill, rest) = logistic_pair(h * log_ratio);
                    (hill, rest, log_ratio)
                } else {
                    (0.0, 1.0, 0.0)
                };
                let mu = d * (b + beta * hill);
                if !(mu > 0.0 && mu.is_finite()) {
                    g.fill(0.0);
                    return f64::INFINITY;
                }
                sum += mu - y * mu.ln();
                // d objective / d mu, then mu's derivatives.
                let by_mu = 1.0 - y / mu;
                by_b += by_mu * d * b;
                by_beta += by_mu * d * beta * hill;
                let spread = by_mu * d * beta * hill * hill_rest;
                by_k -= spread * h;
                by_h += spread * log_ratio;
                if a > 0.0 {
                    by_alpha += spread * h / a * carried_slope[t];
                }
                if m > 0 {
                    g[season_at + m - 1] += by_mu * mu;
                }
            }
            g[2 * s_index] += by_b;
            g[2 * s_index + 1] += by_beta;
            g[o] += by_k;
            g[o + 1] += by_h * shape_slope(x[o + 1]);
            g[o + 2] += by_alpha * alpha * (1.0 - alpha);
        }
        for gi in g.iter_mut() {
            *gi *= self.data_weight;
        }
        let prior = self.prior_penalty(x, g);
        for gi in g.iter_mut() {
            *gi /= self.total;
        }
        (self.data_weight * sum + prior) / self.total
    }

    fn analytic_gradient(&self) -> bool {
        true
    }

    /// Poisson negative log-likelihood (without the constant) weighted by `data_weight`, plus
    /// the priors' negative log density, per unit of outcome.
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
        let mut unused = vec![0.0; x.len()];
        (self.data_weight * sum + self.prior_penalty(x, &mut unused)) / self.total
    }
}

/// d w_k / dα of [`adstock_weights`]: with `w_k = α^k / S`, `S = Σ_j α^j`,
/// `w_k' = (k α^(k−1) − w_k S') / S` where `S' = Σ_j j α^(j−1)`.
fn adstock_weight_slopes(alpha: f64, max_lag: usize) -> Vec<f64> {
    let power_slope = |k: usize| {
        if k == 0 {
            0.0
        } else {
            k as f64 * alpha.powi(k as i32 - 1)
        }
    };
    let total: f64 = (0..max_lag).map(|k| alpha.powi(k as i32)).sum();
    let total_slope: f64 = (0..max_lag).map(power_slope).sum();
    (0..max_lag)
        .map(|k| (power_slope(k) - alpha.powi(k as i32) / total * total_slope) / total)
        .collect()
}

impl<'a> Problem<'a> {
    /// Checks the data and sets up the objective (data weight 1).
    fn new(data: &ResponseData<'a>, priors: &Priors) -> Result<Problem<'a>, ModelError> {
        let ResponseData {
            series,
            channels,
            season_of,
            seasons,
            max_lag,
        } = *data;
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
        Ok(Problem {
            series,
            channels,
            season_of,
            seasons,
            max_lag,
            scale,
            total,
            priors: *priors,
            data_weight: 1.0,
        })
    }
}

/// `problem` with some parameters held at values (`fixed`, sorted by index); the others are
/// the variables.
struct Held<'a> {
    problem: &'a Problem<'a>,
    fixed: Vec<(usize, f64)>,
}

impl Held<'_> {
    fn expand(&self, free: &[f64]) -> Vec<f64> {
        let mut x = Vec::with_capacity(free.len() + self.fixed.len());
        let mut rest = free.iter();
        let mut fixed = self.fixed.iter().peekable();
        while x.len() < free.len() + self.fixed.len() {
            match fixed.peek() {
                Some(&&(i, v)) if i == x.len() => {
                    x.push(v);
                    fixed.next();
                }
                _ => x.push(rest.next().copied().unwrap_or_default()),
            }
        }
        x
    }

    /// The variables of a full parameter vector.
    fn free_part(&self, x: &[f64]) -> Vec<f64> {
        x.iter()
            .enumerate()
            .filter(|(i, _)| !self.fixed.iter().any(|f| f.0 == *i))
            .map(|(_, &v)| v)
            .collect()
    }
}

impl Objective for Held<'_> {
    fn value(&self, free: &[f64]) -> f64 {
        self.problem.value(&self.expand(free))
    }
    fn value_grad(&self, free: &[f64], g: &mut [f64], central: bool) -> f64 {
        let x = self.expand(free);
        let mut full = vec![0.0; x.len()];
        let f = self.problem.value_grad(&x, &mut full, central);
        for (gi, v) in g.iter_mut().zip(self.free_part(&full)) {
            *gi = v;
        }
        f
    }
    fn analytic_gradient(&self) -> bool {
        true
    }
}

/// Twice the rise of the fit's (dispersion-weighted, prior-penalised) negative
/// log-likelihood when the given channel curves are imposed and every other parameter is
/// re-optimised: the likelihood-ratio statistic of the hypothesis "these are the curves",
/// χ² with two degrees of freedom per curve when it holds (e.g. 5.99 at 95 % for one curve).
pub fn likelihood_ratio(
    data: &ResponseData,
    fit: &ResponseFit,
    curves: &[HeldCurve],
) -> Result<f64, ModelError> {
    // The fit's own priors and data weight: the statistic compares like with like.
    let mut problem = Problem::new(data, &fit.priors)?;
    problem.data_weight = fit.data_weight;
    if fit.optimum.len() != fit_dimension(data) {
        return Err(ModelError::InvalidParameter {
            name: "fit",
            value: fit.optimum.len() as f64,
            hint: "the fit must come from fit_response on the same data",
        });
    }
    let mut fixed = Vec::new();
    for curve in curves {
        let inside = curve.channel < data.channels
            && curve.half_saturation > 0.0
            && curve.half_saturation.is_finite()
            && curve.shape > SHAPE_MIN
            && curve.shape < SHAPE_MAX;
        if !inside {
            return Err(ModelError::InvalidParameter {
                name: "curve",
                value: curve.channel as f64,
                hint: "a known channel, K > 0 and a shape within 0.2..10",
            });
        }
        let o = 2 * data.series.len() + 3 * curve.channel;
        let s = (curve.shape - SHAPE_MIN) / (SHAPE_MAX - SHAPE_MIN);
        fixed.push((
            o,
            (curve.half_saturation / problem.scale[curve.channel]).ln(),
        ));
        fixed.push((o + 1, (s / (1.0 - s)).ln()));
    }
    fixed.sort_by_key(|f| f.0);
    if fixed.windows(2).any(|pair| pair[0].0 == pair[1].0) {
        return Err(ModelError::InvalidParameter {
            name: "curves",
            value: curves.len() as f64,
            hint: "give each channel at most one curve",
        });
    }
    let held = Held {
        problem: &problem,
        fixed,
    };
    let start = held.free_part(&fit.optimum);
    let m = bfgs(&held, &start, None, 3000, 1e-9).ok_or(ModelError::NoFiniteStart {
        model: "response curves held at the given values",
    })?;
    let best = polish(&held, m);
    Ok((2.0 * (best.f - fit.objective) * problem.total).max(0.0))
}

/// Length of the parameter vector for `data`.
fn fit_dimension(data: &ResponseData) -> usize {
    2 * data.series.len() + 3 * data.channels + data.seasons - 1
}

/// One end of the 95 % profile-likelihood interval of parameter `index` (on the fitting
/// scale), below the optimum for `direction` -1 and above it for +1: the value at which the
/// objective, minimised over all other parameters, has risen by χ²₁(0.95)/2 in (weighted,
/// penalised) negative log-likelihood. Found by stepping out with doubling steps, then
/// bisecting; `None` when not reached within a factor of 100 (ln 100) of the estimate.
fn profile_end(problem: &Problem, optimum: &Start, index: usize, direction: f64) -> Option<f64> {
    const HALF_CHI2_95: f64 = 3.841_458_820_694_124 / 2.0;
    let reach = 100f64.ln();
    let x = optimum.x;
    // Each re-fit starts where the previous one ended. (Starting them from BFGS's inverse
    // Hessian of the fit, conditioned on the held parameter, was tried and dropped: they
    // stopped short of the minimum often enough to narrow intervals: on the demo, search's
    // lower end 1,846 became 2,083 with the estimate at 2,087.)
    let mut start: Vec<f64> = x
        .iter()
        .enumerate()
        .filter(|&(i, _)| i != index)
        .map(|(_, &v)| v)
        .collect();
    let mut rise = |value: f64| -> f64 {
        let held = Held {
            problem,
            fixed: vec![(index, value)],
        };
        match bfgs(&held, &start, None, 1000, 1e-9).map(|m| polish(&held, m)) {
            Some(m) => {
                start.clone_from(&m.x);
                (m.f - optimum.f) * problem.total
            }
            None => f64::INFINITY,
        }
    };
    let (mut inside, mut step): (f64, f64) = (0.0, 0.2);
    let mut outside = loop {
        let offset = (inside + step).min(reach);
        if rise(x[index] + direction * offset) >= HALF_CHI2_95 {
            break offset;
        }
        if offset >= reach {
            return None;
        }
        inside = offset;
        step *= 2.0;
    };
    // Six halvings: the end is known to within 1/128 of the last step (about 1 % of K).
    for _ in 0..6 {
        let middle = 0.5 * (inside + outside);
        if rise(x[index] + direction * middle) >= HALF_CHI2_95 {
            outside = middle;
        } else {
            inside = middle;
        }
    }
    Some(x[index] + direction * 0.5 * (inside + outside))
}

/// Where re-fits with held parameters start: the optimum and its objective.
struct Start<'a> {
    x: &'a [f64],
    f: f64,
}

/// The lowest optimum reached from `starts`, polished.
fn best_of_starts(
    problem: &Problem,
    starts: &[Vec<f64>],
) -> Result<crate::clv::optim::Minimum, ModelError> {
    let mut best: Option<crate::clv::optim::Minimum> = None;
    for start in starts {
        if let Some(m) = bfgs(problem, start, None, 3000, 1e-9)
            && best.as_ref().is_none_or(|b| m.f < b.f)
        {
            best = Some(m);
        }
    }
    let best = best.ok_or(ModelError::NoFiniteStart {
        model: "response curves",
    })?;
    Ok(polish(problem, best))
}

/// BFGS in this many dimensions can stall in a flat valley: restarted from where it stopped,
/// up to three times, while that helps.
fn polish(
    problem: &impl Objective,
    mut best: crate::clv::optim::Minimum,
) -> crate::clv::optim::Minimum {
    for _ in 0..3 {
        if best.converged {
            break;
        }
        match bfgs(problem, &best.x.clone(), None, 3000, 1e-9) {
            Some(next) if next.f <= best.f => best = next,
            _ => break,
        }
    }
    best
}

/// Fits the curves. `season_of[t]` is period t's season (`0..seasons`); every series has one
/// value per period.
pub fn fit_response(data: &ResponseData, priors: &Priors) -> Result<ResponseFit, ModelError> {
    let problem = Problem::new(data, priors)?;
    let (series, channels, seasons, total) =
        (data.series, data.channels, data.seasons, problem.total);
    let periods = data.season_of.len();
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
    let starts: Vec<Vec<f64>> = [-(2f64.ln()), 0.0, 2f64.ln()]
        .iter()
        .map(|&log_k| {
            let mut start = x0.clone();
            for _ in 0..channels {
                start.extend([log_k, shape_one, -2.0]);
            }
            start.extend(std::iter::repeat_n(0.0, seasons - 1));
            start
        })
        .collect();
    let mut best = best_of_starts(&problem, &starts)?;
    // The data count for 1 / dispersion of a Poisson likelihood (quasi-likelihood). Alone that
    // only scales the standard errors; against the priors it moves the estimate, so with priors
    // the fit is repeated with the data weighted. From the same starts, not from the first
    // optimum: where the data outweighed the priors a shape may have run to its bound, where
    // the logistic transform is flat and BFGS would stay.
    let mut problem = problem;
    problem.data_weight = 1.0 / problem.dispersion(&best.x);
    if *priors == Priors::flat() {
        // Same optimum; the objective there is now the weighted one, which the profiles and
        // likelihood ratios compare with.
        best.f = problem.value(&best.x);
    } else {
        best = best_of_starts(&problem, &starts)?;
    }
    let x = best.x;
    let k = x.len();
    let h = hessian(&problem, 0.0, &x);
    // The objective is the weighted log-likelihood divided by `total`: scale back. Directions
    // the data and priors cannot pin down (a carry-over with one lag, a baseline driven to
    // zero) have next to no curvature, and with them the Hessian is singular to rounding: they
    // are left out, weakest (smallest diagonal) first, until the rest inverts; their standard
    // errors are NaN, and the others' are conditional on them (held at their estimates).
    let curvature = |i: usize| h[i * k + i] * total;
    let mut free: Vec<usize> = (0..k).filter(|&i| curvature(i) > 1e-8).collect();
    let covariance = loop {
        let m = free.len();
        let sub: Vec<f64> = free
            .iter()
            .flat_map(|&i| free.iter().map(move |&j| (i, j)))
            .map(|(i, j)| h[i * k + j] * total)
            .collect();
        if let Some(c) = spd_inverse(&sub, m) {
            break Some(c);
        }
        let Some(weakest) =
            (0..m).min_by(|&a, &b| curvature(free[a]).total_cmp(&curvature(free[b])))
        else {
            break None;
        };
        free.remove(weakest);
    };
    let m = free.len();
    let se = |i: usize| match (free.iter().position(|&f| f == i), covariance.as_ref()) {
        (Some(p), Some(c)) => c[p * m + p].max(0.0).sqrt(),
        _ => f64::NAN,
    };
    let sampling = covariance.as_ref().and_then(|c| {
        cholesky(c, m).map(|cholesky| Sampling {
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
    // Profiles of every channel's ln K: each end of each interval is a job (their costs vary
    // with how far the end lies).
    let optimum = Start { x: &x, f: best.f };
    let ends = crate::parallel::map_jobs(
        std::thread::available_parallelism().map_or(1, |t| t.get()),
        2 * channels,
        |job| {
            let direction = if job % 2 == 0 { -1.0 } else { 1.0 };
            profile_end(&problem, &optimum, 2 * n + 3 * (job / 2), direction)
        },
    );
    let intervals: Vec<(Option<f64>, Option<f64>)> =
        ends.chunks(2).map(|pair| (pair[0], pair[1])).collect();
    let channels_fit = channel_params
        .iter()
        .enumerate()
        .map(|(c, &(kc, hc, alpha))| {
            let o = 2 * n + 3 * c;
            ChannelFit {
                half_saturation: kc,
                half_saturation_se: kc * se(o),
                half_saturation_interval: (
                    intervals[c].0.map(|v| v.exp() * problem.scale[c]),
                    intervals[c].1.map(|v| v.exp() * problem.scale[c]),
                ),
                shape: hc,
                shape_se: shape_slope(x[o + 1]) * se(o + 1),
                // With one lag there is no carry-over to estimate.
                carryover: if data.max_lag > 1 { alpha } else { 0.0 },
                carryover_se: if data.max_lag > 1 {
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
        dispersion: problem.dispersion(&x),
        converged: best.converged,
        max_lag: data.max_lag,
        sampling,
        optimum: x.clone(),
        data_weight: problem.data_weight,
        objective: best.f,
        priors: *priors,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clv::optim::Objective;

    #[test]
    fn the_gradient_is_the_derivative_of_the_value() {
        // Two channels, one with two series, twelve seasons over 30 periods, four lags; spend
        // with zero stretches so adstock meets zero windows.
        let spend = |phase: f64| -> Vec<f64> {
            (0..30)
                .map(|t| {
                    let v = 50.0 + 40.0 * (t as f64 * 0.7 + phase).sin();
                    if t % 9 < 2 { 0.0 } else { v }
                })
                .collect()
        };
        let outcome = |shift: f64| -> Vec<f64> {
            (0..30)
                .map(|t| (3.0 + shift + 2.0 * (t as f64 * 0.3).cos()).round())
                .collect()
        };
        let series = vec![
            Series {
                channel: 0,
                spend: spend(0.0),
                outcome: outcome(0.0),
            },
            Series {
                channel: 0,
                spend: spend(1.0),
                outcome: outcome(1.0),
            },
            Series {
                channel: 1,
                spend: spend(2.0),
                outcome: outcome(2.0),
            },
        ];
        let season_of: Vec<usize> = (0..30).map(|t| t % 12).collect();
        let problem = Problem {
            series: &series,
            channels: 2,
            season_of: &season_of,
            seasons: 12,
            max_lag: 4,
            scale: vec![40.0, 60.0],
            total: series.iter().flat_map(|s| &s.outcome).sum(),
            priors: Priors::default(),
            data_weight: 0.7,
        };
        let k = 2 * 3 + 3 * 2 + 11;
        for (i, point) in [0.3, -0.8, 1.7].iter().enumerate() {
            let x: Vec<f64> = (0..k)
                .map(|j| point * ((j * 7 + i) as f64 * 0.37).sin())
                .collect();
            let mut analytic = vec![0.0; k];
            let value = problem.value_grad(&x, &mut analytic, true);
            assert!((value - problem.value(&x)).abs() <= 1e-14 * value.abs().max(1.0));
            for j in 0..k {
                let step = 1e-6;
                let (mut up, mut down) = (x.clone(), x.clone());
                up[j] += step;
                down[j] -= step;
                let numeric = (problem.value(&up) - problem.value(&down)) / (2.0 * step);
                assert!(
                    (analytic[j] - numeric).abs() <= 1e-7 * numeric.abs().max(1e-3),
                    "parameter {j} at point {i}: {} vs {numeric}",
                    analytic[j]
                );
            }
        }
        // One lag: the weights do not depend on the carry-over.
        assert_eq!(adstock_weight_slopes(0.4, 1), vec![0.0]);
    }
}
