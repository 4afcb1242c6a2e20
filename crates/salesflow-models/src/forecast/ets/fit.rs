//! Fitting one ETS model by maximum likelihood: smoothing parameters and initial states
//! together, by Nelder–Mead inside the usual ∩ admissible region, from R's starting values.

use super::admissible::in_region;
use super::initial::starting_states;
use super::recursion::{self, Smoothing, States};
use super::{EtsSpec, Season, Trend};
use crate::ModelError;
use crate::forecast::check_series;
use crate::forecast::nelder_mead::{NelderMeadOptions, minimize};

/// Search bounds of (α, β, γ, φ), R's defaults: α, β, γ in [0.0001, 0.9999], φ in [0.8, 0.98].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ParameterBounds {
    /// Lower bounds of α, β, γ, φ.
    pub lower: [f64; 4],
    /// Upper bounds of α, β, γ, φ.
    pub upper: [f64; 4],
}

impl Default for ParameterBounds {
    fn default() -> Self {
        ParameterBounds {
            lower: [1e-4, 1e-4, 1e-4, 0.8],
            upper: [0.9999, 0.9999, 0.9999, 0.98],
        }
    }
}

/// Values to hold fixed instead of estimating.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FixedParameters {
    /// Level smoothing α.
    pub alpha: Option<f64>,
    /// Trend smoothing β.
    pub beta: Option<f64>,
    /// Seasonal smoothing γ.
    pub gamma: Option<f64>,
    /// Damping φ.
    pub phi: Option<f64>,
    /// All initial states: level, trend and the `m` seasonal states newest first.
    pub initial: Option<(f64, f64, Vec<f64>)>,
}

/// How to fit one model.
#[derive(Debug, Clone, PartialEq)]
pub struct EtsOptions {
    /// Search bounds of the smoothing parameters.
    pub bounds: ParameterBounds,
    /// Values held fixed.
    pub fixed: FixedParameters,
    /// Most likelihood evaluations (R: 2000).
    pub max_evaluations: usize,
    /// Relative change of the likelihood at which to stop (R: √ε ≈ 1.5e-8).
    pub relative_tolerance: f64,
    /// Times to restart the simplex from the best point found (R: none).
    pub restarts: usize,
}

impl Default for EtsOptions {
    fn default() -> Self {
        EtsOptions {
            bounds: ParameterBounds::default(),
            fixed: FixedParameters::default(),
            max_evaluations: 2000,
            relative_tolerance: f64::EPSILON.sqrt(),
            restarts: 3,
        }
    }
}

/// A fitted ETS model.
#[derive(Debug, Clone, PartialEq)]
pub struct EtsFit {
    /// The model.
    pub spec: EtsSpec,
    /// Periods per season (1 without a season).
    pub season_length: usize,
    /// The smoothing parameters (β, γ = 0 and φ = 1 where the model has none).
    pub smoothing: Smoothing,
    /// The states before the first observation.
    pub initial: States,
    /// The states after the last observation, where forecasts start.
    pub last: States,
    /// One-step-ahead fitted values.
    pub fitted: Vec<f64>,
    /// The model's errors: `y − ŷ`, or `(y − ŷ)/ŷ` for multiplicative errors.
    pub residuals: Vec<f64>,
    /// The Gaussian log-likelihood with σ² at its estimate (statsmodels' convention; R's
    /// `loglik` is this plus `n/2 (ln(2π/n) + 1)`).
    pub log_likelihood: f64,
    /// Akaike's criterion, `−2 log L + 2k`.
    pub aic: f64,
    /// AIC corrected for small samples, `AIC + 2k(k+1)/(n−k−1)`.
    pub aicc: f64,
    /// Schwarz's criterion, `−2 log L + k ln n`.
    pub bic: f64,
    /// Residual variance `Σe²/(n − k)` (of the relative errors for multiplicative errors).
    pub sigma2: f64,
    /// Mean squared one-step error `Σ(y − ŷ)²/n`.
    pub mse: f64,
    /// `k`: estimated quantities, counting σ².
    pub parameters: usize,
    /// Whether the optimiser met its tolerance (false: stopped at the evaluation limit).
    pub converged: bool,
    /// Likelihood evaluations used.
    pub evaluations: usize,
    /// The optimiser's vector at the optimum, to refine from.
    pub(crate) optimum: Vec<f64>,
}

impl EtsFit {
    /// Point forecasts `1..=horizon` periods after the last observation.
    pub fn point_forecast(&self, horizon: usize) -> Vec<f64> {
        recursion::point_forecasts(
            self.spec.trend,
            self.spec.season,
            self.smoothing.phi,
            &self.last,
            horizon,
        )
    }
}

/// Where each free quantity sits in the optimiser's vector.
struct Layout {
    spec: EtsSpec,
    m: usize,
    fixed: FixedParameters,
    alpha: Option<usize>,
    beta: Option<usize>,
    gamma: Option<usize>,
    phi: Option<usize>,
    /// Index of ℓ0 (then b0, then m − 1 seasonal states), when the states are free.
    states: Option<usize>,
}

impl Layout {
    fn smoothing(&self, x: &[f64]) -> Smoothing {
        let pick = |slot: Option<usize>, fixed: Option<f64>, absent: f64| {
            slot.map(|i| x[i]).or(fixed).unwrap_or(absent)
        };
        Smoothing {
            alpha: pick(self.alpha, self.fixed.alpha, f64::NAN),
            beta: if self.spec.trend == Trend::None {
                0.0
            } else {
                pick(self.beta, self.fixed.beta, f64::NAN)
            },
            gamma: if self.spec.season == Season::None {
                0.0
            } else {
                pick(self.gamma, self.fixed.gamma, f64::NAN)
            },
            phi: if self.spec.damped {
                pick(self.phi, self.fixed.phi, f64::NAN)
            } else {
                1.0
            },
        }
    }

    /// Writes the initial states into `out`, the last seasonal state completing the
    /// normalisation (seasonal offsets sum to 0, factors to m); false when multiplicative
    /// factors go negative.
    fn fill_states(&self, x: &[f64], out: &mut States) -> bool {
        let Some(start) = self.states else {
            return match self.fixed.initial.as_ref() {
                Some((level, trend, season)) => {
                    *out = States::from_newest_first(*level, *trend, season);
                    true
                }
                None => false,
            };
        };
        let level = x[start];
        let mut next = start + 1;
        let trend = if self.spec.trend == Trend::None {
            0.0
        } else {
            next += 1;
            x[start + 1]
        };
        if self.spec.season == Season::None {
            out.reset(level, trend, &[], 0.0);
            return true;
        }
        let free = &x[next..next + self.m - 1];
        let sum: f64 = free.iter().sum();
        let multiplicative = self.spec.season == Season::Multiplicative;
        let last = if multiplicative {
            self.m as f64 - sum
        } else {
            -sum
        };
        if multiplicative && (last < 0.0 || free.iter().any(|&s| s < 0.0)) {
            return false;
        }
        out.reset(level, trend, free, last);
        true
    }

    fn states(&self, x: &[f64]) -> Option<States> {
        let mut states = States::from_newest_first(0.0, 0.0, &[]);
        self.fill_states(x, &mut states).then_some(states)
    }
}

/// Fits `spec` to `y` (one value per period, oldest first) with `season_length` periods per
/// season (ignored without a season).
pub fn fit_ets(
    y: &[f64],
    season_length: usize,
    spec: EtsSpec,
    options: &EtsOptions,
) -> Result<EtsFit, ModelError> {
    fit_ets_from(y, season_length, spec, options, None)
}

/// [`fit_ets`] with the optimiser started from `start` (the `optimum` of an earlier, looser
/// fit of the same model) instead of R's starting values.
pub(crate) fn fit_ets_from(
    y: &[f64],
    season_length: usize,
    spec: EtsSpec,
    options: &EtsOptions,
    start_from: Option<&[f64]>,
) -> Result<EtsFit, ModelError> {
    check_series(y)?;
    if spec.needs_positive_data()
        && let Some(row) = y.iter().position(|&v| v <= 0.0)
    {
        return Err(ModelError::InvalidInput {
            row,
            field: "value",
            value: y[row],
            hint: "multiplicative error, trend or season needs values above zero; choose an additive model (e.g. AAN) or let automatic selection pick",
        });
    }
    let m = if spec.season == Season::None {
        1
    } else if season_length > super::MAX_SEASON_LENGTH {
        return Err(ModelError::InvalidParameter {
            name: "season_length",
            value: season_length as f64,
            hint: "seasonal ETS models hold one state per period of the season and support up to 24 (R's limit); use a model with season N, or a coarser period",
        });
    } else if season_length < 2 {
        return Err(ModelError::InvalidParameter {
            name: "season_length",
            value: season_length as f64,
            hint: "a seasonal model needs at least 2 periods per season; use a model with season N",
        });
    } else {
        season_length
    };
    if spec.season != Season::None && y.len() <= m {
        // The starting states need a season of data, and the model m − 1 seasonal states.
        return Err(ModelError::SeriesTooShort {
            model: spec.to_string(),
            length: y.len(),
            needed: m + 1,
        });
    }
    let bounds = options.bounds;
    let fixed = options.fixed.clone();
    let mut start: Vec<f64> = Vec::new();
    let mut steps: Vec<f64> = Vec::new();
    let slot = |value: f64, step: f64, start: &mut Vec<f64>, steps: &mut Vec<f64>| {
        start.push(value);
        steps.push(step);
        start.len() - 1
    };
    // R's starting values: α low, β a tenth of the way to α, γ low, φ near its upper bound.
    let alpha_start = fixed.alpha.unwrap_or_else(|| {
        let a = bounds.lower[0] + 0.2 * (bounds.upper[0] - bounds.lower[0]) / m as f64;
        if (0.0..=1.0).contains(&a) {
            a
        } else {
            bounds.lower[0] + 2e-3
        }
    });
    let alpha = fixed.alpha.is_none().then(|| {
        slot(
            alpha_start,
            0.1 * (bounds.upper[0] - alpha_start),
            &mut start,
            &mut steps,
        )
    });
    let beta = (spec.trend != Trend::None && fixed.beta.is_none()).then(|| {
        let upper = bounds.upper[1].min(alpha_start);
        let mut b = bounds.lower[1] + 0.1 * (upper - bounds.lower[1]);
        if b < 0.0 || b > alpha_start {
            b = alpha_start - 1e-3;
        }
        slot(b, 0.5 * (upper - b), &mut start, &mut steps)
    });
    let gamma = (spec.season != Season::None && fixed.gamma.is_none()).then(|| {
        let upper = bounds.upper[2].min(1.0 - alpha_start);
        let mut g = bounds.lower[2] + 0.05 * (upper - bounds.lower[2]);
        if g < 0.0 || g > 1.0 - alpha_start {
            g = 1.0 - alpha_start - 1e-3;
        }
        slot(g, 0.1 * (upper - g), &mut start, &mut steps)
    });
    let phi = (spec.damped && fixed.phi.is_none()).then(|| {
        let mut p = bounds.lower[3] + 0.99 * (bounds.upper[3] - bounds.lower[3]);
        if !(0.0..=1.0).contains(&p) {
            p = bounds.upper[3] - 1e-3;
        }
        slot(p, -0.5 * (p - bounds.lower[3]), &mut start, &mut steps)
    });
    let states = if fixed.initial.is_some() {
        None
    } else {
        let initial = starting_states(y, spec.trend, spec.season, m).ok_or(
            ModelError::InvalidModel {
                model: spec.code(),
                hint: "no starting states (a multiplicative season or trend on data it cannot fit); choose an additive model",
            },
        )?;
        let scale = y.iter().map(|v| v.abs()).sum::<f64>() / y.len() as f64;
        let first = slot(
            initial.level,
            0.1 * initial.level.abs().max(0.01 * scale),
            &mut start,
            &mut steps,
        );
        if spec.trend != Trend::None {
            let step = if spec.trend == Trend::Multiplicative {
                0.01
            } else {
                0.1 * initial.trend.abs().max(1e-3 * scale)
            };
            slot(initial.trend, step, &mut start, &mut steps);
        }
        for &s in &initial.season {
            let step = if spec.season == Season::Multiplicative {
                0.05
            } else {
                0.1 * s.abs().max(0.01 * scale)
            };
            slot(s, step, &mut start, &mut steps);
        }
        Some(first)
    };
    let free = start.len();
    if free + 1 >= y.len() {
        return Err(ModelError::SeriesTooShort {
            model: spec.to_string(),
            length: y.len(),
            needed: free + 2,
        });
    }
    let layout = Layout {
        spec,
        m,
        fixed,
        alpha,
        beta,
        gamma,
        phi,
        states,
    };
    let seasonal = (spec.season != Season::None).then_some(m);
    let criterion = |x: &[f64], states: &mut States| -> Option<f64> {
        let smoothing = layout.smoothing(x);
        if !in_region(
            &smoothing,
            &bounds,
            spec.trend != Trend::None,
            seasonal,
            spec.damped,
        ) {
            return None;
        }
        if !layout.fill_states(x, states) {
            return None;
        }
        recursion::run(spec, &smoothing, states, y, |_, _, _| {})
    };
    let mut scratch = States::from_newest_first(0.0, 0.0, &[]);
    if let Some(point) = start_from
        && point.len() == start.len()
    {
        start.copy_from_slice(point);
        // Near the optimum already: smaller first steps.
        steps.iter_mut().for_each(|s| *s *= 0.25);
    }
    let (best, converged, evaluations) = if free == 0 {
        (Vec::new(), true, 1)
    } else {
        let mut objective =
            |x: &[f64]| criterion(x, &mut scratch).map_or(f64::INFINITY, |c| c.max(-1e10));
        let nelder_mead = NelderMeadOptions {
            max_evaluations: options.max_evaluations,
            relative_tolerance: options.relative_tolerance,
        };
        let mut found = minimize(&mut objective, &start, &steps, nelder_mead);
        if !found.value.is_finite() {
            return Err(ModelError::NoFiniteStart { model: "ETS" });
        }
        // A simplex can collapse onto a ridge short of the optimum; restarting from the best
        // point with fresh steps until a restart gains nothing is the usual remedy. On
        // austourists R's own fit of ETS(M,Ad,M) (no restarts) stops 0.04 short of the optimum
        // and so did ours with one restart; with up to three every model reaches R's
        // likelihood or better.
        let mut evaluations = found.evaluations;
        for _ in 0..options.restarts {
            let again = minimize(&mut objective, &found.point, &steps, nelder_mead);
            evaluations += again.evaluations;
            let improved = again.value < found.value;
            let small = found.value - again.value
                <= options.relative_tolerance * (found.value.abs() + options.relative_tolerance);
            if improved {
                found = again;
            }
            if small {
                break;
            }
        }
        (found.point, found.converged, evaluations)
    };
    let smoothing = layout.smoothing(&best);
    let initial = layout
        .states(&best)
        .ok_or(ModelError::NoFiniteStart { model: "ETS" })?;
    let mut last = initial.clone();
    let n = y.len();
    let mut fitted = vec![0.0; n];
    let mut residuals = vec![0.0; n];
    let lik = recursion::run(spec, &smoothing, &mut last, y, |t, f, e| {
        fitted[t] = f;
        residuals[t] = e;
    })
    .ok_or(ModelError::NoFiniteStart { model: "ETS" })?;
    let nf = n as f64;
    let parameters = free + 1;
    let k = parameters as f64;
    let log_likelihood = -0.5 * lik - nf / 2.0 * ((2.0 * std::f64::consts::PI / nf).ln() + 1.0);
    let aic = -2.0 * log_likelihood + 2.0 * k;
    let aicc = if nf - k - 1.0 > 0.0 {
        aic + 2.0 * k * (k + 1.0) / (nf - k - 1.0)
    } else {
        f64::INFINITY
    };
    let bic = -2.0 * log_likelihood + k * nf.ln();
    let sum_squares: f64 = residuals.iter().map(|e| e * e).sum();
    let sigma2 = sum_squares / (nf - k);
    let mse = y
        .iter()
        .zip(&fitted)
        .map(|(v, f)| (v - f).powi(2))
        .sum::<f64>()
        / nf;
    Ok(EtsFit {
        spec,
        season_length: m,
        smoothing,
        initial,
        last,
        fitted,
        residuals,
        log_likelihood,
        aic,
        aicc,
        bic,
        sigma2,
        mse,
        parameters,
        converged,
        evaluations,
        optimum: best,
    })
}
