//! Marketing budget: each paid channel's response curve with its recent and proposed spend,
//! and the allocation table (the same plan as `salesflow budget`).

use salesflow_analytics::Analysis;
use salesflow_analytics::budget::{BudgetPlan, ChannelPlan};
use salesflow_analytics::findings::{money, percent};

use crate::curve::{CurveChart, Marker, curve_chart};
use crate::html::Section;

/// The response-curve chart of one channel: the weekly observations, the fitted curve, and
/// the recent and proposed spend marked on it.
pub fn budget_curve(plan: &BudgetPlan, channel: &ChannelPlan) -> String {
    let unit = plan.objective.unit();
    curve_chart(&CurveChart {
        title: &format!(
            "{}: {unit} per week against spend per week",
            channel.channel
        ),
        x_label: "spend per week",
        y_label: unit,
        points: channel.points.clone(),
        curve: channel.curve.clone(),
        markers: vec![
            Marker {
                name: "recent spend",
                color: "#7f7f7f",
                x: channel.current,
                y: channel.current_outcome,
            },
            Marker {
                name: "proposed",
                color: "#d62728",
                x: channel.proposed,
                y: channel.proposed_outcome,
            },
        ],
    })
}

fn plus_minus(value: f64, se: f64, decimals: usize) -> String {
    if se.is_finite() {
        format!("{value:.decimals$} ± {se:.decimals$}")
    } else {
        format!("{value:.decimals$} ± ?")
    }
}

/// K with its profile-likelihood interval; a side the data leave open reads "?".
fn half_saturation(c: &ChannelPlan) -> String {
    let end = |v: Option<f64>| v.map_or("?".to_string(), |v| format!("{v:.0}"));
    let (lo, hi) = c.fit.half_saturation_interval;
    format!("{:.0} ({} to {})", c.fit.half_saturation, end(lo), end(hi))
}

pub(crate) fn render(a: &Analysis) -> Option<Section> {
    let plan = a.budget.as_ref()?;
    let unit = plan.objective.unit();
    let mut s = Section::new("budget", "Marketing budget");
    let change = plan.expected_outcome / plan.scaled_outcome.max(f64::MIN_POSITIVE) - 1.0;
    s.paragraph(&format!(
        "Response curves (Hill saturation with geometric carry-over) fitted to {} weeks of spend \
         against {unit}. Re-splitting the recent {} a week across the paid channels, each kept \
         within 0.5x to 2x of its recent spend (or its [budget.bounds] in salesflow.toml), is \
         expected to bring {} {unit} a week{} against {} with the recent split: {}.",
        plan.weeks,
        money(plan.total),
        money(plan.expected_outcome),
        // An interval from a fit that did not converge, or one spanning orders of magnitude,
        // says only that the curves are uncertain: say that instead of printing it.
        match plan.interval {
            Some((lo, hi)) if plan.converged && hi < 10.0 * plan.expected_outcome => {
                format!(" (95% interval {} to {})", money(lo), money(hi))
            }
            _ => " (the curves are too uncertain for a useful interval)".into(),
        },
        money(plan.scaled_outcome),
        if change >= 0.0 {
            format!("{} more", percent(change))
        } else {
            format!("{} less", percent(-change))
        }
    ));
    if !plan.converged {
        s.note("The curve fit did not fully converge on this history: treat the split with care.");
    }
    let rows: Vec<Vec<String>> = plan
        .channels
        .iter()
        .map(|c| {
            vec![
                c.channel.clone(),
                money(c.current),
                money(c.proposed),
                format!("{} to {}", money(c.bounds.0), money(c.bounds.1)),
                format!("{:.2}", c.current_outcome),
                format!("{:.2}", c.proposed_outcome),
                format!("{:.4}", c.marginal),
                half_saturation(c),
                plus_minus(c.fit.shape, c.fit.shape_se, 2),
                if c.reliable {
                    "yes".into()
                } else {
                    "no: kept at its share".into()
                },
            ]
        })
        .collect();
    s.table(
        &[
            "channel",
            "recent spend / week",
            "proposed",
            "allowed",
            &format!("{unit} now"),
            &format!("{unit} proposed"),
            "return of the last unit",
            "half-saturation (95% interval)",
            "shape",
            "curve trusted",
        ],
        &rows,
    );
    for channel in &plan.channels {
        s.chart(&budget_curve(plan, channel));
    }
    Some(s)
}
