//! Tests on two means (revenue per customer).

use statrs::distribution::{ContinuousCDF, StudentsT};

use super::check_confidence;
use crate::ModelError;
use crate::rng::SplitMix64;

/// A t-test of variant mean minus control mean.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TTest {
    /// Variant mean minus control mean.
    pub difference: f64,
    /// Its standard error.
    pub se: f64,
    /// The t statistic.
    pub statistic: f64,
    /// Degrees of freedom (fractional for Welch).
    pub df: f64,
    /// Two-sided p-value.
    pub p_two_sided: f64,
    /// One-sided p-value for "variant larger".
    pub p_larger: f64,
    /// Confidence interval of the difference.
    pub ci: (f64, f64),
}

fn mean_var(x: &[f64], name: &'static str) -> Result<(f64, f64), ModelError> {
    if x.len() < 2 {
        return Err(ModelError::InvalidParameter {
            name,
            value: x.len() as f64,
            hint: "a t-test needs at least two values per arm",
        });
    }
    if let Some((row, &value)) = x.iter().enumerate().find(|(_, v)| !v.is_finite()) {
        return Err(ModelError::InvalidInput {
            row,
            field: name,
            value,
            hint: "values must be finite numbers",
        });
    }
    let n = x.len() as f64;
    let mean = x.iter().sum::<f64>() / n;
    let var = x.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0);
    Ok((mean, var))
}

/// Welch's t-test (unequal variances; scipy `ttest_ind(equal_var=False)`).
pub fn welch_t(variant: &[f64], control: &[f64], confidence: f64) -> Result<TTest, ModelError> {
    let (m1, v1) = mean_var(variant, "variant")?;
    let (m2, v2) = mean_var(control, "control")?;
    let a = v1 / variant.len() as f64;
    let b = v2 / control.len() as f64;
    let df = (a + b).powi(2)
        / (a * a / (variant.len() as f64 - 1.0) + b * b / (control.len() as f64 - 1.0));
    finish(m1 - m2, (a + b).sqrt(), df, confidence)
}

/// Student's t-test (pooled variance; scipy `ttest_ind(equal_var=True)`).
pub fn student_t(variant: &[f64], control: &[f64], confidence: f64) -> Result<TTest, ModelError> {
    let (m1, v1) = mean_var(variant, "variant")?;
    let (m2, v2) = mean_var(control, "control")?;
    let (n1, n2) = (variant.len() as f64, control.len() as f64);
    let pooled = ((n1 - 1.0) * v1 + (n2 - 1.0) * v2) / (n1 + n2 - 2.0);
    finish(
        m1 - m2,
        (pooled * (1.0 / n1 + 1.0 / n2)).sqrt(),
        n1 + n2 - 2.0,
        confidence,
    )
}

fn finish(difference: f64, se: f64, df: f64, confidence: f64) -> Result<TTest, ModelError> {
    check_confidence(confidence)?;
    let statistic = difference / se;
    if !(se > 0.0 && df.is_finite()) {
        // Both arms constant: the difference is exact, there is nothing to test.
        return Ok(TTest {
            difference,
            se,
            statistic,
            df,
            p_two_sided: if difference == 0.0 { 1.0 } else { 0.0 },
            p_larger: if difference > 0.0 { 0.0 } else { 1.0 },
            ci: (difference, difference),
        });
    }
    let t = StudentsT::new(0.0, 1.0, df).map_err(|_| ModelError::InvalidParameter {
        name: "df",
        value: df,
        hint: "degrees of freedom must be positive",
    })?;
    let critical = t.inverse_cdf(1.0 - (1.0 - confidence) / 2.0);
    Ok(TTest {
        difference,
        se,
        statistic,
        df,
        p_two_sided: (2.0 * t.sf(statistic.abs())).min(1.0),
        p_larger: t.sf(statistic),
        ci: (difference - critical * se, difference + critical * se),
    })
}

/// Percentile bootstrap interval of the difference of means: `resamples` resamples of each
/// arm with replacement (a fixed-seed generator, so the answer is reproducible).
pub fn bootstrap_mean_difference(
    variant: &[f64],
    control: &[f64],
    resamples: usize,
    confidence: f64,
    seed: u64,
) -> Result<(f64, f64), ModelError> {
    mean_var(variant, "variant")?;
    mean_var(control, "control")?;
    check_confidence(confidence)?;
    if resamples < 100 {
        return Err(ModelError::InvalidParameter {
            name: "resamples",
            value: resamples as f64,
            hint: "use at least 100 resamples (1,000 or more for a 95 % interval)",
        });
    }
    let mut rng = SplitMix64::new(seed);
    let mut mean_of =
        |x: &[f64]| (0..x.len()).map(|_| x[rng.below(x.len())]).sum::<f64>() / x.len() as f64;
    let mut diffs: Vec<f64> = (0..resamples)
        .map(|_| mean_of(variant) - mean_of(control))
        .collect();
    diffs.sort_by(f64::total_cmp);
    let tail = (1.0 - confidence) / 2.0;
    let at = |q: f64| {
        // Linear interpolation between order statistics (numpy's default percentile).
        let pos = q * (diffs.len() - 1) as f64;
        let i = pos.floor() as usize;
        let frac = pos - i as f64;
        diffs[i] + frac * (diffs[(i + 1).min(diffs.len() - 1)] - diffs[i])
    };
    Ok((at(tail), at(1.0 - tail)))
}
