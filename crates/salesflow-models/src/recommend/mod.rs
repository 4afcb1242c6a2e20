//! Recommenders on implicit feedback (purchases), and their evaluation.
//!
//! - [`Interactions`]: a sparse user × item matrix of purchase weights (CSR).
//! - Models, each implementing [`Scorer`]: [`Popular`] (overall or within a segment),
//!   [`ItemKnn`] (item-item cosine, optionally TF-IDF or BM25 weighted), [`Als`] (implicit
//!   alternating least squares, Hu, Koren & Volinsky 2008, with a conjugate-gradient solver),
//!   [`Content`] (product attributes), and [`Hybrid`] (a blend of others).
//! - [`recommend`] turns scores into a top-k list without the items a user already has;
//!   [`evaluate`] measures a model on held-out purchases ([`RankingMetrics`]).

mod als;
mod content;
mod hybrid;
mod interactions;
mod item_knn;
mod kernels;
mod metrics;
mod popular;

pub use als::{Als, AlsOptions};
pub use content::{Content, ItemFeatures};
pub use hybrid::Hybrid;
pub use interactions::Interactions;
pub use item_knn::{ItemKnn, Weighting};
pub use metrics::{RankingMetrics, evaluate};
pub use popular::Popular;

/// A model that scores every item for a user.
pub trait Scorer: Sync {
    /// Writes a score for every item into `scores` (length = number of items; higher is
    /// better). `history` is the user's row of the training interactions (may be empty, for a
    /// user the model has not seen).
    fn score(&self, user: Option<u32>, history: (&[u32], &[f32]), scores: &mut [f32]);
}

/// The `k` best-scoring items for `user` that are not in `history`, best first, ties by item id.
///
/// Items scored `-inf` or NaN are never recommended.
pub fn recommend(
    model: &dyn Scorer,
    user: Option<u32>,
    history: (&[u32], &[f32]),
    items: usize,
    k: usize,
    scores: &mut Vec<f32>,
) -> Vec<(u32, f32)> {
    scores.clear();
    scores.resize(items, 0.0);
    model.score(user, history, scores);
    for &i in history.0 {
        scores[i as usize] = f32::NEG_INFINITY;
    }
    top_k(scores, k)
}

/// Indices of the `k` largest finite values, descending, ties by index.
pub(crate) fn top_k(scores: &[f32], k: usize) -> Vec<(u32, f32)> {
    let better = |a: &(u32, f32), b: &(u32, f32)| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0));
    let mut best: Vec<(u32, f32)> = Vec::with_capacity(k + 1);
    if k == 0 {
        return best;
    }
    for (i, &s) in scores.iter().enumerate() {
        if !s.is_finite() {
            continue;
        }
        let candidate = (i as u32, s);
        if best.len() == k {
            // `best` is sorted; skip unless better than the worst kept.
            if better(&candidate, &best[k - 1]) != std::cmp::Ordering::Less {
                continue;
            }
            best.pop();
        }
        let at = best.partition_point(|x| better(x, &candidate) == std::cmp::Ordering::Less);
        best.insert(at, candidate);
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn top_k_orders_by_score_then_id_and_skips_non_finite() {
        let scores = [0.5, f32::NAN, 0.9, 0.5, f32::NEG_INFINITY, 0.7];
        assert_eq!(top_k(&scores, 3), vec![(2, 0.9), (5, 0.7), (0, 0.5)]);
        assert_eq!(top_k(&scores, 10).len(), 4);
        assert!(top_k(&scores, 0).is_empty());
    }
}
