//! Item-item collaborative filtering: items are similar when the same customers buy them.

use super::{Interactions, Scorer, top_k};
use crate::parallel::for_row_chunks;

/// How purchase weights are transformed before item similarities are computed, as in
/// `implicit`'s item-item recommenders.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Weighting {
    /// Cosine similarity of the raw item vectors.
    Cosine,
    /// `sqrt(weight) × idf(user)`, `idf = ln(items) - ln(1 + items the user bought)`; dot products.
    TfIdf,
    /// Okapi BM25 on the item × user matrix (`k1`, `b`; implicit's defaults 100 and 0.8); dot
    /// products.
    Bm25 {
        /// Term-frequency saturation.
        k1: f32,
        /// Length normalisation.
        b: f32,
    },
}

/// Each item's `k` most similar other items; a user's score for an item is the sum over the
/// user's purchases of weight × similarity.
#[derive(Debug, Clone)]
pub struct ItemKnn {
    neighbours: Vec<Vec<(u32, f32)>>,
}

impl ItemKnn {
    /// Computes the neighbour lists from the training purchases.
    pub fn fit(train: &Interactions, weighting: Weighting, k: usize) -> ItemKnn {
        let weighted = weight(train, weighting);
        let by_item = weighted.transpose();
        let items = train.items();
        let mut neighbours: Vec<Vec<(u32, f32)>> = vec![Vec::new(); items];
        for_row_chunks(&mut neighbours, 1, |first, chunk| {
            let mut acc = vec![0f32; items];
            for (offset, out) in chunk.iter_mut().enumerate() {
                let i = first + offset;
                let (users, w_i) = by_item.row(i);
                for (&u, &wu) in users.iter().zip(w_i) {
                    let (others, w_o) = weighted.row(u as usize);
                    for (&j, &wj) in others.iter().zip(w_o) {
                        acc[j as usize] += wu * wj;
                    }
                }
                acc[i] = 0.0;
                // Only positive similarities are neighbours; zero means never bought together.
                for a in acc.iter_mut() {
                    if *a <= 0.0 {
                        *a = f32::NEG_INFINITY;
                    }
                }
                *out = top_k(&acc, k);
                acc.iter_mut().for_each(|a| *a = 0.0);
            }
        });
        ItemKnn { neighbours }
    }

    /// The items most similar to `item`, best first.
    pub fn neighbours(&self, item: u32) -> &[(u32, f32)] {
        &self.neighbours[item as usize]
    }

    /// The purchase in `history` that contributes most to `item`'s score ("bought with X").
    pub fn because_of(&self, history: (&[u32], &[f32]), item: u32) -> Option<u32> {
        history
            .0
            .iter()
            .zip(history.1)
            .filter_map(|(&h, &w)| {
                self.neighbours[h as usize]
                    .iter()
                    .find(|n| n.0 == item)
                    .map(|n| (h, w * n.1))
            })
            .max_by(|a, b| a.1.total_cmp(&b.1).then(b.0.cmp(&a.0)))
            .map(|(h, _)| h)
    }
}

fn weight(train: &Interactions, weighting: Weighting) -> Interactions {
    let items = train.items() as f32;
    match weighting {
        Weighting::Cosine => {
            let by_item = train.transpose();
            let norms: Vec<f32> = (0..by_item.users())
                .map(|i| {
                    let n = by_item.row(i).1.iter().map(|w| w * w).sum::<f32>().sqrt();
                    if n > 0.0 { n } else { 1.0 }
                })
                .collect();
            train.map_values(|_, i, w| w / norms[i as usize])
        }
        Weighting::TfIdf => {
            let idf: Vec<f32> = (0..train.users())
                .map(|u| items.ln() - (train.row(u).0.len() as f32).ln_1p())
                .collect();
            train.map_values(|u, _, w| w.sqrt() * idf[u])
        }
        Weighting::Bm25 { k1, b } => {
            let idf: Vec<f32> = (0..train.users())
                .map(|u| items.ln() - (train.row(u).0.len() as f32).ln_1p())
                .collect();
            let by_item = train.transpose();
            let length: Vec<f32> = (0..by_item.users())
                .map(|i| by_item.row(i).1.iter().sum())
                .collect();
            let average = length.iter().sum::<f32>() / length.len().max(1) as f32;
            train.map_values(|u, i, w| {
                let norm = (1.0 - b) + b * length[i as usize] / average.max(f32::MIN_POSITIVE);
                w * (k1 + 1.0) / (k1 * norm + w) * idf[u]
            })
        }
    }
}

impl Scorer for ItemKnn {
    fn score(&self, _user: Option<u32>, history: (&[u32], &[f32]), scores: &mut [f32]) {
        scores.iter_mut().for_each(|s| *s = 0.0);
        for (&h, &w) in history.0.iter().zip(history.1) {
            for &(j, sim) in &self.neighbours[h as usize] {
                scores[j as usize] += w * sim;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cosine_similarity_of_co_bought_items() {
        // Items 0 and 1 always together; item 2 alone; items 3..5 never bought (they make
        // TF-IDF's and BM25's idf positive).
        let train = Interactions::from_triples(
            3,
            6,
            [
                (0, 0, 1.0),
                (0, 1, 1.0),
                (1, 0, 1.0),
                (1, 1, 1.0),
                (2, 2, 1.0),
            ],
        );
        let model = ItemKnn::fit(&train, Weighting::Cosine, 5);
        assert_eq!(model.neighbours(0).len(), 1);
        assert_eq!(model.neighbours(0)[0].0, 1);
        assert!((model.neighbours(0)[0].1 - 1.0).abs() < 1e-6);
        assert!(model.neighbours(2).is_empty());
        assert_eq!(model.because_of((&[0, 2], &[1.0, 1.0]), 1), Some(0));
        for weighting in [Weighting::TfIdf, Weighting::Bm25 { k1: 100.0, b: 0.8 }] {
            let model = ItemKnn::fit(&train, weighting, 5);
            assert_eq!(model.neighbours(1)[0].0, 0);
        }
    }
}
