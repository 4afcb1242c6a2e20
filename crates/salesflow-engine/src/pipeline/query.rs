//! Reading the deals and their stage histories.
//!
//! SQL filters the deals to the period and sorts the period's stage events by deal and time
//! (the heavy part: a parallel sort); one linear pass over the sorted events then gives each
//! deal its facts (last event, furthest stage, per open stage the last entry and the summed
//! length of its finished visits) and, when the order is learned, each stage's first position
//! in each deal's sequence.
//!
//! Why not a window function: `LEAD(entered_at) OVER (PARTITION BY deal_id ORDER BY
//! entered_at)` took 3.6 s of CPU in `EXPLAIN ANALYZE` on 200,000 deals / 830,000 events (the
//! window operator pays per partition), and a global-order `LEAD` with the per-deal pivot
//! aggregation (`CASE` per stage) and join 1.2 s; the sort alone takes about 0.2 s, and the
//! pass over its output a few tens of milliseconds.

use std::collections::HashMap;

use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, Float64Array, Int64Array, RecordBatch, StringArray, StringViewArray,
};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Float64Type, Int64Type};
use salesflow_core::TableKind;

use super::PipelineOptions;
use super::compute::{mean, median};
use crate::Dataset;
use crate::error::{EngineError, Location, Result};

/// Microseconds in a day.
pub(super) const DAY_US: f64 = 86_400_000_000.0;

/// Whether a deal is open, won or lost.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Status {
    Open,
    Won,
    Lost,
}

/// An end stage or status word: `won`, `closed won`, `Closed-Won`, ... and the same for lost.
pub(super) fn end_status(name: &str) -> Option<Status> {
    let word: String = name
        .chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect();
    match word.as_str() {
        "won" | "closedwon" => Some(Status::Won),
        "lost" | "closedlost" => Some(Status::Lost),
        _ => None,
    }
}

/// One deal, compacted.
#[derive(Debug, Clone)]
pub(super) struct Deal {
    pub id: String,
    /// `created_at`, µs.
    pub created: i64,
    pub amount: f64,
    pub status: Status,
    /// `closed_at`, µs.
    pub closed_at: Option<i64>,
    pub pipeline: Option<String>,
    pub owner: Option<String>,
    pub source: Option<String>,
    pub has_events: bool,
    /// The latest stage event, or `created_at` without events, µs.
    pub last_change: i64,
    /// The stage index of that event (or of the `stage` column): `0..n` open stages, `n` won,
    /// `n + 1` lost.
    pub last_idx: Option<usize>,
    /// The `stage` column's index.
    pub stage_idx: Option<usize>,
    /// The furthest stage reached, `0..=n` (`n` = won).
    pub furthest: Option<usize>,
}

/// The deals of the period and their per-stage facts.
#[derive(Debug, Clone, Default)]
pub(super) struct DealTable {
    /// The open stages in order.
    pub stages: Vec<String>,
    /// Median event position per stage, when learned.
    pub median_positions: Vec<Option<f64>>,
    pub deals: Vec<Deal>,
    /// `deals.len() × stages.len()`: days in each stage, when fully known.
    pub days: Vec<Option<f64>>,
    /// `deals.len() × stages.len()`: the last entry into each stage (µs), from the events.
    pub entries: Vec<Option<i64>>,
    /// The moment of the metrics, µs.
    pub as_of: i64,
}

/// Every stage name of the period's deals and their events, with a deal that has it.
#[derive(Debug, Default)]
struct Names {
    ids: HashMap<String, u32>,
    names: Vec<String>,
    /// The first deal (by id) with an event of the stage.
    in_events: Vec<Option<String>>,
    /// The first deal (by id) whose `stage` column holds it.
    in_deals: Vec<Option<String>>,
}

impl Names {
    /// The id of `name`, registering it when new.
    fn id(&mut self, name: &str) -> usize {
        if let Some(&id) = self.ids.get(name) {
            return id as usize;
        }
        let id = self.names.len();
        self.ids.insert(name.to_owned(), id as u32);
        self.names.push(name.to_owned());
        self.in_events.push(None);
        self.in_deals.push(None);
        id
    }
}

/// Reads everything the metrics need from the dataset.
pub(super) async fn load(dataset: &Dataset, options: &PipelineOptions) -> Result<DealTable> {
    let has_events = dataset.table(TableKind::StageEvents).is_some();
    let period = period_filter(options);
    let mut names = Names::default();
    let deal_batches = dataset
        .sql(&format!(
            "SELECT deal_id, CAST(created_at AS BIGINT) AS created_us, stage, \
             CAST(amount AS DOUBLE) AS amount, CAST(closed_at AS BIGINT) AS closed_us, status, \
             pipeline, owner, source FROM deals WHERE {}",
            period.as_deref().unwrap_or("TRUE"),
        ))
        .await?;
    let mut rows = DealRows::read(&deal_batches, &mut names)?;
    drop(deal_batches);
    let mut events = if has_events {
        let in_period = match &period {
            Some(period) => format!(" AND deal_id IN (SELECT deal_id FROM deals WHERE {period})"),
            None => String::new(),
        };
        let batches = dataset
            .sql(&format!(
                "SELECT deal_id, stage, CAST(entered_at AS BIGINT) AS t FROM stage_events \
                 WHERE entered_at IS NOT NULL AND stage IS NOT NULL{in_period} \
                 ORDER BY deal_id, t"
            ))
            .await?;
        sorted_events(&batches, &rows.index, &mut names)?
    } else {
        Vec::new()
    };
    rows.index = HashMap::new();

    let given = match &options.stages {
        Some(given) => Some(given_stages(dataset, given, &names)?),
        None => None,
    };
    // Events at the same moment: the given open stages in order (other open stages by name),
    // then won, then lost.
    let tie = tie_order(&names.names, given.as_deref());
    for run in events.chunk_by_mut(|a, b| a.deal == b.deal) {
        run.sort_by_key(|e| (e.t, tie[e.sid as usize]));
    }
    let (stages, median_positions) = match given {
        Some(stages) => {
            let none = vec![None; stages.len()];
            (stages, none)
        }
        None => learned_stages(&events, &names)?,
    };
    for stage in options.stall_days.keys() {
        if !stages.contains(stage) {
            return Err(EngineError::input(
                Location::default(),
                format!("a stall threshold is given for `{stage}`, which is not an open stage"),
                Some(format!("the open stages are: {}", stages.join(", "))),
            ));
        }
    }
    let as_of = match options.as_of {
        Some(t) => t.and_utc().timestamp_micros(),
        None => latest_timestamp(dataset, has_events)
            .await?
            .unwrap_or_else(|| chrono::Utc::now().timestamp_micros()),
    };
    let mut table = rows.finish(&events, &names.names, &stages);
    table.stages = stages;
    table.median_positions = median_positions;
    table.as_of = as_of;
    Ok(table)
}

/// Each stage id's rank among events at the same moment.
fn tie_order(names: &[String], given: Option<&[String]>) -> Vec<u32> {
    let mut order: Vec<usize> = (0..names.len()).collect();
    order.sort_by_key(|&j| {
        let name = names[j].as_str();
        let class = match end_status(name) {
            None => 0,
            Some(Status::Won) => 1,
            Some(_) => 2,
        };
        let place = given
            .and_then(|g| g.iter().position(|s| s == name))
            .unwrap_or(usize::MAX);
        (class, place, name)
    });
    let mut rank = vec![0; names.len()];
    for (r, &j) in order.iter().enumerate() {
        rank[j] = r as u32;
    }
    rank
}

/// The SQL condition on `created_at` for the period (`None` without one).
fn period_filter(options: &PipelineOptions) -> Option<String> {
    let (from, to) = options.period?;
    let start = from.and_time(chrono::NaiveTime::MIN).and_utc();
    let end = to.and_time(chrono::NaiveTime::MIN).and_utc() + chrono::Duration::days(1);
    Some(format!(
        "CAST(created_at AS BIGINT) >= {} AND CAST(created_at AS BIGINT) < {}",
        start.timestamp_micros(),
        end.timestamp_micros()
    ))
}

/// The user's stage list, checked against the data.
fn given_stages(dataset: &Dataset, given: &[String], names: &Names) -> Result<Vec<String>> {
    let mut stages: Vec<String> = Vec::new();
    for stage in given {
        let stage = stage.trim();
        if end_status(stage).is_some() {
            continue;
        }
        if stages.iter().any(|s| s == stage) {
            return Err(EngineError::input(
                Location::default(),
                format!("stage `{stage}` is listed twice"),
                Some("list each open stage once, in pipeline order".into()),
            ));
        }
        stages.push(stage.to_owned());
    }
    // The events' stages by name, then the deals'.
    let mut unknown: Vec<(TableKind, &str, &str)> = Vec::new();
    for (kind, examples) in [
        (TableKind::StageEvents, &names.in_events),
        (TableKind::Deals, &names.in_deals),
    ] {
        let mut found: Vec<(TableKind, &str, &str)> = names
            .names
            .iter()
            .zip(examples)
            .filter_map(|(name, deal)| Some((kind, name.as_str(), deal.as_deref()?)))
            .filter(|(_, name, _)| end_status(name).is_none() && !stages.iter().any(|s| s == name))
            .collect();
        found.sort_by_key(|f| f.1);
        unknown.extend(found);
    }
    if let Some(&(kind, name, example)) = unknown.first() {
        return Err(EngineError::input(
            Location {
                file: dataset.table(kind).map(|t| t.report.file.clone()),
                line: None,
                column: Some("stage".into()),
            },
            format!(
                "stage `{name}` (deal {example}) is not in the given stages ({})",
                stages.join(", ")
            ),
            Some(format!(
                "add `{name}` to the stages in pipeline order, or leave the stages out to learn \
                 the order from stage_events"
            )),
        ));
    }
    Ok(stages)
}

/// The open stages ordered by their median first position in the deals' event sequences
/// (ties: mean position, then more deals first, then name), then the stages only seen in
/// `deals.stage` by name.
fn learned_stages(events: &[Event], names: &Names) -> Result<(Vec<String>, Vec<Option<f64>>)> {
    // Per stage id: the position (1-based) of its first event in each deal's sequence.
    let m = names.names.len();
    let mut positions: Vec<Vec<f64>> = vec![Vec::new(); m];
    let mut first_seen = vec![usize::MAX; m];
    for (run, deal) in events.chunk_by(|a, b| a.deal == b.deal).enumerate() {
        for (i, event) in deal.iter().enumerate() {
            let sid = event.sid as usize;
            if first_seen[sid] != run {
                first_seen[sid] = run;
                positions[sid].push((i + 1) as f64);
            }
        }
    }
    let mut learned: Vec<(f64, f64, usize, &str)> = Vec::new();
    for (name, list) in names.names.iter().zip(&mut positions) {
        if end_status(name).is_some() {
            continue;
        }
        let (Some(median), Some(mean)) = (median(list), mean(list)) else {
            continue;
        };
        learned.push((median, mean, list.len(), name));
    }
    learned.sort_by(|a, b| {
        a.0.total_cmp(&b.0)
            .then(a.1.total_cmp(&b.1))
            .then(b.2.cmp(&a.2))
            .then(a.3.cmp(b.3))
    });
    let mut stages: Vec<String> = learned.iter().map(|l| l.3.to_owned()).collect();
    let mut medians: Vec<Option<f64>> = learned.iter().map(|l| Some(l.0)).collect();
    let mut extra: Vec<&str> = names
        .names
        .iter()
        .zip(&names.in_deals)
        .filter(|(name, deal)| {
            deal.is_some() && end_status(name).is_none() && !stages.contains(name)
        })
        .map(|(name, _)| name.as_str())
        .collect();
    extra.sort_unstable();
    if stages.is_empty() && extra.len() > 1 {
        return Err(EngineError::input(
            Location::default(),
            format!(
                "the order of the stages ({}) cannot be learned without stage events",
                extra.join(", ")
            ),
            Some(
                "load stage_events (deal_id, stage, entered_at), or give the stages in \
                 pipeline order"
                    .into(),
            ),
        ));
    }
    for name in extra {
        stages.push(name.to_owned());
        medians.push(None);
    }
    Ok((stages, medians))
}

/// The latest `created_at`, `closed_at` or `entered_at` in the whole data, µs.
async fn latest_timestamp(dataset: &Dataset, has_events: bool) -> Result<Option<i64>> {
    let mut query = "SELECT MAX(t) FROM (SELECT MAX(CAST(created_at AS BIGINT)) AS t FROM deals \
                     UNION ALL SELECT MAX(CAST(closed_at AS BIGINT)) AS t FROM deals"
        .to_owned();
    if has_events {
        query.push_str(" UNION ALL SELECT MAX(CAST(entered_at AS BIGINT)) AS t FROM stage_events");
    }
    query.push(')');
    for batch in dataset.sql(&query).await? {
        let t = ints(batch.column(0))?;
        if !t.is_empty() && t.is_valid(0) {
            return Ok(Some(t.value(0)));
        }
    }
    Ok(None)
}

/// One stage event of a deal of the period.
#[derive(Debug, Clone, Copy)]
struct Event {
    /// The deal's row in [`DealRows`].
    deal: u32,
    /// The stage id.
    sid: u32,
    /// `entered_at`, µs.
    t: i64,
}

/// The events sorted by deal then time, as deal rows; events of deals outside the period (or
/// not in `deals`) are left out. The rows of one deal stay together: ids are sorted.
fn sorted_events(
    batches: &[RecordBatch],
    index: &HashMap<String, u32>,
    names: &mut Names,
) -> Result<Vec<Event>> {
    let mut events = Vec::with_capacity(batches.iter().map(RecordBatch::num_rows).sum());
    let mut current: Option<(String, Option<u32>)> = None;
    for batch in batches {
        let ids = views(batch.column(0))?;
        let stages = views(batch.column(1))?;
        let times = ints(batch.column(2))?;
        for r in 0..batch.num_rows() {
            let (Some(t), true, true) = (get(&times, r), ids.is_valid(r), stages.is_valid(r))
            else {
                continue;
            };
            let id = ids.value(r);
            let deal = match &current {
                Some((last, deal)) if last == id => *deal,
                _ => {
                    let deal = index.get(id).copied();
                    current = Some((id.to_owned(), deal));
                    deal
                }
            };
            let Some(deal) = deal else { continue };
            let sid = names.id(stages.value(r));
            if names.in_events[sid].is_none() {
                names.in_events[sid] = Some(id.to_owned());
            }
            events.push(Event {
                deal,
                sid: sid as u32,
                t,
            });
        }
    }
    Ok(events)
}

/// The period's deals as read, before their events are applied.
struct DealRows {
    deals: Vec<Deal>,
    /// The `stage` column's stage id per deal.
    stage_sids: Vec<Option<usize>>,
    /// `status` as written.
    statuses: Vec<Option<String>>,
    /// deal_id -> row; a duplicated id keeps its earliest created row.
    index: HashMap<String, u32>,
}

impl DealRows {
    fn read(batches: &[RecordBatch], names: &mut Names) -> Result<DealRows> {
        let mut rows = DealRows {
            deals: Vec::new(),
            stage_sids: Vec::new(),
            statuses: Vec::new(),
            index: HashMap::new(),
        };
        for b in batches {
            let ids = text(b.column(0))?;
            let created = ints(b.column(1))?;
            let stage = text(b.column(2))?;
            let amount = floats(b.column(3))?;
            let closed = ints(b.column(4))?;
            let strings = [
                text(b.column(5))?,
                text(b.column(6))?,
                text(b.column(7))?,
                text(b.column(8))?,
            ];
            for r in 0..b.num_rows() {
                // deal_id and created_at are required columns.
                let (Some(created), true) = (get(&created, r), ids.is_valid(r)) else {
                    continue;
                };
                let id = ids.value(r);
                let slot = match rows.index.get(id) {
                    Some(&i) if rows.deals[i as usize].created <= created => continue,
                    Some(&i) => i as usize,
                    None => rows.deals.len(),
                };
                let Ok(row) = u32::try_from(slot) else {
                    continue;
                };
                let string = |a: &StringArray| a.is_valid(r).then(|| a.value(r).to_owned());
                let deal = Deal {
                    id: id.to_owned(),
                    created,
                    amount: if amount.is_valid(r) && amount.value(r).is_finite() {
                        amount.value(r)
                    } else {
                        0.0
                    },
                    status: Status::Open,
                    closed_at: get(&closed, r),
                    pipeline: string(&strings[1]),
                    owner: string(&strings[2]),
                    source: string(&strings[3]),
                    has_events: false,
                    last_change: created,
                    last_idx: None,
                    stage_idx: None,
                    furthest: None,
                };
                let sid = stage.is_valid(r).then(|| {
                    let sid = names.id(stage.value(r));
                    let example = &mut names.in_deals[sid];
                    if example.as_deref().is_none_or(|e| id < e) {
                        *example = Some(id.to_owned());
                    }
                    sid
                });
                let status = string(&strings[0]);
                if slot == rows.deals.len() {
                    rows.index.insert(id.to_owned(), row);
                    rows.deals.push(deal);
                    rows.stage_sids.push(sid);
                    rows.statuses.push(status);
                } else {
                    rows.deals[slot] = deal;
                    rows.stage_sids[slot] = sid;
                    rows.statuses[slot] = status;
                }
            }
        }
        Ok(rows)
    }

    /// The deals with their events applied, on the open `stages` (stage ids name `names`).
    fn finish(self, events: &[Event], names: &[String], stages: &[String]) -> DealTable {
        let n = stages.len();
        // Stage id -> index: 0..n open, n won, n + 1 lost, None for a stage left out.
        let index: Vec<Option<usize>> = names
            .iter()
            .map(|name| match end_status(name) {
                Some(Status::Won) => Some(n),
                Some(Status::Lost) => Some(n + 1),
                _ => stages.iter().position(|s| s == name),
            })
            .collect();
        let of = |sid: usize| index.get(sid).copied().flatten();
        let mut table = DealTable {
            days: vec![None; self.deals.len() * n],
            entries: vec![None; self.deals.len() * n],
            deals: self.deals,
            ..DealTable::default()
        };
        // The events, one deal at a time: visits last until the next event.
        for run in events.chunk_by(|a, b| a.deal == b.deal) {
            let Some(last) = run.last() else { continue };
            let row = last.deal as usize;
            let Some(deal) = table.deals.get_mut(row) else {
                continue;
            };
            deal.has_events = true;
            deal.last_change = last.t;
            deal.last_idx = of(last.sid as usize);
            for (i, event) in run.iter().enumerate() {
                let Some(idx) = of(event.sid as usize) else {
                    continue;
                };
                if idx <= n {
                    deal.furthest = deal.furthest.max(Some(idx));
                }
                if idx < n {
                    table.entries[row * n + idx] = Some(event.t);
                    if let Some(next) = run.get(i + 1) {
                        let days = &mut table.days[row * n + idx];
                        *days = Some(days.unwrap_or(0.0) + (next.t - event.t) as f64 / DAY_US);
                    }
                }
            }
        }
        for (row, deal) in table.deals.iter_mut().enumerate() {
            deal.stage_idx = self.stage_sids[row].and_then(of);
            deal.status = match self.statuses[row].as_deref().map(str::trim) {
                Some(s) if s.eq_ignore_ascii_case("open") => Some(Status::Open),
                Some(s) => end_status(s),
                None => None,
            }
            .unwrap_or(match deal.stage_idx {
                Some(i) if i == n => Status::Won,
                Some(i) if i == n + 1 => Status::Lost,
                _ => Status::Open,
            });
            if !deal.has_events {
                deal.last_idx = deal.stage_idx;
            }
            // Furthest: the events' (open stages or won), the stage column's, and won for a
            // won deal.
            deal.furthest = deal.furthest.max(deal.stage_idx.filter(|&i| i <= n));
            if deal.status == Status::Won {
                deal.furthest = Some(n);
            }
            // The last visit: finished at the close of a closed deal, still running otherwise.
            if let Some(k) = deal.last_idx.filter(|&k| k < n) {
                let days = &mut table.days[row * n + k];
                *days = match (deal.status, deal.closed_at) {
                    (Status::Open, _) => None,
                    (_, Some(close)) if close >= deal.last_change => {
                        Some(days.unwrap_or(0.0) + (close - deal.last_change) as f64 / DAY_US)
                    }
                    _ => None,
                };
            }
        }
        table
    }
}

fn get(a: &Int64Array, r: usize) -> Option<i64> {
    a.is_valid(r).then(|| a.value(r))
}

/// Any string column as plain UTF-8 (literals come back as `Utf8`, table columns as views).
fn text(array: &ArrayRef) -> Result<StringArray> {
    Ok(cast(array, &DataType::Utf8)?.as_string::<i32>().clone())
}

/// A string column as views (no copy when it already is one).
fn views(array: &ArrayRef) -> Result<StringViewArray> {
    Ok(cast(array, &DataType::Utf8View)?.as_string_view().clone())
}

fn ints(array: &ArrayRef) -> Result<Int64Array> {
    Ok(cast(array, &DataType::Int64)?
        .as_primitive::<Int64Type>()
        .clone())
}

fn floats(array: &ArrayRef) -> Result<Float64Array> {
    Ok(cast(array, &DataType::Float64)?
        .as_primitive::<Float64Type>()
        .clone())
}
