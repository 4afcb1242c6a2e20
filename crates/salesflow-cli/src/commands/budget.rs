//! `salesflow budget`: response curves per channel from spend history, and the split of a
//! weekly budget that is expected to bring the most.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Result, bail};
use salesflow_analytics::budget::{self, BudgetPlan, BudgetSettings, plan_budget};

use super::Global;
use crate::input::{ReadFlags, UsageError, load_config};
use crate::progress::Bars;

/// `--objective` (and analyze's `--budget-objective`): one of the library's objectives, by
/// name, with the names listed in --help.
pub fn objective_parser() -> impl clap::builder::TypedValueParser<Value = budget::Objective> {
    use clap::builder::TypedValueParser;
    clap::builder::PossibleValuesParser::new(budget::Objective::ALL.map(budget::Objective::name))
        .try_map(|name| budget::Objective::from_name(&name).ok_or("unknown objective"))
}

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Data folder with marketing_spend (and customers for --objective customers or clv).
    #[arg(long, value_name = "DIR", required_unless_present = "segments")]
    data: Option<PathBuf>,
    /// Budget per week to split across the paid channels (with --segments: the campaign's
    /// budget to split across the segments).
    #[arg(long, value_name = "AMOUNT")]
    total: f64,
    /// Segment targeting instead of channels: a CSV or Parquet file with one row per customer
    /// segment and the columns segment, clv (value of a converted customer), conversion
    /// (probability that a reached prospect converts), cost_per_prospect and optionally
    /// prospects (how many can be reached; leave the column out for no limit). The budget goes
    /// where a unit of spend earns the most expected value.
    #[arg(
        long,
        value_name = "FILE",
        conflicts_with_all = ["data", "objective", "recent_weeks", "min_ratio", "max_ratio", "out"]
    )]
    segments: Option<PathBuf>,
    /// With --segments: spend only on segments whose expected value per unit of spend is at
    /// least this [default: 1, a unit must earn back what it costs].
    #[arg(long, value_name = "VALUE")]
    min_return: Option<f64>,
    /// What to maximise: customers (new customers by acquisition channel and sign-up week,
    /// and by segment when customers and marketing_spend both have one), leads
    /// (marketing_spend.leads), revenue (marketing_spend.attributed_revenue) or clv (new
    /// customers weighted by the value of their channel's customers: revenue to date plus the
    /// CLV the models predict for the next 12 months).
    #[arg(long, default_value = "customers", value_parser = objective_parser())]
    objective: budget::Objective,
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

pub fn run(global: &Global, args: Args) -> Result<ExitCode> {
    if !(args.total.is_finite() && args.total > 0.0) {
        bail!(UsageError(
            "--total must be a positive amount (a week's budget; with --segments, the campaign's)"
                .into()
        ));
    }
    // Checked here: clap's `requires` did not stop `--min-return` without `--segments`.
    if args.min_return.is_some() && args.segments.is_none() {
        bail!(UsageError(
            "--min-return applies to segment targeting: give --segments FILE".into()
        ));
    }
    if let Some(file) = &args.segments {
        let min_return = args.min_return.unwrap_or(1.0);
        return super::budget_targeting::run(file, args.total, min_return, args.json);
    }
    let Some(data) = &args.data else {
        bail!(UsageError("give --data DIR (or --segments FILE)".into()));
    };
    if !(args.min_ratio >= 0.0 && args.max_ratio >= args.min_ratio && args.max_ratio.is_finite()) {
        bail!(UsageError(
            "--min-ratio and --max-ratio need 0 <= min <= max".into()
        ));
    }
    let config = load_config(global.config.as_deref(), Some(data))?;
    args.read.check(&config)?;
    let bars = Bars::new(global.quiet || args.json);
    let dataset = args.read.load_dir(data, &config, &bars)?;
    let settings = BudgetSettings {
        objective: args.objective,
        customer_value: None,
        total: Some(args.total),
        recent_weeks: args.recent_weeks,
        min_ratio: args.min_ratio,
        max_ratio: args.max_ratio,
        bounds: config.budget_bounds().clone(),
    };
    let rt = super::runtime()?;
    let plan = rt
        .block_on(plan_budget(&dataset, &settings))?
        .map_err(UsageError)?;
    let report = plan.json();
    if let Some(dir) = &args.out {
        salesflow_engine::output::write_text(
            &dir.join("budget.json"),
            &serde_json::to_string_pretty(&report)?,
        )?;
        for channel in &plan.channels {
            let file: String = channel
                .channel
                .chars()
                .map(|ch| if ch.is_ascii_alphanumeric() { ch } else { '_' })
                .collect();
            salesflow_engine::output::write_text(
                &dir.join(format!("curve_{file}.svg")),
                &salesflow_report::budget_curve(&plan, channel),
            )?;
        }
    }
    if args.json {
        super::print_stdout(&serde_json::to_string_pretty(&report)?)?;
    } else {
        print_plan(&plan)?;
    }
    Ok(ExitCode::SUCCESS)
}

fn print_plan(plan: &BudgetPlan) -> Result<()> {
    let unit = plan.objective.unit();
    let mut text = format!(
        "response curves from {} weeks of spend ({unit} per week; dispersion {:.2}{})\n",
        plan.weeks,
        plan.dispersion,
        if plan.converged {
            ""
        } else {
            "; the fit did not fully converge, treat with care"
        }
    );
    text.push_str(&format!(
        "  {:<12} {:>8} {:>17} {:>12} {:>11} {:>11} {:>13} {:>12}\n",
        "channel", "K", "(95 % interval)", "shape", "now /week", "proposed", "bounds", "marginal"
    ));
    for c in &plan.channels {
        let f = c.fit;
        // The profile-likelihood interval; a side the data leave open reads "?".
        let end = |v: Option<f64>| v.map_or("?".to_string(), |v| format!("{v:.0}"));
        let (lo, hi) = f.half_saturation_interval;
        text.push_str(&format!(
            "  {:<12} {:>8.0} {:>17} {:>5.2} ±{:<5.2} {:>11.2} {:>11.2} {:>6.0}-{:<6.0} {:>12.5}\n",
            c.channel,
            f.half_saturation,
            format!("({}-{})", end(lo), end(hi)),
            f.shape,
            f.shape_se,
            c.current,
            c.proposed,
            c.bounds.0,
            c.bounds.1,
            c.marginal
        ));
    }
    if let Some(source) = plan.value_source {
        let values: Vec<String> = plan
            .channels
            .iter()
            .map(|c| format!("{} {:.2}", c.channel, c.customer_value.unwrap_or(0.0)))
            .collect();
        text.push_str(&format!(
            "\nvalue of a new customer ({}): {}\n",
            if source == "model" {
                "revenue to date plus the 12-month CLV the models predict, mean per channel"
            } else {
                "revenue per customer so far; the CLV models could not be fitted"
            },
            values.join(", ")
        ));
        let unvalued = plan.unvalued();
        if !unvalued.is_empty() {
            text.push_str(&format!(
                "valued at 0 (no customer names them as their acquisition channel, or refunds outweigh their revenue): {}\n",
                unvalued.join(", ")
            ));
        }
    }
    let current_total: f64 = plan.channels.iter().map(|c| c.current).sum();
    text.push_str(&format!(
        "\nexpected {unit} per week: {:.2} with the proposed split of {:.2}, against {:.2} from the recent split ({:.2} a week) and {:.2} from it scaled to {:.2}",
        plan.expected_outcome,
        plan.total,
        plan.current_outcome,
        current_total,
        plan.scaled_outcome,
        plan.total
    ));
    if let Some((lo, hi)) = plan.interval {
        text.push_str(&format!(
            "\n95 % interval of the plan's expected {unit} per week, from the curves' uncertainty: {lo:.2} to {hi:.2}"
        ));
    }
    let unreliable: Vec<&str> = plan
        .channels
        .iter()
        .filter(|c| !c.reliable)
        .map(|c| c.channel.as_str())
        .collect();
    if !unreliable.is_empty() {
        text.push_str(&format!(
            "\nnot enough signal in the spend history to draw a curve for {}: kept at their recent share of the budget",
            unreliable.join(", ")
        ));
    }
    super::print_stdout(&text)
}
