//! The funnel: the sales pipeline stage by stage (with deals that skipped a stage counted as
//! having passed it), its leaks, stalled deals, the weighted pipeline, slices by owner, source
//! and pipeline; and the visitor-to-customer funnel from events.

use salesflow_analytics::Analysis;
use salesflow_analytics::findings::{money, percent, thousands};
use salesflow_engine::pipeline::PipelineSlice;

use super::{BLUE, GREEN};
use crate::bars::{Bar, BarChart, bar_chart};
use crate::html::Section;

fn opt(v: Option<f64>, f: fn(f64) -> String) -> String {
    v.map_or("–".into(), f)
}

fn days(v: f64) -> String {
    format!("{v:.1}")
}

pub(crate) fn render(a: &Analysis) -> Option<Section> {
    if a.pipeline.is_none() && a.funnel.is_none() {
        return None;
    }
    let mut s = Section::new("funnel", "Funnel");
    if let Some(p) = &a.pipeline {
        let o = &p.overall;
        s.cards(&[
            ("deals", thousands(o.deals as f64)),
            ("win rate (closed deals)", opt(o.win_rate, percent)),
            ("average won deal", opt(o.average_deal_size, money)),
            ("median sales cycle, days", opt(o.cycle_days_median, days)),
            (
                "sales velocity per 30 days",
                opt(o.velocity_per_30_days, money),
            ),
            ("open pipeline", money(o.open_amount)),
            ("weighted open pipeline", money(o.weighted_amount)),
        ]);
        let mut bars: Vec<Bar> = o
            .stages
            .iter()
            .map(|st| Bar {
                label: st.stage.replace('_', " "),
                value: st.reached as f64,
                text: format!(
                    "{} deals ({} of all)",
                    thousands(st.reached as f64),
                    percent(st.reached as f64 / o.deals.max(1) as f64)
                ),
            })
            .collect();
        bars.push(Bar {
            label: "won".into(),
            value: o.won as f64,
            text: format!(
                "{} deals ({} of all)",
                thousands(o.won as f64),
                percent(o.won as f64 / o.deals.max(1) as f64)
            ),
        });
        s.chart(&bar_chart(&BarChart {
            title: "Deals reaching each stage",
            value_label: "deals",
            bars,
            color: BLUE,
        }));
        s.note(
            "A deal that skipped a stage counts as having passed it. \"To next\" counts open \
             deals still in the stage; \"to next, decided\" leaves them out. Win probability is \
             learned from closed deals that reached the stage.",
        );
        let rows: Vec<Vec<String>> = o
            .stages
            .iter()
            .map(|st| {
                vec![
                    st.stage.clone(),
                    thousands(st.reached as f64),
                    thousands(st.open as f64),
                    opt(st.to_next, percent),
                    opt(st.to_next_resolved, percent),
                    opt(st.to_won, percent),
                    opt(st.win_probability, percent),
                    opt(st.days_mean, days),
                    opt(st.days_median, days),
                ]
            })
            .collect();
        s.table(
            &[
                "stage",
                "reached",
                "open here",
                "to next",
                "to next, decided",
                "to won",
                "win probability",
                "mean days",
                "median days",
            ],
            &rows,
        );
        if !o.by_close_month.is_empty() {
            s.heading("Weighted pipeline by expected close month");
            let rows: Vec<Vec<String>> = o
                .by_close_month
                .iter()
                .map(|m| {
                    vec![
                        m.month.clone(),
                        thousands(m.deals as f64),
                        money(m.amount),
                        money(m.weighted),
                    ]
                })
                .collect();
            s.table(&["month", "open deals", "amount", "weighted"], &rows);
            if let Some(c) = o.coverage {
                s.paragraph(&format!(
                    "Coverage against the target of {}: {} weighted, {} unweighted.",
                    money(c.target),
                    format_args!("{:.2}x", c.weighted),
                    format_args!("{:.2}x", c.unweighted)
                ));
            }
        }
        if !o.stalled.is_empty() {
            s.heading(&format!(
                "Stalled deals ({}, worth {})",
                o.stalled.len(),
                money(o.stalled.iter().map(|d| d.amount).sum())
            ));
            let rows: Vec<Vec<String>> = o
                .stalled
                .iter()
                .take(15)
                .map(|d| {
                    vec![
                        d.deal_id.clone(),
                        d.stage.clone(),
                        days(d.days_since_change),
                        days(d.threshold_days),
                        money(d.amount),
                        d.owner.clone().unwrap_or_default(),
                    ]
                })
                .collect();
            s.table(
                &[
                    "deal",
                    "stage",
                    "days without change",
                    "threshold",
                    "amount",
                    "owner",
                ],
                &rows,
            );
            if o.stalled.len() > 15 {
                s.note("The 15 longest stalled are shown; metrics.json has the count and amount.");
            }
        }
        for sliced in &a.pipeline_slices {
            let Some(dimension) = sliced.dimension else {
                continue;
            };
            s.heading(&format!("By {}", dimension.column()));
            let rows: Vec<Vec<String>> = sliced.slices.iter().map(slice_row).collect();
            s.table(
                &[
                    dimension.column(),
                    "deals",
                    "won",
                    "win rate",
                    "average won deal",
                    "median cycle days",
                    "open pipeline",
                    "stalled",
                ],
                &rows,
            );
        }
    }
    if let Some(f) = &a.funnel {
        s.heading("Visitors to customers");
        s.paragraph(&format!(
            "{} of {} people with recorded events bought ({}).",
            thousands(f.converted as f64),
            thousands(f.visitors as f64),
            percent(f.conversion_rate())
        ));
        let bars: Vec<Bar> = f
            .steps
            .iter()
            .map(|st| Bar {
                label: st.step.replace('_', " "),
                value: st.customers as f64,
                text: format!(
                    "{} ({})",
                    thousands(st.customers as f64),
                    percent(st.customers as f64 / f.visitors.max(1) as f64)
                ),
            })
            .collect();
        s.chart(&bar_chart(&BarChart {
            title: "People with each event",
            value_label: "people",
            bars,
            color: GREEN,
        }));
    }
    Some(s)
}

fn slice_row(sl: &PipelineSlice) -> Vec<String> {
    vec![
        sl.value.clone().unwrap_or_else(|| "(none)".into()),
        thousands(sl.deals as f64),
        thousands(sl.won as f64),
        opt(sl.win_rate, percent),
        opt(sl.average_deal_size, money),
        opt(sl.cycle_days_median, days),
        money(sl.open_amount),
        thousands(sl.stalled.len() as f64),
    ]
}
