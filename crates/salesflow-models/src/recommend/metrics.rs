//! Ranking quality on held-out purchases.

use super::{Interactions, Scorer, recommend};

/// Top-k ranking metrics averaged over the users with at least one held-out item.
///
/// Textbook definitions, per user with relevant set `R` and list `L` of `k` recommendations:
/// precision@k `|L∩R|/k`; recall@k `|L∩R|/|R|`; AP@k `Σ_i P@i·rel_i / min(k, |R|)`; NDCG@k
/// `DCG/IDCG` with `DCG = Σ_i rel_i / log2(i + 1)`. `implicit`'s `ranking_metrics_at_k`
/// computes MAP and NDCG the same way, but its precision is `Σ|L∩R| / Σ min(k, |R|)` over all
/// users (micro-averaged, and never penalised for `|R| < k`): reported as
/// `precision_implicit` for side-by-side comparison.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct RankingMetrics {
    /// The `k` of the metrics.
    pub k: usize,
    /// Users evaluated (with at least one held-out item).
    pub users: usize,
    /// Mean precision@k.
    pub precision: f64,
    /// Mean recall@k.
    pub recall: f64,
    /// Mean average precision@k.
    pub map: f64,
    /// Mean NDCG@k.
    pub ndcg: f64,
    /// `implicit`'s precision@k.
    pub precision_implicit: f64,
}

/// Evaluates `model` on `test`: for each user, the relevant items are those in `test` that are
/// not in `train` (recommendations never repeat a training purchase).
pub fn evaluate(
    model: &dyn Scorer,
    train: &Interactions,
    test: &Interactions,
    k: usize,
) -> RankingMetrics {
    let users = train.users().min(test.users());
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(users.max(1));
    let per = users.div_ceil(threads).max(1);
    let sums: Vec<[f64; 7]> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                scope.spawn(move || {
                    let mut sums = [0f64; 7];
                    let mut buffer = Vec::new();
                    for u in t * per..((t + 1) * per).min(users) {
                        let history = train.row(u);
                        let relevant: Vec<u32> = test
                            .row(u)
                            .0
                            .iter()
                            .copied()
                            .filter(|i| history.0.binary_search(i).is_err())
                            .collect();
                        if relevant.is_empty() {
                            continue;
                        }
                        let list = recommend(
                            model,
                            Some(u as u32),
                            history,
                            train.items(),
                            k,
                            &mut buffer,
                        );
                        let one = user_metrics(&list, &relevant, k);
                        for (s, v) in sums.iter_mut().zip(one) {
                            *s += v;
                        }
                    }
                    sums
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect()
    });
    let mut total = [0f64; 7];
    for s in sums {
        for (t, v) in total.iter_mut().zip(s) {
            *t += v;
        }
    }
    let n = total[0];
    let mean = |x: f64| if n > 0.0 { x / n } else { 0.0 };
    RankingMetrics {
        k,
        users: n as usize,
        precision: mean(total[1]),
        recall: mean(total[2]),
        map: mean(total[3]),
        ndcg: mean(total[4]),
        precision_implicit: if total[6] > 0.0 {
            total[5] / total[6]
        } else {
            0.0
        },
    }
}

/// [1, precision, recall, AP, NDCG, hits, min(k, |R|)] for one user (`relevant` sorted).
fn user_metrics(list: &[(u32, f32)], relevant: &[u32], k: usize) -> [f64; 7] {
    let mut hits = 0usize;
    let mut ap = 0.0;
    let mut dcg = 0.0;
    for (rank, (item, _)) in list.iter().take(k).enumerate() {
        if relevant.binary_search(item).is_ok() {
            hits += 1;
            ap += hits as f64 / (rank + 1) as f64;
            dcg += 1.0 / ((rank + 2) as f64).log2();
        }
    }
    let ideal = k.min(relevant.len());
    let idcg: f64 = (0..ideal).map(|r| 1.0 / ((r + 2) as f64).log2()).sum();
    [
        1.0,
        hits as f64 / k as f64,
        hits as f64 / relevant.len() as f64,
        ap / ideal as f64,
        dcg / idcg,
        hits as f64,
        ideal as f64,
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn textbook_values_for_one_list() {
        // Recommended [a, b, c, d], relevant {a, c, e}; k = 4.
        let list = [(0, 1.0), (1, 0.9), (2, 0.8), (3, 0.7)];
        let m = user_metrics(&list, &[0, 2, 4], 4);
        assert_eq!(m[1], 0.5);
        assert!((m[2] - 2.0 / 3.0).abs() < 1e-15);
        // AP = (1/1 + 2/3) / min(4, 3)
        assert!((m[3] - (1.0 + 2.0 / 3.0) / 3.0).abs() < 1e-15);
        let dcg = 1.0 + 1.0 / 4f64.log2();
        let idcg = 1.0 + 1.0 / 3f64.log2() + 1.0 / 4f64.log2();
        assert!((m[4] - dcg / idcg).abs() < 1e-15);
        assert_eq!((m[5], m[6]), (2.0, 3.0));
    }
}
