//! Frequent itemsets by FP-growth.

use super::tree::FpTree;
use super::{Itemset, MiningOptions, Transactions};
use crate::ModelError;

/// Every itemset in at least `min_support` of the baskets (up to `max_len` items), by FP-growth.
///
/// Itemsets come sorted by count (descending), then length, then item ids.
pub fn frequent_itemsets(
    transactions: &Transactions,
    options: &MiningOptions,
) -> Result<Vec<Itemset>, ModelError> {
    let (min_count, tree) = prepare(transactions, options)?;
    let mut out = Vec::new();
    let mut suffix = Vec::new();
    grow(&tree, &mut suffix, min_count, options.max_len, &mut out);
    sort_itemsets(&mut out);
    Ok(out)
}

/// Checks the input and options; the smallest qualifying count and the FP-tree of all baskets.
pub(crate) fn prepare(
    transactions: &Transactions,
    options: &MiningOptions,
) -> Result<(u64, FpTree), ModelError> {
    if transactions.is_empty() {
        return Err(ModelError::EmptyInput { what: "baskets" });
    }
    let min_count = options.min_count(transactions.len())?;
    Ok((min_count, root_tree(transactions, min_count)))
}

/// The FP-tree of all baskets.
fn root_tree(transactions: &Transactions, min_count: u64) -> FpTree {
    FpTree::build(
        transactions.items(),
        min_count,
        |s| s,
        |visit| {
            for basket in transactions.baskets() {
                visit(basket, 1);
            }
        },
    )
}

fn grow(
    tree: &FpTree,
    suffix: &mut Vec<u32>,
    min_count: u64,
    max_len: Option<usize>,
    out: &mut Vec<Itemset>,
) {
    // Least frequent first: its conditional tree is the smallest.
    for rank in (0..tree.ranks()).rev() {
        suffix.push(tree.items[rank]);
        let mut items = suffix.clone();
        items.sort_unstable();
        out.push(Itemset {
            items,
            count: tree.totals[rank],
        });
        if max_len.is_none_or(|m| suffix.len() < m) {
            let conditional = tree.conditional(rank, min_count);
            if conditional.ranks() > 0 {
                grow(&conditional, suffix, min_count, max_len, out);
            }
        }
        suffix.pop();
    }
}

/// Count descending, then shorter first, then by ids: a stable order for output and tests.
pub(crate) fn sort_itemsets(itemsets: &mut [Itemset]) {
    itemsets.sort_by(|a, b| {
        b.count
            .cmp(&a.count)
            .then(a.items.len().cmp(&b.items.len()))
            .then_with(|| a.items.cmp(&b.items))
    });
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Every itemset of every basket, counted directly: the oracle for small inputs.
    pub(crate) fn brute_force(t: &Transactions, min_count: u64, max_len: usize) -> Vec<Itemset> {
        use std::collections::HashMap;
        let mut counts: HashMap<Vec<u32>, u64> = HashMap::new();
        for basket in t.baskets() {
            let k = basket.len();
            for mask in 1u32..(1 << k) {
                if mask.count_ones() as usize > max_len {
                    continue;
                }
                let set: Vec<u32> = (0..k)
                    .filter(|i| mask & (1 << i) != 0)
                    .map(|i| basket[i])
                    .collect();
                *counts.entry(set).or_default() += 1;
            }
        }
        let mut out: Vec<Itemset> = counts
            .into_iter()
            .filter(|(_, c)| *c >= min_count)
            .map(|(items, count)| Itemset { items, count })
            .collect();
        sort_itemsets(&mut out);
        out
    }

    pub(crate) fn random_baskets(seed: u64, n: usize, items: u32, max_size: usize) -> Transactions {
        // A small LCG keeps the test free of dependencies; skewed item choice makes big itemsets.
        let mut state = seed.wrapping_mul(6364136223846793005).wrapping_add(1);
        let mut next = move || {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (state >> 33) as u32
        };
        let mut t = Transactions::new();
        let names: Vec<u32> = (0..items).map(|i| t.intern(&format!("i{i}"))).collect();
        for _ in 0..n {
            let size = (next() as usize) % (max_size + 1);
            let basket: Vec<u32> = (0..size)
                .map(|_| {
                    let a = next() % items;
                    let b = next() % items;
                    names[a.min(b) as usize]
                })
                .collect();
            t.push_ids(basket);
        }
        t
    }

    #[test]
    fn agrees_with_brute_force_on_random_baskets() {
        for seed in 0..20 {
            let t = random_baskets(seed, 60, 9, 7);
            for min_support in [0.05, 0.1, 0.25] {
                for max_len in [None, Some(1), Some(2), Some(3)] {
                    let options = MiningOptions {
                        min_support,
                        max_len,
                    };
                    let got = frequent_itemsets(&t, &options).unwrap();
                    let min_count = options.min_count(t.len()).unwrap();
                    let want = brute_force(&t, min_count, max_len.unwrap_or(usize::MAX));
                    assert_eq!(got, want, "seed {seed} support {min_support} {max_len:?}");
                }
            }
        }
    }

    #[test]
    fn nothing_frequent_is_an_empty_answer_not_an_error() {
        let t = Transactions::from_baskets([vec!["a"], vec!["b"], vec![]]);
        let options = MiningOptions {
            min_support: 0.9,
            max_len: None,
        };
        assert!(frequent_itemsets(&t, &options).unwrap().is_empty());
    }

    #[test]
    fn bad_options_and_no_baskets_are_errors() {
        let t = Transactions::from_baskets([vec!["a"]]);
        for s in [0.0, -0.1, 1.5, f64::NAN] {
            let options = MiningOptions {
                min_support: s,
                max_len: None,
            };
            assert!(frequent_itemsets(&t, &options).is_err(), "{s}");
        }
        let options = MiningOptions {
            min_support: 0.5,
            max_len: None,
        };
        assert!(frequent_itemsets(&Transactions::new(), &options).is_err());
    }
}
