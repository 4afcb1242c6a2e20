//! Content-based recommendations: products like the ones the customer bought, by attributes.

use super::{Scorer, als::dot};

/// A dense item × feature matrix (category indicators, standardised numbers, ...), built by
/// the caller from the product table.
#[derive(Debug, Clone, PartialEq)]
pub struct ItemFeatures {
    /// Items (rows).
    pub items: usize,
    /// Features (columns).
    pub dims: usize,
    /// Row-major values, `items × dims`.
    pub values: Vec<f32>,
}

/// Scores an item by the cosine similarity of its features to the weighted sum of the
/// features of the customer's purchases. It needs no purchase history of the item, so new
/// products are recommended from the first day.
#[derive(Debug, Clone)]
pub struct Content {
    dims: usize,
    /// Unit-length item rows (all zero for an item without features).
    rows: Vec<f32>,
}

impl Content {
    /// Normalises the item rows.
    pub fn fit(features: &ItemFeatures) -> Content {
        let mut rows = features.values.clone();
        if features.dims > 0 {
            for row in rows.chunks_exact_mut(features.dims) {
                let norm = dot(row, row).sqrt();
                if norm > 0.0 {
                    row.iter_mut().for_each(|v| *v /= norm);
                }
            }
        }
        Content {
            dims: features.dims,
            rows,
        }
    }

    fn row(&self, i: u32) -> &[f32] {
        &self.rows[i as usize * self.dims..(i as usize + 1) * self.dims]
    }

    /// Cosine similarity of two items.
    pub fn similarity(&self, a: u32, b: u32) -> f32 {
        dot(self.row(a), self.row(b))
    }

    /// The purchase in `history` most similar to `item` ("like X").
    pub fn most_similar(&self, history: &[u32], item: u32) -> Option<u32> {
        history
            .iter()
            .map(|&h| (h, self.similarity(h, item)))
            .filter(|(_, s)| *s > 0.0)
            .max_by(|a, b| a.1.total_cmp(&b.1).then(b.0.cmp(&a.0)))
            .map(|(h, _)| h)
    }
}

impl Scorer for Content {
    fn score(&self, _user: Option<u32>, history: (&[u32], &[f32]), scores: &mut [f32]) {
        let mut profile = vec![0f32; self.dims];
        for (&h, &w) in history.0.iter().zip(history.1) {
            // Diminishing returns on repeat quantities.
            let weight = w.ln_1p();
            for (p, &v) in profile.iter_mut().zip(self.row(h)) {
                *p += weight * v;
            }
        }
        let norm = dot(&profile, &profile).sqrt();
        if norm > 0.0 {
            profile.iter_mut().for_each(|p| *p /= norm);
        }
        for (i, s) in scores.iter_mut().enumerate() {
            *s = dot(&profile, self.row(i as u32));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefers_items_of_the_bought_category() {
        // Features: [camera, laptop]; item 2 is a new camera nobody has bought.
        let features = ItemFeatures {
            items: 4,
            dims: 2,
            values: vec![1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 1.0],
        };
        let model = Content::fit(&features);
        let mut scores = vec![0.0; 4];
        model.score(None, (&[0], &[1.0]), &mut scores);
        assert!(scores[2] > scores[1] && scores[2] > scores[3]);
        assert_eq!(model.most_similar(&[0, 1], 2), Some(0));
        model.score(None, (&[], &[]), &mut scores);
        assert!(scores.iter().all(|&s| s == 0.0));
    }
}
