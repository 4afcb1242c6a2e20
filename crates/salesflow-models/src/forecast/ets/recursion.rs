//! The ETS state recursions (Hyndman, Koehler, Ord & Snyder 2008, ch. 2) in the error-correction
//! form R's forecast::ets uses. Given the observation, the states move the same way whether the
//! error is additive or multiplicative; the error type changes only the likelihood and the
//! prediction intervals.

use super::{Season, Trend};

/// Below this a forecast or divisor counts as zero (R's `TOL`).
pub(crate) const TINY: f64 = 1e-10;
/// What a division by (almost) zero becomes (R's `HUGEN`).
const HUGE: f64 = 1e10;

/// The smoothing parameters of one model: β, γ are 0 and φ is 1 where the model has no such
/// component. β and γ are the error-correction coefficients R reports (so β < α, γ < 1 − α).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Smoothing {
    /// Level smoothing α.
    pub alpha: f64,
    /// Trend smoothing β.
    pub beta: f64,
    /// Seasonal smoothing γ.
    pub gamma: f64,
    /// Damping φ (1 = undamped).
    pub phi: f64,
}

/// The states at one time: level, trend (an increment, or a growth ratio for a multiplicative
/// trend) and the last `m` seasonal states.
#[derive(Debug, Clone, PartialEq)]
pub struct States {
    /// Level ℓ.
    pub level: f64,
    /// Trend b (0 without a trend).
    pub trend: f64,
    /// Seasonal states in time order, oldest first; `season[pos]` is the one the next
    /// observation uses. A ring, so a step writes one value instead of shifting `m`.
    season: Vec<f64>,
    pos: usize,
}

impl States {
    /// States from R's layout: seasonal states newest first (`s[0]` belongs to the last
    /// period, `s[m-1]` to `m - 1` periods before it).
    pub fn from_newest_first(level: f64, trend: f64, season_newest_first: &[f64]) -> States {
        States {
            level,
            trend,
            season: season_newest_first.iter().rev().copied().collect(),
            pos: 0,
        }
    }

    /// Overwrites these states (reusing the seasonal buffer: this runs at every likelihood
    /// evaluation) with a level, trend, `m - 1` free seasonal states newest first and the
    /// last one.
    pub(crate) fn reset(&mut self, level: f64, trend: f64, free_newest_first: &[f64], last: f64) {
        self.level = level;
        self.trend = trend;
        self.season.clear();
        if !free_newest_first.is_empty() {
            self.season.push(last);
            self.season.extend(free_newest_first.iter().rev());
        }
        self.pos = 0;
    }

    /// The seasonal states newest first, as R prints them.
    pub fn season_newest_first(&self) -> Vec<f64> {
        let m = self.season.len();
        (0..m)
            .map(|k| self.season[(self.pos + m - 1 - k) % m])
            .collect()
    }

    /// The seasonal state the observation `steps_ahead` periods on (1 = next) uses.
    fn season_for(&self, steps_ahead: usize) -> f64 {
        let m = self.season.len();
        self.season[(self.pos + steps_ahead - 1) % m]
    }
}

/// The trend part `q` of the one-step forecast (level with its trend) and `φ·b` (or `b^φ`).
#[inline(always)]
fn trend_part(trend: Trend, level: f64, growth: f64, phi: f64) -> (f64, f64) {
    match trend {
        Trend::None => (level, 0.0),
        Trend::Additive => {
            let damped = phi * growth;
            (level + damped, damped)
        }
        Trend::Multiplicative => {
            let damped = if phi == 1.0 { growth } else { growth.powf(phi) };
            (level * damped, damped)
        }
    }
}

#[inline(always)]
fn with_season(season: Season, trend_part: f64, seasonal: f64) -> f64 {
    match season {
        Season::None => trend_part,
        Season::Additive => trend_part + seasonal,
        Season::Multiplicative => trend_part * seasonal,
    }
}

#[inline(always)]
fn ratio(numerator: f64, denominator: f64) -> f64 {
    if denominator.abs() < TINY {
        HUGE
    } else {
        numerator / denominator
    }
}

/// One period: the one-step forecast from `states`, then the states moved on by `y`.
#[inline(always)]
fn step(
    trend: Trend,
    season: Season,
    smoothing: &Smoothing,
    beta_over_alpha: f64,
    states: &mut States,
    y: f64,
) -> f64 {
    let m = states.season.len();
    let old_level = states.level;
    let (q, damped) = trend_part(trend, old_level, states.trend, smoothing.phi);
    let old_season = if m > 0 {
        states.season[states.pos]
    } else {
        0.0
    };
    let forecast = with_season(season, q, old_season);
    let deseasonalised = match season {
        Season::None => y,
        Season::Additive => y - old_season,
        Season::Multiplicative => ratio(y, old_season),
    };
    let level = q + smoothing.alpha * (deseasonalised - q);
    states.level = level;
    if trend != Trend::None {
        let change = match trend {
            Trend::Additive => level - old_level,
            _ => ratio(level, old_level),
        };
        states.trend = damped + beta_over_alpha * (change - damped);
    }
    if season != Season::None {
        let detrended = match season {
            Season::Additive => y - q,
            _ => ratio(y, q),
        };
        states.season[states.pos] = old_season + smoothing.gamma * (detrended - old_season);
        states.pos += 1;
        if states.pos == m {
            states.pos = 0;
        }
    }
    forecast
}

/// Runs the model through `y` from `states` (left at the states after the last observation),
/// calling `visit(t, forecast, error)` each period. Returns R's `-2 log L` up to a constant,
/// `n ln(Σ e²) + 2 Σ ln |ŷ|` (the second sum for multiplicative errors only), or `None` when a
/// one-step forecast is zero (the likelihood does not exist there).
#[inline(always)]
pub(crate) fn run(
    spec: super::EtsSpec,
    smoothing: &Smoothing,
    states: &mut States,
    y: &[f64],
    mut visit: impl FnMut(usize, f64, f64),
) -> Option<f64> {
    let multiplicative = spec.error == super::ErrorType::Multiplicative;
    let mut sum_squares = 0.0;
    // Σ ln|ŷ| as ln of a running product, folded into the sum only when the product leaves
    // [1e-100, 1e100]: one logarithm per few dozen periods instead of one per period (the
    // logarithm was a fifth of the fitting time).
    let mut sum_log_forecast = 0.0;
    let mut product = 1.0f64;
    // Hoisted: a division per period was a visible share of the likelihood.
    let beta_over_alpha = smoothing.beta / smoothing.alpha;
    for (t, &value) in y.iter().enumerate() {
        let forecast = step(
            spec.trend,
            spec.season,
            smoothing,
            beta_over_alpha,
            states,
            value,
        );
        if forecast.abs() < TINY || !forecast.is_finite() {
            return None;
        }
        let error = if multiplicative {
            product *= forecast.abs();
            if !(1e-100..=1e100).contains(&product) {
                sum_log_forecast += product.ln();
                product = 1.0;
            }
            (value - forecast) / forecast
        } else {
            value - forecast
        };
        sum_squares += error * error;
        visit(t, forecast, error);
    }
    sum_log_forecast += product.ln();
    let criterion = y.len() as f64 * sum_squares.ln() + 2.0 * sum_log_forecast;
    criterion.is_finite().then_some(criterion)
}

/// Point forecasts `1..=horizon` periods after `states`.
pub(crate) fn point_forecasts(
    trend: Trend,
    season: Season,
    phi: f64,
    states: &States,
    horizon: usize,
) -> Vec<f64> {
    let mut damped_sum = 0.0;
    let mut phi_power = 1.0;
    (1..=horizon)
        .map(|h| {
            phi_power *= phi;
            damped_sum += phi_power;
            let trend_part = match trend {
                Trend::None => states.level,
                Trend::Additive => states.level + damped_sum * states.trend,
                Trend::Multiplicative => states.level * states.trend.powf(damped_sum),
            };
            let seasonal = if season == Season::None {
                0.0
            } else {
                states.season_for(h)
            };
            with_season(season, trend_part, seasonal)
        })
        .collect()
}

/// Moves `states` on by one simulated observation: the one-step forecast with the error
/// `error` applied (added, or as a relative error), returned.
pub(crate) fn simulate_step(
    spec: super::EtsSpec,
    smoothing: &Smoothing,
    states: &mut States,
    error: f64,
) -> f64 {
    let (q, _) = trend_part(spec.trend, states.level, states.trend, smoothing.phi);
    let seasonal = if spec.season == Season::None {
        0.0
    } else {
        states.season[states.pos]
    };
    let forecast = with_season(spec.season, q, seasonal);
    let y = match spec.error {
        super::ErrorType::Additive => forecast + error,
        super::ErrorType::Multiplicative => forecast * (1.0 + error),
    };
    let beta_over_alpha = smoothing.beta / smoothing.alpha;
    step(
        spec.trend,
        spec.season,
        smoothing,
        beta_over_alpha,
        states,
        y,
    );
    y
}
