//! The Rust side: per-stage counts and times, the stage model, and each slice's metrics, from
//! the compact per-deal rows.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDateTime};

use super::query::{DAY_US, Deal, DealTable, Status};
use super::{
    CloseMonth, Coverage, Dimension, LearnedStage, PipelineMetrics, PipelineOptions, PipelineSlice,
    STALL_DAYS_WITHOUT_HISTORY, STALL_FLOOR_DAYS, StageMetrics, StalledDeal,
};

/// What the stage model says about one open deal.
struct Scored {
    /// Win probability of its current stage.
    probability: f64,
    /// Expected close month ([`month_key`]).
    month: i32,
    /// Set when it is stalled.
    stalled: Option<StalledDeal>,
}

pub(super) fn metrics(table: DealTable, options: &PipelineOptions) -> PipelineMetrics {
    let n = table.stages.len();
    let all: Vec<usize> = (0..table.deals.len()).collect();
    let current: Vec<Option<usize>> = table.deals.iter().map(|d| current_stage(d, n)).collect();
    let (overall_stages, in_stage) = stage_table(&table, &current, &all);

    // The stage model, from every deal.
    let won = count(&table, &all, Status::Won);
    let lost = count(&table, &all, Status::Lost);
    let win_rate = ratio(won, won + lost);
    let mut cycles = cycle_days(&table, &all);
    let median_cycle = median(&mut cycles);
    let mut to_close: Vec<Vec<f64>> = vec![Vec::new(); n];
    for (i, deal) in table.deals.iter().enumerate() {
        let Some(close) = close_time(deal).filter(|_| deal.status == Status::Won) else {
            continue;
        };
        for (k, remaining) in to_close.iter_mut().enumerate() {
            if let Some(entry) = table.entries[i * n + k].filter(|&e| e <= close) {
                remaining.push((close - entry) as f64 / DAY_US);
            }
        }
    }
    let learned: Vec<LearnedStage> = (0..n)
        .map(|k| {
            let stage = table.stages[k].clone();
            let given = options.stall_days.get(&stage).copied();
            let stall_days = given.unwrap_or_else(|| {
                percentile(&in_stage[k], 0.9)
                    .map_or(STALL_DAYS_WITHOUT_HISTORY, |p| p.max(STALL_FLOOR_DAYS))
            });
            LearnedStage {
                stage,
                median_position: table.median_positions.get(k).copied().flatten(),
                win_probability: overall_stages[k]
                    .win_probability
                    .or(win_rate)
                    .unwrap_or(0.0),
                stall_days,
                stall_days_given: given.is_some(),
                days_to_close: median(&mut to_close[k]),
            }
        })
        .collect();

    // Each open deal scored once, so every slice sees the same scores.
    let as_of_month = month_key(table.as_of).unwrap_or_default();
    let scores: Vec<Option<Scored>> = table
        .deals
        .iter()
        .zip(&current)
        .map(|(deal, &stage)| {
            if deal.status != Status::Open {
                return None;
            }
            let model = stage.and_then(|k| learned.get(k));
            let probability = model.map_or(win_rate.unwrap_or(0.0), |m| m.win_probability);
            let ahead = model
                .and_then(|m| m.days_to_close)
                .or(median_cycle)
                .unwrap_or(0.0);
            let expected = deal.last_change as f64 + ahead * DAY_US;
            let month = if expected <= table.as_of as f64 {
                as_of_month
            } else {
                month_key(expected as i64).unwrap_or(as_of_month)
            };
            let days_since_change = (table.as_of - deal.last_change) as f64 / DAY_US;
            let stalled = model
                .filter(|m| days_since_change > m.stall_days)
                .map(|m| StalledDeal {
                    deal_id: deal.id.clone(),
                    stage: m.stage.clone(),
                    days_since_change,
                    threshold_days: m.stall_days,
                    amount: deal.amount,
                    owner: deal.owner.clone(),
                });
            Some(Scored {
                probability,
                month,
                stalled,
            })
        })
        .collect();

    let overall = slice(&table, &all, None, overall_stages, &scores, options);
    let mut slices = Vec::new();
    if let Some(dimension) = options.slice {
        for (value, rows) in groups(&table.deals, dimension) {
            let (stages, _) = stage_table(&table, &current, &rows);
            slices.push(slice(&table, &rows, value, stages, &scores, options));
        }
    }
    PipelineMetrics {
        as_of: to_naive(table.as_of),
        stages: table.stages,
        learned,
        overall,
        dimension: options.slice,
        slices,
    }
}

/// An open deal's current open stage: its last event's, else its `stage` column's, else the
/// furthest open stage it reached (the first without any).
pub(super) fn current_stage(deal: &Deal, n: usize) -> Option<usize> {
    if n == 0 {
        return None;
    }
    let open = |k: &usize| *k < n;
    deal.last_idx
        .filter(open)
        .or(deal.stage_idx.filter(open))
        .or(Some(deal.furthest.map_or(0, |f| f.min(n - 1))))
}

/// The deals of each value of `dimension`, by value (the deals without one last).
fn groups(deals: &[Deal], dimension: Dimension) -> Vec<(Option<String>, Vec<usize>)> {
    let mut groups: Vec<(Option<String>, Vec<usize>)> = if dimension == Dimension::CreatedMonth {
        let mut months: BTreeMap<Option<i32>, Vec<usize>> = BTreeMap::new();
        for (i, deal) in deals.iter().enumerate() {
            months.entry(month_key(deal.created)).or_default().push(i);
        }
        months
            .into_iter()
            .map(|(month, rows)| (month.map(month_label), rows))
            .collect()
    } else {
        let mut values: BTreeMap<Option<&str>, Vec<usize>> = BTreeMap::new();
        for (i, deal) in deals.iter().enumerate() {
            let value = match dimension {
                Dimension::Pipeline => &deal.pipeline,
                Dimension::Owner => &deal.owner,
                _ => &deal.source,
            };
            values.entry(value.as_deref()).or_default().push(i);
        }
        values
            .into_iter()
            .map(|(value, rows)| (value.map(str::to_owned), rows))
            .collect()
    };
    // `None` sorts first in a BTreeMap.
    if groups.first().is_some_and(|g| g.0.is_none()) {
        groups.rotate_left(1);
    }
    groups
}

/// The per-stage metrics over `rows`, and the sorted days in each stage.
fn stage_table(
    table: &DealTable,
    current: &[Option<usize>],
    rows: &[usize],
) -> (Vec<StageMetrics>, Vec<Vec<f64>>) {
    let n = table.stages.len();
    let mut stages: Vec<StageMetrics> = table
        .stages
        .iter()
        .map(|name| StageMetrics {
            stage: name.clone(),
            ..StageMetrics::default()
        })
        .collect();
    // Per stage: deals that reached the next one, open deals whose furthest stage it is, days.
    let mut next = vec![0u64; n];
    let mut waiting = vec![0u64; n];
    let mut days: Vec<Vec<f64>> = vec![Vec::new(); n];
    for &i in rows {
        let deal = &table.deals[i];
        if let Some(furthest) = deal.furthest {
            for k in 0..n.min(furthest + 1) {
                let stage = &mut stages[k];
                stage.reached += 1;
                match deal.status {
                    Status::Open => stage.reached_open += 1,
                    Status::Won => stage.reached_won += 1,
                    Status::Lost => stage.reached_lost += 1,
                }
                if furthest > k {
                    next[k] += 1;
                } else if deal.status == Status::Open {
                    waiting[k] += 1;
                }
            }
        }
        if deal.status == Status::Open
            && let Some(k) = current[i]
        {
            stages[k].open += 1;
        }
        for (k, list) in days.iter_mut().enumerate() {
            if let Some(d) = table.days[i * n + k] {
                list.push(d);
            }
        }
    }
    for (k, stage) in stages.iter_mut().enumerate() {
        stage.to_next = ratio(next[k], stage.reached);
        stage.to_next_resolved = ratio(next[k], stage.reached - waiting[k]);
        stage.to_won = ratio(stage.reached_won, stage.reached);
        stage.win_probability = ratio(stage.reached_won, stage.reached_won + stage.reached_lost);
        stage.days_deals = days[k].len() as u64;
        stage.days_mean = mean(&days[k]);
        stage.days_median = median(&mut days[k]);
    }
    (stages, days)
}

/// The metrics of one slice.
fn slice(
    table: &DealTable,
    rows: &[usize],
    value: Option<String>,
    stages: Vec<StageMetrics>,
    scores: &[Option<Scored>],
    options: &PipelineOptions,
) -> PipelineSlice {
    let mut s = PipelineSlice {
        value,
        stages,
        deals: rows.len() as u64,
        ..PipelineSlice::default()
    };
    let mut months: BTreeMap<i32, CloseMonth> = BTreeMap::new();
    for &i in rows {
        let deal = &table.deals[i];
        match deal.status {
            Status::Won => {
                s.won += 1;
                s.won_amount += deal.amount;
            }
            Status::Lost => s.lost += 1,
            Status::Open => {
                s.open += 1;
                s.open_amount += deal.amount;
            }
        }
        if let Some(score) = &scores[i] {
            let weighted = deal.amount * score.probability;
            s.weighted_amount += weighted;
            let month = months.entry(score.month).or_insert_with(|| CloseMonth {
                month: month_label(score.month),
                deals: 0,
                amount: 0.0,
                weighted: 0.0,
            });
            month.deals += 1;
            month.amount += deal.amount;
            month.weighted += weighted;
            if let Some(stalled) = &score.stalled {
                s.stalled.push(stalled.clone());
            }
        }
    }
    s.by_close_month = months.into_values().collect();
    s.stalled.sort_by(|a, b| {
        b.days_since_change
            .total_cmp(&a.days_since_change)
            .then_with(|| a.deal_id.cmp(&b.deal_id))
    });
    s.win_rate = ratio(s.won, s.won + s.lost);
    s.average_deal_size = (s.won > 0).then(|| s.won_amount / s.won as f64);
    let mut cycles = cycle_days(table, rows);
    s.cycle_deals = cycles.len() as u64;
    s.cycle_days_mean = mean(&cycles);
    s.cycle_days_median = median(&mut cycles);
    s.velocity_per_day = match (s.win_rate, s.average_deal_size, s.cycle_days_mean) {
        (Some(rate), Some(size), Some(cycle)) if cycle > 0.0 => {
            Some(s.open as f64 * rate * size / cycle)
        }
        _ => None,
    };
    s.velocity_per_30_days = s.velocity_per_day.map(|v| v * 30.0);
    s.coverage = options.coverage_target.map(|target| Coverage {
        target,
        weighted: s.weighted_amount / target,
        unweighted: s.open_amount / target,
    });
    s
}

fn count(table: &DealTable, rows: &[usize], status: Status) -> u64 {
    rows.iter()
        .filter(|&&i| table.deals[i].status == status)
        .count() as u64
}

/// When a deal closed: `closed_at`, or its last stage event without one.
fn close_time(deal: &Deal) -> Option<i64> {
    deal.closed_at
        .or(deal.has_events.then_some(deal.last_change))
}

/// Days from creation to close of the won deals among `rows` (negative ones left out).
fn cycle_days(table: &DealTable, rows: &[usize]) -> Vec<f64> {
    rows.iter()
        .map(|&i| &table.deals[i])
        .filter(|d| d.status == Status::Won)
        .filter_map(|d| {
            close_time(d)
                .filter(|&c| c >= d.created)
                .map(|c| (c - d.created) as f64 / DAY_US)
        })
        .collect()
}

/// A UTC calendar month as `year × 12 + month − 1`.
fn month_key(us: i64) -> Option<i32> {
    crate::sales::month_of_micros(us).map(|m| m as i32)
}

/// `YYYY-MM` of a [`month_key`].
fn month_label(key: i32) -> String {
    crate::sales::month_label(i64::from(key))
}

fn to_naive(us: i64) -> NaiveDateTime {
    DateTime::from_timestamp_micros(us)
        .map(|t| t.naive_utc())
        .unwrap_or_default()
}

fn ratio(part: u64, whole: u64) -> Option<f64> {
    (whole > 0).then(|| part as f64 / whole as f64)
}

pub(super) fn mean(values: &[f64]) -> Option<f64> {
    (!values.is_empty()).then(|| values.iter().sum::<f64>() / values.len() as f64)
}

pub(super) fn median(values: &mut [f64]) -> Option<f64> {
    values.sort_by(f64::total_cmp);
    percentile(values, 0.5)
}

/// The `p` quantile of sorted values, interpolating linearly between closest ranks.
fn percentile(sorted: &[f64], p: f64) -> Option<f64> {
    let last = sorted.len().checked_sub(1)?;
    let h = last as f64 * p;
    let lo = h.floor() as usize;
    let hi = h.ceil() as usize;
    let (a, b) = (sorted.get(lo)?, sorted.get(hi)?);
    Some(a + (h - lo as f64) * (b - a))
}
