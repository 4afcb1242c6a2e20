//! Orchestration: runs every analysis a data set allows and gathers the results in one
//! [`Analysis`], which `salesflow-report` renders as HTML and the CLI writes out as
//! `metrics.json` and `customers_scored.csv`/`.parquet`.
//!
//! The engine computes the tables (metrics as SQL), the models compute the numbers (CLV, RFM,
//! k-means); this crate decides what runs on which data, records what was skipped and why,
//! joins the per-customer results into one scored table, and ranks the findings a founder
//! should read first.
//!
//! - [`analyze`] is the entry point; [`AnalyzeOptions`] what it can be told.
//! - [`lifetime`]: customers from a summary and their CLV predictions (shared with the
//!   `clv` commands).
//! - [`segments`]: RFM, clusters, rule segments and the playbook.
//! - [`experiments`]: A/B tests, shared with `salesflow abtest`.
//! - [`budget`]: response curves and the weekly split, shared with `salesflow budget`.
//! - [`predict`]: churn risk and spend regression (`salesflow predict`).
//! - [`scored`]: the per-customer output table.
//! - [`findings`]: the executive summary's sentences, most important first.
//! - [`json`]: the `metrics.json` document.
#![warn(missing_docs)]

pub mod budget;
mod clv;
mod error;
pub mod experiments;
pub mod findings;
pub mod forecast;
pub mod json;
pub mod lifetime;
pub mod predict;
pub mod scored;
pub mod segments;
pub mod timing;

use std::collections::BTreeMap;

use chrono::NaiveDate;
use salesflow_core::progress::Progress;
use salesflow_core::{SegmentRule, TableKind};
use salesflow_engine::acquisition::{ChannelEconomics, channel_economics};
use salesflow_engine::pipeline::{Dimension, PipelineMetrics, PipelineOptions, pipeline_metrics};
use salesflow_engine::report::CleaningReport;
use salesflow_engine::sales::{Cohorts, EventFunnel, OrderMetrics};
use salesflow_engine::subscriptions::Mrr;
use salesflow_engine::summary::{Summary, SummaryOptions, customer_summary};
use salesflow_engine::{Dataset, customer_features, sales, subscriptions};

pub use clv::{ClvResult, PURCHASE_HORIZON_DAYS};
pub use error::{AnalyticsError, Result};
pub use segments::Segmentation;

/// What an analysis can be told; every field has a sensible default.
#[derive(Debug, Clone)]
pub struct AnalyzeOptions {
    /// Hand-written segments (`[segments.rules.<name>]`).
    pub rules: Vec<SegmentRule>,
    /// Segment key -> action, over the built-in playbook (`[playbook]`).
    pub playbook: BTreeMap<String, String>,
    /// Number of k-means clusters; None chooses it by silhouette.
    pub clusters: Option<usize>,
    /// Seed of every random choice (k-means starts and samples).
    pub seed: u64,
    /// Months of CLV to predict.
    pub clv_months: u32,
    /// Monthly discount rate of CLV.
    pub monthly_discount_rate: f64,
    /// How to compute the pipeline metrics.
    pub pipeline: PipelineOptions,
    /// Whether to fit the response curves and plan the budget: the fit takes seconds whatever
    /// the data's size (1.8 to 3.1 s on the 20,000-customer demo's two years of weekly spend,
    /// release build, `/usr/bin/time salesflow budget --data <demo>/csv --total 20000
    /// --objective customers|leads|revenue -q`; most of it the profile-likelihood
    /// intervals), so it is asked for.
    pub budget: bool,
    /// What the budget plan maximises; None: attributed revenue when `marketing_spend` has
    /// it, else leads, else new customers.
    pub budget_objective: Option<budget::Objective>,
    /// `[budget.bounds.<channel>]`: weekly spend limits for the budget plan.
    pub budget_bounds: BTreeMap<String, salesflow_core::SpendBound>,
    /// How to train and score the churn models.
    pub churn: predict::ChurnOptions,
    /// Months of revenue, orders, channel revenue and product units to forecast (0: none).
    pub forecast_months: usize,
}

impl Default for AnalyzeOptions {
    fn default() -> Self {
        AnalyzeOptions {
            rules: Vec::new(),
            playbook: BTreeMap::new(),
            clusters: None,
            seed: 42,
            clv_months: 12,
            monthly_discount_rate: 0.01,
            pipeline: PipelineOptions::default(),
            budget: false,
            budget_objective: None,
            budget_bounds: BTreeMap::new(),
            churn: predict::ChurnOptions::default(),
            forecast_months: 12,
        }
    }
}

/// A section that did not run, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct Skipped {
    /// The section's key (`pipeline`, `subscriptions`, ...).
    pub section: &'static str,
    /// What it needs that the data lacks.
    pub reason: String,
}

/// Acquisition economics with the CLV each channel's customers are expected to bring.
#[derive(Debug, Clone)]
pub struct Acquisition {
    /// Spend, new customers, revenue per channel.
    pub channels: Vec<ChannelEconomics>,
    /// Mean CLV of each channel's new customers (predicted when the CLV models ran,
    /// historical revenue per customer otherwise), by channel name.
    pub clv_per_customer: BTreeMap<String, f64>,
    /// Where the CLV comes from: `model` or `historical`.
    pub clv_source: &'static str,
}

impl Acquisition {
    /// CLV : CAC of a channel (None without CAC or CLV).
    pub fn clv_to_cac(&self, channel: &ChannelEconomics) -> Option<f64> {
        let cac = channel.cac().filter(|c| *c > 0.0)?;
        Some(self.clv_per_customer.get(&channel.channel)? / cac)
    }
}

/// Everything one run found.
#[derive(Debug)]
pub struct Analysis {
    /// First and last purchase day.
    pub period: (NaiveDate, NaiveDate),
    /// The distinct `orders.currency` codes (empty without the column). With more than one,
    /// amounts are added as they are, which the report warns about.
    pub currencies: Vec<String>,
    /// The cleaning report of every table read.
    pub quality: CleaningReport,
    /// Orders, AOV, repeat purchases.
    pub orders: OrderMetrics,
    /// Monthly acquisition cohorts.
    pub cohorts: Cohorts,
    /// Visitor-to-customer funnel, with `events`.
    pub funnel: Option<EventFunnel>,
    /// Sales pipeline, with `deals`.
    pub pipeline: Option<PipelineMetrics>,
    /// The pipeline cut by `pipeline`, `owner` and `source` (those with values).
    pub pipeline_slices: Vec<PipelineMetrics>,
    /// MRR movements, with `subscriptions`.
    pub mrr: Option<Mrr>,
    /// CAC, ROI, CLV:CAC per channel, with `marketing_spend` and acquisition channels.
    pub acquisition: Option<Acquisition>,
    /// BG/NBD and Gamma-Gamma fits and their totals.
    pub clv: Option<ClvResult>,
    /// Each experiment of the `experiments` table against its `control` arm.
    pub experiments: Vec<experiments::ExperimentReport>,
    /// The recent weekly marketing budget re-split by the channels' response curves.
    pub budget: Option<budget::BudgetPlan>,
    /// Churn risk per customer (with two windows of history).
    pub churn: Option<predict::ChurnRisk>,
    /// The spend regression on the customer table (with `customers`).
    pub spend: Option<predict::SpendModel>,
    /// Win probabilities of the open deals (with `deals` that have closed history).
    pub leads: Option<predict::LeadScores>,
    /// Monthly forecasts of revenue, orders, revenue per channel and units of the five
    /// best-selling products, with their backtests.
    pub forecast: Option<forecast::PanelForecast>,
    /// RFM, clusters, rules, playbook, and each customer's place in them.
    pub segments: Segmentation,
    /// The per-customer summary (day units, with facts) the scores are joined to.
    pub summary: Summary,
    /// Sections that did not run.
    pub skipped: Vec<Skipped>,
}

/// The phases `analyze` reports to its progress hook, in order.
const PHASES: u64 = 9;

/// Runs every analysis `dataset` allows. Only `orders` is required; a section whose tables are
/// missing is recorded in [`Analysis::skipped`] with the reason.
pub async fn analyze(
    dataset: &Dataset,
    options: &AnalyzeOptions,
    progress: &dyn Progress,
) -> Result<Analysis> {
    progress.start("analysing", PHASES);
    let timings = std::env::var_os("SALESFLOW_TIMINGS").is_some();
    let mut clock = std::time::Instant::now();
    // One phase done: the bar moves, and with SALESFLOW_TIMINGS=1 its time goes to stderr.
    let mut step = |phase: &str| {
        progress.advance(1);
        if timings {
            eprintln!("analyze {phase}: {:.3} s", clock.elapsed().as_secs_f64());
        }
        clock = std::time::Instant::now();
    };
    let mut skipped = Vec::new();
    let orders = sales::order_metrics(dataset).await?;
    let cohorts = sales::cohorts(dataset).await?;
    let funnel = sales::event_funnel(dataset).await?;
    if funnel.is_none() {
        skipped.push(Skipped {
            section: "funnel",
            reason: "no events table (customer_id, occurred_at, kind)".into(),
        });
    }
    step("orders, cohorts, funnel");

    let summary = crate::summary_with_facts(dataset).await?;
    let features = customer_features::register(dataset, &summary).await?;
    step("summary and features");

    let mut pipeline_slices = Vec::new();
    let pipeline = if let Some(deals) = dataset.table(TableKind::Deals) {
        for dimension in [Dimension::Pipeline, Dimension::Owner, Dimension::Source] {
            if deals.has_values(dimension.column()) {
                let sliced = PipelineOptions {
                    slice: Some(dimension),
                    ..options.pipeline.clone()
                };
                pipeline_slices.push(pipeline_metrics(dataset, &sliced).await?);
            }
        }
        // A sliced run carries the overall metrics too: only without any slice column is a
        // run of its own needed.
        match pipeline_slices.first() {
            Some(sliced) => Some(PipelineMetrics {
                dimension: None,
                slices: Vec::new(),
                ..sliced.clone()
            }),
            None => Some(pipeline_metrics(dataset, &options.pipeline).await?),
        }
    } else {
        skipped.push(Skipped {
            section: "pipeline",
            reason: "no deals table (deal_id, created_at, stage, amount)".into(),
        });
        None
    };
    let mrr = if dataset.table(TableKind::Subscriptions).is_some() {
        Some(subscriptions::mrr(dataset).await?)
    } else {
        skipped.push(Skipped {
            section: "subscriptions",
            reason: "no subscriptions table (customer_id, started_at, mrr)".into(),
        });
        None
    };
    step("pipeline and subscriptions");

    let customers = lifetime::customers(&summary.batches)?;
    let ids = lifetime::SummaryIds::new(&summary.batches);
    let clv = match clv::fit_and_predict(&customers, &|i| ids.id(i), options) {
        Ok(result) => Some(result),
        Err(reason) => {
            skipped.push(Skipped {
                section: "clv",
                reason,
            });
            None
        }
    };
    step("clv");

    let segments = segments::segment(dataset, &summary, options).await?;
    step("segments");

    let acquisition = acquisition(dataset, &features, clv.as_ref(), &mut skipped).await?;
    step("acquisition");

    // The spend regression needs only the feature rows: it runs on a thread of its own while
    // churn and leads run here, so their single-threaded stretches (Newton steps, encoding,
    // SQL) overlap instead of adding up.
    let spend_thread = dataset.table(TableKind::Customers).is_some().then(|| {
        let rows = features.clone();
        std::thread::spawn(move || {
            predict::spend_from_features(&rows, &predict::SpendOptions::default())
        })
    });
    let churn = unless_too_little(
        predict::churn_with_history(dataset, &summary, &options.churn).await,
        "churn",
        &mut skipped,
    )?;
    let leads = if dataset.table(TableKind::Deals).is_some() {
        unless_too_little(
            predict::leads(dataset, &predict::LeadOptions::default()).await,
            "leads",
            &mut skipped,
        )?
    } else {
        skipped.push(Skipped {
            section: "leads",
            reason: "no deals table (deal_id, created_at, stage, amount, status, closed_at)".into(),
        });
        None
    };
    let spend = match spend_thread {
        Some(thread) => unless_too_little(
            thread.join().map_err(|_| AnalyticsError::Thread)?,
            "spend",
            &mut skipped,
        )?,
        None => {
            skipped.push(Skipped {
                section: "spend",
                reason: "no customers table (customer_id and attributes such as age or industry)"
                    .into(),
            });
            None
        }
    };
    step("churn, leads and spend");

    let period = (first_purchase_day(&summary)?, summary.calibration_end);
    let mut experiment_reports = Vec::new();
    if dataset.table(TableKind::Experiments).is_some() {
        let arms = salesflow_engine::experiments::experiment_arms(dataset).await?;
        for result in experiments::evaluate_all(&arms, &experiments::TestSettings::default()) {
            match result {
                Ok(report) => experiment_reports.push(report),
                Err(reason) => skipped.push(Skipped {
                    section: "experiments",
                    reason,
                }),
            }
        }
    } else {
        skipped.push(Skipped {
            section: "experiments",
            reason: "no experiments table (experiment, variant, customer_id, converted)".into(),
        });
    }
    let budget = budget_plan(dataset, options, acquisition.as_ref(), &mut skipped).await?;
    let currencies = currencies(dataset).await?;
    step("experiments and period");

    let forecast = sales_forecast(dataset, options, &mut skipped).await?;
    step("forecasts");
    progress.finish();
    Ok(Analysis {
        period,
        currencies,
        quality: dataset.report(),
        orders,
        cohorts,
        funnel,
        pipeline,
        pipeline_slices,
        mrr,
        acquisition,
        clv,
        experiments: experiment_reports,
        budget,
        churn,
        spend,
        leads,
        forecast,
        segments,
        summary,
        skipped,
    })
}

/// Smallest history, in months, the report forecasts from: two seasons, so the yearly
/// pattern is seen twice.
const FORECAST_MIN_MONTHS: usize = 24;

/// Monthly forecasts of revenue, orders, channel revenue and the top five products' units,
/// each backtested on three windows; skipped for histories under two years.
async fn sales_forecast(
    dataset: &Dataset,
    options: &AnalyzeOptions,
    skipped: &mut Vec<Skipped>,
) -> Result<Option<forecast::PanelForecast>> {
    use salesflow_engine::series::{Frequency, SalesSeriesOptions, sales_series};
    if options.forecast_months == 0 {
        return Ok(None);
    }
    let series_options = SalesSeriesOptions {
        frequency: Frequency::Month,
        by_channel: true,
        products: 5,
        keep_last_period: false,
    };
    let (series, _partial) = sales_series(dataset, series_options).await?;
    let months = series.first().map_or(0, |s| s.values.len());
    if months < FORECAST_MIN_MONTHS {
        skipped.push(Skipped {
            section: "forecast",
            reason: format!(
                "{months} complete months of purchases; monthly forecasts need {FORECAST_MIN_MONTHS} (two years, to see the season twice)"
            ),
        });
        return Ok(None);
    }
    let settings = forecast::ForecastSettings::new(options.forecast_months);
    let calendar = salesflow_engine::series::calendar_events(dataset, Frequency::Month).await?;
    Ok(Some(forecast::forecast_with_calendar(
        series,
        &calendar,
        Frequency::Month,
        &settings,
        &salesflow_core::progress::NoProgress,
    )))
}

/// The budget plan for the report: the recent weekly total re-split, maximising attributed
/// revenue when `marketing_spend` has it, else leads, else new customers.
async fn budget_plan(
    dataset: &Dataset,
    options: &AnalyzeOptions,
    acquisition: Option<&Acquisition>,
    skipped: &mut Vec<Skipped>,
) -> Result<Option<budget::BudgetPlan>> {
    use budget::Objective;
    if !options.budget {
        skipped.push(Skipped {
            section: "budget",
            reason: "not asked for: add --budget (fitting the response curves and their intervals takes a few seconds)"
                .into(),
        });
        return Ok(None);
    }
    let Some(spend) = dataset.table(TableKind::MarketingSpend) else {
        skipped.push(Skipped {
            section: "budget",
            reason: "no marketing_spend table (date, channel, spend)".into(),
        });
        return Ok(None);
    };
    let objective = if let Some(objective) = options.budget_objective {
        objective
    } else if spend.has_values("attributed_revenue") {
        Objective::Revenue
    } else if spend.has_values("leads") {
        Objective::Leads
    } else if dataset
        .table(TableKind::Customers)
        .is_some_and(|t| t.has_values("acquisition_channel"))
    {
        Objective::Customers
    } else {
        skipped.push(Skipped {
            section: "budget",
            reason: "marketing_spend has no attributed_revenue or leads, and customers no acquisition_channel: nothing to measure spend against".into(),
        });
        return Ok(None);
    };
    let settings = budget::BudgetSettings {
        objective,
        // The values the acquisition section computed, so the CLV models run once.
        customer_value: acquisition.map(|a| (a.clv_per_customer.clone(), a.clv_source)),
        bounds: options.budget_bounds.clone(),
        ..budget::BudgetSettings::default()
    };
    match budget::plan_budget(dataset, &settings).await? {
        Ok(plan) => Ok(Some(plan)),
        Err(reason) => {
            skipped.push(Skipped {
                section: "budget",
                reason,
            });
            Ok(None)
        }
    }
}

/// The distinct currency codes of the purchases, sorted.
async fn currencies(dataset: &Dataset) -> Result<Vec<String>> {
    use datafusion::arrow::array::{Array, AsArray};
    if !dataset
        .table(TableKind::Orders)
        .is_some_and(|t| t.has_values("currency"))
    {
        return Ok(Vec::new());
    }
    let batches = dataset
        .sql("SELECT DISTINCT currency FROM orders WHERE currency IS NOT NULL ORDER BY currency")
        .await?;
    let mut out = Vec::new();
    for batch in &batches {
        let codes = batch.column(0).as_string_view();
        out.extend(
            (0..batch.num_rows())
                .filter(|&i| codes.is_valid(i))
                .map(|i| codes.value(i).to_owned()),
        );
    }
    Ok(out)
}

/// The first purchase day: the earliest `first_order_at` of the summary (whose calibration
/// end is the last purchase day), so no scan of `orders` is needed.
/// A section's result, or `None` with the section in `skipped` when the data are too few for
/// it; other errors stop the analysis.
fn unless_too_little<T>(
    result: Result<T>,
    section: &'static str,
    skipped: &mut Vec<Skipped>,
) -> Result<Option<T>> {
    match result {
        Ok(value) => Ok(Some(value)),
        Err(AnalyticsError::NotEnoughData { detail, hint, .. }) => {
            skipped.push(Skipped {
                section,
                reason: format!("{detail}; {hint}"),
            });
            Ok(None)
        }
        Err(e) => Err(e),
    }
}

/// The customer summary in days with the RFM facts: what `customer_features`, the segments
/// and the predictions read.
pub(crate) async fn summary_with_facts(dataset: &Dataset) -> Result<Summary> {
    Ok(customer_summary(
        dataset,
        &SummaryOptions {
            facts: true,
            ..SummaryOptions::default()
        },
    )
    .await?)
}

pub(crate) fn first_purchase_day(summary: &Summary) -> Result<NaiveDate> {
    use datafusion::arrow::array::AsArray;
    use datafusion::arrow::datatypes::{DataType, Int64Type};
    let mut first: Option<i64> = None;
    for batch in &summary.batches {
        let Some(column) = batch.column_by_name("first_order_at") else {
            continue;
        };
        let micros = datafusion::arrow::compute::cast(column, &DataType::Int64)
            .map_err(|e| AnalyticsError::Engine(e.into()))?;
        let least = datafusion::arrow::compute::min(micros.as_primitive::<Int64Type>());
        first = match (first, least) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
    }
    Ok(chrono::DateTime::from_timestamp_micros(first.unwrap_or(0))
        .unwrap_or_default()
        .date_naive())
}

/// Mean value of each acquisition channel's customers, and where it comes from: `model` (revenue
/// to date plus the discounted CLV the models predict over the horizon) or, when the CLV models
/// cannot be fitted, `historical` (revenue per customer so far). What `salesflow budget
/// --objective clv` weighs each channel's new customers by.
pub async fn customer_value_by_channel(
    dataset: &Dataset,
    options: &AnalyzeOptions,
) -> Result<(BTreeMap<String, f64>, &'static str)> {
    let summary = summary_with_facts(dataset).await?;
    let features = customer_features::register(dataset, &summary).await?;
    let customers = lifetime::customers(&summary.batches)?;
    let ids = lifetime::SummaryIds::new(&summary.batches);
    let clv = clv::fit_and_predict(&customers, &|i| ids.id(i), options).ok();
    let channels = channel_economics(dataset).await?;
    value_by_channel(&features, clv.as_ref(), &channels)
}

/// [`customer_value_by_channel`] from the pieces `analyze` has at hand.
fn value_by_channel(
    features: &[datafusion::arrow::record_batch::RecordBatch],
    clv: Option<&ClvResult>,
    channels: &[ChannelEconomics],
) -> Result<(BTreeMap<String, f64>, &'static str)> {
    Ok(match clv {
        Some(result) => (clv::mean_by_channel(features, result)?, "model"),
        None => (
            channels
                .iter()
                .filter_map(|c| Some((c.channel.clone(), c.revenue_per_customer()?)))
                .collect(),
            "historical",
        ),
    })
}

/// Channel economics, with each channel's mean CLV per new customer.
async fn acquisition(
    dataset: &Dataset,
    features: &[datafusion::arrow::record_batch::RecordBatch],
    clv: Option<&ClvResult>,
    skipped: &mut Vec<Skipped>,
) -> Result<Option<Acquisition>> {
    let ready = dataset.table(TableKind::MarketingSpend).is_some()
        && dataset
            .table(TableKind::Customers)
            .is_some_and(|t| t.has_values("acquisition_channel"));
    if !ready {
        skipped.push(Skipped {
            section: "acquisition",
            reason:
                "needs marketing_spend (date, channel, spend) and customers.acquisition_channel"
                    .into(),
        });
        return Ok(None);
    }
    let channels = channel_economics(dataset).await?;
    let (clv_per_customer, clv_source) = value_by_channel(features, clv, &channels)?;
    Ok(Some(Acquisition {
        channels,
        clv_per_customer,
        clv_source,
    }))
}
