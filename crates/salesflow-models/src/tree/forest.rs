//! Random forests (Breiman 2001): CART trees on bootstrap resamples, each node choosing among a
//! random subset of the features; predictions averaged over the trees.
//!
//! Features are binned once and shared by every tree. Tree `t` draws its resample and its
//! feature subsets from `SplitMix64::new(seed + t)`, and trees are grown on up to `threads`
//! threads and kept in tree order, so a forest is the same for any thread count.

use crate::ModelError;
use crate::features::FeatureMatrix;
use crate::parallel::{map_jobs, resolve_threads};
use crate::rng::SplitMix64;

use super::bins::BinnedFeatures;
use super::cart::{Criterion, DecisionTree, TreeOptions, TreeTarget, check_target, grow};

/// Rows per scoring job.
const SCORE_CHUNK: usize = 16_384;

/// Settings of [`RandomForest::fit`].
#[derive(Debug, Clone, PartialEq)]
pub struct ForestOptions {
    /// Number of trees (default 100).
    pub trees: usize,
    /// Settings of every tree. `max_features: None` here means the usual default: √p for
    /// classification, all p for regression.
    pub tree: TreeOptions,
    /// Grow each tree on a bootstrap resample (default true); false uses every row.
    pub bootstrap: bool,
    /// Seed of the resamples and feature draws.
    pub seed: u64,
    /// Threads (0 = every core).
    pub threads: usize,
}

impl Default for ForestOptions {
    fn default() -> Self {
        ForestOptions {
            trees: 100,
            tree: TreeOptions::default(),
            bootstrap: true,
            seed: 0,
            threads: 0,
        }
    }
}

/// A fitted random forest.
#[derive(Debug, Clone, PartialEq)]
pub struct RandomForest {
    trees: Vec<DecisionTree>,
    /// The same trees in the compact form scoring walks.
    flat: Vec<FlatTree>,
    n_classes: usize,
    features: usize,
}

/// Marks a leaf in [`FlatNode::feature`].
const LEAF: u32 = u32::MAX;

/// A node in 24 bytes: scoring a million rows through hundreds of trees is memory-bound, and
/// [`super::TreeNode`] (with its value vector) spreads a tree over several times the cache
/// lines.
#[derive(Debug, Clone, Copy, PartialEq)]
struct FlatNode {
    threshold: f64,
    /// The feature, or [`LEAF`].
    feature: u32,
    /// Left child; for a leaf, the index of its first value in [`FlatTree::values`].
    left: u32,
    right: u32,
}

/// A tree for scoring: nodes and the leaves' values (class shares, or the mean).
#[derive(Debug, Clone, PartialEq)]
struct FlatTree {
    nodes: Vec<FlatNode>,
    values: Vec<f64>,
}

impl FlatTree {
    fn new(tree: &DecisionTree) -> FlatTree {
        let mut values = Vec::new();
        let nodes = tree
            .nodes
            .iter()
            .map(|node| match node.split {
                Some(split) => FlatNode {
                    threshold: split.threshold,
                    feature: split.feature as u32,
                    left: split.left as u32,
                    right: split.right as u32,
                },
                None => {
                    let first = values.len() as u32;
                    if tree.n_classes == 0 {
                        values.push(node.value[0]);
                    } else {
                        values.extend(node.value.iter().map(|v| v / node.weight));
                    }
                    FlatNode {
                        threshold: 0.0,
                        feature: LEAF,
                        left: first,
                        right: first,
                    }
                }
            })
            .collect();
        FlatTree { nodes, values }
    }

    /// The first value of the leaf `row` lands in.
    fn leaf_values(&self, columns: &[&[f64]], row: usize) -> usize {
        let mut node = self.nodes[0];
        while node.feature != LEAF {
            let x = columns[node.feature as usize][row];
            node = self.nodes[if x <= node.threshold {
                node.left
            } else {
                node.right
            } as usize];
        }
        node.left as usize
    }
}

impl RandomForest {
    /// Grows the forest on `features` and `target`.
    pub fn fit(
        features: &FeatureMatrix,
        target: TreeTarget<'_>,
        options: &ForestOptions,
    ) -> Result<RandomForest, ModelError> {
        check_target(features, target, None, &options.tree)?;
        if options.trees == 0 {
            return Err(ModelError::InvalidParameter {
                name: "trees",
                value: 0.0,
                hint: "a forest needs at least one tree",
            });
        }
        let p = features.cols();
        let mut tree_options = options.tree.clone();
        if tree_options.max_features.is_none() {
            tree_options.max_features = Some(match options.tree.criterion {
                Criterion::SquaredError => p,
                _ => ((p as f64).sqrt() as usize).max(1),
            });
        }
        let binned = BinnedFeatures::new(features, options.tree.max_bins);
        let rows = features.rows();
        let names = features.names().to_vec();
        let threads = resolve_threads(options.threads);
        let trees = map_jobs(threads, options.trees, |t| {
            let mut rng = SplitMix64::new(options.seed.wrapping_add(t as u64));
            let mut weights = vec![0.0; rows];
            if options.bootstrap {
                for _ in 0..rows {
                    weights[rng.below(rows)] += 1.0;
                }
            } else {
                weights.fill(1.0);
            }
            let tree = grow(
                &binned,
                target,
                &weights,
                &tree_options,
                names.clone(),
                &mut rng,
            );
            if tree_options.ccp_alpha > 0.0 {
                tree.prune(tree_options.ccp_alpha)
            } else {
                tree
            }
        });
        let n_classes = trees.first().map_or(0, DecisionTree::n_classes);
        Ok(RandomForest {
            flat: trees.iter().map(FlatTree::new).collect(),
            trees,
            n_classes,
            features: p,
        })
    }

    /// The trees.
    pub fn trees(&self) -> &[DecisionTree] {
        &self.trees
    }

    /// Per row, the value every tree's leaf gives, averaged: class shares (row-major,
    /// `n_classes` per row) or the mean (one per row).
    fn average(&self, features: &FeatureMatrix) -> Vec<f64> {
        let width = self.n_classes.max(1);
        let rows = features.rows();
        let chunks = rows.div_ceil(SCORE_CHUNK);
        let parts = map_jobs(resolve_threads(0), chunks, |c| {
            let range = c * SCORE_CHUNK..((c + 1) * SCORE_CHUNK).min(rows);
            let mut out = vec![0.0; range.len() * width];
            let columns: Vec<&[f64]> = (0..features.cols()).map(|j| features.column(j)).collect();
            for tree in &self.flat {
                for (k, row) in range.clone().enumerate() {
                    let first = tree.leaf_values(&columns, row);
                    for (o, v) in out[k * width..(k + 1) * width]
                        .iter_mut()
                        .zip(&tree.values[first..first + width])
                    {
                        *o += v;
                    }
                }
            }
            let n = self.trees.len() as f64;
            out.iter_mut().for_each(|v| *v /= n);
            out
        });
        parts.concat()
    }

    /// Class probabilities per row (row-major, `n_classes` per row).
    pub fn predict_proba(&self, features: &FeatureMatrix) -> Result<Vec<f64>, ModelError> {
        features.expect_columns(self.features)?;
        if self.n_classes == 0 {
            return Err(ModelError::InvalidParameter {
                name: "predict_proba",
                value: f64::NAN,
                hint: "a regression forest predicts values; call predict",
            });
        }
        Ok(self.average(features))
    }

    /// Predicted values per row (regression forests).
    pub fn predict(&self, features: &FeatureMatrix) -> Result<Vec<f64>, ModelError> {
        features.expect_columns(self.features)?;
        if self.n_classes != 0 {
            return Err(ModelError::InvalidParameter {
                name: "predict",
                value: f64::NAN,
                hint: "a classification forest gives probabilities; call predict_proba",
            });
        }
        Ok(self.average(features))
    }

    /// Mean of the normalised impurity-decrease importances of the trees that split (as
    /// scikit-learn), renormalised to sum to 1; all zeros when no tree split.
    pub fn feature_importances(&self) -> Vec<f64> {
        let mut total = vec![0.0; self.features];
        for tree in self.trees.iter().filter(|t| t.nodes.len() > 1) {
            for (t, v) in total.iter_mut().zip(tree.feature_importances()) {
                *t += v;
            }
        }
        let sum: f64 = total.iter().sum();
        if sum > 0.0 {
            total.iter_mut().for_each(|v| *v /= sum);
        }
        total
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn importances_sum_to_one_or_zero_when_no_tree_splits() {
        let x = FeatureMatrix::from_columns(vec![
            ("a".into(), (0..40).map(f64::from).collect()),
            ("b".into(), (0..40).map(|i| f64::from(i % 3)).collect()),
        ])
        .unwrap();
        let labels: Vec<u32> = (0..40).map(|i| u32::from(i >= 20)).collect();
        let target = TreeTarget::Classes {
            labels: &labels,
            n_classes: 2,
        };
        let options = ForestOptions {
            trees: 20,
            ..ForestOptions::default()
        };
        let forest = RandomForest::fit(&x, target, &options).unwrap();
        let sum: f64 = forest.feature_importances().iter().sum();
        assert!((sum - 1.0).abs() < 1e-12);
        // One class only: no tree splits.
        let same = vec![1u32; 40];
        let target = TreeTarget::Classes {
            labels: &same,
            n_classes: 2,
        };
        let forest = RandomForest::fit(&x, target, &options).unwrap();
        assert!(forest.feature_importances().iter().all(|v| *v == 0.0));
    }
}
