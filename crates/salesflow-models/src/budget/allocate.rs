//! The best split of a budget across channels with response curves.

use super::Curve;
use crate::ModelError;

/// An allocation and what it is expected to bring.
#[derive(Debug, Clone, PartialEq)]
pub struct Allocation {
    /// Spend per channel.
    pub spend: Vec<f64>,
    /// Summed expected response.
    pub outcome: f64,
    /// Each channel's marginal return at its spend (equal across channels not at a bound).
    pub marginal: Vec<f64>,
}

/// Maximises `Σ curve_c(x_c)` subject to `Σ x_c = total` and `lower_c <= x_c <= upper_c`.
///
/// When every curve is concave on its bounds (checked on a grid), the optimum equalises the
/// marginal returns of the channels inside their bounds (the KKT conditions, which are then
/// sufficient): found by bisection on the common marginal return λ, each channel's spend being
/// where its slope falls to λ. Otherwise (an S-shaped curve) a global search on a grid of
/// 2,000 steps by dynamic programming, then the same λ refinement inside the winning region.
pub fn allocate(
    curves: &[&dyn Curve],
    bounds: &[(f64, f64)],
    total: f64,
) -> Result<Allocation, ModelError> {
    let bad = |name, value, hint| Err(ModelError::InvalidParameter { name, value, hint });
    if curves.is_empty() || curves.len() != bounds.len() {
        return bad(
            "channels",
            curves.len() as f64,
            "give one (lower, upper) bound per channel",
        );
    }
    if !(total.is_finite() && total >= 0.0) {
        return bad("total", total, "the budget must be a finite amount >= 0");
    }
    for &(lo, hi) in bounds {
        if !(lo.is_finite() && hi.is_finite() && 0.0 <= lo && lo <= hi) {
            return bad(
                "bounds",
                lo,
                "each channel needs 0 <= lower <= upper, both finite",
            );
        }
    }
    let (min_total, max_total): (f64, f64) = bounds
        .iter()
        .fold((0.0, 0.0), |(a, b), &(lo, hi)| (a + lo, b + hi));
    if total < min_total * (1.0 - 1e-12) || total > max_total * (1.0 + 1e-12) {
        return bad(
            "total",
            total,
            "the budget cannot be split within the bounds: it must lie between the sum of the lower bounds and the sum of the upper bounds",
        );
    }
    let concave = curves.iter().zip(bounds).all(|(c, &b)| is_concave(*c, b));
    let spend = if concave {
        equalise(curves, bounds, total)
    } else {
        let start = grid_search(curves, bounds, total, 2000);
        refine(curves, bounds, total, start)
    };
    let outcome = curves.iter().zip(&spend).map(|(c, &x)| c.value(x)).sum();
    let marginal = curves
        .iter()
        .zip(&spend)
        .map(|(c, &x)| c.slope(x))
        .collect();
    Ok(Allocation {
        spend,
        outcome,
        marginal,
    })
}

fn is_concave(curve: &dyn Curve, (lo, hi): (f64, f64)) -> bool {
    let steps = 200;
    let mut previous = f64::INFINITY;
    for i in 0..=steps {
        let x = lo + (hi - lo) * i as f64 / steps as f64;
        let slope = curve.slope(x);
        if slope > previous * (1.0 + 1e-9) + 1e-15 {
            return false;
        }
        previous = slope;
    }
    true
}

/// The spend in `[lo, hi]` where a non-increasing slope crosses `lambda`.
fn spend_at(curve: &dyn Curve, (lo, hi): (f64, f64), lambda: f64) -> f64 {
    if curve.slope(lo) <= lambda {
        return lo;
    }
    if curve.slope(hi) >= lambda {
        return hi;
    }
    let (mut a, mut b) = (lo, hi);
    for _ in 0..200 {
        let mid = 0.5 * (a + b);
        if curve.slope(mid) > lambda {
            a = mid
        } else {
            b = mid
        }
        if b - a <= 1e-15 * b.max(1.0) {
            break;
        }
    }
    0.5 * (a + b)
}

fn equalise(curves: &[&dyn Curve], bounds: &[(f64, f64)], total: f64) -> Vec<f64> {
    let spend_for = |lambda: f64| -> Vec<f64> {
        curves
            .iter()
            .zip(bounds)
            .map(|(c, &b)| spend_at(*c, b, lambda))
            .collect()
    };
    let sum = |v: &[f64]| v.iter().sum::<f64>();
    // λ from 0 (everything at its upper bound) to the largest slope (everything at its lower).
    let (mut lo, mut hi) = (
        0.0f64,
        curves
            .iter()
            .zip(bounds)
            .map(|(c, b)| c.slope(b.0))
            .fold(0.0, f64::max),
    );
    if !hi.is_finite() {
        hi = f64::MAX.sqrt();
    }
    for _ in 0..300 {
        let mid = 0.5 * (lo + hi);
        if sum(&spend_for(mid)) > total {
            lo = mid
        } else {
            hi = mid
        }
        if hi - lo <= 1e-16 * hi {
            break;
        }
    }
    let mut spend = spend_for(0.5 * (lo + hi));
    // Put the last rounding crumb where the bounds allow, so the total holds exactly.
    let gap = total - sum(&spend);
    if let Some((x, _)) = spend
        .iter_mut()
        .zip(bounds)
        .find(|(x, b)| **x + gap >= b.0 && **x + gap <= b.1)
    {
        *x += gap;
    }
    spend
}

/// Dynamic programming over `steps` equal units of the budget above the lower bounds.
fn grid_search(curves: &[&dyn Curve], bounds: &[(f64, f64)], total: f64, steps: usize) -> Vec<f64> {
    let free = total - bounds.iter().map(|b| b.0).sum::<f64>();
    let unit = free / steps as f64;
    let n = curves.len();
    // best[c][u]: best value of channels c.. using u units; choice[c][u]: units given to c.
    let mut best = vec![vec![f64::NEG_INFINITY; steps + 1]; n + 1];
    let mut choice = vec![vec![0usize; steps + 1]; n];
    best[n][0] = 0.0;
    for c in (0..n).rev() {
        let (lo, hi) = bounds[c];
        let max_units = if unit > 0.0 {
            (((hi - lo) / unit).floor() as usize).min(steps)
        } else {
            0
        };
        let values: Vec<f64> = (0..=max_units)
            .map(|k| curves[c].value(lo + k as f64 * unit))
            .collect();
        for u in 0..=steps {
            for (k, value) in values.iter().enumerate().take(u.min(max_units) + 1) {
                let candidate = value + best[c + 1][u - k];
                if candidate > best[c][u] {
                    best[c][u] = candidate;
                    choice[c][u] = k;
                }
            }
        }
    }
    let mut left = steps;
    (0..n)
        .map(|c| {
            let k = choice[c][left];
            left -= k;
            bounds[c].0 + k as f64 * unit
        })
        .collect()
}

/// Local refinement of a grid solution: within one grid step of it, equalise marginal returns
/// where the curves are locally concave; keep the grid point where that does not improve.
fn refine(curves: &[&dyn Curve], bounds: &[(f64, f64)], total: f64, start: Vec<f64>) -> Vec<f64> {
    let free = total - bounds.iter().map(|b| b.0).sum::<f64>();
    let step = free / 2000.0;
    let local: Vec<(f64, f64)> = start
        .iter()
        .zip(bounds)
        .map(|(&x, &(lo, hi))| ((x - step).max(lo), (x + step).min(hi)))
        .collect();
    let value = |v: &[f64]| curves.iter().zip(v).map(|(c, &x)| c.value(x)).sum::<f64>();
    let (lo_sum, hi_sum): (f64, f64) = local
        .iter()
        .fold((0.0, 0.0), |(a, b), l| (a + l.0, b + l.1));
    if total < lo_sum
        || total > hi_sum
        || !curves.iter().zip(&local).all(|(c, &b)| is_concave(*c, b))
    {
        return start;
    }
    let refined = equalise(curves, &local, total);
    if value(&refined) >= value(&start) {
        refined
    } else {
        start
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Hill, LogisticSaturation};
    use super::*;

    #[test]
    fn respects_bounds_and_total_and_equalises_margins() {
        let a = LogisticSaturation {
            beta: 10.0,
            lambda: 0.05,
        };
        let b = LogisticSaturation {
            beta: 6.0,
            lambda: 0.2,
        };
        let c = Hill {
            beta: 8.0,
            half_saturation: 30.0,
            shape: 0.8,
        };
        let curves: [&dyn Curve; 3] = [&a, &b, &c];
        let bounds = [(5.0, 80.0), (5.0, 80.0), (5.0, 80.0)];
        let r = allocate(&curves, &bounds, 120.0).unwrap();
        assert!((r.spend.iter().sum::<f64>() - 120.0).abs() < 1e-9);
        for (x, (lo, hi)) in r.spend.iter().zip(bounds) {
            assert!(lo <= *x && *x <= hi);
        }
        let inside: Vec<f64> = r
            .spend
            .iter()
            .zip(&r.marginal)
            .filter(|(x, _)| **x > 5.0 + 1e-9 && **x < 80.0 - 1e-9)
            .map(|(_, m)| *m)
            .collect();
        for m in &inside {
            assert!((m - inside[0]).abs() < 1e-9 * inside[0], "{:?}", r.marginal);
        }
        // No small move between two channels improves the outcome.
        for (i, j) in [(0, 1), (1, 2), (0, 2)] {
            let mut moved = r.spend.clone();
            moved[i] += 0.01;
            moved[j] -= 0.01;
            let v: f64 = curves.iter().zip(&moved).map(|(c, &x)| c.value(x)).sum();
            assert!(v <= r.outcome + 1e-12);
        }
    }

    #[test]
    fn s_shaped_curves_are_solved_globally() {
        // Two identical S-curves: splitting 100 evenly sits on both flat feet; the optimum
        // puts the money in one channel past its inflection point.
        let s = Hill {
            beta: 10.0,
            half_saturation: 60.0,
            shape: 4.0,
        };
        let curves: [&dyn Curve; 2] = [&s, &s];
        let r = allocate(&curves, &[(0.0, 100.0), (0.0, 100.0)], 100.0).unwrap();
        let even = 2.0 * s.value(50.0);
        assert!(r.outcome > even + 1.0, "{r:?} vs even {even}");
        assert!((r.spend.iter().sum::<f64>() - 100.0).abs() < 1e-9);
    }

    #[test]
    fn infeasible_budgets_are_errors() {
        let a = LogisticSaturation {
            beta: 1.0,
            lambda: 1.0,
        };
        let curves: [&dyn Curve; 1] = [&a];
        assert!(allocate(&curves, &[(0.0, 10.0)], 11.0).is_err());
        assert!(allocate(&curves, &[(5.0, 10.0)], 4.0).is_err());
        assert!(allocate(&curves, &[(0.0, 10.0)], f64::NAN).is_err());
        assert!(allocate(&curves, &[(3.0, 2.0)], 2.5).is_err());
    }
}
