//! Intermittent demand — many periods without a sale, as most products have most days:
//! Croston's method (separate smoothing of demand sizes and of the intervals between demands,
//! Croston 1972), the Syntetos–Boylan approximation that removes its bias (SBA, 2005), and
//! Teunter–Syntetos–Babai (TSB, 2011), which smooths the probability of a demand instead of the
//! interval and so lets a dying product's forecast decay. Conventions as statsforecast's:
//! α = 0.1, each smoother starting at its first value.

use super::{Forecast, check_series, quantile};
use crate::ModelError;

/// Which member of the family.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum CrostonKind {
    /// Croston's original: size over interval.
    Classic,
    /// Syntetos–Boylan: Croston times `1 − α/2`.
    Sba,
    /// Teunter–Syntetos–Babai with the probability and size smoothing constants.
    Tsb {
        /// Smoothing of the demand probability.
        alpha_probability: f64,
        /// Smoothing of the demand size.
        alpha_size: f64,
    },
}

/// The smoothing constant of classic Croston and SBA.
const ALPHA: f64 = 0.1;

/// A flat forecast of demand per period. The interval is empirical: quantiles of the
/// in-sample one-step errors added to the forecast and floored at zero, because demand that is
/// mostly zero is nowhere near normal.
pub fn croston(
    y: &[f64],
    kind: CrostonKind,
    horizon: usize,
    level: f64,
) -> Result<Forecast, ModelError> {
    check_series(y)?;
    if let Some(row) = y.iter().position(|&v| v < 0.0) {
        return Err(ModelError::InvalidInput {
            row,
            field: "value",
            value: y[row],
            hint: "intermittent-demand methods need demand of zero or more",
        });
    }
    let fitted = one_step_fits(y, kind);
    let point = *fitted.last().unwrap_or(&0.0);
    let mut errors: Vec<f64> = y[1..]
        .iter()
        .zip(&fitted[1..y.len()])
        .map(|(v, f)| v - f)
        .collect();
    errors.sort_unstable_by(f64::total_cmp);
    let tail = (1.0 - level) / 2.0;
    let (low, high) = if errors.is_empty() {
        (0.0, 0.0)
    } else {
        (quantile(&errors, tail), quantile(&errors, 1.0 - tail))
    };
    Ok(Forecast {
        mean: vec![point; horizon],
        lower: vec![(point + low).max(0.0); horizon],
        upper: vec![(point + high).max(point); horizon],
        level,
    })
}

/// The forecast made before each period (index t: from `y[..t]`), plus the final one at
/// index n. Index 0 has no history and repeats the first forecast.
fn one_step_fits(y: &[f64], kind: CrostonKind) -> Vec<f64> {
    let mut out = Vec::with_capacity(y.len() + 1);
    match kind {
        CrostonKind::Classic | CrostonKind::Sba => {
            let factor = if kind == CrostonKind::Sba {
                1.0 - ALPHA / 2.0
            } else {
                1.0
            };
            let (mut size, mut interval): (Option<f64>, Option<f64>) = (None, None);
            let mut since_last = 0usize;
            out.push(0.0);
            for &value in y {
                since_last += 1;
                if value > 0.0 {
                    let gap = since_last as f64;
                    size = Some(size.map_or(value, |s| s + ALPHA * (value - s)));
                    interval = Some(interval.map_or(gap, |p| p + ALPHA * (gap - p)));
                    since_last = 0;
                }
                out.push(match (size, interval) {
                    (Some(z), Some(p)) if p > 0.0 => factor * z / p,
                    (Some(z), _) => factor * z,
                    _ => 0.0,
                });
            }
        }
        CrostonKind::Tsb {
            alpha_probability,
            alpha_size,
        } => {
            let mut probability: Option<f64> = None;
            let mut size: Option<f64> = None;
            out.push(0.0);
            for &value in y {
                let occurred = if value != 0.0 { 1.0 } else { 0.0 };
                probability =
                    Some(probability.map_or(occurred, |p| p + alpha_probability * (occurred - p)));
                if value > 0.0 {
                    size = Some(size.map_or(value, |s| s + alpha_size * (value - s)));
                }
                out.push(probability.unwrap_or(0.0) * size.unwrap_or(0.0));
            }
        }
    }
    out[0] = out.get(1).copied().unwrap_or(0.0);
    out
}

/// Average inter-demand interval and squared coefficient of variation of the non-zero
/// demands (Syntetos, Boylan & Croston 2005): a series with ADI ≥ 1.32 is intermittent and
/// better served by SBA than by smoothing.
pub fn demand_pattern(y: &[f64]) -> (f64, f64) {
    let sizes: Vec<f64> = y.iter().copied().filter(|&v| v > 0.0).collect();
    if sizes.is_empty() {
        return (f64::INFINITY, 0.0);
    }
    let adi = y.len() as f64 / sizes.len() as f64;
    let mean = sizes.iter().sum::<f64>() / sizes.len() as f64;
    let variance = sizes.iter().map(|s| (s - mean).powi(2)).sum::<f64>() / sizes.len() as f64;
    (adi, variance / (mean * mean))
}
