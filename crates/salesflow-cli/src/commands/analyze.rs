//! `salesflow analyze`: every analysis the data allows, written as a report, machine-readable
//! metrics, the scored customers and one target list per action.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use datafusion::arrow::array::{BooleanArray, RecordBatch};
use datafusion::arrow::compute::filter_record_batch;
use salesflow_analytics::findings::findings;
use salesflow_analytics::scored::{action_file_name, action_targets, scored_customers};
use salesflow_analytics::{Analysis, AnalyzeOptions, analyze};
use salesflow_engine::Dataset;
use salesflow_engine::output;
use salesflow_engine::pipeline::PipelineOptions;

use super::Global;
use crate::input::{ReadFlags, UsageError, load_config};
use crate::progress::Bars;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Folder with the tables (orders is required; customers, deals, stage_events,
    /// subscriptions, marketing_spend and events each add sections).
    #[arg(
        long,
        value_name = "DIR",
        required_unless_present = "db",
        conflicts_with = "db"
    )]
    data: Option<PathBuf>,
    /// Analyse the CRM database instead (sqlite://FILE or postgres://...): its orders, order
    /// lines, products, customers, deals and stage history are written as the canonical
    /// tables into OUT/crm_tables, analysed exactly as files are, and each customer's
    /// segment, CLV, probability alive and next action are written back onto the customers.
    #[arg(long, value_name = "URL")]
    db: Option<String>,
    /// Folder to write report.html, metrics.json, customers_scored.csv/.parquet and actions/.
    #[arg(long, value_name = "DIR", default_value = "salesflow-report")]
    out: PathBuf,
    /// Churn = no purchase within this many days (the churn model needs two such windows of
    /// history before the last purchase).
    #[arg(long, default_value_t = 90)]
    churn_window_days: u32,
    /// Months of revenue, orders, channel revenue and top-product units to forecast (0: no
    /// forecasts; they need two years of history).
    #[arg(long, default_value_t = 12)]
    forecast_months: usize,
    /// Number of behavioural clusters (default: chosen by silhouette from 2 to 8).
    #[arg(long, value_name = "K")]
    clusters: Option<usize>,
    /// Seed of the clustering's random starts and samples.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Months of predicted customer value.
    #[arg(long, default_value_t = 12)]
    clv_months: u32,
    /// Monthly discount rate of predicted value.
    #[arg(long, default_value_t = 0.01)]
    discount_rate: f64,
    /// Open deal stages in order (comma-separated); default: learned from the stage history.
    #[arg(long, value_name = "STAGES", value_delimiter = ',')]
    stages: Option<Vec<String>>,
    /// Days without a stage change after which a deal in a stage is stalled:
    /// `demo=14` (repeatable); default: the 90th percentile of that stage's history.
    #[arg(long = "stall-days", value_name = "STAGE=DAYS")]
    stall_days: Vec<String>,
    /// Sales target to measure the open pipeline against (coverage).
    #[arg(long, value_name = "AMOUNT")]
    coverage_target: Option<f64>,
    /// Only deals created on or after this day (YYYY-MM-DD) enter the pipeline metrics.
    #[arg(long, value_name = "DATE", value_parser = crate::input::parse_date, requires = "deals_to")]
    deals_from: Option<chrono::NaiveDate>,
    /// Only deals created on or before this day (YYYY-MM-DD) enter the pipeline metrics.
    #[arg(long, value_name = "DATE", value_parser = crate::input::parse_date, requires = "deals_from")]
    deals_to: Option<chrono::NaiveDate>,
    /// Also fit the marketing response curves and re-split the recent weekly budget (adds a
    /// few seconds: the curve fit does not depend on the number of customers).
    #[arg(long)]
    budget: bool,
    /// What the budget plan maximises (default: revenue when marketing_spend has
    /// attributed_revenue, else leads, else customers).
    #[arg(long, requires = "budget", value_parser = super::budget::objective_parser())]
    budget_objective: Option<salesflow_analytics::budget::Objective>,
    /// Print metrics.json to stdout instead of the summary.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    read: ReadFlags,
}

fn stall_days(flags: &[String]) -> Result<HashMap<String, f64>> {
    let mut out = HashMap::new();
    for flag in flags {
        let parsed = flag
            .split_once('=')
            .and_then(|(stage, days)| Some((stage.trim(), days.trim().parse::<f64>().ok()?)));
        match parsed {
            Some((stage, days)) if !stage.is_empty() && days.is_finite() && days > 0.0 => {
                out.insert(stage.to_owned(), days);
            }
            _ => bail!(UsageError(format!(
                "--stall-days {flag}: write STAGE=DAYS with a positive number of days, e.g. demo=14"
            ))),
        }
    }
    Ok(out)
}

pub fn run(global: &Global, args: Args) -> Result<ExitCode> {
    if !(args.discount_rate.is_finite() && (0.0..1.0).contains(&args.discount_rate)) {
        bail!(UsageError(
            "--discount-rate must be a monthly rate from 0 to below 1, e.g. 0.01".into()
        ));
    }
    if args.clusters.is_some_and(|k| k < 1) {
        bail!(UsageError("--clusters must be at least 1".into()));
    }
    let runtime = super::runtime()?;
    let crm = match &args.db {
        Some(url) => Some(runtime.block_on(salesflow_store::Store::open(url))?),
        None => None,
    };
    let data = match (&crm, &args.data) {
        (Some(store), _) => {
            let dir = args.out.join("crm_tables");
            runtime.block_on(store.export_for_analysis(&salesflow_store::Actor::system(), &dir))?;
            dir
        }
        (None, Some(data)) => data.clone(),
        (None, None) => bail!(UsageError("give --data DIR or --db URL".into())),
    };
    let config = load_config(global.config.as_deref(), Some(&data))?;
    args.read.check(&config)?;
    let options = AnalyzeOptions {
        rules: config.segment_rules().to_vec(),
        playbook: config.playbook().clone(),
        clusters: args.clusters,
        seed: args.seed,
        clv_months: args.clv_months,
        monthly_discount_rate: args.discount_rate,
        budget: args.budget,
        budget_objective: args.budget_objective,
        budget_bounds: config.budget_bounds().clone(),
        forecast_months: args.forecast_months,
        churn: salesflow_analytics::predict::ChurnOptions {
            window_days: args.churn_window_days,
            seed: args.seed,
            ..salesflow_analytics::predict::ChurnOptions::default()
        },
        pipeline: PipelineOptions {
            stages: args.stages.clone(),
            stall_days: stall_days(&args.stall_days)?,
            coverage_target: args.coverage_target,
            period: args.deals_from.zip(args.deals_to),
            ..PipelineOptions::default()
        },
    };
    let bars = Bars::new(global.quiet || args.json);
    let dataset = args.read.load_dir(&data, &config, &bars)?;
    let source = match &args.db {
        Some(url) => PathBuf::from(format!(
            "the CRM database {}",
            salesflow_store::redact_url(url)
        )),
        None => data.clone(),
    };
    let written = run_analysis(&runtime, &dataset, &options, &args.out, &source, &bars)?;
    if let Some(store) = &crm {
        let scores = customer_scores(&written.scored)?;
        let updated =
            runtime.block_on(store.write_scores(&salesflow_store::Actor::system(), &scores))?;
        if !global.quiet && !args.json {
            eprintln!("wrote the scores of {updated} customers back to the CRM");
        }
    }
    if args.json {
        super::print_stdout(&written.metrics)?;
    } else {
        print_summary(&written)?;
    }
    Ok(ExitCode::SUCCESS)
}

/// The scores the CRM keeps, from the scored table: segment, CLV over the horizon,
/// probability alive and action, where the analysis produced them.
fn customer_scores(scored: &RecordBatch) -> Result<Vec<salesflow_store::CustomerScore>> {
    use datafusion::arrow::array::{Array, Float64Array, StringArray};
    use datafusion::arrow::compute::cast;
    use datafusion::arrow::datatypes::DataType;
    // Whatever string or number layout a column has, read it as plain UTF-8 or f64.
    let as_type =
        |name: &str, to: &DataType| scored.column_by_name(name).and_then(|c| cast(c, to).ok());
    let text = |name: &str| {
        as_type(name, &DataType::Utf8)
            .and_then(|c| c.as_any().downcast_ref::<StringArray>().cloned())
    };
    let float = |name: &str| {
        as_type(name, &DataType::Float64)
            .and_then(|c| c.as_any().downcast_ref::<Float64Array>().cloned())
    };
    let ids = text("customer_id").context("the scored table has no customer_id")?;
    let segment = text("rfm_segment");
    let action = text("action");
    let p_alive = float("p_alive");
    let clv_name = scored
        .schema()
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .find(|n| n.starts_with("clv_"));
    let clv = clv_name.and_then(|name| float(&name));
    let pick_text = |column: &Option<StringArray>, i: usize| {
        column
            .as_ref()
            .filter(|c| c.is_valid(i))
            .map(|c| c.value(i).to_string())
    };
    let pick_float = |column: &Option<Float64Array>, i: usize| {
        column
            .as_ref()
            .filter(|c| c.is_valid(i))
            .map(|c| c.value(i))
    };
    Ok((0..scored.num_rows())
        .map(|i| salesflow_store::CustomerScore {
            customer_id: ids.value(i).to_string(),
            segment: pick_text(&segment, i),
            clv: pick_float(&clv, i),
            p_alive: pick_float(&p_alive, i),
            next_action: pick_text(&action, i),
        })
        .collect())
}

/// What [`run_analysis`] wrote.
pub struct Written {
    pub analysis: Analysis,
    /// The scored customers table (customers_scored.*), for writing scores back.
    pub scored: RecordBatch,
    /// metrics.json's text.
    pub metrics: String,
    pub report: PathBuf,
    pub out: PathBuf,
}

/// Analyses `dataset` and writes every output into `out` (shared with `salesflow demo`).
pub fn run_analysis(
    rt: &tokio::runtime::Runtime,
    dataset: &Dataset,
    options: &AnalyzeOptions,
    out: &Path,
    source: &Path,
    bars: &Bars,
) -> Result<Written> {
    let analysis = rt.block_on(analyze(dataset, options, bars))?;
    let started = std::time::Instant::now();
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    let html = salesflow_report::render(&analysis, &source.display().to_string());
    let report = out.join("report.html");
    output::write_text(&report, &html)?;
    let metrics = serde_json::to_string_pretty(&salesflow_analytics::json::metrics(&analysis))?;
    output::write_text(&out.join("metrics.json"), &(metrics.clone() + "\n"))?;
    let scored = scored_customers(&analysis)?;
    // The scored table as CSV on one core, as Parquet and the target lists on the other: the
    // largest files of the run.
    let write = |name: &str| -> Result<()> {
        output::write_file(
            &out.join(name),
            &scored.schema(),
            std::slice::from_ref(&scored),
        )?;
        Ok(())
    };
    let (csv, rest) = std::thread::scope(|scope| {
        let csv = scope.spawn(|| write("customers_scored.csv"));
        let rest = write("customers_scored.parquet")
            .and_then(|()| write_target_lists(&analysis, &scored, &out.join("actions")));
        (csv.join(), rest)
    });
    csv.map_err(|_| anyhow::anyhow!("the CSV writer stopped unexpectedly"))??;
    rest?;
    if std::env::var_os("SALESFLOW_TIMINGS").is_some() {
        eprintln!(
            "analyze outputs written: {:.3} s",
            started.elapsed().as_secs_f64()
        );
    }
    Ok(Written {
        analysis,
        scored,
        metrics,
        report,
        out: out.to_owned(),
    })
}

/// One CSV per action with the scored rows of its customers; stale lists of an earlier run
/// are removed first so the folder matches this report.
fn write_target_lists(analysis: &Analysis, scored: &RecordBatch, dir: &Path) -> Result<()> {
    if dir.is_dir() {
        for entry in std::fs::read_dir(dir)? {
            let path = entry?.path();
            if path.extension().is_some_and(|e| e == "csv") {
                std::fs::remove_file(&path)
                    .with_context(|| format!("removing the old list {}", path.display()))?;
            }
        }
    }
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let columns = target_columns(scored)?;
    for (index, (action, members)) in action_targets(analysis).into_iter().enumerate() {
        let mut mask = vec![false; scored.num_rows()];
        for i in members {
            mask[i] = true;
        }
        let rows = filter_record_batch(&columns, &BooleanArray::from(mask))?;
        output::write_file(
            &dir.join(action_file_name(index, &action)),
            &rows.schema(),
            &[rows],
        )?;
    }
    Ok(())
}

/// The columns a campaign needs (who, why, what they are worth); the full rows are in
/// customers_scored, and contact details stay in the CRM, joined by customer_id.
fn target_columns(scored: &RecordBatch) -> Result<RecordBatch> {
    let schema = scored.schema();
    let keep: Vec<usize> = [
        "customer_id",
        "rfm_segment",
        "rule_segments",
        "cluster_name",
        "orders",
        "revenue",
        "recency_days",
        "p_alive",
    ]
    .iter()
    .filter_map(|name| schema.index_of(name).ok())
    .chain(
        schema
            .fields()
            .iter()
            .position(|f| f.name().starts_with("clv_")),
    )
    .collect();
    Ok(scored.project(&keep)?)
}

fn print_summary(written: &Written) -> Result<()> {
    let a = &written.analysis;
    let mut text = format!(
        "Analysed {} customers and {} orders ({} to {}).\n\nWhat matters most:\n",
        a.orders.total.customers, a.orders.total.orders, a.period.0, a.period.1
    );
    for (i, f) in findings(a).iter().take(5).enumerate() {
        text.push_str(&format!("  {}. {}\n", i + 1, f.text));
    }
    if !a.skipped.is_empty() {
        text.push_str("\nSkipped:\n");
        for s in &a.skipped {
            text.push_str(&format!("  {}: {}\n", s.section, s.reason));
        }
    }
    text.push_str(&format!(
        "\nReport: {}\nAlso written to {}: metrics.json, customers_scored.csv, customers_scored.parquet, actions/",
        written.report.display(),
        written.out.display()
    ));
    super::print_stdout(&text)
}
