//! Response curves: outcome per period as a function of spend per period.

/// A response curve: expected outcome for spend `x >= 0`, and its slope.
pub trait Curve: Sync {
    /// Expected outcome at spend `x`.
    fn value(&self, x: f64) -> f64;
    /// d value / dx at `x` (the marginal return).
    fn slope(&self, x: f64) -> f64;
}

/// pymc-marketing's logistic saturation `β (1 − e^{−λx}) / (1 + e^{−λx})` (= β tanh(λx/2)):
/// concave, slope βλ/2 at zero, ceiling β.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LogisticSaturation {
    /// Ceiling of the response.
    pub beta: f64,
    /// Steepness per unit of spend.
    pub lambda: f64,
}

impl Curve for LogisticSaturation {
    fn value(&self, x: f64) -> f64 {
        self.beta * (0.5 * self.lambda * x).tanh()
    }
    fn slope(&self, x: f64) -> f64 {
        let t = (0.5 * self.lambda * x).tanh();
        0.5 * self.beta * self.lambda * (1.0 - t * t)
    }
}

/// The Hill curve `β x^s / (K^s + x^s)`: half of the ceiling β at spend K; concave for
/// `s <= 1`, S-shaped for `s > 1`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Hill {
    /// Ceiling of the response.
    pub beta: f64,
    /// Spend at half the ceiling.
    pub half_saturation: f64,
    /// Shape (steepness) s.
    pub shape: f64,
}

impl Curve for Hill {
    fn value(&self, x: f64) -> f64 {
        if x <= 0.0 {
            return 0.0;
        }
        // A logistic function of s ln(x/K): finite however far x is from K.
        let z = self.shape * (x / self.half_saturation).ln();
        self.beta * crate::sigmoid::logistic(z)
    }
    fn slope(&self, x: f64) -> f64 {
        if x <= 0.0 {
            return if self.shape < 1.0 {
                f64::INFINITY
            } else if self.shape == 1.0 {
                self.beta / self.half_saturation
            } else {
                0.0
            };
        }
        let z = self.shape * (x / self.half_saturation).ln();
        let (hill, rest) = crate::sigmoid::logistic_pair(z);
        self.beta * self.shape * hill * rest / x
    }
}

/// Normalised geometric adstock weights `α^k / Σ_j α^j`, k = 0..max_lag: the share of a
/// period's spend that acts k periods later.
pub fn adstock_weights(alpha: f64, max_lag: usize) -> Vec<f64> {
    let raw: Vec<f64> = (0..max_lag).map(|k| alpha.powi(k as i32)).collect();
    let total: f64 = raw.iter().sum();
    raw.iter().map(|w| w / total).collect()
}

/// Applies adstock to a spend series: `a_t = Σ_k w_k s_{t−k}`.
pub fn adstock(spend: &[f64], weights: &[f64]) -> Vec<f64> {
    (0..spend.len())
        .map(|t| {
            weights
                .iter()
                .enumerate()
                .filter(|(k, _)| *k <= t)
                .map(|(k, w)| w * spend[t - k])
                .sum()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slopes_are_the_derivatives() {
        let curves: [&dyn Curve; 3] = [
            &LogisticSaturation {
                beta: 2.0,
                lambda: 0.3,
            },
            &Hill {
                beta: 5.0,
                half_saturation: 40.0,
                shape: 2.5,
            },
            &Hill {
                beta: 5.0,
                half_saturation: 40.0,
                shape: 0.7,
            },
        ];
        for curve in curves {
            for x in [0.5, 3.0, 40.0, 200.0] {
                let h = 1e-6 * x;
                let numeric = (curve.value(x + h) - curve.value(x - h)) / (2.0 * h);
                assert!(
                    (curve.slope(x) - numeric).abs() < 1e-6 * numeric.abs().max(1e-3),
                    "{x}"
                );
            }
        }
        let w = adstock_weights(0.5, 4);
        assert!((w.iter().sum::<f64>() - 1.0).abs() < 1e-15);
        assert_eq!(adstock(&[8.0, 0.0], &w)[1], 8.0 * w[1]);
    }
}
