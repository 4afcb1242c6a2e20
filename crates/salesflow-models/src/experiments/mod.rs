//! Experiments: is the variant really better, how sure are we, and how many customers are
//! needed to know.
//!
//! - [`proportions`]: conversion rates — two-proportion z-tests (pooled and unpooled),
//!   intervals for the difference (Wald, Newcomb) and the ratio, Pearson's chi-square, and
//!   Fisher's exact test.
//! - [`means`]: revenue per customer — Welch's and Student's t-tests with intervals, and a
//!   bootstrap interval.
//! - [`bayes`]: the probability that the variant beats control and the expected loss of each
//!   choice (beta-binomial).
//! - [`checks`]: the sample-ratio-mismatch test and multiple-comparison corrections.
//! - [`power`]: sample size and power for two proportions (statsmodels' `NormalIndPower`).
//! - [`sequential`]: the mixture sequential probability ratio test (mSPRT), whose always-valid
//!   p-value may be watched while the test runs.
//!
//! Arms are given as (variant, control): differences are variant minus control. The numbers
//! equal scipy's and statsmodels' (fixtures in `tests/fixtures/experiments`).

pub mod bayes;
pub mod checks;
pub mod means;
pub mod power;
pub mod proportions;
pub mod sequential;

use statrs::distribution::{ContinuousCDF, Normal};

/// The standard normal distribution.
pub(crate) fn std_normal() -> Normal {
    // Mean 0 and standard deviation 1 are valid parameters, so this cannot fail.
    Normal::standard()
}

/// `z` with `P(Z <= z) = p`.
pub(crate) fn normal_quantile(p: f64) -> f64 {
    std_normal().inverse_cdf(p)
}

/// Checks a confidence level in (0, 1).
pub(crate) fn check_confidence(confidence: f64) -> Result<f64, crate::ModelError> {
    if confidence.is_finite() && confidence > 0.0 && confidence < 1.0 {
        Ok(confidence)
    } else {
        Err(crate::ModelError::InvalidParameter {
            name: "confidence",
            value: confidence,
            hint: "must be a level strictly between 0 and 1, e.g. 0.95",
        })
    }
}

/// A two-sided, lower or upper alternative hypothesis.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Alternative {
    /// The variant differs from control.
    TwoSided,
    /// The variant is larger.
    Larger,
    /// The variant is smaller.
    Smaller,
}
