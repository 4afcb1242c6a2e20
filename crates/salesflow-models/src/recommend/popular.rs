//! The baselines: what most customers buy, overall or within the customer's segment.

use super::{Interactions, Scorer};

/// Scores an item by the share of customers who bought it: overall, or within the user's
/// segment when the user has one and it has at least `min_segment_users` customers.
#[derive(Debug, Clone)]
pub struct Popular {
    overall: Vec<f32>,
    by_segment: Vec<Option<Vec<f32>>>,
    segment_of_user: Vec<Option<u32>>,
}

impl Popular {
    /// Overall popularity.
    pub fn fit(train: &Interactions) -> Popular {
        Popular {
            overall: shares(train, |_| true),
            by_segment: Vec::new(),
            segment_of_user: Vec::new(),
        }
    }

    /// Popularity within segments (`segment_of_user[u]`, ids `0..segments`), falling back to
    /// overall popularity for users without a segment or in one smaller than
    /// `min_segment_users`.
    pub fn fit_segmented(
        train: &Interactions,
        segment_of_user: Vec<Option<u32>>,
        segments: usize,
        min_segment_users: usize,
    ) -> Popular {
        let mut members = vec![0usize; segments];
        for s in segment_of_user.iter().flatten() {
            if let Some(m) = members.get_mut(*s as usize) {
                *m += 1;
            }
        }
        let by_segment = (0..segments as u32)
            .map(|s| {
                (members[s as usize] >= min_segment_users.max(1)).then(|| {
                    shares(train, |u| {
                        segment_of_user.get(u).copied().flatten() == Some(s)
                    })
                })
            })
            .collect();
        Popular {
            overall: shares(train, |_| true),
            by_segment,
            segment_of_user,
        }
    }

    /// The segment whose popularity scores `user`, if any.
    pub fn segment_used(&self, user: Option<u32>) -> Option<u32> {
        let s = self
            .segment_of_user
            .get(user? as usize)
            .copied()
            .flatten()?;
        self.by_segment.get(s as usize)?.as_ref().map(|_| s)
    }
}

/// Share of the selected users who bought each item.
fn shares(train: &Interactions, selected: impl Fn(usize) -> bool) -> Vec<f32> {
    let mut buyers = vec![0u64; train.items()];
    let mut users = 0u64;
    for u in (0..train.users()).filter(|&u| selected(u)) {
        users += 1;
        for &i in train.row(u).0 {
            buyers[i as usize] += 1;
        }
    }
    buyers
        .iter()
        .map(|&b| b as f32 / users.max(1) as f32)
        .collect()
}

impl Scorer for Popular {
    fn score(&self, user: Option<u32>, _history: (&[u32], &[f32]), scores: &mut [f32]) {
        match self
            .segment_used(user)
            .and_then(|s| self.by_segment[s as usize].as_ref())
        {
            // A sliver of overall popularity breaks ties within the segment.
            Some(segment) => {
                for ((s, &seg), &all) in scores.iter_mut().zip(segment).zip(&self.overall) {
                    *s = seg + 1e-4 * all;
                }
            }
            None => scores.copy_from_slice(&self.overall),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segment_popularity_differs_from_overall() {
        // Segment 0 (users 0,1) buys item 0; segment 1 (users 2,3,4) buys item 1.
        let train = Interactions::from_triples(
            5,
            2,
            [
                (0, 0, 1.0),
                (1, 0, 1.0),
                (2, 1, 1.0),
                (3, 1, 1.0),
                (4, 1, 1.0),
            ],
        );
        let model = Popular::fit_segmented(
            &train,
            vec![Some(0), Some(0), Some(1), Some(1), Some(1)],
            2,
            2,
        );
        let mut scores = vec![0.0; 2];
        model.score(Some(0), (&[], &[]), &mut scores);
        assert!(scores[0] > scores[1]);
        let overall = Popular::fit(&train);
        overall.score(Some(0), (&[], &[]), &mut scores);
        assert!(scores[1] > scores[0]);
        // Too small a segment falls back to overall.
        let model = Popular::fit_segmented(
            &train,
            vec![Some(0), Some(0), Some(1), Some(1), Some(1)],
            2,
            3,
        );
        assert_eq!(model.segment_used(Some(0)), None);
        assert_eq!(model.segment_used(Some(2)), Some(1));
    }
}
