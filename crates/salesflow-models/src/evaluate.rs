//! How well a model predicts: reproducible splits (train/test by seed, k-fold), regression
//! errors, and classification scores with a calibration table.
//!
//! Definitions follow scikit-learn's `metrics` module: R² is `1 − SSE/SST`, and for a constant
//! truth 1 when predicted exactly and 0 otherwise (its `force_finite`); ROC AUC is the
//! Mann-Whitney statistic with ties counted half; log loss clips probabilities to `[ε, 1 − ε]`
//! with ε the f64 machine epsilon; precision, recall and F1 are for the positive class and 0
//! when undefined.

use crate::ModelError;
use crate::rng::SplitMix64;

/// Row indices of a train/test split.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Split {
    /// Training rows, ascending.
    pub train: Vec<usize>,
    /// Test rows, ascending.
    pub test: Vec<usize>,
}

/// A seeded shuffle of `0..n`.
fn shuffled(n: usize, seed: u64) -> Vec<usize> {
    let mut order: Vec<usize> = (0..n).collect();
    let mut rng = SplitMix64::new(seed);
    for i in (1..n).rev() {
        order.swap(i, rng.below(i + 1));
    }
    order
}

/// `k` distinct rows of `0..n` drawn at random without replacement (all of them when
/// `k >= n`), ascending; the same seed gives the same rows.
pub fn sample_rows(n: usize, k: usize, seed: u64) -> Vec<usize> {
    if k >= n {
        return (0..n).collect();
    }
    let mut rows = shuffled(n, seed);
    rows.truncate(k);
    rows.sort_unstable();
    rows
}

/// Splits `0..n` at random into a test part of `round(test_fraction · n)` rows (at least one
/// row each side when n ≥ 2) and a training part; the same seed gives the same split.
pub fn train_test_split(n: usize, test_fraction: f64, seed: u64) -> Result<Split, ModelError> {
    if !(test_fraction > 0.0 && test_fraction < 1.0) {
        return Err(ModelError::InvalidParameter {
            name: "test_fraction",
            value: test_fraction,
            hint: "the test share must be strictly between 0 and 1, e.g. 0.25",
        });
    }
    if n < 2 {
        return Err(ModelError::InvalidParameter {
            name: "rows",
            value: n as f64,
            hint: "a split needs at least two rows",
        });
    }
    let test_rows = ((test_fraction * n as f64).round() as usize).clamp(1, n - 1);
    let order = shuffled(n, seed);
    let mut test = order[..test_rows].to_vec();
    let mut train = order[test_rows..].to_vec();
    test.sort_unstable();
    train.sort_unstable();
    Ok(Split { train, test })
}

/// `k` folds of a seeded shuffle of `0..n`; fold sizes differ by at most one. Each fold is
/// the test part once and training otherwise.
pub fn k_fold(n: usize, k: usize, seed: u64) -> Result<Vec<Split>, ModelError> {
    if k < 2 || k > n {
        return Err(ModelError::InvalidParameter {
            name: "k",
            value: k as f64,
            hint: "k-fold cross-validation needs 2 <= k <= the number of rows",
        });
    }
    let order = shuffled(n, seed);
    let mut folds = Vec::with_capacity(k);
    let mut start = 0;
    for fold in 0..k {
        let size = n / k + usize::from(fold < n % k);
        let mut test = order[start..start + size].to_vec();
        let mut train: Vec<usize> = order[..start]
            .iter()
            .chain(&order[start + size..])
            .copied()
            .collect();
        test.sort_unstable();
        train.sort_unstable();
        folds.push(Split { train, test });
        start += size;
    }
    Ok(folds)
}

/// Regression errors.
#[derive(Debug, Clone, PartialEq)]
pub struct RegressionMetrics {
    /// Mean squared error.
    pub mse: f64,
    /// Root mean squared error.
    pub rmse: f64,
    /// Mean absolute error.
    pub mae: f64,
    /// Coefficient of determination.
    pub r_squared: f64,
}

fn same_length(a: usize, b: usize) -> Result<(), ModelError> {
    if a == b && a > 0 {
        Ok(())
    } else {
        Err(ModelError::InvalidParameter {
            name: "predictions",
            value: b as f64,
            hint: "pass one prediction per true value, and at least one",
        })
    }
}

/// Errors of `predicted` against `actual`.
pub fn regression_metrics(
    actual: &[f64],
    predicted: &[f64],
) -> Result<RegressionMetrics, ModelError> {
    same_length(actual.len(), predicted.len())?;
    let n = actual.len() as f64;
    let sse: f64 = actual
        .iter()
        .zip(predicted)
        .map(|(a, p)| (a - p).powi(2))
        .sum();
    let mae = actual
        .iter()
        .zip(predicted)
        .map(|(a, p)| (a - p).abs())
        .sum::<f64>()
        / n;
    let mean = actual.iter().sum::<f64>() / n;
    let sst: f64 = actual.iter().map(|a| (a - mean).powi(2)).sum();
    let r_squared = if sst > 0.0 {
        1.0 - sse / sst
    } else if sse == 0.0 {
        1.0
    } else {
        0.0
    };
    Ok(RegressionMetrics {
        mse: sse / n,
        rmse: (sse / n).sqrt(),
        mae,
        r_squared,
    })
}

/// One bin of a calibration table.
#[derive(Debug, Clone, PartialEq)]
pub struct CalibrationBin {
    /// Lower edge of the predicted-probability bin.
    pub lower: f64,
    /// Upper edge.
    pub upper: f64,
    /// Rows whose prediction falls in the bin.
    pub count: usize,
    /// Their mean predicted probability.
    pub mean_predicted: f64,
    /// The share of them that were positive.
    pub observed_rate: f64,
}

/// Classification scores for a binary outcome.
#[derive(Debug, Clone, PartialEq)]
pub struct ClassificationMetrics {
    /// Rows scored.
    pub n: usize,
    /// Positives among them.
    pub positives: usize,
    /// The probability at or above which a row is called positive.
    pub threshold: f64,
    /// Share of rows called correctly.
    pub accuracy: f64,
    /// Of the rows called positive, the share that were.
    pub precision: f64,
    /// Of the positive rows, the share called positive.
    pub recall: f64,
    /// Harmonic mean of precision and recall.
    pub f1: f64,
    /// Area under the ROC curve (`None` when only one class is present).
    pub roc_auc: Option<f64>,
    /// Mean negative log-likelihood.
    pub log_loss: f64,
    /// Mean squared error of the probabilities.
    pub brier: f64,
    /// Calibration in ten equal-width probability bins (empty bins left out).
    pub calibration: Vec<CalibrationBin>,
}

/// Scores probabilities `predicted` of the positive class against outcomes `actual`.
pub fn classification_metrics(
    actual: &[bool],
    predicted: &[f64],
    threshold: f64,
) -> Result<ClassificationMetrics, ModelError> {
    same_length(actual.len(), predicted.len())?;
    if let Some(row) = predicted
        .iter()
        .position(|p| !(p.is_finite() && (0.0..=1.0).contains(p)))
    {
        return Err(ModelError::InvalidInput {
            row,
            field: "probability",
            value: predicted[row],
            hint: "predicted probabilities must be between 0 and 1",
        });
    }
    let n = actual.len();
    let positives = actual.iter().filter(|a| **a).count();
    let (mut tp, mut fp, mut tn, mut fn_) = (0usize, 0usize, 0usize, 0usize);
    for (&a, &p) in actual.iter().zip(predicted) {
        match (a, p >= threshold) {
            (true, true) => tp += 1,
            (false, true) => fp += 1,
            (false, false) => tn += 1,
            (true, false) => fn_ += 1,
        }
    }
    let ratio = |a: usize, b: usize| if b > 0 { a as f64 / b as f64 } else { 0.0 };
    let precision = ratio(tp, tp + fp);
    let recall = ratio(tp, tp + fn_);
    let f1 = if precision + recall > 0.0 {
        2.0 * precision * recall / (precision + recall)
    } else {
        0.0
    };
    let eps = f64::EPSILON;
    let log_loss = actual
        .iter()
        .zip(predicted)
        .map(|(&a, &p)| {
            let p = p.clamp(eps, 1.0 - eps);
            -(if a { p.ln() } else { (1.0 - p).ln() })
        })
        .sum::<f64>()
        / n as f64;
    let brier = actual
        .iter()
        .zip(predicted)
        .map(|(&a, &p)| (p - f64::from(u8::from(a))).powi(2))
        .sum::<f64>()
        / n as f64;
    let mut bins = vec![(0usize, 0.0, 0usize); 10];
    for (&a, &p) in actual.iter().zip(predicted) {
        let b = ((p * 10.0) as usize).min(9);
        bins[b].0 += 1;
        bins[b].1 += p;
        bins[b].2 += usize::from(a);
    }
    let calibration = bins
        .iter()
        .enumerate()
        .filter(|(_, (count, _, _))| *count > 0)
        .map(|(b, (count, sum, hits))| CalibrationBin {
            lower: b as f64 / 10.0,
            upper: (b + 1) as f64 / 10.0,
            count: *count,
            mean_predicted: sum / *count as f64,
            observed_rate: *hits as f64 / *count as f64,
        })
        .collect();
    Ok(ClassificationMetrics {
        n,
        positives,
        threshold,
        accuracy: ratio(tp + tn, n),
        precision,
        recall,
        f1,
        roc_auc: roc_auc(actual, predicted),
        log_loss,
        brier,
        calibration,
    })
}

/// Area under the ROC curve: the chance a random positive scores above a random negative,
/// ties counting half (average ranks). `None` without both classes.
pub fn roc_auc(actual: &[bool], predicted: &[f64]) -> Option<f64> {
    let positives = actual.iter().filter(|a| **a).count();
    let negatives = actual.len() - positives;
    if positives == 0 || negatives == 0 {
        return None;
    }
    let mut order: Vec<usize> = (0..predicted.len()).collect();
    order.sort_unstable_by(|&a, &b| predicted[a].total_cmp(&predicted[b]));
    let mut positive_rank_sum = 0.0;
    let mut start = 0;
    while start < order.len() {
        let mut end = start + 1;
        while end < order.len() && predicted[order[end]] == predicted[order[start]] {
            end += 1;
        }
        // Ranks start..end (1-based start+1..=end) share their average.
        let average_rank = (start + 1 + end) as f64 / 2.0;
        let hits = order[start..end].iter().filter(|&&i| actual[i]).count();
        positive_rank_sum += average_rank * hits as f64;
        start = end;
    }
    let p = positives as f64;
    Some((positive_rank_sum - p * (p + 1.0) / 2.0) / (p * negatives as f64))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_are_reproducible_disjoint_and_complete() {
        let a = train_test_split(10, 0.3, 7).unwrap();
        assert_eq!(a, train_test_split(10, 0.3, 7).unwrap());
        assert_eq!(a.test.len(), 3);
        let mut all: Vec<usize> = a.train.iter().chain(&a.test).copied().collect();
        all.sort_unstable();
        assert_eq!(all, (0..10).collect::<Vec<_>>());
        assert_ne!(a, train_test_split(10, 0.3, 8).unwrap());
        assert!(train_test_split(1, 0.5, 0).is_err());
        assert!(train_test_split(10, 1.0, 0).is_err());
    }

    #[test]
    fn k_folds_cover_every_row_once_as_test() {
        let folds = k_fold(11, 3, 1).unwrap();
        let sizes: Vec<usize> = folds.iter().map(|f| f.test.len()).collect();
        assert_eq!(sizes, [4, 4, 3]);
        let mut tested: Vec<usize> = folds.iter().flat_map(|f| f.test.clone()).collect();
        tested.sort_unstable();
        assert_eq!(tested, (0..11).collect::<Vec<_>>());
        for fold in &folds {
            assert_eq!(fold.train.len() + fold.test.len(), 11);
        }
        assert!(k_fold(3, 4, 0).is_err());
    }

    #[test]
    fn auc_is_none_with_one_class_and_half_for_constant_scores() {
        assert_eq!(roc_auc(&[true, true], &[0.2, 0.3]), None);
        assert_eq!(roc_auc(&[true, false], &[0.5, 0.5]), Some(0.5));
    }

    #[test]
    fn probabilities_outside_zero_one_are_rejected() {
        assert!(classification_metrics(&[true], &[1.5], 0.5).is_err());
        assert!(classification_metrics(&[true], &[f64::NAN], 0.5).is_err());
    }
}
