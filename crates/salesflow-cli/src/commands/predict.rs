//! `salesflow predict churn|leads|spend`: who is about to stop buying, which open deals will
//! be won, and what goes with spending more per order.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Result;
use chrono::NaiveDate;
use datafusion::arrow::array::{ArrayRef, Float64Array, StringArray};
use salesflow_analytics::predict::{
    ChurnOptions, ChurnRisk, LeadOptions, LeadScores, SpendModel, SpendOptions, churn, leads, spend,
};

use salesflow_engine::Dataset;

use super::Global;
use crate::input::{ReadFlags, load_config, parse_date};
use crate::progress::Bars;

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// The probability that each customer buys nothing in the next --window-days: a logistic
    /// regression and a random forest trained on an earlier cut-off, validated on the next
    /// one, the better one scoring every customer; with the drivers and readable rules.
    Churn(ChurnArgs),
    /// The probability that each open deal is won: models trained on how closed deals ended
    /// (one row per stage a deal entered), validated on the deals that closed last, against
    /// the pipeline's stage win rates; the weighted pipeline by both.
    Leads(LeadsArgs),
    /// Average order value regressed (OLS) on orders, tenure and every usable customer
    /// column: the coefficient table with standard errors and p-values, and a test score.
    Spend(SpendArgs),
}

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
}

/// The random forest that churn and lead scoring try beside the logistic regression.
#[derive(Debug, clap::Args)]
pub struct ForestFlags {
    /// Trees of the random forest.
    #[arg(long, default_value_t = 100)]
    trees: usize,
    /// Seed of the forest (its row sample, resamples and feature draws).
    #[arg(long, default_value_t = 42)]
    seed: u64,
}

#[derive(Debug, clap::Args)]
pub struct ChurnArgs {
    /// Data folder with orders (customers and events are optional).
    #[arg(long, value_name = "DIR")]
    data: PathBuf,
    /// Churned = no purchase within this many days.
    #[arg(long, default_value_t = 90)]
    window_days: u32,
    /// Score the customers as of this day (YYYY-MM-DD; default: the last purchase day).
    #[arg(long, value_parser = parse_date)]
    as_of: Option<NaiveDate>,
    #[command(flatten)]
    forest: ForestFlags,
    /// Write each customer's churn probability here (.csv or .parquet).
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    /// Print JSON (with every customer's probability when --out is not given).
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    read: ReadFlags,
}

#[derive(Debug, clap::Args)]
pub struct LeadsArgs {
    /// Data folder with deals (and stage_events for the stage histories).
    #[arg(long, value_name = "DIR")]
    data: PathBuf,
    /// Share of the closed deals, the latest closed, held out for validation.
    #[arg(long, default_value_t = 0.25)]
    validation_share: f64,
    #[command(flatten)]
    forest: ForestFlags,
    /// Write each open deal's score here (.csv or .parquet).
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    /// Print JSON (with every open deal's score when --out is not given).
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    read: ReadFlags,
}

#[derive(Debug, clap::Args)]
pub struct SpendArgs {
    /// Data folder with orders and customers.
    #[arg(long, value_name = "DIR")]
    data: PathBuf,
    /// Text columns with more distinct values than this are left out.
    #[arg(long, default_value_t = 20)]
    max_levels: usize,
    /// Seed of the train/test split.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Print JSON.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    read: ReadFlags,
}

/// The data folder's tables, read as the flags and salesflow.toml say.
fn load(global: &Global, data: &Path, read: &ReadFlags, json: bool) -> Result<Dataset> {
    let config = load_config(global.config.as_deref(), Some(data))?;
    read.check(&config)?;
    let bars = Bars::new(global.quiet || json);
    read.load_dir(data, &config, &bars)
}

pub fn run(global: &Global, args: Args) -> Result<ExitCode> {
    match args.command {
        Command::Churn(args) => run_churn(global, args),
        Command::Leads(args) => run_leads(global, args),
        Command::Spend(args) => run_spend(global, args),
    }
}

fn run_churn(global: &Global, args: ChurnArgs) -> Result<ExitCode> {
    let dataset = load(global, &args.data, &args.read, args.json)?;
    let options = ChurnOptions {
        window_days: args.window_days,
        as_of: args.as_of,
        trees: args.forest.trees,
        seed: args.forest.seed,
    };
    let risk = super::runtime()?.block_on(churn(&dataset, &options))?;
    if let Some(path) = &args.out {
        super::write_table(
            path,
            vec![
                (
                    "customer_id",
                    Arc::new(StringArray::from(risk.customers.clone())),
                ),
                (
                    "churn_probability",
                    Arc::new(Float64Array::from(risk.probability.clone())),
                ),
            ],
        )?;
    }
    if args.json {
        super::print_stdout(&serde_json::to_string_pretty(
            &risk.json(args.out.is_none()),
        )?)?;
    } else {
        print_churn(&risk)?;
    }
    Ok(ExitCode::SUCCESS)
}

fn print_churn(risk: &ChurnRisk) -> Result<()> {
    let [train, validation, as_of] = risk.cutoffs;
    let mut text = format!(
        "churn = no purchase within {} days; trained on the customers of {train} ({} customers, {:.1} % churned), validated on those of {validation} ({}, {:.1} %)\n",
        risk.window_days,
        risk.train.0,
        100.0 * risk.train.1,
        risk.validation_rows.0,
        100.0 * risk.validation_rows.1,
    );
    text.push_str("  model                  ROC AUC  log loss   Brier  precision  recall\n");
    for v in &risk.validation {
        let m = &v.metrics;
        text.push_str(&format!(
            "  {:<22} {:>7.3} {:>9.3} {:>7.3} {:>10.3} {:>7.3}{}\n",
            v.model.name(),
            m.roc_auc.unwrap_or(f64::NAN),
            m.log_loss,
            m.brier,
            m.precision,
            m.recall,
            if v.model == risk.chosen {
                "  (used)"
            } else {
                ""
            }
        ));
    }
    text.push_str("\ndrivers (logistic coefficient per standard deviation; + raises the risk)\n");
    for d in &risk.drivers {
        text.push_str(&format!(
            "  {:<22} {:>+7.3}  p {:<9}  forest importance {:.2}\n",
            d.feature,
            d.coefficient,
            d.p_value.map_or("-".into(), |p| format!("{p:.2e}")),
            d.importance
        ));
    }
    text.push_str("\nrules (a three-level tree, riskiest first)\n");
    for rule in &risk.rules {
        text.push_str(&format!("  {rule}\n"));
    }
    let high = risk.probability.iter().filter(|p| **p >= 0.8).count();
    text.push_str(&format!(
        "\n{} customers scored as of {as_of}; {high} at 80 % risk or more",
        risk.customers.len()
    ));
    super::print_stdout(&text)
}

fn run_leads(global: &Global, args: LeadsArgs) -> Result<ExitCode> {
    let dataset = load(global, &args.data, &args.read, args.json)?;
    let options = LeadOptions {
        validation_fraction: args.validation_share,
        trees: args.forest.trees,
        seed: args.forest.seed,
    };
    let scores = super::runtime()?.block_on(leads(&dataset, &options))?;
    if let Some(path) = &args.out {
        let column = |f: fn(&salesflow_analytics::predict::OpenDealScore) -> f64| -> ArrayRef {
            Arc::new(Float64Array::from_iter_values(scores.open.iter().map(f)))
        };
        let text = |f: fn(&salesflow_analytics::predict::OpenDealScore) -> &str| -> ArrayRef {
            Arc::new(StringArray::from_iter_values(scores.open.iter().map(f)))
        };
        super::write_table(
            path,
            vec![
                ("deal_id", text(|d| d.id.as_str())),
                ("stage", text(|d| d.stage.as_str())),
                ("amount", column(|d| d.amount)),
                ("win_probability", column(|d| d.win_probability)),
                ("stage_probability", column(|d| d.stage_probability)),
            ],
        )?;
    }
    if args.json {
        super::print_stdout(&serde_json::to_string_pretty(
            &scores.json(args.out.is_none()),
        )?)?;
    } else {
        print_leads(&scores)?;
    }
    Ok(ExitCode::SUCCESS)
}

fn print_leads(scores: &LeadScores) -> Result<()> {
    let mut text = format!(
        "won = deal closed won; trained on {} closed deals ({} stage rows, {:.1} % won), validated on the {} that closed from {} ({} rows, {:.1} %){}\n",
        scores.train.0,
        scores.train.1,
        100.0 * scores.train.2,
        scores.validation_rows.0,
        scores.validation_from,
        scores.validation_rows.1,
        100.0 * scores.validation_rows.2,
        if scores.stage_history {
            ""
        } else {
            "; no stage_events, so rows are at creation and the stage is left out"
        }
    );
    text.push_str("  model                  ROC AUC  log loss   Brier\n");
    for v in &scores.validation {
        let m = &v.metrics;
        text.push_str(&format!(
            "  {:<22} {:>7.3} {:>9.3} {:>7.3}{}\n",
            v.model,
            m.roc_auc.unwrap_or(f64::NAN),
            m.log_loss,
            m.brier,
            if v.model == scores.chosen {
                "  (used)"
            } else {
                ""
            }
        ));
    }
    text.push_str(
        "\nlogistic coefficients (per standard deviation; + raises the chance of winning)\n",
    );
    for c in scores.coefficients.iter().take(12) {
        text.push_str(&format!(
            "  {:<32} {:>+7.3}  p {}\n",
            c.name,
            c.estimate,
            c.p_value.map_or("-".into(), |p| format!("{p:.2e}"))
        ));
    }
    text.push_str(&format!(
        "\n{} open deals; weighted pipeline {:.0} by these scores, {:.0} by the stage win rates\n",
        scores.open.len(),
        scores.weighted_pipeline,
        scores.stage_weighted_pipeline
    ));
    for d in scores.open.iter().take(10) {
        text.push_str(&format!(
            "  {:<16} {:<20} {:>12.2}  win {:>5.1} %  (stage {:>5.1} %)\n",
            d.id,
            d.stage,
            d.amount,
            100.0 * d.win_probability,
            100.0 * d.stage_probability
        ));
    }
    super::print_stdout(text.trim_end())
}

fn run_spend(global: &Global, args: SpendArgs) -> Result<ExitCode> {
    let dataset = load(global, &args.data, &args.read, args.json)?;
    let options = SpendOptions {
        max_levels: args.max_levels,
        seed: args.seed,
        ..SpendOptions::default()
    };
    let model = super::runtime()?.block_on(spend(&dataset, &options))?;
    if args.json {
        super::print_stdout(&serde_json::to_string_pretty(&model.json())?)?;
    } else {
        print_spend(&model)?;
    }
    Ok(ExitCode::SUCCESS)
}

fn print_spend(model: &SpendModel) -> Result<()> {
    let fit = &model.fit;
    let mut text = format!(
        "{} of {} customers by OLS: R² {:.3} (adjusted {:.3})",
        model.target, model.rows, fit.r_squared, fit.adj_r_squared
    );
    if let Some((f, p)) = fit.f_test {
        text.push_str(&format!(", F {f:.2} (p {p:.2e})"));
    }
    text.push_str(&format!(
        "\nheld-out customers: RMSE {:.2} against {:.2} for the mean alone, R² {:.3}\n\n",
        model.test.rmse, model.baseline.rmse, model.test.r_squared
    ));
    text.push_str(&format!(
        "  {:<32} {:>12} {:>10} {:>8} {:>9}  95 % interval\n",
        "coefficient", "estimate", "std err", "t", "p"
    ));
    for c in &fit.coefficients {
        let (lo, hi) = c.interval.unwrap_or((f64::NAN, f64::NAN));
        text.push_str(&format!(
            "  {:<32} {:>12.4} {:>10.4} {:>8.2} {:>9.2e}  {lo:.4} to {hi:.4}\n",
            c.name,
            c.estimate,
            c.std_error.unwrap_or(f64::NAN),
            c.t.unwrap_or(f64::NAN),
            c.p_value.unwrap_or(f64::NAN),
        ));
    }
    if let Some(d) = &fit.diagnostics {
        text.push_str(&format!(
            "\nresiduals: Durbin-Watson {:.2}, Jarque-Bera {:.1} (p {:.2e}), skew {:.2}, kurtosis {:.2}; condition number {:.3e}",
            d.durbin_watson, d.jarque_bera, d.jarque_bera_p, d.skew, d.kurtosis, d.condition_number
        ));
    }
    if !model.dropped.is_empty() {
        let dropped: Vec<String> = model
            .dropped
            .iter()
            .map(|(c, why)| format!("{c} ({why})"))
            .collect();
        text.push_str(&format!("\nleft out: {}", dropped.join(", ")));
    }
    for (column, rows) in &model.imputed {
        text.push_str(&format!(
            "\n{column}: {rows} missing values filled with the column mean"
        ));
    }
    super::print_stdout(&text)
}
