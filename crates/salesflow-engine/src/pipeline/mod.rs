//! Sales pipeline metrics from `deals` and `stage_events`: how deals move through the stages,
//! how many are won and how fast, which open deals have stalled, and what the open pipeline
//! is worth by expected close month.
//!
//! # How the history is read
//!
//! - **Stages.** The open stages come in pipeline order, from [`PipelineOptions::stages`] or
//!   learned from the history: a stage's position in a deal is the 1-based place of its first
//!   event in the deal's time-ordered events; the stages are ordered by their median position
//!   over the deals that have them (ties: mean position, then the stage more deals have, then
//!   the name). Stages only seen in `deals.stage` follow, by name. `won` and `lost` (also
//!   spelled `closed won`, `Closed-Lost`, ... in any case) are the end stages, never open
//!   ones.
//! - **Status.** `deals.status` (`open`, `won`, `lost`, any case) says whether a deal is open,
//!   won or lost, whatever its events say. Without a status (or with another word) the
//!   `stage` column decides: a won or lost stage, else open.
//! - **Reached.** A deal reached the furthest open stage it ever entered (by its events or its
//!   `stage` column) and every open stage before that one: a deal that skipped a stage counts
//!   as having passed it. A won deal, or one with a `won` event, passed every open stage. A
//!   deal that went back to an earlier stage, or was reopened, keeps the furthest stage it
//!   reached. A deal without stage events reached the stage in its `stage` column (and the
//!   ones before it), entered at `created_at`; a lost one without events reached none.
//! - **Time in stage.** A deal's events are taken in time order (events at the same moment
//!   in stage order: the given order, else by name, won and lost last). A visit of a stage
//!   lasts from its event to the deal's next event, and a stage visited twice adds both
//!   visits. The last visit of a closed deal ends at `closed_at` (unknown without it, or when
//!   `closed_at` is before the visit); the last visit of an open deal is still running. A
//!   deal whose visits of a stage are not all known is left out of that stage's times.
//! - **Current stage and last change.** An open deal's last stage change is its latest stage
//!   event (or `created_at` without events); its current stage is that event's stage, or
//!   else its `stage` column's, or else the furthest open stage it reached.
//!
//! # Which deals
//!
//! Everything is computed over the deals created in [`PipelineOptions::period`] (all deals
//! without one) and their events; events of deals not in `deals` are ignored. `as_of`
//! defaults to the latest timestamp of the whole data. The stage model used to score the
//! open deals ([`LearnedStage`]: win probability, stall threshold, days to close) is learned
//! from all the period's deals, not per slice, so a deal is stalled or weighted the same way
//! whichever slice it is in, and the slices' weighted pipelines add up to the overall one.
//! A `deal_id` listed twice keeps its earliest-created row.
//!
//! The definitions are also in `docs/metrics.md` (`## Pipeline`).
//!
//! # How it runs
//!
//! DataFusion filters the deals and sorts the period's stage events by deal and time (the
//! heavy part); one pass over the sorted events gives each deal a compact row, and the
//! per-stage arithmetic is done on those rows (see the `query` module's notes on why not a
//! window function).

mod compute;
mod query;
mod snapshots;
#[cfg(test)]
mod tests;

pub use snapshots::{DealFacts, DealHistory, DealSnapshot, deal_history};
use std::collections::HashMap;

use chrono::{NaiveDate, NaiveDateTime};
use salesflow_core::TableKind;

use crate::Dataset;
use crate::error::{EngineError, Location, Result};

/// The smallest default stall threshold, in days: a stage whose deals usually move on within
/// days still gets a week before its open deals count as stalled.
pub const STALL_FLOOR_DAYS: f64 = 7.0;

/// The stall threshold, in days, of a stage without a given threshold and without any deal
/// whose time in it is known.
pub const STALL_DAYS_WITHOUT_HISTORY: f64 = 30.0;

/// A column to cut the pipeline metrics by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Dimension {
    /// `deals.pipeline`.
    Pipeline,
    /// `deals.owner`.
    Owner,
    /// `deals.source`.
    Source,
    /// The UTC calendar month of `deals.created_at`, as `YYYY-MM`.
    CreatedMonth,
}

impl Dimension {
    /// The `deals` column the dimension comes from.
    pub fn column(self) -> &'static str {
        match self {
            Dimension::Pipeline => "pipeline",
            Dimension::Owner => "owner",
            Dimension::Source => "source",
            Dimension::CreatedMonth => "created_at",
        }
    }
}

/// What to compute, and how.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PipelineOptions {
    /// The open stages in pipeline order; `None` learns the order from the stage history (see
    /// the [module documentation](self)). A stage in the data that is not listed is an input
    /// error; `won`/`lost` in the list are ignored (they are always the end stages).
    pub stages: Option<Vec<String>>,
    /// The moment the metrics are taken at, UTC (for stalled deals and overdue expected
    /// closes); `None` = the latest timestamp in `deals` and `stage_events`.
    pub as_of: Option<NaiveDateTime>,
    /// Stall thresholds in days per stage name. A stage without one gets the 90th percentile of
    /// the days deals spent in it before moving on, at least [`STALL_FLOOR_DAYS`]
    /// ([`STALL_DAYS_WITHOUT_HISTORY`] when no deal's time in it is known).
    pub stall_days: HashMap<String, f64>,
    /// A target (quota) to measure the open pipeline against; it applies to every slice.
    pub coverage_target: Option<f64>,
    /// Also compute the metrics for each value of this column.
    pub slice: Option<Dimension>,
    /// Only deals created from the first to the second date, both included (UTC days).
    pub period: Option<(NaiveDate, NaiveDate)>,
}

/// The metrics of one open stage, over the deals of one slice.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StageMetrics {
    /// The stage.
    pub stage: String,
    /// Deals that reached this stage (or skipped it on the way to a later one, or won).
    pub reached: u64,
    /// Of those, still open.
    pub reached_open: u64,
    /// Of those, won.
    pub reached_won: u64,
    /// Of those, lost.
    pub reached_lost: u64,
    /// Open deals whose current stage this is.
    pub open: u64,
    /// Deals that reached the next stage (for the last open stage: that won, or had a `won`
    /// event) / `reached`. Open deals still here are in the denominator.
    pub to_next: Option<f64>,
    /// The same, without the open deals whose furthest stage is this one (they may still move
    /// on): reached next / (reached − open deals still here).
    pub to_next_resolved: Option<f64>,
    /// Won / `reached` (open deals in the denominator: a lower bound while they are open).
    pub to_won: Option<f64>,
    /// The stage's win probability learned from history: won / (won + lost) among the deals
    /// that reached it (open deals left out). `None` when none of them is closed.
    pub win_probability: Option<f64>,
    /// Mean days in the stage, per deal (a revisited stage adds its visits).
    pub days_mean: Option<f64>,
    /// Median days in the stage, per deal.
    pub days_median: Option<f64>,
    /// Deals whose time in the stage is known (the means' count).
    pub days_deals: u64,
}

/// An open deal that has not changed stage for longer than its stage's threshold.
#[derive(Debug, Clone, PartialEq)]
pub struct StalledDeal {
    /// The deal.
    pub deal_id: String,
    /// Its current stage.
    pub stage: String,
    /// Days from its last stage change to `as_of`.
    pub days_since_change: f64,
    /// The stage's stall threshold in days.
    pub threshold_days: f64,
    /// The deal's amount.
    pub amount: f64,
    /// The deal's owner, when known.
    pub owner: Option<String>,
}

/// Open deals expected to close in one month.
#[derive(Debug, Clone, PartialEq)]
pub struct CloseMonth {
    /// `YYYY-MM` (UTC).
    pub month: String,
    /// Open deals.
    pub deals: u64,
    /// Their amount.
    pub amount: f64,
    /// Their amount × win probability.
    pub weighted: f64,
}

/// The open pipeline against a target.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Coverage {
    /// The target.
    pub target: f64,
    /// Weighted open pipeline / target.
    pub weighted: f64,
    /// Open pipeline amount / target.
    pub unweighted: f64,
}

/// All metrics over one set of deals (every deal, or one slice value's).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PipelineSlice {
    /// The slice value: `None` for the overall metrics; in [`PipelineMetrics::slices`], `None`
    /// holds the deals without a value in the slice column.
    pub value: Option<String>,
    /// One entry per open stage, in pipeline order.
    pub stages: Vec<StageMetrics>,
    /// Deals.
    pub deals: u64,
    /// Open deals.
    pub open: u64,
    /// Won deals.
    pub won: u64,
    /// Lost deals.
    pub lost: u64,
    /// Total amount of the won deals.
    pub won_amount: f64,
    /// Total amount of the open deals.
    pub open_amount: f64,
    /// Σ amount × [`LearnedStage::win_probability`] of the open deals' current stages.
    pub weighted_amount: f64,
    /// won / (won + lost).
    pub win_rate: Option<f64>,
    /// Mean amount of the won deals.
    pub average_deal_size: Option<f64>,
    /// Mean days from `created_at` to close of the won deals (close = `closed_at`, or the last
    /// stage event without it).
    pub cycle_days_mean: Option<f64>,
    /// Median of the same.
    pub cycle_days_median: Option<f64>,
    /// Won deals whose cycle is known.
    pub cycle_deals: u64,
    /// Sales velocity: open deals × win rate × average deal size / mean cycle days.
    pub velocity_per_day: Option<f64>,
    /// The same over 30 days.
    pub velocity_per_30_days: Option<f64>,
    /// Stalled open deals, longest stalled first: open deals whose days since their last
    /// stage change exceed their current stage's [`LearnedStage::stall_days`].
    pub stalled: Vec<StalledDeal>,
    /// The open pipeline by expected close month, in month order. An open deal's expected
    /// close is its last stage change plus its current stage's
    /// [`LearnedStage::days_to_close`] (the median sales cycle when the stage has none, 0
    /// without any won deal); an expected close before `as_of` counts in `as_of`'s month.
    pub by_close_month: Vec<CloseMonth>,
    /// The open pipeline against [`PipelineOptions::coverage_target`].
    pub coverage: Option<Coverage>,
}

/// What the stage model learned from history (all deals in the period), used to score the
/// open deals in every slice.
#[derive(Debug, Clone, PartialEq)]
pub struct LearnedStage {
    /// The stage.
    pub stage: String,
    /// Median position in the deals' event sequences (when the order was learned and the
    /// stage has events).
    pub median_position: Option<f64>,
    /// Win probability of an open deal in this stage: the stage's
    /// [`StageMetrics::win_probability`] over all deals, or the overall win rate when no
    /// closed deal reached the stage, or 0 without any closed deal.
    pub win_probability: f64,
    /// Stall threshold in days.
    pub stall_days: f64,
    /// Whether [`LearnedStage::stall_days`] was given in the options (rather than learned).
    pub stall_days_given: bool,
    /// Median days from (the last) entry into this stage to close, over won deals that were
    /// in it; `None` without such deals.
    pub days_to_close: Option<f64>,
}

/// The pipeline metrics: overall, and per slice value when sliced.
#[derive(Debug, Clone, PartialEq)]
pub struct PipelineMetrics {
    /// The open stages, in pipeline order.
    pub stages: Vec<String>,
    /// The moment stalled deals and expected closes are measured at (UTC).
    pub as_of: NaiveDateTime,
    /// The stage model, one entry per open stage.
    pub learned: Vec<LearnedStage>,
    /// Over all deals (in the period).
    pub overall: PipelineSlice,
    /// The slice column, when sliced.
    pub dimension: Option<Dimension>,
    /// One per value of the slice column, by value (deals without a value last).
    pub slices: Vec<PipelineSlice>,
}

/// Computes the pipeline metrics over the `deals` (and `stage_events`, when loaded) tables.
///
/// Errors: no `deals` table, a data stage missing from a given stage list, a slice column
/// without values, or invalid options (a period that ends before it starts, a negative or
/// non-finite threshold or target) are input errors.
pub async fn pipeline_metrics(
    dataset: &Dataset,
    options: &PipelineOptions,
) -> Result<PipelineMetrics> {
    let deals = dataset.table(TableKind::Deals).ok_or_else(|| {
        EngineError::input(
            Location::default(),
            "no deals table is loaded",
            Some(
                "put deals.csv (deal_id, created_at, stage, amount[, status, closed_at, owner, \
                 ...]) and stage_events.csv (deal_id, stage, entered_at) in the --data folder"
                    .into(),
            ),
        )
    })?;
    validate_options(options)?;
    if let Some(dimension) = options.slice
        && dimension != Dimension::CreatedMonth
        && !deals.has_values(dimension.column())
    {
        return Err(EngineError::input(
            Location {
                file: Some(deals.report.file.clone()),
                line: None,
                column: None,
            },
            format!(
                "cannot slice by {0}: deals has no `{0}` values",
                dimension.column()
            ),
            Some(format!(
                "add a `{}` column to deals (or map yours to it), or slice by another column",
                dimension.column()
            )),
        ));
    }
    let table = query::load(dataset, options).await?;
    Ok(compute::metrics(table, options))
}

fn validate_options(options: &PipelineOptions) -> Result<()> {
    let bad = |message: String, hint: &str| {
        Err(EngineError::input(
            Location::default(),
            message,
            Some(hint.into()),
        ))
    };
    if let Some((from, to)) = options.period
        && to < from
    {
        return bad(
            format!("the period ends ({to}) before it starts ({from})"),
            "give the period as FROM..TO with FROM on or before TO",
        );
    }
    for (stage, days) in &options.stall_days {
        if !days.is_finite() || *days < 0.0 {
            return bad(
                format!("the stall threshold of stage `{stage}` is {days} days"),
                "stall thresholds are days, zero or more",
            );
        }
    }
    if let Some(target) = options.coverage_target
        && !(target.is_finite() && target > 0.0)
    {
        return bad(
            format!("the coverage target is {target}"),
            "the coverage target is an amount above zero",
        );
    }
    Ok(())
}
