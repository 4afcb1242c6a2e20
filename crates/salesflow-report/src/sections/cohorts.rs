//! Monthly acquisition cohorts: the share of each month's new customers who buy again in each
//! later month, and what they spend.

use salesflow_analytics::Analysis;
use salesflow_analytics::findings::{money, percent, thousands};

use crate::heatmap::{Heatmap, heatmap};
use crate::html::Section;

pub(crate) fn render(a: &Analysis) -> Option<Section> {
    let c = &a.cohorts;
    if c.months.len() < 2 {
        return None;
    }
    let mut s = Section::new("cohorts", "Cohorts and retention");
    s.paragraph(
        "Customers are grouped by the month of their first purchase. Each cell is the share \
         of the cohort that bought in that month after acquisition (month 0, the acquisition \
         month, is always 100% and left out so the colours show the later months). Hover for \
         the exact share; empty cells have not happened yet.",
    );
    let offsets = c.months.len() - 1;
    let values: Vec<Vec<f64>> = (0..c.months.len())
        .map(|cohort| {
            (1..=offsets)
                .map(|k| c.retention(cohort, k).map_or(f64::NAN, |r| 100.0 * r))
                .collect()
        })
        .collect();
    s.chart(&heatmap(&Heatmap {
        title: "Customers buying again, % of cohort",
        x_label: "months after acquisition",
        y_label: "cohort",
        x_ticks: (1..=offsets).map(|k| k.to_string()).collect(),
        y_ticks: c.months.clone(),
        values,
    }));
    let rows: Vec<Vec<String>> = (0..c.months.len())
        .map(|i| {
            let revenue: f64 = c.revenue[i].iter().sum();
            vec![
                c.months[i].clone(),
                thousands(c.sizes[i] as f64),
                c.retention(i, 1).map_or("–".into(), percent),
                c.retention(i, 3).map_or("–".into(), percent),
                c.retention(i, 6).map_or("–".into(), percent),
                c.retention(i, 12).map_or("–".into(), percent),
                money(revenue),
                if c.sizes[i] > 0 {
                    money(revenue / c.sizes[i] as f64)
                } else {
                    "–".into()
                },
            ]
        })
        .collect();
    s.table(
        &[
            "cohort",
            "customers",
            "month 1",
            "month 3",
            "month 6",
            "month 12",
            "revenue to date",
            "revenue per customer",
        ],
        &rows,
    );
    Some(s)
}
