//! `salesflow sql`: ad-hoc SQL over the cleaned tables.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use salesflow_engine::output::{self, Format};

use super::Global;
use crate::input::{ReadFlags, load_config};
use crate::progress::Bars;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The query, e.g. "SELECT channel, SUM(amount) FROM orders GROUP BY channel". Tables
    /// have their canonical names; dates are UTC timestamps.
    query: String,
    /// Folder holding the tables.
    #[arg(long, value_name = "DIR")]
    data: PathBuf,
    /// How to print the result.
    #[arg(long, default_value = "table", value_parser = ["table", "csv", "json"])]
    format: String,
    /// Write the result to a file instead (.csv, .json or .parquet).
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    #[command(flatten)]
    read: ReadFlags,
}

pub fn run(global: &Global, args: Args) -> Result<ExitCode> {
    let config = load_config(global.config.as_deref(), Some(&args.data))?;
    args.read.check(&config)?;
    let bars = Bars::new(global.quiet);
    let dataset = args.read.load_dir(&args.data, &config, &bars)?;
    let rt = super::runtime()?;
    let (schema, batches) = rt.block_on(dataset.sql_with_schema(&args.query))?;
    match &args.out {
        Some(path) => {
            output::write_file(path, &schema, &batches)?;
            if !global.quiet {
                let rows: usize = batches.iter().map(|b| b.num_rows()).sum();
                eprintln!("wrote {rows} rows to {}", path.display());
            }
        }
        None => {
            let format = match args.format.as_str() {
                "csv" => Format::Csv,
                "json" => Format::Json,
                _ => Format::Table,
            };
            let stdout = std::io::stdout();
            let mut out = stdout.lock();
            output::write_batches(&mut out, &schema, &batches, format)?;
            if format == Format::Json {
                writeln!(out)?;
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
