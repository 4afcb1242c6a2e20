//! A weighted blend of recommenders.

use super::Scorer;

/// Blends models by weight after scaling each one's scores to `[0, 1]` for the user (min-max
/// over the finite scores), so models with different score ranges mix fairly.
pub struct Hybrid<'a> {
    parts: Vec<(&'a dyn Scorer, f32)>,
}

impl<'a> Hybrid<'a> {
    /// The blend of `parts` (model, weight); weights need not sum to one.
    pub fn new(parts: Vec<(&'a dyn Scorer, f32)>) -> Self {
        Hybrid { parts }
    }
}

impl Scorer for Hybrid<'_> {
    fn score(&self, user: Option<u32>, history: (&[u32], &[f32]), scores: &mut [f32]) {
        scores.iter_mut().for_each(|s| *s = 0.0);
        let mut part = vec![0f32; scores.len()];
        for &(model, weight) in &self.parts {
            model.score(user, history, &mut part);
            let (lo, hi) = part
                .iter()
                .filter(|s| s.is_finite())
                .fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), &s| {
                    (lo.min(s), hi.max(s))
                });
            let span = hi - lo;
            // All equal (or nothing finite): this part cannot tell items apart.
            if span.is_nan() || span <= 0.0 {
                continue;
            }
            for (s, &p) in scores.iter_mut().zip(&part) {
                if p.is_finite() {
                    *s += weight * (p - lo) / span;
                }
            }
        }
    }
}
