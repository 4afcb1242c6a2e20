//! Maximal frequent itemsets by FPMax (Grahne & Zhu 2003).

use super::fpgrowth::{prepare, sort_itemsets};
use super::tree::FpTree;
use super::{Itemset, MiningOptions, Transactions};
use crate::ModelError;

/// The frequent itemsets that no other frequent itemset contains, by FPMax.
///
/// `max_len` is not an FPMax notion (a set cut at `K` items is not maximal); with a limit,
/// pass the FP-growth itemsets to [`maximal_subset`] instead, which gives the maximal sets
/// among those of at most `K` items. Here a limit is an error.
pub fn maximal_itemsets(
    transactions: &Transactions,
    options: &MiningOptions,
) -> Result<Vec<Itemset>, ModelError> {
    if let Some(k) = options.max_len {
        return Err(ModelError::InvalidParameter {
            name: "max_len",
            value: k as f64,
            hint: "FPMax finds maximal sets without a length limit; use maximal_subset on the FP-growth result for a limit",
        });
    }
    let (min_count, tree) = prepare(transactions, options)?;
    let mut found = Maximal::new(transactions.items());
    let mut head = Vec::new();
    mine(&tree, &mut head, min_count, &mut found);
    let mut out = found.sets;
    sort_itemsets(&mut out);
    Ok(out)
}

/// The sets in `itemsets` (a downward-closed family, as FP-growth returns) not contained in
/// another of them.
pub fn maximal_subset(itemsets: &[Itemset]) -> Vec<Itemset> {
    use std::collections::HashSet;
    let all: HashSet<&[u32]> = itemsets.iter().map(|s| s.items.as_slice()).collect();
    let mut singletons: Vec<u32> = itemsets
        .iter()
        .filter(|s| s.items.len() == 1)
        .map(|s| s.items[0])
        .collect();
    singletons.sort_unstable();
    // In a downward-closed family a set has a superset iff it has one with one more item.
    let mut candidate = Vec::new();
    let mut out: Vec<Itemset> = itemsets
        .iter()
        .filter(|set| {
            !singletons.iter().any(|&extra| {
                if set.items.binary_search(&extra).is_ok() {
                    return false;
                }
                candidate.clear();
                candidate.extend_from_slice(&set.items);
                let at = candidate.partition_point(|&x| x < extra);
                candidate.insert(at, extra);
                all.contains(candidate.as_slice())
            })
        })
        .cloned()
        .collect();
    sort_itemsets(&mut out);
    out
}

/// The maximal sets found so far, indexed by item for the subset test.
struct Maximal {
    sets: Vec<Itemset>,
    containing: Vec<Vec<u32>>,
}

impl Maximal {
    fn new(items: usize) -> Self {
        Maximal {
            sets: Vec::new(),
            containing: vec![Vec::new(); items],
        }
    }

    /// Whether a found set contains every item of `items` (sorted).
    fn covers(&self, items: &[u32]) -> bool {
        let Some(&rarest) = items
            .iter()
            .min_by_key(|&&i| self.containing[i as usize].len())
        else {
            return !self.sets.is_empty();
        };
        self.containing[rarest as usize].iter().any(|&s| {
            let set = &self.sets[s as usize].items;
            items.iter().all(|i| set.binary_search(i).is_ok())
        })
    }

    /// Records `items` unless a found set covers it. In FPMax's search order a new set is
    /// never a superset of an earlier one, so nothing needs removing.
    fn offer(&mut self, mut items: Vec<u32>, count: u64) {
        items.sort_unstable();
        if self.covers(&items) {
            return;
        }
        let index = self.sets.len() as u32;
        for &i in &items {
            self.containing[i as usize].push(index);
        }
        self.sets.push(Itemset { items, count });
    }
}

fn mine(tree: &FpTree, head: &mut Vec<u32>, min_count: u64, found: &mut Maximal) {
    if tree.is_single_path() {
        // Every item of a single path co-occurs with the head at least as often as the
        // path's last node, which is frequent: head plus the whole path is the one candidate.
        if let Some(&count) = tree.totals.last() {
            let mut items = head.clone();
            items.extend_from_slice(&tree.items);
            found.offer(items, count);
        }
        return;
    }
    for rank in (0..tree.ranks()).rev() {
        head.push(tree.items[rank]);
        let conditional = tree.conditional(rank, min_count);
        let mut whole: Vec<u32> = head.iter().chain(&conditional.items).copied().collect();
        whole.sort_unstable();
        // Prune: if head plus everything that could still join it is covered, so is all below.
        if !found.covers(&whole) {
            if conditional.ranks() == 0 {
                found.offer(head.clone(), tree.totals[rank]);
            } else {
                mine(&conditional, head, min_count, found);
            }
        }
        head.pop();
    }
}

#[cfg(test)]
mod tests {
    use super::super::frequent_itemsets;
    use super::*;

    #[test]
    fn fpmax_equals_the_maximal_subset_of_fpgrowth() {
        for seed in 0..40 {
            let t = super::super::fpgrowth::tests::random_baskets(seed, 80, 10, 8);
            for min_support in [0.03, 0.08, 0.2, 0.5] {
                let options = MiningOptions {
                    min_support,
                    max_len: None,
                };
                let all = frequent_itemsets(&t, &options).unwrap();
                let want = maximal_subset(&all);
                let got = maximal_itemsets(&t, &options).unwrap();
                assert_eq!(got, want, "seed {seed} support {min_support}");
            }
        }
    }
}
