//! Deals as a lead-scoring model sees them: what was known about a deal at each moment it
//! entered a stage, and how it ended.
//!
//! A closed deal contributes one snapshot per open stage it entered before it closed (its last
//! entry into the stage, from `stage_events`); an open deal one snapshot, at its current
//! stage. Without `stage_events` every deal has one snapshot at creation, at its first stage
//! (open deals: their current stage), and the stage carries no information the model could
//! learn. Snapshots record what was known then: the stage, its position in the pipeline, the
//! days since the deal was created, and the stages entered so far.

use salesflow_core::TableKind;

use super::query::{DAY_US, Status, load};
use super::{PipelineOptions, compute};
use crate::Dataset;
use crate::error::{EngineError, Location, Result};

/// One deal's fixed attributes and outcome.
#[derive(Debug, Clone, PartialEq)]
pub struct DealFacts {
    /// `deal_id`.
    pub id: String,
    /// `amount`.
    pub amount: f64,
    /// `pipeline`, `owner`, `source` (when present).
    pub pipeline: Option<String>,
    /// The deal's owner.
    pub owner: Option<String>,
    /// Where the deal came from.
    pub source: Option<String>,
    /// `Some(true)` won, `Some(false)` lost, `None` open.
    pub won: Option<bool>,
    /// When it closed (µs), for closed deals with a `closed_at` or a closing event.
    pub closed_at: Option<i64>,
}

/// A deal as it stood when it entered a stage.
#[derive(Debug, Clone, PartialEq)]
pub struct DealSnapshot {
    /// Index into [`DealHistory::deals`].
    pub deal: usize,
    /// Index into [`DealHistory::stages`].
    pub stage: usize,
    /// Days from the deal's creation to the snapshot.
    pub days_since_created: f64,
    /// Open stages entered up to and including this one.
    pub stages_entered: usize,
}

/// Every deal and its snapshots.
#[derive(Debug, Clone, PartialEq)]
pub struct DealHistory {
    /// The open stages, in pipeline order.
    pub stages: Vec<String>,
    /// Whether the stages came from `stage_events` (otherwise snapshots are at creation).
    pub stage_history: bool,
    /// The deals.
    pub deals: Vec<DealFacts>,
    /// Closed deals' snapshots, by deal.
    pub closed: Vec<DealSnapshot>,
    /// One snapshot per open deal, at its current stage.
    pub open: Vec<DealSnapshot>,
    /// Each open stage's win probability learned by the pipeline metrics (the stage model
    /// lead scores are compared with).
    pub stage_win_probability: Vec<f64>,
}

/// Reads the deals' snapshots (see the module documentation).
pub async fn deal_history(dataset: &Dataset) -> Result<DealHistory> {
    if dataset.table(TableKind::Deals).is_none() {
        return Err(EngineError::input(
            Location::default(),
            "no deals table is loaded",
            Some("put deals.csv (deal_id, created_at, stage, amount, status, closed_at, ...) and stage_events.csv in the --data folder".into()),
        ));
    }
    let options = PipelineOptions::default();
    let table = load(dataset, &options).await?;
    let n = table.stages.len();
    let has_events = dataset.table(TableKind::StageEvents).is_some();
    let learned = compute::metrics(table.clone(), &options).learned;
    let mut history = DealHistory {
        stages: table.stages.clone(),
        stage_history: has_events,
        deals: Vec::with_capacity(table.deals.len()),
        closed: Vec::new(),
        open: Vec::new(),
        stage_win_probability: learned.iter().map(|l| l.win_probability).collect(),
    };
    if n == 0 {
        return Ok(history);
    }
    for (d, deal) in table.deals.iter().enumerate() {
        let closed_at = match deal.status {
            Status::Open => None,
            _ => deal.closed_at.or(Some(deal.last_change)),
        };
        history.deals.push(DealFacts {
            id: deal.id.clone(),
            amount: deal.amount,
            pipeline: deal.pipeline.clone(),
            owner: deal.owner.clone(),
            source: deal.source.clone(),
            won: match deal.status {
                Status::Open => None,
                Status::Won => Some(true),
                Status::Lost => Some(false),
            },
            closed_at,
        });
        let entries = &table.entries[d * n..(d + 1) * n];
        let days = |t: i64| ((t - deal.created) as f64 / DAY_US).max(0.0);
        match deal.status {
            Status::Open => {
                let stage = compute::current_stage(deal, n).unwrap_or(0);
                let entered = entries[stage].unwrap_or(deal.created);
                history.open.push(DealSnapshot {
                    deal: d,
                    stage,
                    days_since_created: days(entered),
                    stages_entered: entered_by(entries, entered).max(1),
                });
            }
            Status::Won | Status::Lost => {
                let mut any = false;
                for (stage, entry) in entries.iter().enumerate() {
                    let Some(t) = *entry else { continue };
                    // A given close time excludes entries at or after it; without one the
                    // last event stands in for it, and entries up to it count.
                    let after_close = match (deal.closed_at, closed_at) {
                        (Some(c), _) => t >= c,
                        (None, Some(c)) => t > c,
                        (None, None) => false,
                    };
                    if after_close {
                        continue;
                    }
                    any = true;
                    history.closed.push(DealSnapshot {
                        deal: d,
                        stage,
                        days_since_created: days(t),
                        stages_entered: entered_by(entries, t),
                    });
                }
                if !any {
                    history.closed.push(creation_snapshot(d));
                }
            }
        }
    }
    Ok(history)
}

/// Open stages entered at or before `t`.
fn entered_by(entries: &[Option<i64>], t: i64) -> usize {
    entries.iter().flatten().filter(|e| **e <= t).count()
}

/// The snapshot of a deal without usable stage entries: at creation, in the first stage.
fn creation_snapshot(d: usize) -> DealSnapshot {
    DealSnapshot {
        deal: d,
        stage: 0,
        days_since_created: 0.0,
        stages_entered: 1,
    }
}
