//! `salesflow`: the command-line front door of the sales-process engine.
//!
//! Thin by design: parse the command line, call the libraries, render. Exit codes: 0 on
//! success, 2 when the input (files, flags, SQL) is at fault, 1 when salesflow is.

mod commands;
mod input;
mod progress;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

// mimalloc rather than the system allocator: the analytics build and drop large Arrow buffers
// and many small strings, and glibc gave freed pages back to the kernel only to fault them in
// again (bench/clv's input: 2.95 -> 2.3 s, system time 1.33 -> 0.45 s). A fresh page costs
// about 0.6 ms a megabyte here, so memory kept is time kept. Without transparent huge pages
// (`no_thp`): with them every partly used 2 MB of a buffer was faulted in whole (peak 1050 ->
// 800 MB on the same run).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// salesflow: a self-hostable sales-process engine. Reads a company's orders, customers,
/// deals and spend (CSV or Parquet), cleans them with an account of every row, and turns them
/// into per-customer summaries and answers.
#[derive(Debug, Parser)]
#[command(
    name = "salesflow",
    version,
    propagate_version = true,
    max_term_width = 100
)]
struct Cli {
    /// Configuration file (column mapping, reading options). Default: salesflow.toml in the
    /// data folder, then in the working directory.
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    /// No progress bars and no summaries on stderr.
    #[arg(long, short, global = true)]
    quiet: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Read and clean every table in a folder and report on every row: what was kept,
    /// rejected (with line and reason), deduplicated, repaired or flagged, plus descriptive
    /// statistics of each numeric column.
    Validate(commands::validate::Args),
    /// Per-customer purchase summary (frequency, recency, T, monetary value) as the CLV models
    /// use it, with an optional calibration/holdout split and RFM facts.
    Summary(commands::summary::Args),
    /// Run SQL over the cleaned tables of a folder (orders, customers, deals, ...).
    Sql(commands::sql::Args),
    /// Customer-lifetime-value models: BG/NBD, MBG/NBD, Pareto/NBD, BG/BB, Gamma-Gamma, sBG.
    Clv(commands::clv::Args),
    /// Market-basket analysis: frequent itemsets (FP-growth, FPMax), association rules with
    /// mlxtend's metrics, bundles worth offering and what to cross-sell beside each product.
    Basket(commands::basket::Args),
    /// A/B tests: conversion and revenue compared with tests, intervals, the chance the
    /// variant is better, a sample-ratio check and a plain verdict; `abtest plan` sizes a test.
    Abtest(commands::abtest::Args),
    /// Marketing budget: response curves per channel from spend history and the weekly split
    /// expected to bring the most customers, leads or revenue.
    Budget(commands::budget::Args),
    /// Supervised predictions: churn risk per customer (validated on a later cut-off) and the
    /// spend regression's coefficient table.
    #[command(subcommand_required = true)]
    Predict(commands::predict::Args),
    /// Forecasts per day, week, month or quarter: automatic exponential smoothing (ETS, chosen
    /// by AICc), Croston/SBA for intermittent demand, naive baselines; prediction intervals
    /// and a rolling-origin backtest (MASE, sMAPE, RMSSE) against seasonal naive.
    Forecast(commands::forecast::Args),
    /// Each customer's next products (ALS, item-kNN, content, hybrid or popularity), with
    /// the models compared on a time-based holdout.
    Recommend(commands::recommend::Args),
    /// Every analysis the data allows (funnel, orders and AOV, cohorts, subscriptions,
    /// acquisition economics, segments and playbook, CLV) as report.html, metrics.json,
    /// customers_scored.csv/.parquet and one target list per action.
    Analyze(commands::analyze::Args),
    /// Serve the CRM's REST API (and create the first admin on an empty database).
    Serve(commands::crm::ServeArgs),
    /// Import a CSV file into the CRM database (customers, companies, deals, orders, ...):
    /// columns mapped, every row checked, duplicates found, all or nothing; `--undo` reverts one.
    Import(commands::crm::ImportArgs),
    /// Merge a duplicate customer or company into another (its deals, orders, activities and
    /// tags move over), or list the likely duplicates.
    Merge(commands::crm::MergeArgs),
    /// The CRM's users: create (with a role and team) and list.
    User(commands::crm::UserArgs),
    /// API tokens for the CRM's REST API: create (shown once) and revoke.
    Token(commands::crm::TokenArgs),
    /// Generate a coherent synthetic company (orders, customers, deals, spend, ...), then run
    /// every analysis on it and say what it found.
    Demo(commands::demo::Args),
}

fn main() -> ExitCode {
    // Rust ignores SIGPIPE, so printing into a closed pipe (`salesflow ... | head`) fails and
    // `println!` panics. Like other Unix tools, stop quietly instead.
    #[cfg(unix)]
    // SAFETY: setting a signal's disposition to its default before any thread starts.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    let cli = Cli::parse();
    let global = commands::Global {
        config: cli.config,
        quiet: cli.quiet,
    };
    let code = run(cli.command, global);
    if code == ExitCode::SUCCESS {
        finish_quickly();
    }
    code
}

/// Ends the process now that everything is written, without the C library's exit handlers:
/// mimalloc's handler hands every page it holds back to the kernel (a forced collection, for
/// when it is linked into a library that is unloaded), which is wasted work at exit (0.07 s of
/// bench/clv's run, `perf record`); the kernel frees the memory anyway. Every value of the
/// command has been dropped by now (files closed, databases and runtimes shut down); only
/// stdout's buffer is left to flush.
fn finish_quickly() {
    use std::io::Write as _;
    if std::io::stdout().lock().flush().is_err() {
        return;
    }
    #[cfg(unix)]
    // SAFETY: `_exit` ends the process; no Rust value is used after it, and nothing is left
    // unwritten (stdout flushed above, stderr unbuffered).
    unsafe {
        libc::_exit(0);
    }
}

fn run(command: Command, global: commands::Global) -> ExitCode {
    let result = match command {
        Command::Validate(args) => commands::validate::run(&global, args),
        Command::Summary(args) => commands::summary::run(&global, args),
        Command::Sql(args) => commands::sql::run(&global, args),
        Command::Demo(args) => commands::demo::run(&global, args),
        Command::Analyze(args) => commands::analyze::run(&global, args),
        Command::Clv(args) => commands::clv::run(&global, args),
        Command::Basket(args) => commands::basket::run(&global, args),
        Command::Abtest(args) => commands::abtest::run(&global, args),
        Command::Budget(args) => commands::budget::run(&global, args),
        Command::Recommend(args) => commands::recommend::run(&global, args),
        Command::Predict(args) => commands::predict::run(&global, args),
        Command::Forecast(args) => commands::forecast::run(&global, args),
        Command::Serve(args) => commands::crm::run_serve(&global, args),
        Command::Import(args) => commands::crm::run_import(&global, args),
        Command::Merge(args) => commands::crm::run_merge(&global, args),
        Command::User(args) => commands::crm::run_user(&global, args),
        Command::Token(args) => commands::crm::run_token(&global, args),
    };
    match result {
        Ok(code) => code,
        Err(error) => {
            // The causes, each once (an I/O error's text is often part of its wrapper's).
            let mut text = error.to_string();
            for cause in error.chain().skip(1) {
                let cause = cause.to_string();
                if !text.contains(&cause) {
                    text.push_str(": ");
                    text.push_str(&cause);
                }
            }
            eprintln!("error: {text}");
            ExitCode::from(commands::exit_code(&error))
        }
    }
}
