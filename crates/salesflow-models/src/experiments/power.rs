//! Sample size and power for comparing two conversion rates, as statsmodels'
//! `NormalIndPower` on Cohen's effect size h.

use statrs::distribution::ContinuousCDF;

use super::{Alternative, normal_quantile, std_normal};
use crate::ModelError;

/// Cohen's h from `p_baseline` to `p_variant`: `2 asin √p_variant − 2 asin √p_baseline`.
pub fn effect_size_h(p_baseline: f64, p_variant: f64) -> f64 {
    2.0 * p_variant.sqrt().asin() - 2.0 * p_baseline.sqrt().asin()
}

/// The chance of detecting effect `h` with `n1` customers in the variant arm and
/// `ratio × n1` in control, at level `alpha` (the two-sided case counts both tails).
pub fn power(h: f64, n1: f64, alpha: f64, ratio: f64, alternative: Alternative) -> f64 {
    let normal = std_normal();
    let n_eff = 1.0 / (1.0 / n1 + 1.0 / (ratio * n1));
    let shift = h * n_eff.sqrt();
    match alternative {
        Alternative::TwoSided => {
            let z = normal_quantile(1.0 - alpha / 2.0);
            normal.cdf(shift - z) + normal.cdf(-z - shift)
        }
        Alternative::Larger => normal.cdf(shift - normal_quantile(1.0 - alpha)),
        Alternative::Smaller => normal.cdf(-normal_quantile(1.0 - alpha) - shift),
    }
}

/// Customers needed in the variant arm (control gets `ratio` times as many) to detect a change
/// from `p_baseline` to `p_variant` with probability `target_power` at level `alpha`.
///
/// Solves the power equation exactly (bisection to 1e-12 relative); round up for a plan.
pub fn sample_size(
    p_baseline: f64,
    p_variant: f64,
    alpha: f64,
    target_power: f64,
    ratio: f64,
    alternative: Alternative,
) -> Result<f64, ModelError> {
    let bad = |name, value, hint| Err(ModelError::InvalidParameter { name, value, hint });
    for (name, p) in [("baseline", p_baseline), ("variant rate", p_variant)] {
        if !(p > 0.0 && p < 1.0) {
            return bad(name, p, "a conversion rate strictly between 0 and 1");
        }
    }
    if !(alpha > 0.0 && alpha < 1.0) {
        return bad(
            "alpha",
            alpha,
            "a significance level strictly between 0 and 1, e.g. 0.05",
        );
    }
    if !(target_power > alpha && target_power < 1.0) {
        return bad(
            "power",
            target_power,
            "a probability between alpha and 1, e.g. 0.8",
        );
    }
    if !(ratio > 0.0 && ratio.is_finite()) {
        return bad(
            "ratio",
            ratio,
            "control size over variant size, a positive number",
        );
    }
    let h = effect_size_h(p_baseline, p_variant);
    let wrong_sign = match alternative {
        Alternative::TwoSided => h == 0.0,
        Alternative::Larger => h <= 0.0,
        Alternative::Smaller => h >= 0.0,
    };
    if wrong_sign {
        return bad(
            "minimum detectable effect",
            p_variant - p_baseline,
            "the change must be non-zero and point the way the alternative says",
        );
    }
    let gap = |n: f64| power(h, n, alpha, ratio, alternative) - target_power;
    let (mut lo, mut hi) = (1e-9f64, 2.0f64);
    while gap(hi) < 0.0 {
        lo = hi;
        hi *= 2.0;
        if hi > 1e15 {
            return bad(
                "minimum detectable effect",
                p_variant - p_baseline,
                "too small to detect with any realistic sample",
            );
        }
    }
    while (hi - lo) > 1e-12 * hi {
        let mid = 0.5 * (lo + hi);
        if gap(mid) < 0.0 { lo = mid } else { hi = mid }
    }
    Ok(0.5 * (lo + hi))
}
