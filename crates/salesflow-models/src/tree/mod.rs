//! Decision trees and random forests: CART for classification and regression on pre-binned
//! features, cost-complexity pruning, feature importances, the tree read as rules, and a random
//! forest on top.

mod bins;
mod cart;
mod forest;
mod prune;
mod rules;

pub use cart::{Criterion, DecisionTree, Split, TreeNode, TreeOptions, TreeTarget};
pub use forest::{ForestOptions, RandomForest};
pub use prune::PruningPath;
pub use rules::{Condition, Rule};
