//! Lead scoring: the probability that each open deal is won, learned from how closed deals
//! ended, validated on the deals that closed last.
//!
//! Each closed deal gives one training row per open stage it entered before closing (what was
//! known then: the stage, days since creation, stages entered so far, amount, pipeline, owner,
//! source) labelled by whether it was won; each open deal is scored at its current stage (see
//! `salesflow_engine::pipeline::deal_history`). Rows per stage entry rather than per deal keep
//! the question the same for training and scoring: "a deal that has just reached this stage".
//!
//! Validation is by time: the closed deals are ordered by closing date, and the last
//! `validation_fraction` of them are held out. A logistic regression (on the one-hot encoded,
//! standardised features) and a random forest are trained on the earlier deals and scored on
//! the later ones, beside the stage model the pipeline metrics use (each stage's historical
//! win rate, learned on every deal, which flatters it). The better of the two by ROC AUC is
//! refitted on every closed deal and scores the open ones; the weighted pipeline by these
//! scores is given beside the stage model's.
//!
//! Without `stage_events` the rows are taken at creation and the stage is left out: what a
//! deal's stage says about its chances cannot be learned from deals seen only at the end.

use std::collections::HashMap;

use salesflow_engine::Dataset;
use salesflow_engine::pipeline::{DealFacts, DealHistory, DealSnapshot, deal_history};
use salesflow_models::evaluate::{ClassificationMetrics, classification_metrics};
use salesflow_models::features::{Encoder, FeatureMatrix, InputColumn};
use salesflow_models::linear::Coefficient;

use super::classifier::Classifier;
use crate::error::{AnalyticsError, Result};

/// Text attributes with more values than this keep the most common ones and lump the rest
/// into `(other)`.
const MAX_LEVELS: usize = 20;

/// Settings of [`leads`].
#[derive(Debug, Clone)]
pub struct LeadOptions {
    /// Share of the closed deals (the latest closed) held out for validation (default 0.25).
    pub validation_fraction: f64,
    /// Trees of the random forest (default 100, as scikit-learn).
    pub trees: usize,
    /// Seed of the forest.
    pub seed: u64,
}

impl Default for LeadOptions {
    fn default() -> Self {
        LeadOptions {
            validation_fraction: 0.25,
            trees: 100,
            seed: 42,
        }
    }
}

/// Scores of one model on the validation deals.
#[derive(Debug, Clone)]
pub struct LeadValidation {
    /// `logistic_regression`, `random_forest` or `stage_win_rate`.
    pub model: &'static str,
    /// Its scores on the validation rows.
    pub metrics: ClassificationMetrics,
}

/// One open deal's score.
#[derive(Debug, Clone)]
pub struct OpenDealScore {
    /// `deal_id`.
    pub id: String,
    /// Its current stage.
    pub stage: String,
    /// Its amount.
    pub amount: f64,
    /// The model's win probability.
    pub win_probability: f64,
    /// The stage model's win probability.
    pub stage_probability: f64,
}

/// The lead-scoring analysis.
#[derive(Debug, Clone)]
pub struct LeadScores {
    /// Whether the rows come from stage histories (else: at creation, without the stage).
    pub stage_history: bool,
    /// Closed deals (and rows) trained on, and their win rate.
    pub train: (usize, usize, f64),
    /// Closed deals (and rows) validated on, and their win rate.
    pub validation_rows: (usize, usize, f64),
    /// Closing date (UTC day) from which deals were held out.
    pub validation_from: String,
    /// Each model's validation scores, the stage model last.
    pub validation: Vec<LeadValidation>,
    /// The model used for the scores.
    pub chosen: &'static str,
    /// The logistic regression's coefficients (standardised features), refitted on every
    /// closed deal, largest effect first.
    pub coefficients: Vec<Coefficient>,
    /// Open deals, by descending win probability.
    pub open: Vec<OpenDealScore>,
    /// Σ amount × win probability over the open deals.
    pub weighted_pipeline: f64,
    /// The same with the stage model's probabilities.
    pub stage_weighted_pipeline: f64,
}

fn not_enough(detail: String) -> AnalyticsError {
    AnalyticsError::NotEnoughData {
        what: "lead scoring",
        detail,
        hint: "lead scoring needs closed deals (status won or lost, with closed_at) of both outcomes, at least 20 before and 20 in the held-out period",
    }
}

/// The deals' text attributes a model uses: those with values among its training rows, each
/// with the levels kept (the most common, up to [`MAX_LEVELS`]). Learned once from the
/// training rows and applied to every row scored later, so all get the same columns.
struct Attributes {
    kept: Vec<(&'static str, Vec<String>)>,
}

/// The attribute `name` of a deal.
fn attribute_of(deal: &DealFacts, name: &str) -> Option<String> {
    match name {
        "pipeline" => deal.pipeline.clone(),
        "owner" => deal.owner.clone(),
        _ => deal.source.clone(),
    }
}

impl Attributes {
    fn learn(history: &DealHistory, rows: &[&DealSnapshot]) -> Attributes {
        let mut kept = Vec::new();
        for name in ["pipeline", "owner", "source"] {
            let mut counts: HashMap<String, usize> = HashMap::new();
            for s in rows {
                if let Some(v) = attribute_of(&history.deals[s.deal], name) {
                    *counts.entry(v).or_default() += 1;
                }
            }
            if counts.is_empty() {
                continue;
            }
            let mut ranked: Vec<(String, usize)> = counts.into_iter().collect();
            ranked.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
            kept.push((
                name,
                ranked
                    .into_iter()
                    .take(MAX_LEVELS)
                    .map(|(v, _)| v)
                    .collect(),
            ));
        }
        Attributes { kept }
    }
}

/// The model's input columns for `rows` of `history`.
fn inputs(
    history: &DealHistory,
    rows: &[&DealSnapshot],
    attributes: &Attributes,
) -> Vec<(String, InputColumn)> {
    let deal = |s: &DealSnapshot| &history.deals[s.deal];
    let mut columns = vec![
        (
            "log_amount".to_owned(),
            InputColumn::Numeric(
                rows.iter()
                    .map(|s| deal(s).amount.max(0.0).ln_1p())
                    .collect(),
            ),
        ),
        (
            "days_since_created".to_owned(),
            InputColumn::Numeric(rows.iter().map(|s| s.days_since_created).collect()),
        ),
    ];
    if history.stage_history {
        columns.push((
            "stages_entered".to_owned(),
            InputColumn::Numeric(rows.iter().map(|s| s.stages_entered as f64).collect()),
        ));
        columns.push((
            "stage".to_owned(),
            InputColumn::Categorical(
                rows.iter()
                    .map(|s| history.stages[s.stage].clone())
                    .collect(),
            ),
        ));
    }
    for (name, levels) in &attributes.kept {
        let values = rows
            .iter()
            .map(|s| match attribute_of(deal(s), name) {
                None => "(missing)".to_owned(),
                Some(v) if levels.contains(&v) => v,
                Some(_) => "(other)".to_owned(),
            })
            .collect();
        columns.push(((*name).to_owned(), InputColumn::Categorical(values)));
    }
    columns
}

/// The matrix of `rows`, encoded as `encoder` learned (unseen levels as the reference).
fn matrix(
    encoder: &Encoder,
    history: &DealHistory,
    rows: &[&DealSnapshot],
    attributes: &Attributes,
) -> Result<FeatureMatrix> {
    Ok(encoder
        .encode(&inputs(history, rows, attributes))
        .map_err(AnalyticsError::model("lead features"))?
        .matrix)
}

/// Fits one model family on the lead rows.
fn fit_kind(
    kind: &'static str,
    x: &FeatureMatrix,
    won: &[bool],
    options: &LeadOptions,
) -> Result<Classifier> {
    if kind == "logistic_regression" {
        Classifier::logistic(x, won, "lead logistic regression")
    } else {
        Classifier::forest(x, won, options.trees, options.seed, "lead random forest")
    }
}

fn win_rate(won: &[bool]) -> f64 {
    won.iter().filter(|w| **w).count() as f64 / won.len().max(1) as f64
}

/// Trains, validates and applies the lead-scoring models (see the module documentation).
pub async fn leads(dataset: &Dataset, options: &LeadOptions) -> Result<LeadScores> {
    let mut laps = crate::timing::Laps::new("leads");
    let history = deal_history(dataset).await?;
    laps.lap("deal history");
    score(&history, options, &mut laps)
}

fn score(
    history: &DealHistory,
    options: &LeadOptions,
    laps: &mut crate::timing::Laps,
) -> Result<LeadScores> {
    if !(options.validation_fraction > 0.0 && options.validation_fraction < 1.0) {
        return Err(not_enough(format!(
            "the validation share {} is not between 0 and 1",
            options.validation_fraction
        )));
    }
    // Closed deals with a closing time, in closing order.
    let mut closed: Vec<(i64, usize)> = history
        .deals
        .iter()
        .enumerate()
        .filter(|(_, d)| d.won.is_some())
        .filter_map(|(i, d)| d.closed_at.map(|t| (t, i)))
        .collect();
    closed.sort_unstable();
    let held_out = ((closed.len() as f64) * options.validation_fraction).round() as usize;
    let cut = closed.len().saturating_sub(held_out);
    let Some(&(split_time, _)) = closed.get(cut) else {
        return Err(not_enough(format!("{} closed deals", closed.len())));
    };
    // Deals closing at the split moment all go to validation, so the split is by time.
    let in_validation: Vec<bool> = {
        let mut flags = vec![false; history.deals.len()];
        for &(t, d) in &closed {
            flags[d] = t >= split_time;
        }
        flags
    };
    let won = |s: &DealSnapshot| history.deals[s.deal].won == Some(true);
    let (train_rows, validation_rows): (Vec<&DealSnapshot>, Vec<&DealSnapshot>) = history
        .closed
        .iter()
        .filter(|s| history.deals[s.deal].closed_at.is_some())
        .partition(|s| !in_validation[s.deal]);
    let train_won: Vec<bool> = train_rows.iter().map(|s| won(s)).collect();
    let validation_won: Vec<bool> = validation_rows.iter().map(|s| won(s)).collect();
    let deals_of = |rows: &[&DealSnapshot]| {
        let mut ids: Vec<usize> = rows.iter().map(|s| s.deal).collect();
        ids.dedup();
        ids.len()
    };
    for (name, rows, outcomes) in [
        ("training", &train_rows, &train_won),
        ("validation", &validation_rows, &validation_won),
    ] {
        let wins = outcomes.iter().filter(|w| **w).count();
        let deals = deals_of(rows);
        if deals < 20 || wins == 0 || wins == outcomes.len() {
            return Err(not_enough(format!(
                "the {name} deals are {deals} with {wins} won of {} rows",
                outcomes.len()
            )));
        }
    }
    let train_attributes = Attributes::learn(history, &train_rows);
    let encoder = Encoder::fit(&inputs(history, &train_rows, &train_attributes), &[])
        .map_err(AnalyticsError::model("lead features"))?;
    let train_x = matrix(&encoder, history, &train_rows, &train_attributes)?;
    let validation_x = matrix(&encoder, history, &validation_rows, &train_attributes)?;
    laps.lap("features");
    let mut validation = Vec::new();
    for kind in ["logistic_regression", "random_forest"] {
        let model = fit_kind(kind, &train_x, &train_won, options)?;
        let p = model.probability(&validation_x, "lead scores")?;
        laps.lap(&format!("{kind} fitted and validated"));
        validation.push(LeadValidation {
            model: kind,
            metrics: classification_metrics(&validation_won, &p, 0.5)
                .map_err(AnalyticsError::model("lead validation"))?,
        });
    }
    let stage_p: Vec<f64> = validation_rows
        .iter()
        .map(|s| stage_probability(history, s))
        .collect();
    validation.push(LeadValidation {
        model: "stage_win_rate",
        metrics: classification_metrics(&validation_won, &stage_p, 0.5)
            .map_err(AnalyticsError::model("lead validation"))?,
    });
    let auc = |v: &LeadValidation| v.metrics.roc_auc.unwrap_or(0.5);
    let chosen = if auc(&validation[1]) > auc(&validation[0]) {
        "random_forest"
    } else {
        "logistic_regression"
    };

    // Refit on every closed deal.
    let all_rows: Vec<&DealSnapshot> = train_rows.iter().chain(&validation_rows).copied().collect();
    let all_won: Vec<bool> = train_won.iter().chain(&validation_won).copied().collect();
    let all_attributes = Attributes::learn(history, &all_rows);
    let encoder = Encoder::fit(&inputs(history, &all_rows, &all_attributes), &[])
        .map_err(AnalyticsError::model("lead features"))?;
    let all_x = matrix(&encoder, history, &all_rows, &all_attributes)?;
    let logistic = fit_kind("logistic_regression", &all_x, &all_won, options)?;
    let mut coefficients = match &logistic {
        Classifier::Logistic(_, fit) => fit.coefficients[1..].to_vec(),
        Classifier::Forest(_) => Vec::new(),
    };
    coefficients.sort_by(|a, b| b.estimate.abs().total_cmp(&a.estimate.abs()));
    let model = if chosen == "random_forest" {
        fit_kind("random_forest", &all_x, &all_won, options)?
    } else {
        logistic
    };
    laps.lap("refitted");
    let open_rows: Vec<&DealSnapshot> = history.open.iter().collect();
    let probability = if open_rows.is_empty() {
        Vec::new()
    } else {
        model.probability(
            &matrix(&encoder, history, &open_rows, &all_attributes)?,
            "lead scores",
        )?
    };
    let mut open: Vec<OpenDealScore> = open_rows
        .iter()
        .zip(probability)
        .map(|(s, p)| {
            let deal = &history.deals[s.deal];
            OpenDealScore {
                id: deal.id.clone(),
                stage: history.stages[s.stage].clone(),
                amount: deal.amount,
                win_probability: p,
                stage_probability: stage_probability(history, s),
            }
        })
        .collect();
    open.sort_by(|a, b| {
        b.win_probability
            .total_cmp(&a.win_probability)
            .then(a.id.cmp(&b.id))
    });
    let weighted_pipeline = open.iter().map(|d| d.amount * d.win_probability).sum();
    let stage_weighted_pipeline = open.iter().map(|d| d.amount * d.stage_probability).sum();
    Ok(LeadScores {
        stage_history: history.stage_history,
        train: (
            deals_of(&train_rows),
            train_rows.len(),
            win_rate(&train_won),
        ),
        validation_rows: (
            deals_of(&validation_rows),
            validation_rows.len(),
            win_rate(&validation_won),
        ),
        validation_from: chrono::DateTime::from_timestamp_micros(split_time)
            .map_or_else(String::new, |t| t.date_naive().to_string()),
        validation,
        chosen,
        coefficients,
        open,
        weighted_pipeline,
        stage_weighted_pipeline,
    })
}

fn stage_probability(history: &DealHistory, s: &DealSnapshot) -> f64 {
    history
        .stage_win_probability
        .get(s.stage)
        .copied()
        .unwrap_or(0.0)
        .clamp(0.0, 1.0)
}
