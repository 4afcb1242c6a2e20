//! Orders and average order value: overall, by channel, by segment and over time.

use salesflow_analytics::Analysis;
use salesflow_analytics::findings::{money, percent, thousands};

use super::{BLUE, ORANGE};
use crate::bars::{Bar, BarChart, bar_chart};
use crate::html::Section;
use crate::lines::{LineChart, Series, line_chart};

pub(crate) fn render(a: &Analysis) -> Option<Section> {
    let o = &a.orders;
    let mut s = Section::new("orders", "Orders and average order value");
    s.cards(&[
        ("average order value", money(o.total.aov())),
        (
            "orders per customer",
            format!("{:.2}", o.orders_per_customer()),
        ),
        ("repeat-purchase rate", percent(o.repeat_rate())),
        ("refunded orders", thousands(o.refunds.0 as f64)),
    ]);
    if let Some(t) = o.aov_trend {
        s.paragraph(&format!(
            "Average order value changes by {} a month ({} of the overall average), a weighted \
             least-squares slope over {} months with orders.",
            money(t.per_month),
            percent(t.relative_per_month),
            t.months
        ));
    }
    if o.by_month.len() >= 2 {
        s.chart(&line_chart(&LineChart {
            title: "Average order value by month",
            x_label: "month",
            y_label: "average order value",
            x_ticks: o.by_month.iter().map(|m| m.month.clone()).collect(),
            series: vec![Series {
                name: "AOV",
                color: BLUE,
                values: o
                    .by_month
                    .iter()
                    .map(|m| {
                        if m.value.orders > 0 {
                            m.value.aov()
                        } else {
                            f64::NAN
                        }
                    })
                    .collect(),
            }],
            band: None,
        }));
        s.chart(&line_chart(&LineChart {
            title: "Orders and new customers by month",
            x_label: "month",
            y_label: "count",
            x_ticks: o.by_month.iter().map(|m| m.month.clone()).collect(),
            series: vec![
                Series {
                    name: "orders",
                    color: BLUE,
                    values: o.by_month.iter().map(|m| m.value.orders as f64).collect(),
                },
                Series {
                    name: "new customers",
                    color: ORANGE,
                    values: o.by_month.iter().map(|m| m.new_customers as f64).collect(),
                },
            ],
            band: None,
        }));
    }
    if !o.by_channel.is_empty() {
        s.heading("By channel");
        let rows: Vec<Vec<String>> = o
            .by_channel
            .iter()
            .map(|g| {
                vec![
                    g.key.clone(),
                    thousands(g.orders as f64),
                    thousands(g.customers as f64),
                    money(g.revenue),
                    money(g.aov()),
                    percent(g.revenue / o.total.revenue.max(f64::MIN_POSITIVE)),
                ]
            })
            .collect();
        s.table(
            &[
                "channel",
                "orders",
                "customers",
                "revenue",
                "AOV",
                "share of revenue",
            ],
            &rows,
        );
    }
    let segments = &a.segments.rfm_segments;
    if !segments.is_empty() {
        s.heading("By customer segment (RFM)");
        s.chart(&bar_chart(&BarChart {
            title: "Average order value by segment",
            value_label: "average order value",
            bars: segments
                .iter()
                .map(|g| {
                    let aov = if g.mean_orders > 0.0 {
                        g.mean_revenue / g.mean_orders
                    } else {
                        0.0
                    };
                    Bar {
                        label: g.name.clone(),
                        value: aov,
                        text: money(aov),
                    }
                })
                .collect(),
            color: BLUE,
        }));
    }
    Some(s)
}
