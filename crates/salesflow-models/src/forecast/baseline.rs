//! The benchmarks every forecast has to beat: the last value (naive), the value one season
//! ago (seasonal naive) and the straight line from the first to the last value (drift), with
//! normal prediction intervals from their in-sample one-step errors (the rules of R's
//! forecast package and statsforecast, which agree on the point forecasts; the σ divisors are
//! statsforecast's).

use super::{Forecast, check_series, normal_quantile};
use crate::ModelError;

/// The last value, repeated; σ from the one-step differences, widening with √h.
pub fn naive(y: &[f64], horizon: usize, level: f64) -> Result<Forecast, ModelError> {
    check_series(y)?;
    let n = y.len();
    let last = y[n - 1];
    let sigma = root_mean_square(y.windows(2).map(|w| w[1] - w[0]), n - 1);
    Ok(normal_bands(
        vec![last; horizon],
        (1..=horizon).map(|h| sigma * (h as f64).sqrt()),
        level,
    ))
}

/// The value one season before, repeated season after season; σ from the seasonal
/// differences, widening with the number of whole seasons ahead.
pub fn seasonal_naive(
    y: &[f64],
    season_length: usize,
    horizon: usize,
    level: f64,
) -> Result<Forecast, ModelError> {
    check_series(y)?;
    let n = y.len();
    let m = season_length.max(1);
    if n < m {
        return Err(ModelError::SeriesTooShort {
            model: "seasonal naive".to_string(),
            length: n,
            needed: m,
        });
    }
    let mean: Vec<f64> = (0..horizon).map(|h| y[n - m + h % m]).collect();
    let sigma = root_mean_square((m..n).map(|t| y[t] - y[t - m]), n - m);
    Ok(normal_bands(
        mean,
        (0..horizon).map(|h| sigma * ((h / m + 1) as f64).sqrt()),
        level,
    ))
}

/// The line through the first and last values, continued; σ from the one-step differences
/// around the slope, widening for the slope's own uncertainty.
pub fn drift(y: &[f64], horizon: usize, level: f64) -> Result<Forecast, ModelError> {
    check_series(y)?;
    let n = y.len();
    if n < 2 {
        return Err(ModelError::SeriesTooShort {
            model: "drift".to_string(),
            length: n,
            needed: 2,
        });
    }
    let slope = (y[n - 1] - y[0]) / (n - 1) as f64;
    let sigma = root_mean_square(y.windows(2).map(|w| w[1] - w[0] - slope), n - 1);
    let steps = (n - 1) as f64;
    Ok(normal_bands(
        (1..=horizon).map(|h| y[n - 1] + h as f64 * slope).collect(),
        (1..=horizon).map(|h| {
            let h = h as f64;
            sigma * (h * (1.0 + h / steps)).sqrt()
        }),
        level,
    ))
}

/// `sqrt(Σ e² / count)`, 0 without errors.
fn root_mean_square(errors: impl Iterator<Item = f64>, count: usize) -> f64 {
    if count == 0 {
        return 0.0;
    }
    (errors.map(|e| e * e).sum::<f64>() / count as f64).sqrt()
}

fn normal_bands(mean: Vec<f64>, sigmas: impl Iterator<Item = f64>, level: f64) -> Forecast {
    let z = normal_quantile(0.5 + level / 2.0);
    let (lower, upper) = mean
        .iter()
        .zip(sigmas)
        .map(|(m, s)| (m - z * s, m + z * s))
        .unzip();
    Forecast {
        mean,
        lower,
        upper,
        level,
    }
}
