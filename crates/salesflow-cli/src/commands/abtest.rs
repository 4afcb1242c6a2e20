//! `salesflow abtest`: did the variant really win, and `abtest plan`: how many customers to
//! find out.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Result, bail};
use salesflow_analytics::experiments::{ExperimentReport, TestSettings, evaluate, percent, points};
use salesflow_core::TableKind;
use salesflow_engine::Dataset;
use salesflow_engine::experiments::{Arm, experiment_arms};
use salesflow_models::experiments::Alternative;
use salesflow_models::experiments::power::sample_size;
use serde_json::{Value, json};

use super::Global;
use crate::input::{ReadFlags, UsageError, load_config};
use crate::progress::Bars;

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Customers needed per arm to detect a change in conversion rate.
    Plan(PlanArgs),
}

#[derive(Debug, clap::Args)]
pub struct PlanArgs {
    /// Current conversion rate, e.g. 0.05 for 5 %.
    #[arg(long)]
    baseline: f64,
    /// Smallest change worth detecting, in rate points: 0.01 = one percentage point.
    #[arg(long)]
    mde: f64,
    /// Significance level.
    #[arg(long, default_value_t = 0.05)]
    alpha: f64,
    /// Chance of detecting the change when it is real.
    #[arg(long, default_value_t = 0.8)]
    power: f64,
    /// Control size over variant size.
    #[arg(long, default_value_t = 1.0)]
    ratio: f64,
    /// Only a change in the MDE's direction counts (one-sided test).
    #[arg(long)]
    one_sided: bool,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, clap::Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct Args {
    #[command(subcommand)]
    command: Option<Command>,
    /// The experiments table (experiment, variant, customer_id, converted[, revenue]) as a
    /// file, or a data folder holding experiments.csv.
    #[arg(long, value_name = "FILE|DIR", conflicts_with = "counts")]
    data: Option<PathBuf>,
    /// Or just the counts, one arm each: `--counts control=41/1000 --counts discount=50/1000`
    /// (converted / customers).
    #[arg(long, value_name = "ARM=CONVERTED/CUSTOMERS")]
    counts: Vec<String>,
    /// The name of the control arm.
    #[arg(long, default_value = "control")]
    control: String,
    /// Only this experiment.
    #[arg(long)]
    experiment: Option<String>,
    /// Confidence level of the intervals (significance = 1 - confidence).
    #[arg(long, default_value_t = 0.95)]
    confidence: f64,
    /// The smallest difference in conversion worth detecting, in rate points (0.01 = one
    /// point), fixed before the test started: adds the mSPRT's always-valid p-value, which
    /// stays valid however often the results were looked at while the test ran.
    #[arg(long, value_name = "POINTS")]
    sequential_mde: Option<f64>,
    /// Planned split of the arms in name order, e.g. 50,50 (default: equal).
    #[arg(long, value_delimiter = ',', value_name = "SHARES")]
    split: Option<Vec<f64>>,
    /// Print JSON.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    read: ReadFlags,
}

pub fn run(global: &Global, args: Args) -> Result<ExitCode> {
    if let Some(Command::Plan(plan)) = args.command {
        return run_plan(plan);
    }
    if let Some(mde) = args.sequential_mde
        && !(mde > 0.0 && mde < 1.0)
    {
        bail!(UsageError(format!(
            "--sequential-mde {mde} must be a difference in rate between 0 and 1, e.g. 0.01 for one point"
        )));
    }
    let usage = |e: salesflow_models::ModelError| UsageError(e.to_string());
    let settings = TestSettings {
        control: args.control.clone(),
        confidence: args.confidence,
        split: args.split.clone(),
        sequential_mde: args.sequential_mde,
    };
    let analyse = |name: &str, group: &[&Arm]| -> Result<ExperimentReport> {
        Ok(evaluate(name, group, &settings)
            .map_err(usage)?
            .map_err(UsageError)?)
    };
    if !args.counts.is_empty() {
        let arms = args
            .counts
            .iter()
            .map(|text| parse_counts(text))
            .collect::<Result<Vec<Arm>>>()?;
        let group: Vec<&Arm> = arms.iter().collect();
        let report = analyse("experiment", &group)?;
        return print_reports(&[report], args.json);
    }
    let Some(path) = &args.data else {
        bail!(UsageError(
            "give --data FILE|DIR with the experiments table, --counts ARM=CONVERTED/CUSTOMERS for each arm, or use `abtest plan`".into()
        ));
    };
    let config = load_config(
        global.config.as_deref(),
        path.is_dir().then_some(path.as_path()),
    )?;
    args.read.check(&config)?;
    let bars = Bars::new(global.quiet || args.json);
    let dataset = if path.is_dir() {
        args.read.load_dir(path, &config, &bars)?
    } else {
        let mut dataset = Dataset::new(salesflow_engine::default_threads());
        let options = args.read.options(&config, TableKind::Experiments)?;
        dataset.load(TableKind::Experiments, path, &options, &bars)?;
        dataset
    };
    let rt = super::runtime()?;
    let mut arms = rt.block_on(experiment_arms(&dataset))?;
    if let Some(name) = &args.experiment {
        arms.retain(|a| &a.experiment == name);
        if arms.is_empty() {
            bail!(UsageError(format!(
                "no experiment named `{name}` in the data"
            )));
        }
    }
    let mut reports = Vec::new();
    let mut names: Vec<&str> = arms.iter().map(|a| a.experiment.as_str()).collect();
    names.dedup();
    for name in names {
        let group: Vec<&Arm> = arms.iter().filter(|a| a.experiment == name).collect();
        reports.push(analyse(name, &group)?);
    }
    print_reports(&reports, args.json)
}

fn print_reports(reports: &[ExperimentReport], json: bool) -> Result<ExitCode> {
    if json {
        let all = Value::Array(reports.iter().map(|r| r.json.clone()).collect());
        super::print_stdout(&serde_json::to_string_pretty(&all)?)?;
    } else {
        let text: Vec<&str> = reports.iter().map(|r| r.text.as_str()).collect();
        super::print_stdout(&text.join("\n"))?;
    }
    Ok(ExitCode::SUCCESS)
}

/// `name=converted/customers` as an arm without revenue.
fn parse_counts(text: &str) -> Result<Arm> {
    let bad = || {
        UsageError(format!(
            "--counts `{text}`: write ARM=CONVERTED/CUSTOMERS, e.g. control=41/1000"
        ))
    };
    let (name, numbers) = text.split_once('=').ok_or_else(bad)?;
    let (converted, customers) = numbers.split_once('/').ok_or_else(bad)?;
    let converted: u64 = converted.trim().parse().map_err(|_| bad())?;
    let customers: u64 = customers.trim().parse().map_err(|_| bad())?;
    if name.trim().is_empty() || customers == 0 || converted > customers {
        return Err(UsageError(format!(
            "--counts `{text}`: an arm needs a name, at least one customer and no more conversions than customers"
        ))
        .into());
    }
    Ok(Arm {
        experiment: "experiment".into(),
        variant: name.trim().to_owned(),
        customers,
        converted,
        revenue: None,
    })
}

fn run_plan(plan: PlanArgs) -> Result<ExitCode> {
    let alternative = match (plan.one_sided, plan.mde > 0.0) {
        (false, _) => Alternative::TwoSided,
        (true, true) => Alternative::Larger,
        (true, false) => Alternative::Smaller,
    };
    let target = plan.baseline + plan.mde;
    let n = sample_size(
        plan.baseline,
        target,
        plan.alpha,
        plan.power,
        plan.ratio,
        alternative,
    )
    .map_err(|e| UsageError(e.to_string()))?;
    let variant = n.ceil();
    let control = (n * plan.ratio).ceil();
    if plan.json {
        super::print_stdout(&serde_json::to_string_pretty(&json!({
            "baseline": plan.baseline, "target": target, "alpha": plan.alpha, "power": plan.power,
            "ratio": plan.ratio, "one_sided": plan.one_sided,
            "customers_variant": variant, "customers_control": control,
            "customers_variant_exact": n,
        }))?)?;
    } else {
        super::print_stdout(&format!(
            "to detect {} -> {} ({} points) with {} power at {} significance{}: {} customers in the variant and {} in control ({} in all)",
            percent(plan.baseline),
            percent(target),
            points(plan.mde),
            percent(plan.power),
            percent(plan.alpha),
            if plan.one_sided { ", one-sided" } else { "" },
            variant,
            control,
            variant + control
        ))?;
    }
    Ok(ExitCode::SUCCESS)
}
