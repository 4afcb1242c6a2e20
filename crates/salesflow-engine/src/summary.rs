//! Per-customer summaries, as DataFusion SQL over the cleaned `orders` table.
//!
//! The buy-till-you-die summary is defined exactly as the CLV literature and the `lifetimes`
//! library define it:
//! - only purchases count: refunded and cancelled orders are skipped;
//! - purchases of a customer on the same day merge into one (with `merge = unit`, in the same
//!   calendar week (Monday to Sunday) or month, as lifetimes does for `freq="W"`/`"M"`);
//! - `frequency` = number of purchase periods after the first;
//! - `recency` = time from the first to the last purchase period;
//! - `T` = time from the first purchase period to the end of the calibration period;
//! - `monetary_value` = mean value of the repeat purchase periods (the first is excluded;
//!   0 when frequency is 0);
//! - times in the chosen unit (day, week = 7 days, month = 365.2425/12 days).
//!
//! With a calibration end and an observation end, customers first seen in the calibration
//! period also get `frequency_holdout` (purchase periods after the calibration end, up to
//! and including the observation end), `monetary_value_holdout` (their mean value, 0 if none)
//! and `duration_holdout` (the holdout length).

use std::sync::Arc;

use chrono::{Datelike, NaiveDate};
use datafusion::arrow::array::{Array, AsArray};
use datafusion::arrow::datatypes::{Int64Type, SchemaRef};
use datafusion::arrow::record_batch::RecordBatch;
use salesflow_core::{TableKind, TimeUnit};

use crate::dataset::Dataset;
use crate::error::{EngineError, Location, Result};
use crate::ingest::rules::{CANCELLED, REFUNDED};

/// Which purchases merge into one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MergePeriod {
    /// Purchases on the same calendar day (UTC).
    #[default]
    Day,
    /// Purchases in the same period of the time unit (calendar week starting Monday, calendar
    /// month), as lifetimes' `freq` does.
    Unit,
}

/// What to summarise.
#[derive(Debug, Clone, Default)]
pub struct SummaryOptions {
    /// The unit of recency, T and durations.
    pub time_unit: TimeUnit,
    /// Which purchases merge into one.
    pub merge: MergePeriod,
    /// Last day (inclusive) of the calibration period; defaults to the observation end, else
    /// the last purchase day.
    pub calibration_end: Option<NaiveDate>,
    /// Last day (inclusive) observed; with a calibration end, adds the holdout columns.
    pub observation_end: Option<NaiveDate>,
    /// Add the plain RFM facts: first and last order, order count, revenue, average order value.
    pub facts: bool,
}

/// The summary table and the period it covers.
#[derive(Debug, Clone)]
pub struct Summary {
    /// Columns: customer_id, frequency, recency, T, monetary_value, then the holdout columns
    /// and the facts when asked for.
    pub schema: SchemaRef,
    /// One row per customer, ordered by customer_id.
    pub batches: Vec<RecordBatch>,
    /// The calibration end used.
    pub calibration_end: NaiveDate,
    /// The observation end used for the holdout, if any.
    pub holdout_end: Option<NaiveDate>,
}

impl Summary {
    /// Number of customers summarised.
    pub fn num_rows(&self) -> usize {
        self.batches.iter().map(RecordBatch::num_rows).sum()
    }
}

const EPOCH_DAYS_CE: i32 = 719_163;

fn day_number(date: NaiveDate) -> i32 {
    date.num_days_from_ce() - EPOCH_DAYS_CE
}

fn date_of(day: i32) -> NaiveDate {
    NaiveDate::from_num_days_from_ce_opt(day + EPOCH_DAYS_CE).unwrap_or_default()
}

/// The columns of `orders` the summaries read (a command that only summarises reads no
/// others: `ReadOptions::used_columns`).
pub const ORDERS_COLUMNS_USED: &[&str] = &["customer_id", "ordered_at", "amount", "status"];

/// Pieces per core of the summary's aggregation by customer (see [`customer_summary`]).
const AGGREGATION_PIECES_PER_CORE: usize = 8;

/// The SQL predicate that selects purchases from `orders`.
pub fn purchase_predicate() -> String {
    format!("(status IS NULL OR status NOT IN ('{REFUNDED}', '{CANCELLED}'))")
}

/// The first day of the merge period that contains `day`.
fn period_start(day: i32, unit: TimeUnit, merge: MergePeriod) -> i32 {
    match (merge, unit) {
        (MergePeriod::Day, _) | (MergePeriod::Unit, TimeUnit::Day) => day,
        (MergePeriod::Unit, TimeUnit::Week) => day - (day + 3).rem_euclid(7),
        (MergePeriod::Unit, TimeUnit::Month) => {
            let d = date_of(day);
            day - (d.day() as i32 - 1)
        }
    }
}

use crate::parse::datetime::MICROS_PER_DAY;

/// SQL for the UTC day number (days since 1970-01-01) of `ordered_at`.
///
/// Integer arithmetic on the microseconds rather than `CAST(ordered_at AS DATE)`: the cast
/// goes through time-zone handling; on 10 M orders the filter and projection that compute
/// days took 1.8 s of CPU with the casts and 0.86 s with this (`EXPLAIN ANALYZE`). The double modulo
/// makes the division a floor for days before 1970.
fn day_sql() -> String {
    let us = "CAST(ordered_at AS BIGINT)";
    format!(
        "(({us} - (({us} % {MICROS_PER_DAY}) + {MICROS_PER_DAY}) % {MICROS_PER_DAY}) / {MICROS_PER_DAY})"
    )
}

/// SQL for the period-start day number of each order.
fn period_sql(unit: TimeUnit, merge: MergePeriod) -> String {
    let day = day_sql();
    match (merge, unit) {
        (MergePeriod::Day, _) | (MergePeriod::Unit, TimeUnit::Day) => day,
        (MergePeriod::Unit, TimeUnit::Week) => format!("({day} - ((({day} + 3) % 7) + 7) % 7)"),
        (MergePeriod::Unit, TimeUnit::Month) => {
            "CAST(CAST(CAST(date_trunc('month', ordered_at) AS DATE) AS INT) AS BIGINT)".to_string()
        }
    }
}

/// The first microsecond after day `day` (the exclusive upper bound of purchases up to it).
fn end_of_day_micros(day: i32) -> i64 {
    (i64::from(day) + 1) * MICROS_PER_DAY
}

/// Builds the summary SQL for the given period bounds (day numbers since 1970-01-01), for
/// orders whose last purchase is on day `last_purchase`.
///
/// One aggregation by customer, `purchase_periods` (see its module), does what would be two
/// in plain SQL (by customer and period, then by customer): merging same-period purchases,
/// counting the periods, and summing the values exactly.
pub fn summary_sql(
    options: &SummaryOptions,
    calibration_end: i32,
    holdout_end: Option<i32>,
    last_purchase: i32,
) -> String {
    let unit = options.time_unit.days();
    let period = period_sql(options.time_unit, options.merge);
    let end_period = period_start(calibration_end, options.time_unit, options.merge);
    let last_micros = end_of_day_micros(holdout_end.unwrap_or(calibration_end));
    // Ends at or after the last purchase select every purchase: no filter by time then (it
    // computed each order's period a second time; on bench/clv the FilterExec took 82 ms of
    // CPU with it and 32-46 ms without, in the plan metrics SALESFLOW_TIMINGS=1 prints).
    let everything = holdout_end.is_none() && calibration_end >= last_purchase;
    let (until_end, until_calibration_end) = match everything {
        true => (String::new(), String::new()),
        false => (
            format!(" AND CAST(ordered_at AS BIGINT) < {last_micros}"),
            format!(" WHERE period <= {end_period}"),
        ),
    };
    let mut sql = format!(
        "WITH purchases AS (
  SELECT customer_id, {period} AS period, amount, ordered_at
  FROM orders
  WHERE {purchase}{until_end}
),
customers AS (
  SELECT customer_id, purchase_periods(period, amount) AS p
  FROM purchases{until_calibration_end}
  GROUP BY customer_id
)",
        purchase = purchase_predicate(),
    );
    if let Some(end) = holdout_end {
        let end_micros = end_of_day_micros(end);
        sql.push_str(&format!(
            ",
holdout AS (
  SELECT customer_id, purchase_periods(period, amount) AS p
  FROM purchases
  WHERE period > {end_period} AND CAST(ordered_at AS BIGINT) < {end_micros}
  GROUP BY customer_id
)"
        ));
    }
    if options.facts {
        let cal_end = end_of_day_micros(calibration_end);
        sql.push_str(&format!(
            ",
facts AS (
  SELECT customer_id, MIN(ordered_at) AS first_order_at, MAX(ordered_at) AS last_order_at,
         COUNT(*) AS orders, SUM(amount) AS revenue
  FROM purchases WHERE CAST(ordered_at AS BIGINT) < {cal_end}
  GROUP BY customer_id
)"
        ));
    }
    sql.push_str(&format!(
        "
SELECT c.customer_id,
  CAST(c.p['periods'] - 1 AS BIGINT) AS frequency,
  CAST(c.p['last_period'] - c.p['first_period'] AS DOUBLE) / {unit:?} AS recency,
  CAST({end_period} - c.p['first_period'] AS DOUBLE) / {unit:?} AS \"T\",
  CASE WHEN c.p['periods'] > 1
    THEN c.p['repeat_total'] / CAST(c.p['periods'] - 1 AS DOUBLE) ELSE 0.0 END AS monetary_value"
    ));
    if let Some(end) = holdout_end {
        let duration = f64::from(end - calibration_end) / unit;
        sql.push_str(&format!(
            ",
  COALESCE(h.p['periods'], 0) AS frequency_holdout,
  COALESCE(h.p['total'] / CAST(h.p['periods'] AS DOUBLE), 0.0) AS monetary_value_holdout,
  {duration:?} AS duration_holdout"
        ));
    }
    if options.facts {
        sql.push_str(
            ",
  f.first_order_at, f.last_order_at, f.orders, f.revenue,
  f.revenue / CAST(f.orders AS DOUBLE) AS average_order_value",
        );
    }
    sql.push_str("\nFROM customers c");
    if holdout_end.is_some() {
        sql.push_str("\nLEFT JOIN holdout h ON h.customer_id = c.customer_id");
    }
    if options.facts {
        sql.push_str("\nLEFT JOIN facts f ON f.customer_id = c.customer_id");
    }
    sql.push_str("\nORDER BY c.customer_id");
    sql
}

fn bad_option(message: String, hint: &str) -> EngineError {
    EngineError::input(Location::default(), message, Some(hint.to_string()))
}

/// Every aggregate of the summary groups by customer, and a customer has a few orders: the
/// usual two phases (partial aggregates per input partition, repartitioned by customer, then
/// final ones) reduce almost nothing in the first and do the work twice. This rewrites each
/// such pair into one aggregation of the rows repartitioned by customer (DataFusion's
/// `SinglePartitioned` mode), which is what DataFusion plans itself when the input is already
/// partitioned by the group keys.
fn aggregate_once(
    plan: Arc<dyn datafusion::physical_plan::ExecutionPlan>,
) -> Result<Arc<dyn datafusion::physical_plan::ExecutionPlan>> {
    use datafusion::common::tree_node::{Transformed, TreeNode};
    use datafusion::physical_plan::Partitioning;
    use datafusion::physical_plan::aggregates::{AggregateExec, AggregateMode};
    use datafusion::physical_plan::repartition::RepartitionExec;
    let rewritten = plan.transform_up(|node| {
        let pair = node
            .downcast_ref::<AggregateExec>()
            .filter(|last| *last.mode() == AggregateMode::FinalPartitioned)
            .and_then(|last| last.input().downcast_ref::<RepartitionExec>())
            .and_then(|shuffle| {
                let first = shuffle.input().downcast_ref::<AggregateExec>()?;
                let plain = *first.mode() == AggregateMode::Partial
                    && !first.group_expr().is_empty()
                    && first.group_expr().groups().len() == 1;
                plain.then_some((shuffle, first))
            });
        let Some((shuffle, first)) = pair else {
            return Ok(Transformed::no(node));
        };
        let input = Arc::clone(first.input());
        let by_keys = Partitioning::Hash(
            first.group_expr().input_exprs(),
            shuffle.partitioning().partition_count(),
        );
        let once = AggregateExec::try_new(
            AggregateMode::SinglePartitioned,
            first.group_expr().clone(),
            first.aggr_expr().to_vec(),
            first.filter_expr().to_vec(),
            Arc::new(RepartitionExec::try_new(Arc::clone(&input), by_keys)?),
            input.schema(),
        )?;
        Ok(Transformed::yes(Arc::new(once) as _))
    })?;
    Ok(rewritten.data)
}

/// Computes the per-customer summary of the dataset's `orders`.
pub async fn customer_summary(dataset: &Dataset, options: &SummaryOptions) -> Result<Summary> {
    if dataset.table(TableKind::Orders).is_none() {
        return Err(bad_option(
            "the summary needs the orders table, and none was loaded".into(),
            "give --orders FILE, or a --data folder with orders.csv",
        ));
    }
    // The first and last purchase instants, made days here: the day of the extreme instant
    // is the extreme day, and the day expression over every row was most of this query's time
    // (60 of 110 ms of CPU on bench/clv's 3.3 M orders, `EXPLAIN ANALYZE`).
    let bounds = dataset
        .sql(&format!(
            "SELECT CAST(MIN(ordered_at) AS BIGINT), CAST(MAX(ordered_at) AS BIGINT) \
             FROM orders WHERE {}",
            purchase_predicate(),
        ))
        .await?;
    let day_of = |micros: i64| micros.div_euclid(MICROS_PER_DAY) as i32;
    let (first, last) = bounds
        .first()
        .filter(|b| b.num_rows() == 1 && b.column(0).is_valid(0))
        .map(|b| {
            (
                day_of(b.column(0).as_primitive::<Int64Type>().value(0)),
                day_of(b.column(1).as_primitive::<Int64Type>().value(0)),
            )
        })
        .ok_or_else(|| {
            bad_option(
                "orders holds no purchases: every row was rejected, refunded or cancelled".into(),
                "see the cleaning report (salesflow validate) for why",
            )
        })?;
    let calibration_end = options
        .calibration_end
        .or(options.observation_end)
        .map_or(last, day_number);
    if calibration_end < first {
        return Err(bad_option(
            format!(
                "the calibration end {} is before the first purchase ({})",
                date_of(calibration_end),
                date_of(first)
            ),
            "choose a --calibration-end within the order history",
        ));
    }
    let holdout_end = match (options.calibration_end, options.observation_end) {
        (Some(cal), Some(obs)) => {
            if obs <= cal {
                return Err(bad_option(
                    format!("the observation end {obs} is not after the calibration end {cal}"),
                    "--observation-end must come after --calibration-end",
                ));
            }
            Some(day_number(obs))
        }
        _ => None,
    };
    let sql = summary_sql(options, calibration_end, holdout_end, last);
    // The aggregation by customer in more pieces than cores: each piece's groups (hash
    // table, states, ids) then stay closer to the cache. On bench/clv (1 M customers, two
    // cores) four a core took the aggregation from ~600 to ~450 ms of CPU, of which sorting
    // the more pieces gave back ~60 (SALESFLOW_TIMINGS=1 shows the plan's metrics); with the
    // final sort no longer merging pieces, eight a core took "clv summary" from 0.378 to
    // 0.355 s (sixteen: 0.363; medians of seven interleaved runs).
    let mut state = dataset.context().state();
    let threads = state.config().target_partitions();
    let pieces = threads * AGGREGATION_PIECES_PER_CORE;
    state.config_mut().options_mut().execution.target_partitions = pieces;
    let logical = state.create_logical_plan(&sql).await?;
    let schema = Arc::new(logical.schema().as_arrow().clone());
    let task = datafusion::execution::TaskContext::from(&state);
    let plan = aggregate_once(state.create_physical_plan(&logical).await?)?;
    // The final sort by customer is done here, on every core (see `sorted_by_key`).
    let unsorted = crate::sorted_by_key::without_final_sort(&plan);
    let run = unsorted.as_ref().unwrap_or(&plan);
    let mut batches = datafusion::physical_plan::collect(Arc::clone(run), Arc::new(task)).await?;
    if unsorted.is_some() {
        batches = crate::sorted_by_key::sort_by_first_column(
            &schema,
            batches,
            state.config().batch_size(),
            threads,
        )?;
    }
    if std::env::var_os("SALESFLOW_TIMINGS").is_some() {
        // The plan with each operator's time and rows, for profiling (as EXPLAIN ANALYZE).
        let shown = datafusion::physical_plan::display::DisplayableExecutionPlan::with_metrics(
            run.as_ref(),
        );
        eprintln!("[timing] summary plan:\n{}", shown.indent(true));
    }
    Ok(Summary {
        schema,
        batches,
        calibration_end: date_of(calibration_end),
        holdout_end: holdout_end.map(date_of),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The summary's per-customer aggregates run in one phase after the rewrite (two before),
    /// with the same rows out.
    #[tokio::test]
    async fn each_customer_aggregate_runs_once() {
        use datafusion::physical_plan::displayable;
        let orders = "customer_id,ordered_at,amount\n\
                      a,2024-01-01,10\na,2024-01-09,20\nb,2024-01-02,5\nc,2024-01-03,7\n\
                      c,2024-01-04,8\nb,2024-01-20,1\n";
        let (_dir, dataset) = crate::test_support::dataset_of(&[(TableKind::Orders, orders)]);
        let end = day_number(NaiveDate::from_ymd_opt(2024, 1, 10).unwrap());
        let holdout_end = Some(day_number(NaiveDate::from_ymd_opt(2024, 1, 31).unwrap()));
        let options = SummaryOptions {
            facts: true,
            ..SummaryOptions::default()
        };
        let sql = summary_sql(&options, end, holdout_end, end);
        let plan = || async {
            dataset
                .context()
                .sql(&sql)
                .await
                .unwrap()
                .create_physical_plan()
                .await
                .unwrap()
        };
        let shape = |plan: &Arc<dyn datafusion::physical_plan::ExecutionPlan>| {
            displayable(plan.as_ref()).indent(true).to_string()
        };
        let two_phases = plan().await;
        assert!(
            shape(&two_phases).contains("mode=Partial"),
            "{}",
            shape(&two_phases)
        );
        let once = aggregate_once(plan().await).unwrap();
        let text = shape(&once);
        assert!(!text.contains("mode=Partial"), "{text}");
        assert_eq!(text.matches("mode=SinglePartitioned").count(), 3, "{text}");
        let task = dataset.context().task_ctx();
        let rows = |batches: Vec<RecordBatch>| {
            datafusion::arrow::util::pretty::pretty_format_batches(&batches)
                .unwrap()
                .to_string()
        };
        let before = datafusion::physical_plan::collect(two_phases, Arc::clone(&task));
        let after = datafusion::physical_plan::collect(once, task);
        assert_eq!(rows(before.await.unwrap()), rows(after.await.unwrap()));
    }

    #[test]
    fn periods_start_on_mondays_and_first_days() {
        let d = |s: &str| day_number(NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap());
        assert_eq!(d("1970-01-01"), 0);
        // 2024-03-07 is a Thursday; its week starts Monday 2024-03-04.
        assert_eq!(
            period_start(d("2024-03-07"), TimeUnit::Week, MergePeriod::Unit),
            d("2024-03-04")
        );
        assert_eq!(
            period_start(d("2024-03-04"), TimeUnit::Week, MergePeriod::Unit),
            d("2024-03-04")
        );
        assert_eq!(
            period_start(d("1969-12-31"), TimeUnit::Week, MergePeriod::Unit),
            d("1969-12-29")
        );
        assert_eq!(
            period_start(d("2024-02-29"), TimeUnit::Month, MergePeriod::Unit),
            d("2024-02-01")
        );
        assert_eq!(
            period_start(d("2024-02-29"), TimeUnit::Month, MergePeriod::Day),
            d("2024-02-29")
        );
    }
}
