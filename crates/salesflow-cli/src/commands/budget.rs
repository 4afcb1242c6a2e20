//! `salesflow budget`: response curves per channel from spend history, and the split of a
//! weekly budget that is expected to bring the most.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Result, bail};
use chrono::Datelike;
use salesflow_engine::spend::{Outcome, SpendSeries, weekly_spend};
use salesflow_models::budget::fit::{ResponseFit, Series, fit_response};
use salesflow_models::budget::{Curve, Hill, allocate};
use serde_json::json;

use super::Global;
use crate::input::{ReadFlags, UsageError, load_config};
use crate::progress::Bars;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Objective {
    /// New customers (customers.acquisition_channel by sign-up week).
    Customers,
    /// Leads (marketing_spend.leads).
    Leads,
    /// Attributed revenue (marketing_spend.attributed_revenue).
    Revenue,
}

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Data folder with marketing_spend (and customers for --objective customers).
    #[arg(long, value_name = "DIR")]
    data: PathBuf,
    /// Budget per week to split across the paid channels.
    #[arg(long, value_name = "AMOUNT")]
    total: f64,
    /// What to maximise.
    #[arg(long, value_enum, default_value = "customers")]
    objective: Objective,
    /// Weeks that count as "recent" for the current split and the default bounds.
    #[arg(long, default_value_t = 13)]
    recent_weeks: usize,
    /// Each channel may move between this multiple of its recent spend ...
    #[arg(long, default_value_t = 0.5)]
    min_ratio: f64,
    /// ... and this one (Robyn's defaults: 0.5x to 2x).
    #[arg(long, default_value_t = 2.0)]
    max_ratio: f64,
    /// Print JSON.
    #[arg(long)]
    json: bool,
    /// Folder for budget.json and one response-curve chart per channel (curve_<channel>.svg:
    /// the weekly observations, the fitted curve, current and proposed spend).
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    #[command(flatten)]
    read: ReadFlags,
}

/// One channel's steady-state weekly response: the sum over its segments of
/// `β_s · Hill(x · share_s)`, seasons averaged.
struct ChannelCurve {
    /// One unit-ceiling Hill curve per segment, with the segment's ceiling β and spend share.
    parts: Vec<(Hill, f64, f64)>,
    season: f64,
}

impl Curve for ChannelCurve {
    fn value(&self, x: f64) -> f64 {
        self.season
            * self
                .parts
                .iter()
                .map(|(hill, beta, share)| beta * hill.value(x * share))
                .sum::<f64>()
    }
    fn slope(&self, x: f64) -> f64 {
        self.season
            * self
                .parts
                .iter()
                .map(|(hill, beta, share)| beta * share * hill.slope(x * share))
                .sum::<f64>()
    }
}

pub fn run(global: &Global, args: Args) -> Result<ExitCode> {
    if !(args.total.is_finite() && args.total > 0.0) {
        bail!(UsageError(
            "--total must be a positive weekly amount".into()
        ));
    }
    if !(args.min_ratio >= 0.0 && args.max_ratio >= args.min_ratio && args.max_ratio.is_finite()) {
        bail!(UsageError(
            "--min-ratio and --max-ratio need 0 <= min <= max".into()
        ));
    }
    let config = load_config(global.config.as_deref(), Some(&args.data))?;
    args.read.check(&config)?;
    let bars = Bars::new(global.quiet || args.json);
    let dataset = args.read.load_dir(&args.data, &config, &bars)?;
    let outcome = match args.objective {
        Objective::Customers => Outcome::Customers,
        Objective::Leads => Outcome::Leads,
        Objective::Revenue => Outcome::Revenue,
    };
    let rt = super::runtime()?;
    let (weeks, series) = rt.block_on(weekly_spend(&dataset, outcome))?;
    if weeks.len() < 8 {
        bail!(UsageError(format!(
            "only {} weeks of marketing spend; response curves need at least 8 (a year or more is better)",
            weeks.len()
        )));
    }
    let mut channels: Vec<String> = series.iter().map(|s| s.channel.clone()).collect();
    channels.dedup();
    // Months as seasons when there is a year of data to tell them apart; otherwise none.
    let (season_of, seasons) = if weeks.len() >= 52 {
        let months = weeks
            .iter()
            .map(|&w| chrono::DateTime::from_timestamp(w, 0).map_or(0, |d| d.month0() as usize))
            .collect();
        (months, 12)
    } else {
        (vec![0; weeks.len()], 1)
    };
    let model_series: Vec<Series> = series
        .iter()
        .map(|s| Series {
            channel: channels.iter().position(|c| *c == s.channel).unwrap_or(0),
            spend: s.spend.clone(),
            outcome: s.outcome.clone(),
        })
        .collect();
    let usage = |e: salesflow_models::ModelError| UsageError(e.to_string());
    let fit = fit_response(&model_series, channels.len(), &season_of, seasons, 4).map_err(usage)?;

    let recent = args.recent_weeks.clamp(1, weeks.len());
    let start = weeks.len() - recent;
    let recent_spend = |s: &SpendSeries| s.spend[start..].iter().sum::<f64>() / recent as f64;
    let mean_season = fit.season.iter().sum::<f64>() / fit.season.len() as f64;
    // Each channel's curve from one parameter set: segments weighted by their recent shares.
    // Each channel's segments (series index, share of the channel's recent spend): fixed, so
    // worked out once and reused for every parameter draw below.
    let members: Vec<Vec<(usize, f64)>> = channels
        .iter()
        .map(|name| {
            let own: Vec<(usize, &SpendSeries)> = series
                .iter()
                .enumerate()
                .filter(|(_, s)| &s.channel == name)
                .collect();
            let total: f64 = own.iter().map(|(_, s)| recent_spend(s)).sum();
            own.iter()
                .map(|(i, s)| {
                    let share = if total > 0.0 {
                        recent_spend(s) / total
                    } else {
                        1.0 / own.len() as f64
                    };
                    (*i, share)
                })
                .collect()
        })
        .collect();
    let build = |ceiling: &[f64],
                 half_saturation: &[f64],
                 shape: &[f64],
                 season: f64|
     -> Vec<ChannelCurve> {
        members
            .iter()
            .enumerate()
            .map(|(c, own)| {
                let hill = Hill {
                    beta: 1.0,
                    half_saturation: half_saturation[c],
                    shape: shape[c],
                };
                ChannelCurve {
                    parts: own
                        .iter()
                        .map(|&(i, share)| (hill, ceiling[i], share))
                        .collect(),
                    season,
                }
            })
            .collect()
    };
    let fitted_k: Vec<f64> = fit.channels.iter().map(|c| c.half_saturation).collect();
    let fitted_h: Vec<f64> = fit.channels.iter().map(|c| c.shape).collect();
    let curves = build(&fit.ceiling, &fitted_k, &fitted_h, mean_season);
    let current: Vec<f64> = channels
        .iter()
        .map(|name| {
            series
                .iter()
                .filter(|s| &s.channel == name)
                .map(recent_spend)
                .sum()
        })
        .collect();
    // A curve the data cannot pin down (no standard error, a shape at its limit, or a
    // half-saturation far beyond any spend seen) must not steer money: such a channel keeps
    // its recent share of the budget.
    let current_total: f64 = current.iter().sum();
    let reliable: Vec<bool> = channels
        .iter()
        .enumerate()
        .map(|(c, name)| {
            let f = fit.channels[c];
            let max_spend = series
                .iter()
                .filter(|s| &s.channel == name)
                .flat_map(|s| s.spend.iter())
                .fold(0.0f64, |a, &b| a.max(b));
            f.half_saturation_se.is_finite()
                && f.shape_se.is_finite()
                && f.shape > 0.21
                && f.shape < 9.9
                && f.half_saturation < 20.0 * max_spend.max(1e-9)
        })
        .collect();
    // `[budget.bounds.<channel>]` in salesflow.toml overrides the ratio bounds.
    if let Some(unknown) = config
        .budget_bounds()
        .keys()
        .find(|k| !channels.contains(k))
    {
        bail!(UsageError(format!(
            "salesflow.toml [budget.bounds.{unknown}]: no channel `{unknown}` has spend (channels: {})",
            channels.join(", ")
        )));
    }
    let bounds: Vec<(f64, f64)> = current
        .iter()
        .zip(&reliable)
        .zip(&channels)
        .map(|((&x, &ok), name)| {
            if ok {
                let set = config
                    .budget_bounds()
                    .get(name)
                    .copied()
                    .unwrap_or_default();
                let lo = set.min.unwrap_or(args.min_ratio * x);
                (lo, set.max.unwrap_or(args.max_ratio * x).max(lo))
            } else {
                let kept = x * args.total / current_total;
                (kept, kept)
            }
        })
        .collect();
    let (lo, hi): (f64, f64) = bounds
        .iter()
        .fold((0.0, 0.0), |(a, b), r| (a + r.0, b + r.1));
    if args.total < lo || args.total > hi {
        bail!(UsageError(format!(
            "--total {:.2} is outside what the bounds allow ({lo:.2} to {hi:.2} a week: {}x to {}x of recent spend); change --total, --min-ratio or --max-ratio",
            args.total, args.min_ratio, args.max_ratio
        )));
    }
    let curve_refs: Vec<&dyn Curve> = curves.iter().map(|c| c as &dyn Curve).collect();
    let plan = allocate(&curve_refs, &bounds, args.total).map_err(usage)?;
    let current_outcome: f64 = curves.iter().zip(&current).map(|(c, &x)| c.value(x)).sum();
    // 95 % interval of the plan's expected outcome: the plan re-scored under 1,000 curve sets
    // drawn from the fit's uncertainty.
    let mut outcomes: Vec<f64> = fit
        .draws(1000, 11)
        .iter()
        .map(|d| {
            build(&d.ceiling, &d.half_saturation, &d.shape, d.season_mean)
                .iter()
                .zip(&plan.spend)
                .map(|(c, &x)| c.value(x))
                .sum::<f64>()
        })
        .filter(|v: &f64| v.is_finite())
        .collect();
    outcomes.sort_by(f64::total_cmp);
    let interval = (outcomes.len() >= 100).then(|| {
        let at = |q: f64| outcomes[((outcomes.len() - 1) as f64 * q).round() as usize];
        (at(0.025), at(0.975))
    });
    // The current split scaled to the new total, for a like-for-like comparison.
    let scaled_outcome: f64 = curves
        .iter()
        .zip(&current)
        .map(|(c, &x)| c.value(x * args.total / current_total))
        .sum();

    let report = {
        let rows: Vec<_> = channels
            .iter()
            .enumerate()
            .map(|(c, name)| {
                let f = fit.channels[c];
                json!({
                    "channel": name,
                    "half_saturation": f.half_saturation, "half_saturation_se": finite(f.half_saturation_se),
                    "shape": f.shape, "shape_se": finite(f.shape_se),
                    "carryover": f.carryover, "carryover_se": finite(f.carryover_se),
                    "current_spend": current[c], "proposed_spend": plan.spend[c],
                    "bounds": [bounds[c].0, bounds[c].1],
                    "current_outcome": curves[c].value(current[c]), "proposed_outcome": curves[c].value(plan.spend[c]),
                    "marginal_return": plan.marginal[c],
                    "curve_reliable": reliable[c],
                })
            })
            .collect();
        json!({
            "objective": objective_name(args.objective),
            "weeks": weeks.len(),
            "total": args.total,
            "expected_outcome": plan.outcome,
            "expected_outcome_interval95": interval.map(|(lo, hi)| [lo, hi]),
            "current_outcome": current_outcome,
            "current_split_scaled_outcome": scaled_outcome,
            "dispersion": fit.dispersion,
            "converged": fit.converged,
            "channels": rows,
        })
    };
    if let Some(dir) = &args.out {
        salesflow_engine::output::write_text(
            &dir.join("budget.json"),
            &serde_json::to_string_pretty(&report)?,
        )?;
        for (c, name) in channels.iter().enumerate() {
            let members: Vec<&SpendSeries> = series.iter().filter(|s| &s.channel == name).collect();
            let points: Vec<(f64, f64)> = (0..weeks.len())
                .map(|t| {
                    (
                        members.iter().map(|s| s.spend[t]).sum(),
                        members.iter().map(|s| s.outcome[t]).sum(),
                    )
                })
                .collect();
            let reach = points.iter().map(|p| p.0).fold(bounds[c].1, f64::max) * 1.1;
            let curve = (0..=60)
                .map(|i| reach * f64::from(i) / 60.0)
                .map(|x| (x, curves[c].value(x)))
                .collect();
            let chart = salesflow_report::CurveChart {
                title: &format!(
                    "{name}: {} per week against spend per week",
                    objective_name(args.objective)
                ),
                x_label: "spend per week",
                y_label: objective_name(args.objective),
                points,
                curve,
                markers: vec![
                    salesflow_report::Marker {
                        name: "recent spend",
                        color: "#7f7f7f",
                        x: current[c],
                        y: curves[c].value(current[c]),
                    },
                    salesflow_report::Marker {
                        name: "proposed",
                        color: "#d62728",
                        x: plan.spend[c],
                        y: curves[c].value(plan.spend[c]),
                    },
                ],
            };
            let file: String = name
                .chars()
                .map(|ch| if ch.is_ascii_alphanumeric() { ch } else { '_' })
                .collect();
            salesflow_engine::output::write_text(
                &dir.join(format!("curve_{file}.svg")),
                &salesflow_report::curve_chart(&chart),
            )?;
        }
    }
    if args.json {
        super::print_stdout(&serde_json::to_string_pretty(&report)?)?;
    } else {
        print_plan(
            &args,
            &channels,
            &fit,
            &current,
            &bounds,
            &plan,
            current_outcome,
            scaled_outcome,
            weeks.len(),
        );
        if let Some((lo, hi)) = interval {
            super::print_stdout(&format!(
                "95 % interval of the plan's expected {} per week, from the curves' uncertainty: {lo:.2} to {hi:.2}",
                objective_name(args.objective)
            ))?;
        }
        let unreliable: Vec<&str> = channels
            .iter()
            .zip(&reliable)
            .filter(|(_, ok)| !**ok)
            .map(|(c, _)| c.as_str())
            .collect();
        if !unreliable.is_empty() {
            super::print_stdout(&format!(
                "not enough signal in the spend history to draw a curve for {}: kept at their recent share of the budget",
                unreliable.join(", ")
            ))?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn finite(x: f64) -> serde_json::Value {
    if x.is_finite() {
        json!(x)
    } else {
        serde_json::Value::Null
    }
}

fn objective_name(o: Objective) -> &'static str {
    match o {
        Objective::Customers => "customers",
        Objective::Leads => "leads",
        Objective::Revenue => "revenue",
    }
}

#[allow(clippy::too_many_arguments)]
fn print_plan(
    args: &Args,
    channels: &[String],
    fit: &ResponseFit,
    current: &[f64],
    bounds: &[(f64, f64)],
    plan: &salesflow_models::budget::Allocation,
    current_outcome: f64,
    scaled_outcome: f64,
    weeks: usize,
) {
    let unit = objective_name(args.objective);
    let mut text = format!(
        "response curves from {weeks} weeks of spend ({unit} per week; dispersion {:.2}{})\n",
        fit.dispersion,
        if fit.converged {
            ""
        } else {
            "; the fit did not fully converge, treat with care"
        }
    );
    text.push_str(&format!(
        "  {:<12} {:>18} {:>12} {:>11} {:>11} {:>11} {:>12}\n",
        "channel", "half-saturation K", "shape", "now /week", "proposed", "bounds", "marginal"
    ));
    for (c, name) in channels.iter().enumerate() {
        let f = fit.channels[c];
        let se = |x: f64| {
            if x.is_finite() {
                format!("±{x:.0}")
            } else {
                "±?".into()
            }
        };
        text.push_str(&format!(
            "  {:<12} {:>9.0} {:>8} {:>5.2} ±{:<5.2} {:>11.2} {:>11.2} {:>5.0}-{:<5.0} {:>12.5}\n",
            name,
            f.half_saturation,
            se(f.half_saturation_se),
            f.shape,
            f.shape_se,
            current[c],
            plan.spend[c],
            bounds[c].0,
            bounds[c].1,
            plan.marginal[c]
        ));
    }
    text.push_str(&format!(
        "\nexpected {unit} per week: {:.2} with the proposed split of {:.2}, against {:.2} from the recent split ({:.2} a week) and {:.2} from it scaled to {:.2}",
        plan.outcome,
        args.total,
        current_outcome,
        current.iter().sum::<f64>(),
        scaled_outcome,
        args.total
    ));
    let _ = super::print_stdout(&text);
}
