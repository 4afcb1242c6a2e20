//! Deterministic random streams.
//!
//! Every random draw of the generator comes from a ChaCha8 stream keyed by
//! `(seed, stream name, index)`, where the index is usually a chunk number.
//! Chunks can therefore be generated on any thread in any order and still
//! produce the same bytes.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// The random generator used everywhere in the crate.
pub(crate) type DemoRng = ChaCha8Rng;

/// Version tag mixed into every key; bump it when the generative model changes
/// in a way that should change every output.
const VERSION: &[u8; 8] = b"sfdemo/1";

/// The random stream for `(seed, name, index)`.
pub(crate) fn stream(seed: u64, name: &str, index: u64) -> DemoRng {
    let mut key = [0u8; 32];
    key[..8].copy_from_slice(&seed.to_le_bytes());
    key[8..16].copy_from_slice(&fnv1a(name.as_bytes()).to_le_bytes());
    key[16..24].copy_from_slice(&index.to_le_bytes());
    key[24..].copy_from_slice(VERSION);
    ChaCha8Rng::from_seed(key)
}

/// 64-bit FNV-1a hash (stable across platforms and Rust versions, unlike `DefaultHasher`).
fn fnv1a(bytes: &[u8]) -> u64 {
    let mut hash = 0xcbf2_9ce4_8422_2325_u64;
    for &b in bytes {
        hash ^= u64::from(b);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash
}

/// Picks an index with probability proportional to `weights` (linear scan; the
/// weight lists in this crate are short).
pub(crate) fn pick_weighted(rng: &mut DemoRng, weights: &[f64]) -> usize {
    let total: f64 = weights.iter().sum();
    let mut target = rng.random::<f64>() * total;
    for (i, &w) in weights.iter().enumerate() {
        if target < w {
            return i;
        }
        target -= w;
    }
    weights.len().saturating_sub(1)
}

/// Picks from a list of `(item, weight)` pairs.
pub(crate) fn pick_pair<T: Copy>(rng: &mut DemoRng, pairs: &[(T, f64)]) -> T {
    let total: f64 = pairs.iter().map(|p| p.1).sum();
    let mut target = rng.random::<f64>() * total;
    for &(item, w) in pairs {
        if target < w {
            return item;
        }
        target -= w;
    }
    pairs[pairs.len() - 1].0
}

/// Picks an item with probability proportional to `weight(item)`.
pub(crate) fn pick_by<'a, T>(
    rng: &mut DemoRng,
    items: &'a [T],
    weight: impl Fn(&T) -> f64,
) -> &'a T {
    let total: f64 = items.iter().map(&weight).sum();
    let mut target = rng.random::<f64>() * total;
    for item in items {
        let w = weight(item);
        if target < w {
            return item;
        }
        target -= w;
    }
    &items[items.len() - 1]
}

/// Index into a cumulative distribution (`cdf` ascending, last value = total).
pub(crate) fn pick_cdf(rng: &mut DemoRng, cdf: &[f64]) -> usize {
    let total = cdf.last().copied().unwrap_or(0.0);
    let target = rng.random::<f64>() * total;
    cdf.partition_point(|&c| c <= target)
        .min(cdf.len().saturating_sub(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_are_keyed() {
        let a: u64 = stream(1, "orders", 0).random();
        let b: u64 = stream(1, "orders", 0).random();
        let c: u64 = stream(1, "orders", 1).random();
        let d: u64 = stream(1, "customers", 0).random();
        let e: u64 = stream(2, "orders", 0).random();
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_ne!(a, d);
        assert_ne!(a, e);
    }

    #[test]
    fn cdf_pick_in_range() {
        let mut rng = stream(7, "t", 0);
        let cdf = [0.0, 1.0, 1.0, 3.0];
        for _ in 0..1000 {
            let i = pick_cdf(&mut rng, &cdf);
            assert!(i == 1 || i == 3, "picked zero-weight index {i}");
        }
    }
}
