//! CART decision trees (Breiman et al. 1984) for classification (Gini or entropy) and
//! regression (squared error), grown depth first as scikit-learn grows them.
//!
//! Written here rather than taken from smartcore or linfa-trees: neither exposes the fitted
//! tree's nodes (needed for the readable rules and for pruning), neither implements
//! cost-complexity pruning, and both re-sort rows at every node where histograms over
//! pre-binned features make a random forest on a million customers practical.
//!
//! A node becomes a leaf when it is pure, at `max_depth`, has fewer than `min_samples_split`
//! rows or fewer than `2 · min_samples_leaf`, or when no split leaves `min_samples_leaf` rows
//! on each side or decreases the weighted impurity by `min_impurity_decrease`. Otherwise it
//! splits where the children's weighted impurity is lowest. Among equally good splits the
//! first feature (in column order) and the lowest threshold win; scikit-learn breaks such ties
//! by its random feature order, so on ties the two can pick different, equally good splits.

use crate::ModelError;
use crate::features::FeatureMatrix;
use crate::rng::SplitMix64;

use super::bins::BinnedFeatures;

/// What a tree's splits minimise.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Criterion {
    /// Gini impurity `1 − Σ p_k²` (classification).
    Gini,
    /// Entropy `−Σ p_k log₂ p_k` (classification).
    Entropy,
    /// Variance around the node mean (regression).
    SquaredError,
}

/// What a tree learns: class labels `0..n_classes`, or numbers.
#[derive(Debug, Clone, Copy)]
pub enum TreeTarget<'a> {
    /// Classification.
    Classes {
        /// One class index per row.
        labels: &'a [u32],
        /// Number of classes.
        n_classes: usize,
    },
    /// Regression.
    Values(&'a [f64]),
}

impl TreeTarget<'_> {
    fn len(&self) -> usize {
        match self {
            TreeTarget::Classes { labels, .. } => labels.len(),
            TreeTarget::Values(values) => values.len(),
        }
    }

    /// Statistics per row: class weights (classification) or `[w, w·y, w·y²]`.
    fn width(&self) -> usize {
        match self {
            TreeTarget::Classes { n_classes, .. } => *n_classes,
            TreeTarget::Values(_) => 3,
        }
    }

    fn add(&self, row: usize, weight: f64, stats: &mut [f64]) {
        match self {
            TreeTarget::Classes { labels, .. } => stats[labels[row] as usize] += weight,
            TreeTarget::Values(values) => {
                let y = values[row];
                stats[0] += weight;
                stats[1] += weight * y;
                stats[2] += weight * y * y;
            }
        }
    }
}

/// Settings of a tree (and of each tree of a forest).
#[derive(Debug, Clone, PartialEq)]
pub struct TreeOptions {
    /// The split criterion; must suit the target (Gini/Entropy for classes).
    pub criterion: Criterion,
    /// Deepest level a node may have (the root is depth 0); `None` grows until pure.
    pub max_depth: Option<usize>,
    /// Fewest rows a node needs to be split (default 2).
    pub min_samples_split: usize,
    /// Fewest rows each child must keep (default 1).
    pub min_samples_leaf: usize,
    /// Smallest weighted impurity decrease, as a fraction of the whole tree's weight, a split
    /// must achieve (default 0).
    pub min_impurity_decrease: f64,
    /// Features tried per node (`None` = all); the rest of a forest's randomness.
    pub max_features: Option<usize>,
    /// Bins per feature (default 256; features with fewer distinct values split exactly).
    pub max_bins: usize,
    /// Cost-complexity pruning strength α (default 0: no pruning); see [`DecisionTree::prune`].
    pub ccp_alpha: f64,
    /// Seed of the per-node feature draws (used when `max_features` is set).
    pub seed: u64,
}

impl Default for TreeOptions {
    fn default() -> Self {
        TreeOptions {
            criterion: Criterion::Gini,
            max_depth: None,
            min_samples_split: 2,
            min_samples_leaf: 1,
            min_impurity_decrease: 0.0,
            max_features: None,
            max_bins: 256,
            ccp_alpha: 0.0,
            seed: 0,
        }
    }
}

/// An internal node's test: rows with `feature <= threshold` go to `left`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Split {
    /// Feature (column) index.
    pub feature: usize,
    /// The threshold.
    pub threshold: f64,
    /// Index of the left child node.
    pub left: usize,
    /// Index of the right child node.
    pub right: usize,
}

/// One node of a fitted tree.
#[derive(Debug, Clone, PartialEq)]
pub struct TreeNode {
    /// The test of an internal node; `None` for a leaf.
    pub split: Option<Split>,
    /// Training rows that reached the node.
    pub samples: usize,
    /// Their total weight.
    pub weight: f64,
    /// Class weights (classification) or the mean target (regression, one value).
    pub value: Vec<f64>,
    /// The node's impurity under the tree's criterion.
    pub impurity: f64,
}

/// A fitted decision tree; nodes in depth-first order, left child first, root at 0.
#[derive(Debug, Clone, PartialEq)]
pub struct DecisionTree {
    pub(crate) nodes: Vec<TreeNode>,
    pub(crate) feature_names: Vec<String>,
    /// Number of classes (0 for a regression tree).
    pub(crate) n_classes: usize,
    pub(crate) criterion: Criterion,
}

impl DecisionTree {
    /// Grows a tree on `features` and `target`, rows weighted by `weights` (all 1 when `None`).
    pub fn fit(
        features: &FeatureMatrix,
        target: TreeTarget<'_>,
        weights: Option<&[f64]>,
        options: &TreeOptions,
    ) -> Result<DecisionTree, ModelError> {
        check_target(features, target, weights, options)?;
        let binned = BinnedFeatures::new(features, options.max_bins);
        let ones;
        let weights = match weights {
            Some(w) => w,
            None => {
                ones = vec![1.0; features.rows()];
                &ones
            }
        };
        let mut tree = grow(
            &binned,
            target,
            weights,
            options,
            features.names().to_vec(),
            &mut SplitMix64::new(options.seed),
        );
        if options.ccp_alpha > 0.0 {
            tree = tree.prune(options.ccp_alpha);
        }
        Ok(tree)
    }

    /// The nodes (depth first, left child first; the root is node 0).
    pub fn nodes(&self) -> &[TreeNode] {
        &self.nodes
    }

    /// The feature names the tree was fitted with.
    pub fn feature_names(&self) -> &[String] {
        &self.feature_names
    }

    /// Number of classes (0 for a regression tree).
    pub fn n_classes(&self) -> usize {
        self.n_classes
    }

    /// Number of leaves.
    pub fn leaves(&self) -> usize {
        self.nodes.iter().filter(|n| n.split.is_none()).count()
    }

    /// Depth of the deepest leaf (0 for a lone root).
    pub fn depth(&self) -> usize {
        let mut depth = vec![0usize; self.nodes.len()];
        let mut deepest = 0;
        for (i, node) in self.nodes.iter().enumerate() {
            if let Some(split) = node.split {
                depth[split.left] = depth[i] + 1;
                depth[split.right] = depth[i] + 1;
                deepest = deepest.max(depth[i] + 1);
            }
        }
        deepest
    }

    /// Index of the leaf that row `row` of `features` lands in.
    pub(crate) fn leaf_of(&self, features: &FeatureMatrix, row: usize) -> usize {
        let mut node = 0;
        while let Some(split) = self.nodes[node].split {
            node = if features.get(row, split.feature) <= split.threshold {
                split.left
            } else {
                split.right
            };
        }
        node
    }

    /// Class probabilities per row (row-major, `n_classes` per row): the weighted class
    /// shares of the row's leaf.
    pub fn predict_proba(&self, features: &FeatureMatrix) -> Result<Vec<f64>, ModelError> {
        features.expect_columns(self.feature_names.len())?;
        let mut out = Vec::with_capacity(features.rows() * self.n_classes);
        for row in 0..features.rows() {
            let node = &self.nodes[self.leaf_of(features, row)];
            out.extend(node.value.iter().map(|v| v / node.weight));
        }
        Ok(out)
    }

    /// Predicted value per row: the leaf mean (regression) or the most likely class index
    /// (classification; the lowest index on a tie).
    pub fn predict(&self, features: &FeatureMatrix) -> Result<Vec<f64>, ModelError> {
        features.expect_columns(self.feature_names.len())?;
        Ok((0..features.rows())
            .map(|row| {
                let value = &self.nodes[self.leaf_of(features, row)].value;
                if self.n_classes == 0 {
                    value[0]
                } else {
                    argmax(value) as f64
                }
            })
            .collect())
    }

    /// Each feature's share of the total weighted impurity decrease (summing to 1, or all 0
    /// for a lone root), as scikit-learn's `feature_importances_`.
    pub fn feature_importances(&self) -> Vec<f64> {
        let mut importances = vec![0.0; self.feature_names.len()];
        for node in &self.nodes {
            if let Some(split) = node.split {
                let (left, right) = (&self.nodes[split.left], &self.nodes[split.right]);
                importances[split.feature] += node.weight * node.impurity
                    - left.weight * left.impurity
                    - right.weight * right.impurity;
            }
        }
        let total: f64 = importances.iter().sum();
        if total > 0.0 {
            importances.iter_mut().for_each(|v| *v /= total);
        }
        importances
    }
}

pub(crate) fn argmax(values: &[f64]) -> usize {
    let mut best = 0;
    for (i, v) in values.iter().enumerate() {
        if *v > values[best] {
            best = i;
        }
    }
    best
}

pub(crate) fn check_target(
    features: &FeatureMatrix,
    target: TreeTarget<'_>,
    weights: Option<&[f64]>,
    options: &TreeOptions,
) -> Result<(), ModelError> {
    let rows = features.rows();
    if rows == 0 {
        return Err(ModelError::EmptyInput {
            what: "decision tree",
        });
    }
    if target.len() != rows || weights.is_some_and(|w| w.len() != rows) {
        return Err(ModelError::InvalidParameter {
            name: "target length",
            value: target.len() as f64,
            hint: "the target (and weights) need one value per feature row",
        });
    }
    match target {
        TreeTarget::Classes { labels, n_classes } => {
            if options.criterion == Criterion::SquaredError {
                return Err(ModelError::InvalidParameter {
                    name: "criterion",
                    value: f64::NAN,
                    hint: "classes need the gini or entropy criterion; squared error is for numeric targets",
                });
            }
            if let Some(row) = labels.iter().position(|&l| l as usize >= n_classes) {
                return Err(ModelError::InvalidInput {
                    row,
                    field: "class",
                    value: f64::from(labels[row]),
                    hint: "class labels must be below the number of classes",
                });
            }
        }
        TreeTarget::Values(values) => {
            if options.criterion != Criterion::SquaredError {
                return Err(ModelError::InvalidParameter {
                    name: "criterion",
                    value: f64::NAN,
                    hint: "numeric targets need the squared-error criterion",
                });
            }
            if let Some(row) = values.iter().position(|v| !v.is_finite()) {
                return Err(ModelError::InvalidInput {
                    row,
                    field: "target",
                    value: values[row],
                    hint: "regression targets must be finite numbers",
                });
            }
        }
    }
    if let Some(row) = weights.and_then(|w| w.iter().position(|v| !(v.is_finite() && *v >= 0.0))) {
        return Err(ModelError::InvalidInput {
            row,
            field: "weight",
            value: weights.map_or(f64::NAN, |w| w[row]),
            hint: "row weights must be finite and >= 0",
        });
    }
    Ok(())
}

/// Impurity of a node with statistics `stats` (see [`TreeTarget::width`]).
fn impurity(criterion: Criterion, stats: &[f64]) -> f64 {
    match criterion {
        Criterion::Gini => {
            let w: f64 = stats.iter().sum();
            if w <= 0.0 {
                return 0.0;
            }
            1.0 - stats.iter().map(|c| (c / w) * (c / w)).sum::<f64>()
        }
        Criterion::Entropy => {
            let w: f64 = stats.iter().sum();
            if w <= 0.0 {
                return 0.0;
            }
            -stats
                .iter()
                .filter(|c| **c > 0.0)
                .map(|c| (c / w) * (c / w).log2())
                .sum::<f64>()
        }
        Criterion::SquaredError => {
            if stats[0] <= 0.0 {
                return 0.0;
            }
            let mean = stats[1] / stats[0];
            (stats[2] / stats[0] - mean * mean).max(0.0)
        }
    }
}

fn node_weight(criterion: Criterion, stats: &[f64]) -> f64 {
    match criterion {
        Criterion::SquaredError => stats[0],
        _ => stats.iter().sum(),
    }
}

/// The best split of one node found so far.
struct Best {
    cost: f64,
    feature: usize,
    lower_bin: usize,
    upper_bin: usize,
}

/// Points the `parent` split's child slot (left or right) at node `id`; the depth-first
/// builders learn a child's index only when they reach it.
pub(crate) fn attach(nodes: &mut [TreeNode], parent: Option<(usize, bool)>, id: usize) {
    if let Some((parent, is_left)) = parent
        && let Some(split) = nodes[parent].split.as_mut()
    {
        if is_left {
            split.left = id;
        } else {
            split.right = id;
        }
    }
}

/// A node waiting to be grown: its rows `start..end`, depth, target statistics, and its parent
/// with the side it hangs on.
type PendingNode = (usize, usize, usize, Vec<f64>, Option<(usize, bool)>);

/// Grows a tree on pre-binned features (rows of zero weight take no part).
pub(crate) fn grow(
    binned: &BinnedFeatures,
    target: TreeTarget<'_>,
    weights: &[f64],
    options: &TreeOptions,
    feature_names: Vec<String>,
    rng: &mut SplitMix64,
) -> DecisionTree {
    let width = target.width();
    let criterion = options.criterion;
    let mut rows: Vec<u32> = (0..binned.rows as u32)
        .filter(|&i| weights[i as usize] > 0.0)
        .collect();
    let mut total_stats = vec![0.0; width];
    for &i in &rows {
        target.add(i as usize, weights[i as usize], &mut total_stats);
    }
    let total_weight = node_weight(criterion, &total_stats);
    let n_classes = match target {
        TreeTarget::Classes { n_classes, .. } => n_classes,
        TreeTarget::Values(_) => 0,
    };
    let mut nodes: Vec<TreeNode> = Vec::new();
    let min_leaf = options.min_samples_leaf.max(1);
    let mut order: Vec<usize> = (0..binned.cols()).collect();
    let mut hist: Vec<f64> = Vec::new();
    let mut counts: Vec<usize> = Vec::new();
    // (start, end, depth, stats, parent and side)
    let mut stack: Vec<PendingNode> = vec![(0, rows.len(), 0, total_stats, None)];
    while let Some((start, end, depth, stats, parent)) = stack.pop() {
        let id = nodes.len();
        attach(&mut nodes, parent, id);
        let n = end - start;
        let weight = node_weight(criterion, &stats);
        let node_impurity = impurity(criterion, &stats);
        let value = if n_classes == 0 {
            vec![if weight > 0.0 { stats[1] / weight } else { 0.0 }]
        } else {
            stats.clone()
        };
        nodes.push(TreeNode {
            split: None,
            samples: n,
            weight,
            value,
            impurity: node_impurity,
        });
        let leaf = options.max_depth.is_some_and(|d| depth >= d)
            || n < options.min_samples_split.max(2)
            || n < 2 * min_leaf
            || node_impurity <= f64::EPSILON;
        if leaf {
            continue;
        }
        let node_rows = &rows[start..end];
        let wanted = options.max_features.unwrap_or(order.len()).max(1);
        if options.max_features.is_some() {
            // A fresh random feature order per node; visit until `wanted` non-constant ones.
            for i in (1..order.len()).rev() {
                order.swap(i, rng.below(i + 1));
            }
        }
        let mut best: Option<Best> = None;
        // Class (or sum) statistics of the running left side, its complement, and the best
        // split's two sides: allocated once per node, not per candidate threshold.
        let mut left = vec![0.0; width];
        let mut right = vec![0.0; width];
        let mut best_left = vec![0.0; width];
        let mut best_right = vec![0.0; width];
        let mut visited = 0;
        for &f in &order {
            if visited >= wanted {
                break;
            }
            let bins = binned.feature(f);
            let n_bins = binned.bin_count(f);
            hist.clear();
            hist.resize(n_bins * width, 0.0);
            counts.clear();
            counts.resize(n_bins, 0);
            for &i in node_rows {
                let b = bins[i as usize] as usize;
                target.add(
                    i as usize,
                    weights[i as usize],
                    &mut hist[b * width..(b + 1) * width],
                );
                counts[b] += 1;
            }
            if counts.iter().filter(|c| **c > 0).count() < 2 {
                continue;
            }
            visited += 1;
            left.fill(0.0);
            let mut left_count = 0usize;
            let mut previous: Option<usize> = None;
            for b in 0..n_bins {
                if counts[b] == 0 {
                    continue;
                }
                if let Some(lower) = previous
                    && left_count >= min_leaf
                    && n - left_count >= min_leaf
                {
                    for ((r, s), l) in right.iter_mut().zip(&stats).zip(&left) {
                        *r = s - l;
                    }
                    let (wl, wr) = (
                        node_weight(criterion, &left),
                        node_weight(criterion, &right),
                    );
                    if wl > 0.0 && wr > 0.0 {
                        let cost =
                            wl * impurity(criterion, &left) + wr * impurity(criterion, &right);
                        if best.as_ref().is_none_or(|best| cost < best.cost) {
                            best = Some(Best {
                                cost,
                                feature: f,
                                lower_bin: lower,
                                upper_bin: b,
                            });
                            best_left.copy_from_slice(&left);
                            best_right.copy_from_slice(&right);
                        }
                    }
                }
                for s in 0..width {
                    left[s] += hist[b * width + s];
                }
                left_count += counts[b];
                previous = Some(b);
            }
        }
        let Some(best) = best else { continue };
        let improvement = (weight * node_impurity - best.cost) / total_weight;
        if improvement + 1e-12 < options.min_impurity_decrease {
            continue;
        }
        // Partition the node's rows: those in bins up to `lower_bin` first.
        let bins = binned.feature(best.feature);
        let node_rows = &mut rows[start..end];
        let mut split_at = 0;
        for k in 0..node_rows.len() {
            if bins[node_rows[k] as usize] as usize <= best.lower_bin {
                node_rows.swap(k, split_at);
                split_at += 1;
            }
        }
        nodes[id].split = Some(Split {
            feature: best.feature,
            threshold: binned.threshold(best.feature, best.lower_bin, best.upper_bin),
            left: 0,
            right: 0,
        });
        let mid = start + split_at;
        stack.push((mid, end, depth + 1, best_right, Some((id, false))));
        stack.push((start, mid, depth + 1, best_left, Some((id, true))));
    }
    DecisionTree {
        nodes,
        feature_names,
        n_classes,
        criterion,
    }
}
