//! Checks around a test: was traffic split as planned, and how many findings survive when
//! several variants are compared.

use statrs::distribution::{ChiSquared, ContinuousCDF};

use crate::ModelError;

/// The sample-ratio-mismatch check: Pearson's chi-square of the arm sizes against the planned
/// split (scipy `chisquare`). A small p-value means the assignment is broken and the
/// experiment's results should not be trusted.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SampleRatio {
    /// The chi-square statistic.
    pub statistic: f64,
    /// Degrees of freedom (arms - 1).
    pub dof: usize,
    /// Its p-value.
    pub p_value: f64,
}

/// Tests `observed` arm sizes against `planned_shares` (any positive weights; normalised).
pub fn sample_ratio(observed: &[u64], planned_shares: &[f64]) -> Result<SampleRatio, ModelError> {
    if observed.len() < 2 || observed.len() != planned_shares.len() {
        return Err(ModelError::InvalidParameter {
            name: "arms",
            value: observed.len() as f64,
            hint: "give at least two arms and one planned share per arm",
        });
    }
    let share_total: f64 = planned_shares.iter().sum();
    if planned_shares.iter().any(|s| !(s.is_finite() && *s > 0.0)) {
        return Err(ModelError::InvalidParameter {
            name: "planned_shares",
            value: share_total,
            hint: "planned shares must be positive numbers",
        });
    }
    let total: f64 = observed.iter().map(|&o| o as f64).sum();
    if total == 0.0 {
        return Err(ModelError::EmptyInput { what: "arms" });
    }
    let statistic = observed
        .iter()
        .zip(planned_shares)
        .map(|(&o, &s)| {
            let expected = total * s / share_total;
            (o as f64 - expected).powi(2) / expected
        })
        .sum();
    let dof = observed.len() - 1;
    let p_value = ChiSquared::new(dof as f64).map_or(f64::NAN, |d| d.sf(statistic));
    Ok(SampleRatio {
        statistic,
        dof,
        p_value,
    })
}

/// How p-values of several comparisons are corrected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Correction {
    /// Bonferroni: each p-value times the number of tests (family-wise error).
    Bonferroni,
    /// Holm's step-down (family-wise error, uniformly more powerful than Bonferroni).
    Holm,
    /// Benjamini-Hochberg (false discovery rate).
    BenjaminiHochberg,
}

/// Corrected p-values, in the input order (statsmodels `multipletests`); a comparison is
/// significant at level alpha when its corrected p-value is `<= alpha`.
pub fn correct(p_values: &[f64], method: Correction) -> Vec<f64> {
    let m = p_values.len();
    let mut order: Vec<usize> = (0..m).collect();
    order.sort_by(|&a, &b| p_values[a].total_cmp(&p_values[b]));
    let mut corrected = vec![0.0; m];
    match method {
        Correction::Bonferroni => {
            for (c, &p) in corrected.iter_mut().zip(p_values) {
                *c = (p * m as f64).min(1.0);
            }
        }
        Correction::Holm => {
            let mut running = 0.0f64;
            for (rank, &i) in order.iter().enumerate() {
                running = running.max(p_values[i] * (m - rank) as f64);
                corrected[i] = running.min(1.0);
            }
        }
        Correction::BenjaminiHochberg => {
            let mut running = f64::INFINITY;
            for (rank, &i) in order.iter().enumerate().rev() {
                running = running.min(p_values[i] * m as f64 / (rank + 1) as f64);
                corrected[i] = running.min(1.0);
            }
        }
    }
    corrected
}
