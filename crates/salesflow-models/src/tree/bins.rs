//! Features turned into small integer bins once, so growing a tree (or three hundred of them)
//! scans histograms instead of re-sorting every node's rows.
//!
//! A feature with at most `max_bins` distinct values keeps one bin per value, so the splits
//! are exactly CART's: between two adjacent distinct values, at their midpoint (computed as
//! scikit-learn does, `a/2 + b/2`, falling back to `a` when rounding lands on `b`). A feature
//! with more distinct values is cut at `max_bins - 1` quantiles of the rows, and a split between
//! two bins sits midway between the largest value of the lower one and the smallest of the
//! upper one, so on the training rows it separates exactly as the threshold says.

use crate::features::FeatureMatrix;

/// The binned features: column-major bin indices plus, per feature, each bin's smallest and
/// largest training value.
#[derive(Debug, Clone)]
pub(crate) struct BinnedFeatures {
    pub(crate) rows: usize,
    /// Column-major: feature f of row i is `bins[f * rows + i]`.
    pub(crate) bins: Vec<u32>,
    /// Per feature, the smallest value in each bin.
    pub(crate) bin_min: Vec<Vec<f64>>,
    /// Per feature, the largest value in each bin.
    pub(crate) bin_max: Vec<Vec<f64>>,
}

impl BinnedFeatures {
    /// Bins every column of `features` into at most `max_bins` bins (at least 2).
    pub(crate) fn new(features: &FeatureMatrix, max_bins: usize) -> BinnedFeatures {
        let rows = features.rows();
        let max_bins = max_bins.max(2);
        let mut bins = Vec::with_capacity(rows * features.cols());
        let mut bin_min = Vec::with_capacity(features.cols());
        let mut bin_max = Vec::with_capacity(features.cols());
        for j in 0..features.cols() {
            let column = features.column(j);
            let mut sorted = column.to_vec();
            sorted.sort_unstable_by(f64::total_cmp);
            let mut distinct: Vec<(f64, usize)> = Vec::new();
            for &v in &sorted {
                match distinct.last_mut() {
                    Some((last, count)) if *last == v => *count += 1,
                    _ => distinct.push((v, 1)),
                }
            }
            // Upper edge (largest value) of each bin.
            let edges: Vec<f64> = if distinct.len() <= max_bins {
                distinct.iter().map(|(v, _)| *v).collect()
            } else {
                // Close a bin when the running count passes the next quantile.
                let per_bin = rows as f64 / max_bins as f64;
                let mut edges = Vec::with_capacity(max_bins);
                let mut seen = 0usize;
                let mut next = per_bin;
                for (v, count) in &distinct {
                    seen += count;
                    if seen as f64 >= next {
                        edges.push(*v);
                        while next <= seen as f64 {
                            next += per_bin;
                        }
                    }
                }
                if edges.last() != distinct.last().map(|(v, _)| v) {
                    edges.extend(distinct.last().map(|(v, _)| *v));
                }
                edges
            };
            let mut mins = vec![f64::INFINITY; edges.len()];
            let mut maxs = vec![f64::NEG_INFINITY; edges.len()];
            for &v in column {
                let b = edges.partition_point(|e| *e < v).min(edges.len() - 1);
                bins.push(b as u32);
                mins[b] = mins[b].min(v);
                maxs[b] = maxs[b].max(v);
            }
            bin_min.push(mins);
            bin_max.push(maxs);
        }
        BinnedFeatures {
            rows,
            bins,
            bin_min,
            bin_max,
        }
    }

    /// Number of features.
    pub(crate) fn cols(&self) -> usize {
        self.bin_min.len()
    }

    /// Bins of feature `f`.
    pub(crate) fn feature(&self, f: usize) -> &[u32] {
        &self.bins[f * self.rows..(f + 1) * self.rows]
    }

    /// Number of bins of feature `f`.
    pub(crate) fn bin_count(&self, f: usize) -> usize {
        self.bin_min[f].len()
    }

    /// The threshold of a split of feature `f` between bin `upper_bin - 1` and the next
    /// non-empty bin `upper_bin`: rows with a value `<=` it go left.
    pub(crate) fn threshold(&self, f: usize, lower_bin: usize, upper_bin: usize) -> f64 {
        let a = self.bin_max[f][lower_bin];
        let b = self.bin_min[f][upper_bin];
        let mid = a / 2.0 + b / 2.0;
        if mid == b || !mid.is_finite() { a } else { mid }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn few_distinct_values_get_a_bin_each_and_midpoint_thresholds() {
        let m = FeatureMatrix::from_columns(vec![("x".into(), vec![3.0, 1.0, 2.0, 1.0])]).unwrap();
        let b = BinnedFeatures::new(&m, 256);
        assert_eq!(b.feature(0), [2, 0, 1, 0]);
        assert_eq!(b.threshold(0, 0, 1), 1.5);
    }

    #[test]
    fn many_distinct_values_are_cut_at_quantiles_that_respect_the_data() {
        let values: Vec<f64> = (0..1000).map(|i| f64::from(i) * 0.5).collect();
        let m = FeatureMatrix::from_columns(vec![("x".into(), values.clone())]).unwrap();
        let b = BinnedFeatures::new(&m, 10);
        assert_eq!(b.bin_count(0), 10);
        // Every row's value lies within its bin, and bins are ordered.
        for (v, &bin) in values.iter().zip(b.feature(0)) {
            let bin = bin as usize;
            assert!(b.bin_min[0][bin] <= *v && *v <= b.bin_max[0][bin]);
        }
        for k in 1..10 {
            assert!(b.bin_max[0][k - 1] < b.bin_min[0][k]);
        }
    }
}
