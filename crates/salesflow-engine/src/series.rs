//! Time series for forecasting: read from a `series` table (date, value, optional series_id)
//! or built from the order history (revenue and orders per period, overall and per channel;
//! units per product), as one value per calendar period with the periods numbered so that
//! consecutive periods differ by one.
//!
//! Values in the same period of one series add up (daily rows read as months become monthly
//! totals). Periods are UTC calendar days, ISO weeks (Monday first), months, quarters or
//! years.

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate};
use datafusion::arrow::array::{Array, AsArray};
use datafusion::arrow::datatypes::{Float64Type, Int64Type};
use salesflow_core::TableKind;

use crate::Dataset;
use crate::error::{EngineError, Location, Result};
use crate::summary::purchase_predicate;

/// The calendar period of one observation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Frequency {
    /// UTC calendar days.
    Day,
    /// ISO weeks, Monday to Sunday.
    Week,
    /// Calendar months.
    Month,
    /// Calendar quarters.
    Quarter,
    /// Calendar years.
    Year,
}

impl Frequency {
    /// Periods per season: a week of days, a year of weeks, months or quarters.
    pub fn season_length(self) -> usize {
        match self {
            Frequency::Day => 7,
            Frequency::Week => 52,
            Frequency::Month => 12,
            Frequency::Quarter => 4,
            Frequency::Year => 1,
        }
    }

    /// The word for it: `day`, `week`, ...
    pub fn name(self) -> &'static str {
        match self {
            Frequency::Day => "day",
            Frequency::Week => "week",
            Frequency::Month => "month",
            Frequency::Quarter => "quarter",
            Frequency::Year => "year",
        }
    }

    /// Parses `day|week|month|quarter|year` (plural and `-ly` forms too).
    pub fn parse(text: &str) -> Option<Frequency> {
        match text.trim().to_ascii_lowercase().as_str() {
            "day" | "days" | "daily" | "d" => Some(Frequency::Day),
            "week" | "weeks" | "weekly" | "w" => Some(Frequency::Week),
            "month" | "months" | "monthly" | "m" => Some(Frequency::Month),
            "quarter" | "quarters" | "quarterly" | "q" => Some(Frequency::Quarter),
            "year" | "years" | "yearly" | "annual" | "y" => Some(Frequency::Year),
            _ => None,
        }
    }

    /// SQL giving the period number of the timestamp column `column`.
    fn period_sql(self, column: &str) -> String {
        let year = format!("CAST(date_part('year', {column}) AS BIGINT)");
        let month = format!("CAST(date_part('month', {column}) AS BIGINT)");
        let day = format!("CAST(floor(to_unixtime({column}) / 86400.0) AS BIGINT)");
        match self {
            Frequency::Day => day,
            // 1970-01-01 was a Thursday: shifting by 3 days starts weeks on Monday.
            Frequency::Week => format!("CAST(floor(({day} + 3) / 7.0) AS BIGINT)"),
            Frequency::Month => format!("({year} * 12 + {month} - 1)"),
            Frequency::Quarter => format!("({year} * 4 + ({month} - 1) / 3)"),
            Frequency::Year => year,
        }
    }

    /// The first day of period number `period`.
    pub fn start_of(self, period: i64) -> NaiveDate {
        let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).unwrap_or_default();
        let ymd = |year: i64, month0: i64| {
            NaiveDate::from_ymd_opt(year as i32, month0 as u32 + 1, 1).unwrap_or_default()
        };
        match self {
            Frequency::Day => epoch + chrono::Duration::days(period),
            Frequency::Week => epoch + chrono::Duration::days(period * 7 - 3),
            Frequency::Month => ymd(period.div_euclid(12), period.rem_euclid(12)),
            Frequency::Quarter => ymd(period.div_euclid(4), period.rem_euclid(4) * 3),
            Frequency::Year => ymd(period, 0),
        }
    }

    /// The period number of a date.
    pub fn period_of(self, date: NaiveDate) -> i64 {
        let days = (date - NaiveDate::from_ymd_opt(1970, 1, 1).unwrap_or_default()).num_days();
        let (year, month0) = (i64::from(date.year()), i64::from(date.month0()));
        match self {
            Frequency::Day => days,
            Frequency::Week => (days + 3).div_euclid(7),
            Frequency::Month => year * 12 + month0,
            Frequency::Quarter => year * 4 + month0 / 3,
            Frequency::Year => year,
        }
    }
}

/// One series: a value for every period from `first_period` on, oldest first.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// The series' name (`revenue`, `units/product=SKU-1`, or the file's series_id).
    pub id: String,
    /// Period number of `values[0]`.
    pub first_period: i64,
    /// One value per period.
    pub values: Vec<f64>,
}

/// What to do about a period without a row in a `series` table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gaps {
    /// Stop with an error naming the first missing period (default: a missing month is
    /// more often missing data than a month without sales).
    Error,
    /// Count the period as zero.
    Zero,
}

/// Series of the `series` table at `frequency` (inferred from the spacing of the dates when
/// `None`): the frequency and the series in id order.
pub async fn table_series(
    dataset: &Dataset,
    frequency: Option<Frequency>,
    gaps: Gaps,
) -> Result<(Frequency, Vec<Series>)> {
    let table = dataset.table(TableKind::Series).ok_or_else(|| {
        EngineError::input(
            Location::default(),
            "no series table is loaded",
            Some("give --series FILE with columns date,value[,series_id]".into()),
        )
    })?;
    let file = Some(table.report.file.clone());
    let frequency = match frequency {
        Some(f) => f,
        None => infer_frequency(dataset, file.clone()).await?,
    };
    let period = frequency.period_sql("date");
    let batches = dataset
        .sql(&format!(
            "SELECT COALESCE(series_id, '') AS id, {period} AS period, SUM(value) \
             FROM series GROUP BY 1, 2 ORDER BY 1, 2"
        ))
        .await?;
    let unnamed = table
        .report
        .file
        .file_stem()
        .map_or("series".to_string(), |s| s.to_string_lossy().into_owned());
    let mut series: Vec<Series> = Vec::new();
    for batch in &batches {
        let ids = batch.column(0).as_string_view();
        let periods = batch.column(1).as_primitive::<Int64Type>();
        let values = batch.column(2).as_primitive::<Float64Type>();
        for row in 0..batch.num_rows() {
            let (id, period, value) = (ids.value(row), periods.value(row), values.value(row));
            // Without a series_id column the one series is named after the file.
            let id = if id.is_empty() { unnamed.as_str() } else { id };
            match series.last_mut() {
                Some(last) if last.id == id => {
                    let expected = last.first_period + last.values.len() as i64;
                    if period > expected && gaps == Gaps::Error {
                        // A row rejected on reading (say, `NaN` as the value) is the usual
                        // cause of a hole: point at it.
                        let rejected = table
                            .report
                            .issues
                            .iter()
                            .find(|i| i.action == crate::report::Action::Rejected)
                            .map_or(String::new(), |i| {
                                format!(
                                    "{} row(s) were rejected on reading (the first, line {}: {}); fix them, or ",
                                    table.report.rows_rejected, i.line, i.message
                                )
                            });
                        return Err(EngineError::input(
                            Location {
                                file: file.clone(),
                                line: None,
                                column: Some("date".into()),
                            },
                            format!(
                                "series `{id}` has no value for the {} starting {} (the rows jump from the {} starting {} to the one starting {})",
                                frequency.name(),
                                frequency.start_of(expected),
                                frequency.name(),
                                frequency.start_of(expected - 1),
                                frequency.start_of(period),
                            ),
                            Some(format!(
                                "{rejected}add the missing periods, pass --fill-gaps zero to count them as zero, or --frequency with a coarser period"
                            )),
                        ));
                    }
                    last.values
                        .extend(std::iter::repeat_n(0.0, (period - expected) as usize));
                    last.values.push(value);
                }
                _ => series.push(Series {
                    id: id.to_owned(),
                    first_period: period,
                    values: vec![value],
                }),
            }
        }
    }
    Ok((frequency, series))
}

/// The frequency the smallest gap between two dates of one series suggests.
async fn infer_frequency(dataset: &Dataset, file: Option<std::path::PathBuf>) -> Result<Frequency> {
    let day = Frequency::Day.period_sql("date");
    let batches = dataset
        .sql(&format!(
            "SELECT MIN(gap) FROM (SELECT d - LAG(d) OVER (PARTITION BY id ORDER BY d) AS gap \
             FROM (SELECT DISTINCT COALESCE(series_id, '') AS id, {day} AS d FROM series)) \
             WHERE gap > 0"
        ))
        .await?;
    let gap = batches
        .iter()
        .find(|b| b.num_rows() > 0 && b.column(0).is_valid(0))
        .map(|b| b.column(0).as_primitive::<Int64Type>().value(0));
    let unknown = |what: String| {
        EngineError::input(
            Location {
                file: file.clone(),
                line: None,
                column: Some("date".into()),
            },
            what,
            Some("pass --frequency day|week|month|quarter|year".into()),
        )
    };
    match gap {
        None => Err(unknown(
            "cannot tell the frequency: no series has two different dates".into(),
        )),
        Some(1) => Ok(Frequency::Day),
        Some(7) => Ok(Frequency::Week),
        Some(28..=31) => Ok(Frequency::Month),
        Some(89..=92) => Ok(Frequency::Quarter),
        Some(365 | 366) => Ok(Frequency::Year),
        Some(days) => Err(unknown(format!(
            "cannot tell the frequency: the closest two dates of a series are {days} days apart, which is no calendar period"
        ))),
    }
}

/// What to build from the order history.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SalesSeriesOptions {
    /// The period.
    pub frequency: Frequency,
    /// Also revenue per channel (when orders have channels).
    pub by_channel: bool,
    /// Also units per product (when there are order lines), at most this many products, the
    /// best-selling first; 0 for none.
    pub products: usize,
    /// Keep the last period even when the data ends before its last day (it is complete, the
    /// last day just had no sale — a shop closed on Sundays at weekly frequency).
    pub keep_last_period: bool,
}

/// Revenue and order counts per period (purchases only: refunds and cancellations left out),
/// overall and per channel, and units sold per product; every series runs from its first sale
/// to the last complete period of the whole history, periods without sales counting zero. A last
/// period the data ends inside is left out (half a month of sales is not a month's), and
/// returned as its period number.
pub async fn sales_series(
    dataset: &Dataset,
    options: SalesSeriesOptions,
) -> Result<(Vec<Series>, Option<i64>)> {
    let orders = dataset.table(TableKind::Orders).ok_or_else(|| {
        EngineError::input(
            Location::default(),
            "no orders table is loaded",
            Some("put orders.csv (customer_id, ordered_at, amount) in the --data folder".into()),
        )
    })?;
    let purchase = purchase_predicate();
    let frequency = options.frequency;
    let period = frequency.period_sql("ordered_at");
    // One pass over the orders gives every period's revenue and count per channel, and from
    // them the totals and the history's bounds (four scans before: bounds, totals, channels).
    let rows = dataset
        .sql(&format!(
            "SELECT COALESCE(channel, '(none)'), {period} AS p, COALESCE(SUM(amount), 0), \
             COUNT(*), CAST(MAX(to_unixtime(ordered_at)) AS DOUBLE) \
             FROM orders WHERE {purchase} GROUP BY 1, 2"
        ))
        .await?;
    let mut by_channel: Vec<(String, i64, f64, f64)> = Vec::new();
    let mut end_seconds = f64::NEG_INFINITY;
    for batch in &rows {
        let channel = batch.column(0).as_string_view();
        let p = batch.column(1).as_primitive::<Int64Type>();
        let revenue = batch.column(2).as_primitive::<Float64Type>();
        let count = batch.column(3).as_primitive::<Int64Type>();
        let latest = batch.column(4).as_primitive::<Float64Type>();
        for row in 0..batch.num_rows() {
            end_seconds = end_seconds.max(latest.value(row));
            by_channel.push((
                channel.value(row).to_owned(),
                p.value(row),
                revenue.value(row),
                count.value(row) as f64,
            ));
        }
    }
    let (Some(first), Some(mut last)) = (
        by_channel.iter().map(|r| r.1).min(),
        by_channel.iter().map(|r| r.1).max(),
    ) else {
        return Ok((Vec::new(), None));
    };
    // The data ends inside its last period unless its last day is that period's last day.
    let end_date = chrono::DateTime::from_timestamp(end_seconds as i64, 0)
        .map(|t| t.date_naive())
        .unwrap_or_default();
    let next_start = frequency.start_of(last + 1);
    let partial =
        (!options.keep_last_period && end_date.succ_opt() != Some(next_start)).then_some(last);
    if partial.is_some() {
        last -= 1;
    }
    if last < first {
        return Ok((Vec::new(), partial));
    }
    let length = (last - first + 1) as usize;
    let mut out: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    let mut add = |name: String, p: i64, value: f64| {
        if (first..=last).contains(&p) {
            out.entry(name).or_insert_with(|| vec![0.0; length])[(p - first) as usize] += value;
        }
    };
    let channels = options.by_channel && orders.has_values("channel");
    for (channel, p, revenue, count) in by_channel {
        add("revenue".into(), p, revenue);
        add("orders".into(), p, count);
        if channels {
            add(format!("revenue/channel={channel}"), p, revenue);
        }
    }
    if options.products > 0 && dataset.table(TableKind::OrderLines).is_some() {
        let limit = options.products;
        let rows = dataset
            .sql(&format!(
                "WITH o AS (SELECT order_id, MIN({period}) AS p FROM orders WHERE {purchase} \
                 AND order_id IS NOT NULL GROUP BY order_id), \
                 u AS (SELECT l.product_id, o.p, SUM(l.quantity) AS units \
                 FROM order_lines l JOIN o ON l.order_id = o.order_id GROUP BY 1, 2), \
                 top AS (SELECT product_id FROM u GROUP BY product_id \
                 ORDER BY SUM(units) DESC, product_id LIMIT {limit}) \
                 SELECT u.product_id, u.p, CAST(u.units AS DOUBLE) FROM u \
                 JOIN top ON u.product_id = top.product_id"
            ))
            .await?;
        for batch in &rows {
            let product = batch.column(0).as_string_view();
            let p = batch.column(1).as_primitive::<Int64Type>();
            let units = batch.column(2).as_primitive::<Float64Type>();
            for row in 0..batch.num_rows() {
                add(
                    format!("units/product={}", product.value(row)),
                    p.value(row),
                    units.value(row),
                );
            }
        }
    }
    let order = |id: &str| match id {
        "revenue" => 0,
        "orders" => 1,
        _ if id.starts_with("revenue/") => 2,
        _ => 3,
    };
    // A channel or product that started late begins at its first sale: months of zeros
    // before it existed would read as intermittent demand and drag its forecast down.
    let mut series: Vec<Series> = out
        .into_iter()
        .filter_map(|(id, values)| {
            let start = values.iter().position(|&v| v != 0.0)?;
            Some(Series {
                id,
                first_period: first + start as i64,
                values: values[start..].to_vec(),
            })
        })
        .collect();
    series.sort_by(|a, b| {
        order(&a.id)
            .cmp(&order(&b.id))
            .then_with(|| a.id.cmp(&b.id))
    });
    Ok((series, partial))
}

/// One row of the `calendar` table, on the forecast's periods.
#[derive(Debug, Clone, PartialEq)]
pub struct CalendarEvent {
    /// The series it concerns (`None`: every series).
    pub series: Option<String>,
    /// Period number.
    pub period: i64,
    /// The event's name.
    pub event: String,
    /// Its size in that period: the rows' `value`s added up (1 per row without one).
    pub value: f64,
}

/// The `calendar` table's events per period, empty when there is none.
pub async fn calendar_events(
    dataset: &Dataset,
    frequency: Frequency,
) -> Result<Vec<CalendarEvent>> {
    if dataset.table(TableKind::Calendar).is_none() {
        return Ok(Vec::new());
    }
    let period = frequency.period_sql("date");
    let batches = dataset
        .sql(&format!(
            "SELECT series_id, {period} AS p, event, SUM(COALESCE(value, 1.0)) FROM calendar \
             GROUP BY 1, 2, 3 ORDER BY 3, 1, 2"
        ))
        .await?;
    let mut events = Vec::new();
    for batch in &batches {
        let series = batch.column(0).as_string_view();
        let periods = batch.column(1).as_primitive::<Int64Type>();
        let names = batch.column(2).as_string_view();
        let values = batch.column(3).as_primitive::<Float64Type>();
        for row in 0..batch.num_rows() {
            events.push(CalendarEvent {
                series: series.is_valid(row).then(|| series.value(row).to_owned()),
                period: periods.value(row),
                event: names.value(row).to_owned(),
                value: values.value(row),
            });
        }
    }
    Ok(events)
}
