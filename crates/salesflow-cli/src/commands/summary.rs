//! `salesflow summary`: per-customer buy-till-you-die summaries.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Result, bail};
use chrono::NaiveDate;
use salesflow_core::{TableKind, TimeUnit};
use salesflow_engine::summary::{MergePeriod, SummaryOptions, customer_summary};
use salesflow_engine::{Dataset, ingest::find_table_file, output};

use super::Global;
use crate::input::{ReadFlags, UsageError, load_config};
use crate::progress::Bars;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The orders file (CSV or Parquet).
    #[arg(
        long,
        value_name = "FILE",
        required_unless_present = "data",
        conflicts_with = "data"
    )]
    orders: Option<PathBuf>,
    /// A folder holding orders.csv or orders.parquet.
    #[arg(long, value_name = "DIR")]
    data: Option<PathBuf>,
    /// Unit of recency, T and durations: day, week (7 days) or month (30.44 days).
    #[arg(long, default_value = "day")]
    time_unit: TimeUnit,
    /// Which purchases merge into one: those on the same `day`, or in the same calendar
    /// `unit` period (week from Monday, month), as lifetimes' freq does.
    #[arg(long, default_value = "day", value_parser = parse_merge)]
    merge_by: MergePeriod,
    /// Last day (inclusive) of the calibration period, YYYY-MM-DD. Default: the last purchase.
    #[arg(long, value_name = "DATE", value_parser = crate::input::parse_date)]
    calibration_end: Option<NaiveDate>,
    /// Last day (inclusive) observed. With --calibration-end, adds frequency_holdout,
    /// monetary_value_holdout and duration_holdout.
    #[arg(long, value_name = "DATE", value_parser = crate::input::parse_date)]
    observation_end: Option<NaiveDate>,
    /// Add plain RFM facts: first_order_at, last_order_at, orders, revenue,
    /// average_order_value (calibration period).
    #[arg(long)]
    facts: bool,
    /// Output file: .csv, .parquet or .json.
    #[arg(long, value_name = "FILE")]
    out: PathBuf,
    #[command(flatten)]
    read: ReadFlags,
}

fn parse_merge(s: &str) -> Result<MergePeriod, String> {
    match s {
        "day" => Ok(MergePeriod::Day),
        "unit" | "period" => Ok(MergePeriod::Unit),
        other => Err(format!("unknown merge period `{other}`; use day or unit")),
    }
}

/// The orders' columns a summary reads, as `ReadOptions::used_columns` takes them.
pub(super) fn used_columns() -> Vec<String> {
    salesflow_engine::summary::ORDERS_COLUMNS_USED
        .iter()
        .map(|c| c.to_string())
        .collect()
}

pub fn run(global: &Global, args: Args) -> Result<ExitCode> {
    let config = load_config(global.config.as_deref(), args.data.as_deref())?;
    args.read.check(&config)?;
    let mut options = args.read.options(&config, TableKind::Orders)?;
    options.used_columns = Some(used_columns());
    let path = match (&args.orders, &args.data) {
        (Some(file), _) => file.clone(),
        (None, Some(dir)) => match options
            .file
            .take()
            .or_else(|| find_table_file(dir, TableKind::Orders))
        {
            Some(file) => file,
            None => bail!(UsageError(format!(
                "{}: no orders.csv or orders.parquet here",
                dir.display()
            ))),
        },
        (None, None) => bail!(UsageError("give --orders FILE or --data DIR".into())),
    };
    let bars = Bars::new(global.quiet);
    let mut dataset = Dataset::new(salesflow_engine::default_threads());
    dataset.load(TableKind::Orders, &path, &options, &bars)?;
    if !global.quiet {
        eprint!("{}", dataset.report().human_summary(3));
    }
    let summary_options = SummaryOptions {
        time_unit: args.time_unit,
        merge: args.merge_by,
        calibration_end: args.calibration_end,
        observation_end: args.observation_end,
        facts: args.facts,
    };
    let rt = super::runtime()?;
    let clock = std::time::Instant::now();
    let timings = std::env::var_os("SALESFLOW_TIMINGS").is_some();
    let summary = rt.block_on(customer_summary(&dataset, &summary_options))?;
    if timings {
        eprintln!(
            "[timing] summary query: {:.3}s",
            clock.elapsed().as_secs_f64()
        );
    }
    output::write_file(&args.out, &summary.schema, &summary.batches)?;
    if timings {
        eprintln!("[timing] written: {:.3}s", clock.elapsed().as_secs_f64());
    }
    if !global.quiet {
        let holdout = summary
            .holdout_end
            .map(|d| format!(", holdout to {d}"))
            .unwrap_or_default();
        eprintln!(
            "wrote {} customers to {} (calibration end {}{holdout}, time unit {})",
            summary.num_rows(),
            args.out.display(),
            summary.calibration_end,
            args.time_unit
        );
    }
    Ok(ExitCode::SUCCESS)
}
