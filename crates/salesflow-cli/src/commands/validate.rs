//! `salesflow validate`: the ingest alone, with its report.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use salesflow_engine::{Dataset, stats};

use super::Global;
use crate::input::{ReadFlags, load_config};
use crate::progress::Bars;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Folder holding the tables (orders.csv, customers.parquet, ...).
    #[arg(long, value_name = "DIR")]
    data: PathBuf,
    /// Where to write the full report as JSON (every row's entry, with line and reason).
    #[arg(long, value_name = "FILE", default_value = "cleaning_report.json")]
    report: PathBuf,
    /// Print the JSON report on stdout instead of the summary.
    #[arg(long)]
    json: bool,
    /// Exit with code 2 if any row was rejected.
    #[arg(long)]
    strict: bool,
    #[command(flatten)]
    read: ReadFlags,
}

pub fn run(global: &Global, args: Args) -> Result<ExitCode> {
    let config = load_config(global.config.as_deref(), Some(&args.data))?;
    args.read.check(&config)?;
    let bars = Bars::new(global.quiet);
    let threads = salesflow_engine::default_threads();
    let dataset = Dataset::load_dir(
        &args.data,
        threads,
        |t| args.read.options(&config, t).unwrap_or_default(),
        &bars,
    )?;
    let mut report = dataset.report();
    let rt = super::runtime()?;
    for table in &mut report.tables {
        let kind = table.table.parse().map_err(anyhow::Error::msg)?;
        table.stats = rt.block_on(stats::describe(&dataset, kind))?;
    }
    let json = serde_json::to_string_pretty(&report)?;
    std::fs::write(&args.report, &json)
        .with_context(|| format!("writing {}", args.report.display()))?;
    if args.json {
        println!("{json}");
    } else {
        print!("{}", report.human_summary(3));
        for table in &report.tables {
            if table.stats.is_empty() {
                continue;
            }
            println!("\n{} — numeric columns", table.table);
            println!(
                "  {:<22} {:>10} {:>8} {:>12} {:>12} {:>12} {:>12} {:>12} {:>12} {:>12}",
                "column", "count", "missing", "mean", "std", "min", "25%", "50%", "75%", "max"
            );
            for s in &table.stats {
                let f = |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{v:.2}"));
                println!(
                    "  {:<22} {:>10} {:>8} {:>12} {:>12} {:>12} {:>12} {:>12} {:>12} {:>12}",
                    s.column,
                    s.count,
                    s.missing,
                    f(s.mean),
                    f(s.std),
                    f(s.min),
                    f(s.q1),
                    f(s.median),
                    f(s.q3),
                    f(s.max)
                );
            }
        }
        println!("\nfull report: {}", args.report.display());
    }
    let rejected: u64 = report.tables.iter().map(|t| t.rows_rejected).sum();
    Ok(if args.strict && rejected > 0 {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    })
}
