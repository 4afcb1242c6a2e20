//! Segments and playbook: RFM segments, behavioural clusters, the hand-written rule segments,
//! and the action for each with its target list.

use salesflow_analytics::Analysis;
use salesflow_analytics::findings::{money, percent, thousands};
use salesflow_analytics::segments::SegmentStats;

use super::BLUE;
use crate::bars::{Bar, BarChart, bar_chart};
use crate::html::Section;

fn rows(list: &[SegmentStats], customers: u64, revenue: f64) -> Vec<Vec<String>> {
    list.iter()
        .map(|g| {
            vec![
                g.name.clone(),
                thousands(g.customers as f64),
                percent(g.customers as f64 / customers.max(1) as f64),
                money(g.revenue),
                percent(g.revenue / revenue.max(f64::MIN_POSITIVE)),
                format!("{:.0}", g.mean_recency_days),
                format!("{:.2}", g.mean_orders),
                money(g.mean_revenue),
                g.action.clone().unwrap_or_default(),
            ]
        })
        .collect()
}

const HEADERS: [&str; 9] = [
    "segment",
    "customers",
    "share",
    "revenue",
    "share of revenue",
    "days since last order",
    "orders",
    "revenue per customer",
    "action",
];

pub(crate) fn render(a: &Analysis) -> Option<Section> {
    let g = &a.segments;
    let (customers, revenue) = (a.orders.total.customers, a.orders.total.revenue);
    let mut s = Section::new("segments", "Segments and playbook");
    s.paragraph(
        "RFM scores each customer 1-5 on recency, frequency (orders) and monetary value \
         (revenue) by quintile, ties sharing a score; the named segments follow the widely \
         used score ranges, tried narrower first, with a recency × frequency grid for the \
         rest (docs/metrics.md lists them).",
    );
    s.chart(&bar_chart(&BarChart {
        title: "Customers per RFM segment",
        value_label: "customers",
        bars: g
            .rfm_segments
            .iter()
            .map(|x| Bar {
                label: x.name.clone(),
                value: x.customers as f64,
                text: format!(
                    "{} ({} of revenue)",
                    thousands(x.customers as f64),
                    percent(x.revenue / revenue.max(f64::MIN_POSITIVE))
                ),
            })
            .collect(),
        color: BLUE,
    }));
    s.table(&HEADERS, &rows(&g.rfm_segments, customers, revenue));
    if let Some(c) = &g.clusters {
        s.heading(&format!("Behavioural clusters (k-means, k = {})", c.k));
        s.paragraph(&format!(
            "k-means on days since the last order, log orders and log revenue, standardised; \
             {}. Each cluster is described by its mean in the original units.",
            match c.silhouette {
                Some(v) => format!("k chosen by the best mean silhouette ({v:.3})"),
                None => "k as given".into(),
            }
        ));
        let mut headers = HEADERS;
        headers[0] = "cluster";
        let mut list = c.stats.clone();
        for (i, x) in list.iter_mut().enumerate() {
            x.name = format!("{}: {}", i + 1, x.name);
        }
        s.table(
            &headers[..8],
            &rows(&list, customers, revenue)
                .into_iter()
                .map(|mut r| {
                    r.pop();
                    r
                })
                .collect::<Vec<_>>(),
        );
    }
    if !g.rules.is_empty() {
        s.heading("Rule segments");
        s.note("From [segments.rules] in salesflow.toml; a customer may be in several.");
        s.table(&HEADERS, &rows(&g.rules, customers, revenue));
    }
    s.heading("Playbook");
    s.paragraph(
        "Each customer gets one action: the first matching rule segment that has one, else \
         their RFM segment's. The target list of each action is in actions/ beside this report.",
    );
    let counts = g.action_counts();
    let rows: Vec<Vec<String>> = g
        .actions
        .iter()
        .zip(counts)
        .enumerate()
        .map(|(i, (action, n))| {
            vec![
                action.clone(),
                thousands(n as f64),
                format!(
                    "actions/{}",
                    salesflow_analytics::scored::action_file_name(i, action)
                ),
            ]
        })
        .collect();
    s.table(&["action", "customers", "target list"], &rows);
    Some(s)
}
