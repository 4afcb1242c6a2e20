//! Subscriptions: MRR and its movements, churn and net revenue retention.

use salesflow_analytics::Analysis;
use salesflow_analytics::findings::{money, percent, thousands};

use super::{BLUE, GREEN, ORANGE};
use crate::html::Section;
use crate::lines::{LineChart, Series, line_chart};

pub(crate) fn render(a: &Analysis) -> Option<Section> {
    let mrr = a.mrr.as_ref()?;
    let last = mrr.months.last()?;
    let mut s = Section::new("subscriptions", "Subscriptions and MRR");
    let rate = |f: fn(&salesflow_engine::subscriptions::Mrr, usize) -> Option<f64>| {
        mrr.mean_over_last(3, f).map_or("–".into(), percent)
    };
    s.cards(&[
        ("MRR", money(last.mrr)),
        ("paying customers", thousands(last.customers as f64)),
        ("logo churn / month (last 3)", rate(|m, i| m.logo_churn(i))),
        (
            "revenue churn / month (last 3)",
            rate(|m, i| m.revenue_churn(i)),
        ),
        (
            "net revenue retention / month (last 3)",
            rate(|m, i| m.net_revenue_retention(i)),
        ),
    ]);
    s.note(
        "MRR is taken at each month's end. Movements per customer: new (first time paying), \
         expansion, contraction, churn (stopped paying), reactivation (paying again). Net \
         revenue retention = what last month's customers pay now / what they paid then.",
    );
    let ticks: Vec<String> = mrr.months.iter().map(|m| m.month.clone()).collect();
    s.chart(&line_chart(&LineChart {
        title: "MRR at month end",
        x_label: "month",
        y_label: "MRR",
        x_ticks: ticks.clone(),
        series: vec![Series {
            name: "MRR",
            color: BLUE,
            values: mrr.months.iter().map(|m| m.mrr).collect(),
        }],
        band: None,
    }));
    s.chart(&line_chart(&LineChart {
        title: "MRR movements",
        x_label: "month",
        y_label: "MRR per month",
        x_ticks: ticks,
        series: vec![
            Series {
                name: "new + reactivation",
                color: GREEN,
                values: mrr.months.iter().map(|m| m.new + m.reactivation).collect(),
            },
            Series {
                name: "expansion",
                color: BLUE,
                values: mrr.months.iter().map(|m| m.expansion).collect(),
            },
            Series {
                name: "churn + contraction",
                color: ORANGE,
                values: mrr.months.iter().map(|m| m.churn + m.contraction).collect(),
            },
        ],
        band: None,
    }));
    let start = mrr.months.len().saturating_sub(12);
    let rows: Vec<Vec<String>> = (start..mrr.months.len())
        .map(|i| {
            let m = &mrr.months[i];
            vec![
                m.month.clone(),
                money(m.mrr),
                money(m.new),
                money(m.expansion),
                money(m.contraction),
                money(m.churn),
                money(m.reactivation),
                mrr.logo_churn(i).map_or("–".into(), percent),
                mrr.net_revenue_retention(i).map_or("–".into(), percent),
            ]
        })
        .collect();
    s.table(
        &[
            "month",
            "MRR",
            "new",
            "expansion",
            "contraction",
            "churn",
            "reactivation",
            "logo churn",
            "NRR",
        ],
        &rows,
    );
    Some(s)
}
