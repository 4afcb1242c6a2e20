//! Association rules `A -> C` and their metrics, defined as mlxtend defines them.

use std::collections::HashMap;

use super::Itemset;
use crate::ModelError;

/// A rule's metrics, from the supports `sA` (antecedents), `sC` (consequents) and `sAC` (both).
///
/// Definitions (mlxtend 0.23): confidence `sAC/sA`; lift `confidence/sC`; leverage
/// `sAC - sA·sC`; conviction `(1 - sC)/(1 - confidence)`, infinite when confidence is 1;
/// Zhang's metric `leverage / max(sAC·(1 - sA), sA·(sC - sAC))`, 0 when that denominator is 0;
/// Jaccard `sAC/(sA + sC - sAC)`; certainty `(confidence - sC)/(1 - sC)`, 0 when `sC` is 1;
/// Kulczynski `(sAC/sA + sAC/sC)/2`. The arithmetic is done in the same order as mlxtend's,
/// so thresholds cut at the same rules.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RuleMetrics {
    /// Share of baskets holding the antecedents.
    pub antecedent_support: f64,
    /// Share of baskets holding the consequents.
    pub consequent_support: f64,
    /// Share of baskets holding both.
    pub support: f64,
    /// P(C | A).
    pub confidence: f64,
    /// Confidence over the consequents' support.
    pub lift: f64,
    /// Support minus the support expected under independence.
    pub leverage: f64,
    /// How much more often A occurs without C if they were independent; `inf` at confidence 1.
    pub conviction: f64,
    /// Zhang's association measure in `[-1, 1]`.
    pub zhangs_metric: f64,
    /// Jaccard similarity of the baskets holding A and those holding C.
    pub jaccard: f64,
    /// Certainty factor.
    pub certainty: f64,
    /// Mean of P(C | A) and P(A | C).
    pub kulczynski: f64,
}

impl RuleMetrics {
    /// The metrics from the three supports (shares of baskets, each in `(0, 1]`).
    pub fn from_supports(s_ac: f64, s_a: f64, s_c: f64) -> Self {
        let confidence = s_ac / s_a;
        let leverage = s_ac - s_a * s_c;
        let conviction = if confidence < 1.0 {
            (1.0 - s_c) / (1.0 - confidence)
        } else {
            f64::INFINITY
        };
        let zhang_denominator = (s_ac * (1.0 - s_a)).max(s_a * (s_c - s_ac));
        let zhangs_metric = if zhang_denominator == 0.0 {
            0.0
        } else {
            leverage / zhang_denominator
        };
        let certainty = if 1.0 - s_c == 0.0 {
            0.0
        } else {
            (confidence - s_c) / (1.0 - s_c)
        };
        RuleMetrics {
            antecedent_support: s_a,
            consequent_support: s_c,
            support: s_ac,
            confidence,
            lift: confidence / s_c,
            leverage,
            conviction,
            zhangs_metric,
            jaccard: s_ac / (s_a + s_c - s_ac),
            certainty,
            kulczynski: (s_ac / s_a + s_ac / s_c) / 2.0,
        }
    }

    /// The value of one metric.
    pub fn get(&self, metric: Metric) -> f64 {
        match metric {
            Metric::AntecedentSupport => self.antecedent_support,
            Metric::ConsequentSupport => self.consequent_support,
            Metric::Support => self.support,
            Metric::Confidence => self.confidence,
            Metric::Lift => self.lift,
            Metric::Leverage => self.leverage,
            Metric::Conviction => self.conviction,
            Metric::ZhangsMetric => self.zhangs_metric,
            Metric::Jaccard => self.jaccard,
            Metric::Certainty => self.certainty,
            Metric::Kulczynski => self.kulczynski,
        }
    }
}

/// A metric rules can be filtered and ranked by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Metric {
    /// `antecedent support`.
    AntecedentSupport,
    /// `consequent support`.
    ConsequentSupport,
    /// `support`.
    Support,
    /// `confidence`.
    Confidence,
    /// `lift`.
    Lift,
    /// `leverage`.
    Leverage,
    /// `conviction`.
    Conviction,
    /// `zhangs_metric`.
    ZhangsMetric,
    /// `jaccard`.
    Jaccard,
    /// `certainty`.
    Certainty,
    /// `kulczynski`.
    Kulczynski,
}

impl Metric {
    /// Every metric, in mlxtend's column order.
    pub const ALL: [Metric; 11] = [
        Metric::AntecedentSupport,
        Metric::ConsequentSupport,
        Metric::Support,
        Metric::Confidence,
        Metric::Lift,
        Metric::Leverage,
        Metric::Conviction,
        Metric::ZhangsMetric,
        Metric::Jaccard,
        Metric::Certainty,
        Metric::Kulczynski,
    ];

    /// The name mlxtend uses (and `--metric` takes).
    pub fn name(self) -> &'static str {
        match self {
            Metric::AntecedentSupport => "antecedent_support",
            Metric::ConsequentSupport => "consequent_support",
            Metric::Support => "support",
            Metric::Confidence => "confidence",
            Metric::Lift => "lift",
            Metric::Leverage => "leverage",
            Metric::Conviction => "conviction",
            Metric::ZhangsMetric => "zhangs_metric",
            Metric::Jaccard => "jaccard",
            Metric::Certainty => "certainty",
            Metric::Kulczynski => "kulczynski",
        }
    }

    /// Parses a metric name (mlxtend's spelling; a space works for the underscore).
    pub fn from_name(name: &str) -> Option<Metric> {
        let wanted = name.trim().replace(' ', "_").to_ascii_lowercase();
        Metric::ALL.into_iter().find(|m| m.name() == wanted)
    }
}

/// An association rule between two disjoint itemsets.
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    /// The "if" items (ids, ascending).
    pub antecedents: Vec<u32>,
    /// The "then" items (ids, ascending).
    pub consequents: Vec<u32>,
    /// Its metrics.
    pub metrics: RuleMetrics,
}

/// Longest itemset rules are generated from: `2^k - 2` rules each, so 24 items is 16 M rules.
const MAX_RULE_ITEMS: usize = 24;

/// Every rule `A -> C` with `A ∪ C` a frequent itemset and `metric >= min_threshold`.
///
/// `itemsets` must be the whole FP-growth result (every subset of an itemset present, as it
/// is), and `transactions` the number of baskets. Rules come sorted by the metric
/// (descending), then support, then item ids.
pub fn association_rules(
    itemsets: &[Itemset],
    transactions: usize,
    metric: Metric,
    min_threshold: f64,
) -> Result<Vec<Rule>, ModelError> {
    if transactions == 0 {
        return Err(ModelError::EmptyInput { what: "baskets" });
    }
    if min_threshold.is_nan() {
        return Err(ModelError::InvalidParameter {
            name: "min_threshold",
            value: min_threshold,
            hint: "must be a number (the smallest metric value a rule may have)",
        });
    }
    let n = transactions as f64;
    let counts: HashMap<&[u32], u64> = itemsets
        .iter()
        .map(|s| (s.items.as_slice(), s.count))
        .collect();
    let support_of = |items: &[u32]| -> Result<f64, ModelError> {
        counts
            .get(items)
            .map(|&c| c as f64 / n)
            .ok_or(ModelError::InvalidParameter {
                name: "itemsets",
                value: items.len() as f64,
                hint: "a subset of a frequent itemset is missing; pass the full FP-growth result, not a filtered one",
            })
    };
    let mut rules = Vec::new();
    let mut antecedents = Vec::new();
    let mut consequents = Vec::new();
    for set in itemsets.iter().filter(|s| s.items.len() >= 2) {
        let k = set.items.len();
        if k > MAX_RULE_ITEMS {
            return Err(ModelError::InvalidParameter {
                name: "max_len",
                value: k as f64,
                hint: "an itemset this long gives more than 16 million rules; limit the itemset length (--max-len) or raise min_support",
            });
        }
        let s_ac = set.count as f64 / n;
        for mask in 1u32..(1 << k) - 1 {
            antecedents.clear();
            consequents.clear();
            for (i, &item) in set.items.iter().enumerate() {
                if mask & (1 << i) != 0 {
                    antecedents.push(item);
                } else {
                    consequents.push(item);
                }
            }
            let metrics = RuleMetrics::from_supports(
                s_ac,
                support_of(&antecedents)?,
                support_of(&consequents)?,
            );
            if metrics.get(metric) >= min_threshold {
                rules.push(Rule {
                    antecedents: antecedents.clone(),
                    consequents: consequents.clone(),
                    metrics,
                });
            }
        }
    }
    rules.sort_by(|a, b| {
        b.metrics
            .get(metric)
            .total_cmp(&a.metrics.get(metric))
            .then(b.metrics.support.total_cmp(&a.metrics.support))
            .then_with(|| a.antecedents.cmp(&b.antecedents))
            .then_with(|| a.consequents.cmp(&b.consequents))
    });
    Ok(rules)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edge_cases_follow_mlxtend() {
        // Confidence 1: conviction is infinite.
        let m = RuleMetrics::from_supports(0.5, 0.5, 0.8);
        assert_eq!(m.confidence, 1.0);
        assert!(m.conviction.is_infinite());
        // Consequent in every basket: certainty's denominator is 0, reported as 0.
        let m = RuleMetrics::from_supports(0.4, 0.4, 1.0);
        assert_eq!(m.certainty, 0.0);
        // Antecedent in every basket and sAC = sC: Zhang's denominator is 0, reported as 0.
        let m = RuleMetrics::from_supports(0.3, 1.0, 0.3);
        assert_eq!(m.zhangs_metric, 0.0);
        // Independence: lift 1, leverage 0.
        let m = RuleMetrics::from_supports(0.25, 0.5, 0.5);
        assert!((m.lift - 1.0).abs() < 1e-15 && m.leverage.abs() < 1e-15);
    }

    #[test]
    fn metric_names_round_trip() {
        for m in Metric::ALL {
            assert_eq!(Metric::from_name(m.name()), Some(m));
        }
        assert_eq!(
            Metric::from_name("Antecedent Support"),
            Some(Metric::AntecedentSupport)
        );
        assert_eq!(Metric::from_name("lifts"), None);
    }
}
