//! The FP-tree (Han, Pei & Yin 2000): baskets as prefix paths of items ordered by frequency.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

const NO_PARENT: u32 = u32::MAX;

/// An FP-tree over "ranks": rank 0 is the most frequent item of this tree.
pub(crate) struct FpTree {
    /// Global item id of each rank.
    pub items: Vec<u32>,
    /// Total count of each rank in the tree (its support in this conditional database).
    pub totals: Vec<u64>,
    /// Nodes holding each rank.
    nodes_of: Vec<Vec<u32>>,
    node_rank: Vec<u32>,
    node_count: Vec<u64>,
    node_parent: Vec<u32>,
    /// Whether some node has two children (else the tree is one path).
    branches: bool,
}

/// Hashes one `u64` key with a multiply-shift. The keys (parent node, rank) are our own, not
/// attacker-controlled, so std's DoS-resistant SipHash buys nothing here (not measured
/// separately; mining and rules take 0.18 s on online-retail at support 0.005, by
/// `SALESFLOW_TIMINGS=1 salesflow -q basket --baskets online-retail.txt --min-support 0.005`).
#[derive(Default)]
struct KeyHasher(u64);

impl Hasher for KeyHasher {
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.write_u64(self.0 ^ u64::from(b));
        }
    }
    fn write_u64(&mut self, x: u64) {
        self.0 = (x ^ (x >> 31)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
    fn finish(&self) -> u64 {
        self.0
    }
}

type Children = HashMap<u64, u32, BuildHasherDefault<KeyHasher>>;

impl FpTree {
    /// Builds a tree from weighted paths over `symbols` symbols.
    ///
    /// `paths` is called twice (count, then insert) and must feed the same paths both times;
    /// `global` maps a symbol to its global item id. Symbols seen fewer than `min_count` times
    /// are left out; the rest are ranked by count, ties by symbol.
    pub fn build(
        symbols: usize,
        min_count: u64,
        global: impl Fn(u32) -> u32,
        paths: impl Fn(&mut dyn FnMut(&[u32], u64)),
    ) -> FpTree {
        let mut counts = vec![0u64; symbols];
        paths(&mut |path, weight| {
            for &s in path {
                counts[s as usize] += weight;
            }
        });
        let mut frequent: Vec<u32> = (0..symbols as u32)
            .filter(|&s| counts[s as usize] >= min_count)
            .collect();
        frequent.sort_by(|&a, &b| counts[b as usize].cmp(&counts[a as usize]).then(a.cmp(&b)));
        let mut rank_of = vec![u32::MAX; symbols];
        for (rank, &s) in frequent.iter().enumerate() {
            rank_of[s as usize] = rank as u32;
        }
        let mut tree = FpTree {
            items: frequent.iter().map(|&s| global(s)).collect(),
            totals: frequent.iter().map(|&s| counts[s as usize]).collect(),
            nodes_of: vec![Vec::new(); frequent.len()],
            node_rank: vec![u32::MAX],
            node_count: vec![0],
            node_parent: vec![NO_PARENT],
            branches: false,
        };
        if frequent.is_empty() {
            return tree;
        }
        let mut children = Children::default();
        let mut has_child = vec![false];
        let mut ranked = Vec::new();
        paths(&mut |path, weight| {
            ranked.clear();
            ranked.extend(
                path.iter()
                    .map(|&s| rank_of[s as usize])
                    .filter(|&r| r != u32::MAX),
            );
            ranked.sort_unstable();
            let mut node = 0u32;
            for &rank in &ranked {
                let key = (u64::from(node) << 32) | u64::from(rank);
                node = match children.get(&key) {
                    Some(&child) => {
                        tree.node_count[child as usize] += weight;
                        child
                    }
                    None => {
                        let child = tree.node_rank.len() as u32;
                        tree.node_rank.push(rank);
                        tree.node_count.push(weight);
                        tree.node_parent.push(node);
                        tree.nodes_of[rank as usize].push(child);
                        if has_child[node as usize] {
                            tree.branches = true;
                        }
                        has_child[node as usize] = true;
                        has_child.push(false);
                        children.insert(key, child);
                        child
                    }
                };
            }
        });
        tree
    }

    /// Number of items (ranks) in the tree.
    pub fn ranks(&self) -> usize {
        self.items.len()
    }

    /// Whether every node has at most one child.
    pub fn is_single_path(&self) -> bool {
        !self.branches
    }

    /// The conditional tree of `rank`: the prefix paths of its nodes, weighted by their counts.
    pub fn conditional(&self, rank: usize, min_count: u64) -> FpTree {
        // Collect the prefix paths once, flat, so building can walk them twice cheaply.
        let mut flat: Vec<u32> = Vec::new();
        let mut ends: Vec<(usize, u64)> = Vec::new();
        for &node in &self.nodes_of[rank] {
            let mut p = self.node_parent[node as usize];
            while p != 0 {
                flat.push(self.node_rank[p as usize]);
                p = self.node_parent[p as usize];
            }
            ends.push((flat.len(), self.node_count[node as usize]));
        }
        FpTree::build(
            rank,
            min_count,
            |s| self.items[s as usize],
            |visit| {
                let mut start = 0;
                for &(end, weight) in &ends {
                    visit(&flat[start..end], weight);
                    start = end;
                }
            },
        )
    }
}
