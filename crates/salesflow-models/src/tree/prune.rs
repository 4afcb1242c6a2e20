//! Minimal cost-complexity pruning (Breiman et al. 1984, ch. 3), as scikit-learn's
//! `ccp_alpha` and `cost_complexity_pruning_path`.
//!
//! A subtree's cost is `R(T) + α |leaves(T)|` with `R` the leaves' impurity weighted by their
//! share of the training weight. Weakest-link pruning repeatedly collapses the internal node
//! whose effective α, `(R(node) − R(branch)) / (leaves(branch) − 1)`, is smallest (the first
//! such node in depth-first order on a tie); the sequence of those α is the pruning path, and
//! pruning at α collapses every node whose effective α does not exceed it.

use super::cart::{DecisionTree, TreeNode, attach};

/// The weakest-link pruning sequence of a tree.
#[derive(Debug, Clone, PartialEq)]
pub struct PruningPath {
    /// Effective α of each step, starting with 0 for the full tree.
    pub alphas: Vec<f64>,
    /// Total weighted leaf impurity of the tree left after each step.
    pub impurities: Vec<f64>,
}

impl DecisionTree {
    /// The weakest-link pruning path, down to the lone root.
    pub fn pruning_path(&self) -> PruningPath {
        let mut path = PruningPath {
            alphas: vec![0.0],
            impurities: Vec::new(),
        };
        let collapsed = self.weakest_links(f64::INFINITY, |alpha, impurity| {
            path.alphas.push(alpha);
            path.impurities.push(impurity);
        });
        // The first impurity is the full tree's, before any step.
        let full: f64 = self
            .nodes
            .iter()
            .filter(|n| n.split.is_none())
            .map(|n| self.risk(n))
            .sum();
        path.impurities.insert(0, full);
        drop(collapsed);
        path
    }

    /// The tree pruned at cost-complexity `alpha` (a copy; `alpha <= 0` keeps every node).
    pub fn prune(&self, alpha: f64) -> DecisionTree {
        let collapsed = self.weakest_links(alpha, |_, _| {});
        // Rebuild depth first, collapsed nodes becoming leaves.
        let mut nodes: Vec<TreeNode> = Vec::new();
        let mut stack: Vec<(usize, Option<(usize, bool)>)> = vec![(0, None)];
        while let Some((old, parent)) = stack.pop() {
            let id = nodes.len();
            attach(&mut nodes, parent, id);
            let mut node = self.nodes[old].clone();
            if collapsed[old] {
                node.split = None;
            }
            if let Some(split) = node.split {
                stack.push((split.right, Some((id, false))));
                stack.push((split.left, Some((id, true))));
            }
            nodes.push(node);
        }
        DecisionTree {
            nodes,
            feature_names: self.feature_names.clone(),
            n_classes: self.n_classes,
            criterion: self.criterion,
        }
    }

    /// A node's share of the cost: its impurity times its share of the training weight.
    fn risk(&self, node: &TreeNode) -> f64 {
        node.weight * node.impurity / self.nodes[0].weight
    }

    /// Runs weakest-link pruning while the smallest effective α is at most `alpha`, calling
    /// `step(α, remaining impurity)` per collapse; returns which nodes were collapsed.
    fn weakest_links(&self, alpha: f64, mut step: impl FnMut(f64, f64)) -> Vec<bool> {
        let n = self.nodes.len();
        let mut parent = vec![usize::MAX; n];
        for (i, node) in self.nodes.iter().enumerate() {
            if let Some(split) = node.split {
                parent[split.left] = i;
                parent[split.right] = i;
            }
        }
        let node_risk: Vec<f64> = self.nodes.iter().map(|node| self.risk(node)).collect();
        let mut branch_risk = vec![0.0; n];
        let mut leaves = vec![0usize; n];
        // Children come after their parent, so a reverse pass sums subtrees.
        for i in (0..n).rev() {
            match self.nodes[i].split {
                None => {
                    branch_risk[i] = node_risk[i];
                    leaves[i] = 1;
                }
                Some(split) => {
                    branch_risk[i] = branch_risk[split.left] + branch_risk[split.right];
                    leaves[i] = leaves[split.left] + leaves[split.right];
                }
            }
        }
        let mut candidate: Vec<bool> = self.nodes.iter().map(|n| n.split.is_some()).collect();
        let mut collapsed = vec![false; n];
        while candidate[0] {
            let mut weakest = usize::MAX;
            let mut weakest_alpha = f64::INFINITY;
            for i in 0..n {
                if candidate[i] {
                    let a = (node_risk[i] - branch_risk[i]) / (leaves[i] - 1) as f64;
                    if a < weakest_alpha {
                        weakest_alpha = a;
                        weakest = i;
                    }
                }
            }
            if weakest == usize::MAX || weakest_alpha > alpha {
                break;
            }
            collapsed[weakest] = true;
            // Its descendants are gone: no longer candidates.
            let mut stack = vec![weakest];
            while let Some(i) = stack.pop() {
                candidate[i] = false;
                if let Some(split) = self.nodes[i].split {
                    stack.push(split.left);
                    stack.push(split.right);
                }
            }
            let risk_drop = branch_risk[weakest] - node_risk[weakest];
            let leaves_drop = leaves[weakest] - 1;
            let mut i = weakest;
            loop {
                branch_risk[i] -= risk_drop;
                leaves[i] -= leaves_drop;
                if parent[i] == usize::MAX {
                    break;
                }
                i = parent[i];
            }
            step(weakest_alpha, branch_risk[0]);
        }
        collapsed
    }
}
