//! Starting values of the initial states, by R forecast's heuristic (Hyndman et al. 2008,
//! §2.6.1): seasonal states from a classical decomposition of the first three seasons (or a
//! linear trend plus one Fourier pair when the series is shorter), then level and trend from a
//! straight line through the first `max(10, 2m)` seasonally adjusted values. The optimiser
//! refines them; they only have to be good enough to start from.

use super::{Season, Trend};
use crate::linear::qr::Qr;

/// Initial level, trend and `m - 1` seasonal states (newest first; the `m`-th follows from the
/// normalisation), or `None` when the series cannot support them (e.g. a multiplicative
/// season with a non-positive trend estimate).
pub(crate) struct StartingStates {
    pub level: f64,
    pub trend: f64,
    pub season: Vec<f64>,
}

pub(crate) fn starting_states(
    y: &[f64],
    trend: Trend,
    season: Season,
    season_length: usize,
) -> Option<StartingStates> {
    let (adjusted, seasonal_states) = if season == Season::None {
        (y.to_vec(), Vec::new())
    } else {
        let multiplicative = season == Season::Multiplicative;
        let m = season_length;
        let (observed, seasonal) = if y.len() >= 3 * m {
            let window = &y[..3 * m];
            (window, classical_seasonal(window, m, multiplicative)?)
        } else {
            (y, trend_fourier_seasonal(y, m, multiplicative)?)
        };
        let adjusted: Vec<f64> = observed
            .iter()
            .zip(&seasonal)
            .map(|(&v, &s)| if multiplicative { v / s } else { v - s })
            .collect();
        // States for periods 0, -1, ..., -(m-2): the decomposition's periods m, m-1, ..., 2.
        let states: Vec<f64> = seasonal[1..m].iter().rev().copied().collect();
        (adjusted, states)
    };
    let head = &adjusted[..adjusted.len().min(10.max(2 * season_length))];
    let (level, growth) = match trend {
        Trend::None => (head.iter().sum::<f64>() / head.len() as f64, 0.0),
        Trend::Additive => {
            let (intercept, slope) = straight_line(head);
            if (intercept + slope).abs() < 1e-8 {
                // A multiplicative error needs ℓ0 + b0 ≠ 0.
                (intercept * (1.0 + 1e-3), slope * (1.0 - 1e-3))
            } else {
                (intercept, slope)
            }
        }
        Trend::Multiplicative => {
            let (intercept, slope) = straight_line(head);
            let first = intercept + slope;
            let first = if first.abs() < 1e-8 { 1e-7 } else { first };
            let mut ratio = (intercept + 2.0 * slope) / first;
            if ratio.abs() > 1e10 {
                ratio = ratio.signum() * 1e10;
            }
            let level = first / ratio;
            if level < 1e-8 || ratio < 1e-8 {
                let a = adjusted[0].max(1e-3);
                (a, (adjusted.get(1).copied().unwrap_or(a) / a).max(1e-3))
            } else {
                (level, ratio)
            }
        }
    };
    (level.is_finite() && growth.is_finite() && seasonal_states.iter().all(|s| s.is_finite()))
        .then_some(StartingStates {
            level,
            trend: growth,
            season: seasonal_states,
        })
}

/// Least-squares line through `(1, v1), (2, v2), ...`: (intercept, slope).
fn straight_line(values: &[f64]) -> (f64, f64) {
    let n = values.len() as f64;
    if values.len() < 2 {
        return (values.first().copied().unwrap_or(0.0), 0.0);
    }
    let mean_x = (n + 1.0) / 2.0;
    let mean_y = values.iter().sum::<f64>() / n;
    let (mut sxy, mut sxx) = (0.0, 0.0);
    for (i, &v) in values.iter().enumerate() {
        let dx = i as f64 + 1.0 - mean_x;
        sxy += dx * (v - mean_y);
        sxx += dx * dx;
    }
    let slope = sxy / sxx;
    (mean_y - slope * mean_x, slope)
}

/// The seasonal component of R's `decompose`: a centred moving average of order `m` (2×m
/// when `m` is even) as trend, the detrended values averaged by position in the season, and
/// the averages normalised to sum 0 (or average 1). One value per observation.
pub(crate) fn classical_seasonal(y: &[f64], m: usize, multiplicative: bool) -> Option<Vec<f64>> {
    let n = y.len();
    let weights: Vec<f64> = if m.is_multiple_of(2) {
        let mut w = vec![1.0 / m as f64; m + 1];
        w[0] = 0.5 / m as f64;
        w[m] = 0.5 / m as f64;
        w
    } else {
        vec![1.0 / m as f64; m]
    };
    let half = weights.len() / 2;
    let mut sums = vec![0.0; m];
    let mut counts = vec![0usize; m];
    for t in half..n.saturating_sub(weights.len() - 1 - half) {
        let trend: f64 = weights
            .iter()
            .enumerate()
            .map(|(j, w)| w * y[t + j - half])
            .sum();
        let detrended = if multiplicative {
            y[t] / trend
        } else {
            y[t] - trend
        };
        sums[t % m] += detrended;
        counts[t % m] += 1;
    }
    if counts.contains(&0) {
        return None;
    }
    let figure: Vec<f64> = sums
        .iter()
        .zip(&counts)
        .map(|(s, &c)| s / c as f64)
        .collect();
    let mean = figure.iter().sum::<f64>() / m as f64;
    let figure: Vec<f64> = figure
        .iter()
        .map(|f| if multiplicative { f / mean } else { f - mean })
        .collect();
    let all_finite = figure.iter().all(|f| f.is_finite());
    all_finite.then(|| (0..n).map(|t| figure[t % m]).collect())
}

/// For series shorter than three seasons: the residual of a line plus one Fourier pair
/// (R's `tslm(y ~ trend + fourier(y, 1))`), relative to the line, as the seasonal component.
fn trend_fourier_seasonal(y: &[f64], m: usize, multiplicative: bool) -> Option<Vec<f64>> {
    let n = y.len();
    let angle = |t: usize| 2.0 * std::f64::consts::PI * t as f64 / m as f64;
    let mut columns: Vec<f64> = Vec::with_capacity(4 * n);
    columns.extend(std::iter::repeat_n(1.0, n));
    columns.extend((1..=n).map(|t| t as f64));
    // With m = 2 the sine is zero at every whole period, so R's fourier() leaves it out.
    let with_sine = m > 2;
    if with_sine {
        columns.extend((1..=n).map(|t| angle(t).sin()));
    }
    columns.extend((1..=n).map(|t| angle(t).cos()));
    let cols = columns.len() / n;
    let qr = Qr::new(columns, n, cols).ok()?;
    let beta = qr.solve(y);
    Some(
        (0..n)
            .map(|t| {
                let line = beta[0] + beta[1] * (t + 1) as f64;
                if multiplicative {
                    y[t] / line
                } else {
                    y[t] - line
                }
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_straight_line_is_found_exactly() {
        let (a, b) = straight_line(&[3.0, 5.0, 7.0, 9.0]);
        assert!((a - 1.0).abs() < 1e-12 && (b - 2.0).abs() < 1e-12);
    }

    #[test]
    fn a_pure_seasonal_pattern_is_recovered() {
        let pattern = [1.0, -2.0, 3.0, -2.0];
        let y: Vec<f64> = (0..16).map(|t| 10.0 + pattern[t % 4]).collect();
        let start = starting_states(&y, Trend::None, Season::Additive, 4).unwrap();
        assert!((start.level - 10.0).abs() < 1e-9);
        // Newest first: periods 4, 3, 2 of the first season.
        for (got, want) in start.season.iter().zip([-2.0, 3.0, -2.0]) {
            assert!((got - want).abs() < 1e-9, "{got} vs {want}");
        }
    }
}
