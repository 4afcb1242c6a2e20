//! Segments and the playbook: RFM scores and named segments, k-means clusters on behaviour,
//! the hand-written rule segments, and one recommended action per customer.
//!
//! A customer's action comes from the first rule segment (by name) that matches and has an
//! action; otherwise from their RFM segment's playbook entry (built in, overridden by
//! `[playbook]`). Clusters describe; they do not set actions.

use std::collections::BTreeMap;

use datafusion::arrow::array::{Array, AsArray};
use datafusion::arrow::datatypes::{Float64Type, Int64Type};
use salesflow_engine::Dataset;
use salesflow_engine::customer_features::rule_matches;
use salesflow_engine::summary::Summary;
use salesflow_models::segment::kmeans::{KMeansOptions, kmeans};
use salesflow_models::segment::rfm::{RfmCustomer, RfmScore, RfmSegment, rfm_scores};

use crate::AnalyzeOptions;
use crate::error::{AnalyticsError, Result};

/// The built-in action of each RFM segment.
pub fn default_action(segment: RfmSegment) -> &'static str {
    match segment {
        RfmSegment::Champions => {
            "Reward them: early access and exclusive offers; ask for reviews and referrals"
        }
        RfmSegment::LoyalCustomers => {
            "Invite them to the loyalty programme; offer higher-value products"
        }
        RfmSegment::PotentialLoyalist => {
            "Offer a membership or loyalty programme; recommend related products"
        }
        RfmSegment::NewCustomers => "Onboard them: a welcome series and early support",
        RfmSegment::Promising => "Offer a free trial of a premium tier; build awareness",
        RfmSegment::NeedAttention => "Send limited-time offers based on past purchases",
        RfmSegment::AboutToSleep => "Reconnect before they lapse: popular products and a discount",
        RfmSegment::AtRisk => "Win them back: personalised emails and renewal offers",
        RfmSegment::CantLoseThem => "Win them back personally: a call, a survey, your best offer",
        RfmSegment::Hibernating => "Offer other relevant products and special discounts",
        RfmSegment::Lost => "Try one reach-out campaign; otherwise spend nothing",
        RfmSegment::Others => "Keep in the regular newsletter",
    }
}

/// One named group of customers and what they are worth.
#[derive(Debug, Clone, PartialEq)]
pub struct SegmentStats {
    /// Stable key (`champions`, `cluster_2`, a rule's name).
    pub key: String,
    /// Name for people.
    pub name: String,
    /// Customers in it.
    pub customers: u64,
    /// Their revenue to date.
    pub revenue: f64,
    /// Mean days since their last purchase.
    pub mean_recency_days: f64,
    /// Mean orders.
    pub mean_orders: f64,
    /// Mean revenue.
    pub mean_revenue: f64,
    /// The recommended action, if any.
    pub action: Option<String>,
}

/// The k-means clusters.
#[derive(Debug, Clone)]
pub struct Clusters {
    /// Number of clusters.
    pub k: usize,
    /// Mean silhouette (on a sample) of the chosen k, when k was chosen.
    pub silhouette: Option<f64>,
    /// Silhouette of each k tried.
    pub silhouette_by_k: Vec<(usize, f64)>,
    /// Each customer's cluster.
    pub labels: Vec<usize>,
    /// Each cluster described in the original units (key `cluster_<n>`, n from 1).
    pub stats: Vec<SegmentStats>,
}

/// Everything segmentation found.
#[derive(Debug, Clone)]
pub struct Segmentation {
    /// Each customer's RFM scores and segment, in the summary's order.
    pub rfm: Vec<RfmScore>,
    /// Every RFM segment with customers, in the published order.
    pub rfm_segments: Vec<SegmentStats>,
    /// k-means, when there are enough customers.
    pub clusters: Option<Clusters>,
    /// Each rule segment (its action, if the rule has one).
    pub rules: Vec<SegmentStats>,
    /// `rule_matches[r][i]`: whether customer `i` is in rule segment `r`.
    pub rule_matches: Vec<Vec<bool>>,
    /// The distinct actions; each customer's action indexes into it.
    pub actions: Vec<String>,
    /// Each customer's action (an index into `actions`).
    pub action_of: Vec<usize>,
}

impl Segmentation {
    /// Customers per action, in `actions` order.
    pub fn action_counts(&self) -> Vec<u64> {
        let mut counts = vec![0; self.actions.len()];
        for &a in &self.action_of {
            counts[a] += 1;
        }
        counts
    }
}

/// The per-customer columns segmentation reads from the summary.
struct Behaviour {
    recency_days: Vec<f64>,
    orders: Vec<f64>,
    revenue: Vec<f64>,
}

fn behaviour(summary: &Summary) -> Result<Behaviour> {
    let mut b = Behaviour {
        recency_days: Vec::new(),
        orders: Vec::new(),
        revenue: Vec::new(),
    };
    let missing = |name: &str| {
        AnalyticsError::Engine(salesflow_engine::EngineError::Internal(format!(
            "the customer summary has no usable column {name}"
        )))
    };
    for batch in &summary.batches {
        let float = |name: &str| {
            batch
                .column_by_name(name)
                .and_then(|c| c.as_primitive_opt::<Float64Type>())
                .ok_or_else(|| missing(name))
        };
        let (recency, age, revenue) = (float("recency")?, float("T")?, float("revenue")?);
        let orders = batch
            .column_by_name("orders")
            .and_then(|c| c.as_primitive_opt::<Int64Type>())
            .ok_or_else(|| missing("orders"))?;
        for i in 0..batch.num_rows() {
            b.recency_days.push(age.value(i) - recency.value(i));
            b.orders.push(if orders.is_valid(i) {
                orders.value(i) as f64
            } else {
                0.0
            });
            b.revenue.push(if revenue.is_valid(i) {
                revenue.value(i)
            } else {
                0.0
            });
        }
    }
    Ok(b)
}

fn stats_of(
    key: String,
    name: String,
    members: impl Iterator<Item = usize>,
    b: &Behaviour,
    action: Option<String>,
) -> SegmentStats {
    let (mut n, mut revenue, mut recency, mut orders) = (0u64, 0.0, 0.0, 0.0);
    for i in members {
        n += 1;
        revenue += b.revenue[i];
        recency += b.recency_days[i];
        orders += b.orders[i];
    }
    let per = |v: f64| if n == 0 { 0.0 } else { v / n as f64 };
    SegmentStats {
        key,
        name,
        customers: n,
        revenue,
        mean_recency_days: per(recency),
        mean_orders: per(orders),
        mean_revenue: per(revenue),
        action,
    }
}

/// Fewest customers k-means runs on.
const MIN_CLUSTER_CUSTOMERS: usize = 50;

/// Segments the customers of `summary` (day units, with facts; `customer_features` registered).
pub(crate) async fn segment(
    dataset: &Dataset,
    summary: &Summary,
    options: &AnalyzeOptions,
) -> Result<Segmentation> {
    let b = behaviour(summary)?;
    let n = b.orders.len();
    let inputs: Vec<RfmCustomer> = (0..n)
        .map(|i| RfmCustomer {
            recency_days: b.recency_days[i],
            frequency: b.orders[i],
            monetary: b.revenue[i],
        })
        .collect();
    let rfm = rfm_scores(&inputs).map_err(AnalyticsError::model("RFM scores"))?;

    let playbook_action = |key: &str, fallback: &str| -> String {
        options
            .playbook
            .get(key)
            .cloned()
            .unwrap_or_else(|| fallback.to_owned())
    };
    let mut members: BTreeMap<RfmSegment, Vec<usize>> = BTreeMap::new();
    for (i, score) in rfm.iter().enumerate() {
        members.entry(score.segment).or_default().push(i);
    }
    let rfm_segments: Vec<SegmentStats> = RfmSegment::NAMED
        .iter()
        .chain(&[RfmSegment::Others])
        .filter_map(|segment| {
            let list = members.get(segment)?;
            Some(stats_of(
                segment.key().to_owned(),
                segment.name().to_owned(),
                list.iter().copied(),
                &b,
                Some(playbook_action(segment.key(), default_action(*segment))),
            ))
        })
        .collect();

    let clusters = if n >= MIN_CLUSTER_CUSTOMERS {
        Some(clusters(&b, options)?)
    } else {
        None
    };

    let rule_matches = rule_matches(dataset, &options.rules).await?;
    let rules: Vec<SegmentStats> = options
        .rules
        .iter()
        .zip(&rule_matches)
        .map(|(rule, matches)| {
            let action = rule
                .action
                .clone()
                .or_else(|| options.playbook.get(&rule.name).cloned());
            stats_of(
                rule.name.clone(),
                rule.name.replace('_', " "),
                matches
                    .iter()
                    .enumerate()
                    .filter(|(_, m)| **m)
                    .map(|(i, _)| i),
                &b,
                action,
            )
        })
        .collect();

    let mut actions: Vec<String> = Vec::new();
    let mut index_of: BTreeMap<String, usize> = BTreeMap::new();
    let mut intern = |action: &str| -> usize {
        if let Some(&i) = index_of.get(action) {
            return i;
        }
        actions.push(action.to_owned());
        index_of.insert(action.to_owned(), actions.len() - 1);
        actions.len() - 1
    };
    let by_segment: BTreeMap<&str, usize> = rfm_segments
        .iter()
        .filter_map(|s| Some((s.key.as_str(), intern(s.action.as_deref()?))))
        .collect();
    let rule_actions: Vec<Option<usize>> = rules
        .iter()
        .map(|r| r.action.as_deref().map(&mut intern))
        .collect();
    let action_of: Vec<usize> = (0..n)
        .map(|i| {
            rule_actions
                .iter()
                .zip(&rule_matches)
                .find_map(|(action, matches)| action.filter(|_| matches[i]))
                .unwrap_or_else(|| by_segment[rfm[i].segment.key()])
        })
        .collect();
    Ok(Segmentation {
        rfm,
        rfm_segments,
        clusters,
        rules,
        rule_matches,
        actions,
        action_of,
    })
}

/// k-means on (days since last purchase, ln(1 + orders), ln(1 + revenue)): orders and revenue
/// are heavy-tailed, and on their raw scale a few big spenders would make clusters of their
/// own. Clusters are described in the original units.
fn clusters(b: &Behaviour, options: &AnalyzeOptions) -> Result<Clusters> {
    let n = b.orders.len();
    let mut points = Vec::with_capacity(n * 3);
    for i in 0..n {
        points.extend([b.recency_days[i], b.orders[i].ln_1p(), b.revenue[i].ln_1p()]);
    }
    let fit = kmeans(
        &points,
        3,
        &KMeansOptions {
            k: options.clusters,
            seed: options.seed,
            // Choosing k scores each candidate by the silhouette, which is quadratic in the
            // sample: 5,000 customers keep the seven candidates under a second.
            sample_size: 5_000,
            threads: salesflow_engine::default_threads(),
            ..KMeansOptions::default()
        },
    )
    .map_err(AnalyticsError::model("k-means"))?;
    let mut members: Vec<Vec<usize>> = vec![Vec::new(); fit.k];
    for (i, &label) in fit.labels.iter().enumerate() {
        members[label].push(i);
    }
    let overall = stats_of(String::new(), String::new(), 0..n, b, None);
    let stats = members
        .iter()
        .enumerate()
        .map(|(c, list)| {
            let mut s = stats_of(
                format!("cluster_{}", c + 1),
                String::new(),
                list.iter().copied(),
                b,
                None,
            );
            s.name = describe(&s, &overall);
            s
        })
        .collect();
    Ok(Clusters {
        k: fit.k,
        silhouette: fit.silhouette,
        silhouette_by_k: fit.silhouette_by_k,
        labels: fit.labels,
        stats,
    })
}

/// A cluster's name from how it compares with all customers.
fn describe(cluster: &SegmentStats, overall: &SegmentStats) -> String {
    let recency = if cluster.mean_recency_days <= overall.mean_recency_days {
        "recent"
    } else {
        "lapsed"
    };
    let frequency = if cluster.mean_orders >= overall.mean_orders {
        "frequent"
    } else {
        "occasional"
    };
    let value = if cluster.mean_revenue >= overall.mean_revenue {
        "high value"
    } else {
        "low value"
    };
    format!("{recency}, {frequency}, {value}")
}
