//! The logistic function, shared by the models that squash a log-odds or a log-ratio into
//! (0, 1): logistic regression, P(alive) of the CLV models, the budget's Hill curves and
//! carry-overs.

/// The logistic function 1/(1 + e^−z) and its complement 1/(1 + e^z), from one exponential
/// of −|z|: no overflow for large |z|, and the small one of the two is not 1 minus the large
/// one (no cancellation near saturation).
pub(crate) fn logistic_pair(z: f64) -> (f64, f64) {
    let e = (-z.abs()).exp();
    let (large, small) = (1.0 / (1.0 + e), e / (1.0 + e));
    if z >= 0.0 {
        (large, small)
    } else {
        (small, large)
    }
}

/// The logistic function 1/(1 + e^−z) (see [`logistic_pair`]).
pub(crate) fn logistic(z: f64) -> f64 {
    logistic_pair(z).0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_add_to_one_and_stay_finite() {
        for z in [-800.0, -30.0, -1.5, 0.0, 0.7, 30.0, 800.0] {
            let (p, q) = logistic_pair(z);
            assert!((p + q - 1.0).abs() <= 1e-15, "{z}");
            assert!(p.is_finite() && q.is_finite() && p >= 0.0 && q >= 0.0);
            assert_eq!(logistic(z), p);
        }
        assert_eq!(logistic(0.0), 0.5);
        assert!((logistic(2.0) - 1.0 / (1.0 + (-2.0f64).exp())).abs() < 1e-16);
        assert_eq!(logistic_pair(800.0), (1.0, 0.0));
        assert!(logistic(-40.0) > 0.0 && logistic(-40.0) < 1e-17);
    }
}
