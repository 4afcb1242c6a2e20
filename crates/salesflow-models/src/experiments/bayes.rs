//! Beta-binomial comparison: the chance the variant converts better, and what a wrong call
//! costs.

use statrs::function::beta::{beta_reg, ln_beta};

use super::proportions::Conversions;
use crate::ModelError;

/// The posterior comparison of two conversion rates.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BayesComparison {
    /// P(variant rate > control rate).
    pub prob_variant_better: f64,
    /// Expected conversion rate lost by shipping the variant, `E[max(pC - pV, 0)]`.
    pub expected_loss_variant: f64,
    /// Expected conversion rate lost by keeping control, `E[max(pV - pC, 0)]`.
    pub expected_loss_control: f64,
}

/// Posterior comparison with independent `Beta(prior.0, prior.1)` priors on both rates.
///
/// Computed by numerical integration of `f_V(x) F_C(x)` (and the size-biased forms for the
/// losses) over the variant's posterior, with composite Gauss-Legendre on the region holding
/// all but 1e-15 of its mass.
pub fn beta_binomial(
    variant: Conversions,
    control: Conversions,
    prior: (f64, f64),
) -> Result<BayesComparison, ModelError> {
    if !(prior.0 > 0.0 && prior.1 > 0.0 && prior.0.is_finite() && prior.1.is_finite()) {
        return Err(ModelError::InvalidParameter {
            name: "prior",
            value: prior.0.min(prior.1),
            hint: "beta prior parameters must be positive, e.g. (1, 1) for uniform",
        });
    }
    variant.check("variant")?;
    control.check("control")?;
    let (av, bv) = (
        prior.0 + variant.converted as f64,
        prior.1 + (variant.n - variant.converted) as f64,
    );
    let (ac, bc) = (
        prior.0 + control.converted as f64,
        prior.1 + (control.n - control.converted) as f64,
    );
    let ln_norm_v = ln_beta(av, bv);
    let density_v = |x: f64| ((av - 1.0) * x.ln() + (bv - 1.0) * (-x).ln_1p() - ln_norm_v).exp();
    let cdf = |a: f64, b: f64, x: f64| beta_reg(a, b, x.clamp(0.0, 1.0));
    let mean_c = ac / (ac + bc);
    // P(V > C) = ∫ f_V(x) F_C(x) dx.
    let prob = integrate(av, bv, |x| density_v(x) * cdf(ac, bc, x));
    // E[max(C - V, 0)] = ∫ f_V(v) [E[C] (1 - F_{C+}(v)) - v (1 - F_C(v))] dv, with C+ the
    // size-biased Beta(ac + 1, bc); likewise for V - C.
    let loss_variant = integrate(av, bv, |v| {
        density_v(v) * (mean_c * (1.0 - cdf(ac + 1.0, bc, v)) - v * (1.0 - cdf(ac, bc, v)))
    });
    let loss_control = integrate(av, bv, |v| {
        density_v(v) * (v * cdf(ac, bc, v) - mean_c * cdf(ac + 1.0, bc, v))
    });
    Ok(BayesComparison {
        prob_variant_better: prob.clamp(0.0, 1.0),
        expected_loss_variant: loss_variant.max(0.0),
        expected_loss_control: loss_control.max(0.0),
    })
}

/// ∫₀¹ g(x) dx for a `g` that vanishes outside the bulk of Beta(a, b): 64 panels of
/// 20-point Gauss-Legendre between the 1e-16 quantile bounds found by bisection.
fn integrate(a: f64, b: f64, g: impl Fn(f64) -> f64) -> f64 {
    let quantile = |p: f64| {
        let (mut lo, mut hi) = (0.0f64, 1.0f64);
        for _ in 0..200 {
            let mid = 0.5 * (lo + hi);
            if beta_reg(a, b, mid) < p {
                lo = mid
            } else {
                hi = mid
            }
        }
        0.5 * (lo + hi)
    };
    let (lo, hi) = (quantile(1e-16), quantile(1.0 - 1e-16));
    let panels = 64;
    let width = (hi - lo) / panels as f64;
    let mut sum = 0.0;
    for p in 0..panels {
        let start = lo + p as f64 * width;
        for &(node, weight) in gauss_legendre_20() {
            let x = start + 0.5 * width * (1.0 + node);
            if x > 0.0 && x < 1.0 {
                sum += 0.5 * width * weight * g(x);
            }
        }
    }
    sum
}

/// Nodes and weights of 20-point Gauss-Legendre quadrature on [-1, 1], by Newton's method on
/// the Legendre polynomial (computed once rather than typed in).
fn gauss_legendre_20() -> &'static [(f64, f64); 20] {
    static TABLE: std::sync::OnceLock<[(f64, f64); 20]> = std::sync::OnceLock::new();
    TABLE.get_or_init(|| {
        const N: usize = 20;
        let mut table = [(0.0, 0.0); N];
        for (i, entry) in table.iter_mut().enumerate() {
            // Chebyshev-like first guess of the i-th root, then Newton.
            let mut x = (std::f64::consts::PI * (i as f64 + 0.75) / (N as f64 + 0.5)).cos();
            let mut derivative = 0.0;
            for _ in 0..100 {
                let (mut p0, mut p1) = (1.0, x);
                for k in 2..=N {
                    let k = k as f64;
                    let p2 = ((2.0 * k - 1.0) * x * p1 - (k - 1.0) * p0) / k;
                    p0 = p1;
                    p1 = p2;
                }
                derivative = N as f64 * (x * p1 - p0) / (x * x - 1.0);
                let step = p1 / derivative;
                x -= step;
                if step.abs() < 1e-16 {
                    break;
                }
            }
            *entry = (-x, 2.0 / ((1.0 - x * x) * derivative * derivative));
        }
        table
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gauss_legendre_is_exact_for_polynomials_up_to_degree_39() {
        let table = gauss_legendre_20();
        for degree in [0, 1, 2, 10, 38, 39] {
            let got: f64 = table.iter().map(|(x, w)| w * x.powi(degree)).sum();
            let want = if degree % 2 == 1 {
                0.0
            } else {
                2.0 / (degree as f64 + 1.0)
            };
            assert!(
                (got - want).abs() < 1e-14,
                "degree {degree}: {got} vs {want}"
            );
        }
    }
}
