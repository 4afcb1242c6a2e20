//! Market-basket analysis: frequent itemsets, association rules, bundles and cross-sell.
//!
//! - [`Transactions`]: baskets as sorted, de-duplicated item ids with the item names.
//! - [`frequent_itemsets`] (FP-growth) and [`maximal_itemsets`] (FPMax) mine the sets of
//!   items bought together in at least `min_support` of the baskets.
//! - [`association_rules`] turns itemsets into rules `A -> C` with every metric mlxtend
//!   reports, defined as mlxtend defines them (see [`RuleMetrics`]).
//! - [`bundles`] and [`cross_sell`] are the two business views of the same numbers.
//!
//! Support thresholds compare `count / transactions >= min_support` in floating point, as
//! mlxtend does, so results agree with it at the boundary too.

mod fpgrowth;
mod fpmax;
mod rules;
mod transactions;
mod tree;
mod views;

pub use fpgrowth::frequent_itemsets;
pub use fpmax::{maximal_itemsets, maximal_subset};
pub use rules::{Metric, Rule, RuleMetrics, association_rules};
pub use transactions::Transactions;
pub use views::{Bundle, CrossSell, bundles, cross_sell};

use crate::ModelError;

/// A set of items bought together and the number of baskets holding all of them.
#[derive(Debug, Clone, PartialEq)]
pub struct Itemset {
    /// Item ids, ascending.
    pub items: Vec<u32>,
    /// Baskets that contain every item.
    pub count: u64,
}

/// Mining options shared by FP-growth and FPMax.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MiningOptions {
    /// Minimum share of baskets, in `(0, 1]`.
    pub min_support: f64,
    /// Longest itemset to report (`None`: no limit).
    pub max_len: Option<usize>,
}

impl MiningOptions {
    /// Checks the options and converts `min_support` to the smallest qualifying basket count.
    pub(crate) fn min_count(&self, transactions: usize) -> Result<u64, ModelError> {
        if !(self.min_support.is_finite() && self.min_support > 0.0 && self.min_support <= 1.0) {
            return Err(ModelError::InvalidParameter {
                name: "min_support",
                value: self.min_support,
                hint: "must be a share of baskets in (0, 1], e.g. 0.01 for 1 %",
            });
        }
        if self.max_len == Some(0) {
            return Err(ModelError::InvalidParameter {
                name: "max_len",
                value: 0.0,
                hint: "must be at least 1 (or left out for no limit)",
            });
        }
        Ok(min_count(self.min_support, transactions))
    }
}

/// The smallest count `c` with `c / n >= min_support` in `f64`, the comparison mlxtend makes.
fn min_count(min_support: f64, n: usize) -> u64 {
    let n_f = n as f64;
    let mut c = (min_support * n_f).ceil().max(1.0) as u64;
    // `ceil` of a rounded product can be one off either way; settle on the float comparison.
    while c > 1 && ((c - 1) as f64 / n_f) >= min_support {
        c -= 1;
    }
    while (c as f64 / n_f) < min_support {
        c += 1;
    }
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn min_count_matches_the_float_comparison() {
        for n in [1usize, 5, 7, 100, 28_816, 1_000_003] {
            for s in [0.001, 0.005, 0.01, 0.02, 0.1, 0.3, 0.6, 1.0 / 3.0, 1.0] {
                let c = min_count(s, n);
                assert!(c as f64 / n as f64 >= s, "n={n} s={s} c={c}");
                assert!(
                    c == 1 || ((c - 1) as f64 / n as f64) < s,
                    "n={n} s={s} c={c}"
                );
            }
        }
    }
}
