//! The parameter region R's forecast::ets searches (`bounds = "both"`): the usual region
//! (0 < β < α < 1, 0 < γ < 1 − α, φ within its bounds) intersected with the admissible region,
//! where the model forgets its past — for seasonal models all roots of the characteristic
//! polynomial inside the unit circle (Hyndman, Akram & Archibald 2008).

use super::fit::ParameterBounds;
use super::recursion::Smoothing;

/// Whether `smoothing` is in both the usual and the admissible region. `has_trend` and
/// `seasonal` say which of β, γ, φ are free (the others are 0, 0, 1 in `smoothing`).
pub(crate) fn in_region(
    smoothing: &Smoothing,
    bounds: &ParameterBounds,
    has_trend: bool,
    season_length: Option<usize>,
    damped: bool,
) -> bool {
    let Smoothing {
        alpha,
        beta,
        gamma,
        phi,
    } = *smoothing;
    // Usual region.
    if alpha < bounds.lower[0] || alpha > bounds.upper[0] {
        return false;
    }
    if has_trend && (beta < bounds.lower[1] || beta > alpha || beta > bounds.upper[1]) {
        return false;
    }
    if damped && (phi < bounds.lower[3] || phi > bounds.upper[3]) {
        return false;
    }
    if season_length.is_some()
        && (gamma < bounds.lower[2] || gamma > 1.0 - alpha || gamma > bounds.upper[2])
    {
        return false;
    }
    admissible(
        alpha,
        has_trend.then_some(beta),
        season_length.map(|m| (gamma, m)),
        phi,
    )
}

/// The admissible region of Hyndman, Akram & Archibald (2008).
fn admissible(alpha: f64, beta: Option<f64>, season: Option<(f64, usize)>, phi: f64) -> bool {
    if !(0.0..=1.0 + 1e-8).contains(&phi) {
        return false;
    }
    match season {
        None => {
            if alpha < 1.0 - 1.0 / phi || alpha > 1.0 + 1.0 / phi {
                return false;
            }
            if let Some(beta) = beta
                && (beta < alpha * (phi - 1.0) || beta > (1.0 + phi) * (2.0 - alpha))
            {
                return false;
            }
            true
        }
        Some((gamma, m)) => {
            let beta = beta.unwrap_or(0.0);
            let mf = m as f64;
            if gamma < (1.0 - 1.0 / phi - alpha).max(0.0) || gamma > 1.0 + 1.0 / phi - alpha {
                return false;
            }
            if alpha < 1.0 - 1.0 / phi - gamma * (1.0 - mf + phi + phi * mf) / (2.0 * phi * mf) {
                return false;
            }
            if beta < -(1.0 - phi) * (gamma / mf + alpha) {
                return false;
            }
            // Characteristic polynomial, lowest power first:
            // φ(1−α−γ) + (α+β−αφ+γ−1) z + (α+β−αφ)(z² + … + z^(m−1)) + (α+β−φ) z^m + z^(m+1).
            let common = alpha + beta - alpha * phi;
            let mut coefficients = Vec::with_capacity(m + 2);
            coefficients.push(phi * (1.0 - alpha - gamma));
            coefficients.push(common + gamma - 1.0);
            coefficients.extend(std::iter::repeat_n(common, m.saturating_sub(2)));
            coefficients.push(alpha + beta - phi);
            coefficients.push(1.0);
            roots_within(&coefficients, 1.0 + 1e-10)
        }
    }
}

/// Whether every root of the polynomial (coefficients lowest power first, leading one
/// non-zero) has modulus below `radius`, by the Schur–Cohn recursion on the polynomial with
/// `z` scaled by `radius` — no root finding needed. Each step divides by the leading
/// coefficient (the reflection-coefficient form): without that the coefficients are squared
/// at every step and under- or overflow by degree 12, which rejected every monthly model.
fn roots_within(coefficients: &[f64], radius: f64) -> bool {
    // Seasonal models have degree m + 1 ≤ 25: two stack buffers keep the likelihood's hot
    // path free of allocations (this runs at every evaluation).
    const MAX: usize = 32;
    if coefficients.len() > MAX {
        return false;
    }
    let (mut first, mut second) = ([0.0f64; MAX], [0.0f64; MAX]);
    // Swapping the references, not the arrays, between steps.
    let (mut p, mut next) = (&mut first, &mut second);
    // p(radius · z): roots divided by radius.
    let mut scale = 1.0;
    for (slot, &c) in p.iter_mut().zip(coefficients) {
        *slot = c * scale;
        scale *= radius;
    }
    let mut n = coefficients.len() - 1;
    while n > 0 {
        let reflection = p[0] / p[n];
        // NaN (a zero leading coefficient) fails too.
        if reflection.is_nan() || reflection.abs() >= 1.0 {
            return false;
        }
        // (p(z) − ρ p*(z)) / z, where p* has the coefficients reversed.
        for k in 1..=n {
            next[k - 1] = p[k] - reflection * p[n - k];
        }
        std::mem::swap(&mut p, &mut next);
        n -= 1;
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schur_cohn_agrees_with_known_roots() {
        // (z − 0.5)(z + 0.9) = z² + 0.4 z − 0.45: inside.
        assert!(roots_within(&[-0.45, 0.4, 1.0], 1.0));
        // (z − 1.1)(z + 0.2) = z² − 0.9 z − 0.22: one root outside.
        assert!(!roots_within(&[-0.22, -0.9, 1.0], 1.0));
        // (z − 0.99)(z − 0.98)(z + 0.3)
        let (a, b, c) = (0.99, 0.98, -0.3);
        let cubic = [-a * b * c, a * b + a * c + b * c, -(a + b + c), 1.0];
        assert!(roots_within(&cubic, 1.0));
        assert!(!roots_within(&cubic, 0.985));
    }

    #[test]
    fn the_unit_root_of_undamped_seasonal_models_is_admissible_at_any_season_length() {
        // Without a trend and undamped, the polynomial has a root at exactly z = 1.
        for m in [2, 4, 7, 12, 24] {
            let start = Smoothing {
                alpha: 0.0168,
                beta: 0.0,
                gamma: 0.049,
                phi: 1.0,
            };
            assert!(
                in_region(&start, &ParameterBounds::default(), false, Some(m), false),
                "m = {m}"
            );
        }
    }

    #[test]
    fn usual_seasonal_parameters_are_admissible_and_extreme_ones_are_not() {
        let bounds = ParameterBounds::default();
        let ok = Smoothing {
            alpha: 0.35,
            beta: 0.03,
            gamma: 0.4,
            phi: 0.98,
        };
        assert!(in_region(&ok, &bounds, true, Some(4), true));
        let beta_above_alpha = Smoothing { beta: 0.5, ..ok };
        assert!(!in_region(&beta_above_alpha, &bounds, true, Some(4), true));
        let gamma_too_big = Smoothing { gamma: 0.7, ..ok };
        assert!(!in_region(&gamma_too_big, &bounds, true, Some(4), true));
    }
}
