//! Churn risk: the probability that a customer makes no purchase in the next `window_days`,
//! learned from what happened after past cut-offs.
//!
//! Three cut-offs, `window_days` apart, ending at the as-of date `t` (the last purchase day
//! unless given):
//!
//! - **train** on the customers as they stood at `t − 2w`, labelled by whether they bought in
//!   `(t − 2w, t − w]`;
//! - **validate** on the customers at `t − w`, labelled by `(t − w, t]`: both a logistic
//!   regression and a random forest are scored there (ROC AUC, log loss, calibration; on a
//!   seeded sample of 200,000 customers when there are more), and the one with the higher AUC
//!   is chosen;
//! - **score**: the chosen model is refitted on the validation cut (the most recent one with
//!   known outcomes) and applied to every customer as of `t`.
//!
//! Features come from the engine's customer summary at each cut-off (day units, purchases on
//! one day merged): purchase days, days since the last purchase, tenure and average order
//! value. The logistic regression sees purchase days and order value as `ln(1 + x)` and all
//! features standardised; the forest sees them raw. The drivers shown are the logistic
//! coefficients (per standard deviation), the forest's importances, and a three-level tree's
//! rules.

use chrono::{Days, NaiveDate};
use datafusion::arrow::record_batch::RecordBatch;
use salesflow_engine::Dataset;
use salesflow_engine::summary::{Summary, SummaryOptions, customer_summary};
use salesflow_models::evaluate::{ClassificationMetrics, classification_metrics, sample_rows};
use salesflow_models::features::FeatureMatrix;
use salesflow_models::tree::{DecisionTree, TreeOptions, TreeTarget};

use super::classifier::Classifier;
use super::columns::{required_numbers, texts};
use crate::error::{AnalyticsError, Result};

/// The features, in matrix column order.
/// (Orders and revenue are left out: orders nearly repeat purchase days, and revenue is
/// purchase days times order value, so beside them their coefficients trade off against
/// each other and stop reading as drivers.)
pub const FEATURES: [&str; 4] = [
    "purchase_days",
    "days_since_last",
    "tenure_days",
    "average_order_value",
];

/// Most validation customers the models are scored on (a seeded sample beyond).
const VALIDATION_ROWS: usize = 200_000;

/// Features the logistic regression sees as `ln(1 + x)` (skewed counts and money).
const LOG_FEATURES: [&str; 2] = ["purchase_days", "average_order_value"];

/// Settings of [`churn`].
#[derive(Debug, Clone)]
pub struct ChurnOptions {
    /// The horizon: churned = no purchase within this many days (default 90).
    pub window_days: u32,
    /// The date customers are scored at (default: the last purchase day).
    pub as_of: Option<NaiveDate>,
    /// Trees of the random forest (default 100, as scikit-learn).
    pub trees: usize,
    /// Seed of the forest.
    pub seed: u64,
}

impl Default for ChurnOptions {
    fn default() -> Self {
        ChurnOptions {
            window_days: 90,
            as_of: None,
            trees: 100,
            seed: 42,
        }
    }
}

/// Which model family.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChurnModelKind {
    /// L2 logistic regression on transformed, standardised features.
    Logistic,
    /// Random forest on the raw features.
    RandomForest,
}

impl ChurnModelKind {
    /// Its name in outputs.
    pub fn name(self) -> &'static str {
        match self {
            ChurnModelKind::Logistic => "logistic_regression",
            ChurnModelKind::RandomForest => "random_forest",
        }
    }
}

/// How one model family did on the validation cut.
#[derive(Debug, Clone)]
pub struct Validation {
    /// The model family.
    pub model: ChurnModelKind,
    /// Its scores on the validation customers.
    pub metrics: ClassificationMetrics,
}

/// One feature's weight in the churn models.
#[derive(Debug, Clone)]
pub struct Driver {
    /// The feature.
    pub feature: &'static str,
    /// The logistic coefficient per standard deviation (positive = raises churn risk).
    pub coefficient: f64,
    /// Its p-value (Wald).
    pub p_value: Option<f64>,
    /// The forest's impurity importance (shares summing to 1).
    pub importance: f64,
}

/// The churn analysis.
#[derive(Debug, Clone)]
pub struct ChurnRisk {
    /// The horizon in days.
    pub window_days: u32,
    /// The three cut-offs: train, validation, and the scoring date.
    pub cutoffs: [NaiveDate; 3],
    /// Customers and churn rate of the training cut.
    pub train: (usize, f64),
    /// Customers and churn rate of the validation cut.
    pub validation_rows: (usize, f64),
    /// Each model family's validation scores.
    pub validation: Vec<Validation>,
    /// The model family used for the scores.
    pub chosen: ChurnModelKind,
    /// Drivers, most important first (by |coefficient|).
    pub drivers: Vec<Driver>,
    /// A three-level tree's rules on the validation cut, riskiest first.
    pub rules: Vec<String>,
    /// The scored customers' ids, in summary order (by id).
    pub customers: Vec<String>,
    /// Each customer's probability of no purchase in the next `window_days`.
    pub probability: Vec<f64>,
}

/// One cut-off's customers.
struct Cut {
    ids: Vec<String>,
    features: FeatureMatrix,
    churned: Vec<bool>,
}

fn not_enough(detail: String) -> AnalyticsError {
    AnalyticsError::NotEnoughData {
        what: "churn prediction",
        detail,
        hint: "use a shorter --window-days, or predict on a longer order history",
    }
}

fn day_before(date: NaiveDate, days: u32) -> NaiveDate {
    date.checked_sub_days(Days::new(u64::from(days)))
        .unwrap_or(NaiveDate::MIN)
}

/// The customers as of `cutoff`, labelled by purchases in the following window when
/// `outcome_end` is given.
async fn cut(dataset: &Dataset, cutoff: NaiveDate, outcome_end: Option<NaiveDate>) -> Result<Cut> {
    let summary = customer_summary(
        dataset,
        &SummaryOptions {
            calibration_end: Some(cutoff),
            observation_end: outcome_end,
            facts: true,
            ..SummaryOptions::default()
        },
    )
    .await?;
    cut_of(&summary.batches, outcome_end.is_some())
}

/// The customers of a summary with facts; `labelled` when it has the holdout columns.
fn cut_of(batches: &[RecordBatch], labelled: bool) -> Result<Cut> {
    let ids = texts(batches, "customer_id")?
        .into_iter()
        .map(Option::unwrap_or_default)
        .collect();
    let frequency = required_numbers(batches, "frequency")?;
    let recency = required_numbers(batches, "recency")?;
    let tenure = required_numbers(batches, "T")?;
    let columns = vec![
        ("purchase_days", frequency.iter().map(|f| f + 1.0).collect()),
        (
            "days_since_last",
            tenure.iter().zip(&recency).map(|(t, r)| t - r).collect(),
        ),
        ("tenure_days", tenure),
        (
            "average_order_value",
            required_numbers(batches, "average_order_value")?,
        ),
    ];
    let features = FeatureMatrix::from_columns(
        columns
            .into_iter()
            .map(|(n, v): (&str, Vec<f64>)| (n.to_owned(), v))
            .collect(),
    )
    .map_err(AnalyticsError::model("churn features"))?;
    let churned = if labelled {
        required_numbers(batches, "frequency_holdout")?
            .iter()
            .map(|h| *h == 0.0)
            .collect()
    } else {
        Vec::new()
    };
    Ok(Cut {
        ids,
        features,
        churned,
    })
}

/// The logistic regression's view of the features: `ln(1 + x)` on counts and money.
fn logistic_view(features: &FeatureMatrix) -> FeatureMatrix {
    let columns = features
        .names()
        .iter()
        .enumerate()
        .map(|(j, name)| {
            let column = features.column(j);
            let values = if LOG_FEATURES.contains(&name.as_str()) {
                column.iter().map(|v| v.max(0.0).ln_1p()).collect()
            } else {
                column.to_vec()
            };
            (name.clone(), values)
        })
        .collect();
    FeatureMatrix::from_columns(columns).expect("transformed finite features stay finite")
}

/// Fits one model family on a cut (the logistic regression on [`logistic_view`]).
fn fit_kind(kind: ChurnModelKind, cut: &Cut, options: &ChurnOptions) -> Result<Classifier> {
    match kind {
        ChurnModelKind::Logistic => Classifier::logistic(
            &logistic_view(&cut.features),
            &cut.churned,
            "churn logistic regression",
        ),
        ChurnModelKind::RandomForest => Classifier::forest(
            &cut.features,
            &cut.churned,
            options.trees,
            options.seed,
            "churn random forest",
        ),
    }
}

/// Churn probabilities of a fitted model for the customers `features` describe.
fn churn_probability(model: &Classifier, features: &FeatureMatrix) -> Result<Vec<f64>> {
    match model {
        Classifier::Logistic(..) => model.probability(&logistic_view(features), "churn scores"),
        Classifier::Forest(_) => model.probability(features, "churn scores"),
    }
}

fn rate(churned: &[bool]) -> f64 {
    churned.iter().filter(|c| **c).count() as f64 / churned.len().max(1) as f64
}

/// Trains, validates and scores the churn models (see the module documentation).
pub async fn churn(dataset: &Dataset, options: &ChurnOptions) -> Result<ChurnRisk> {
    let history = crate::summary_with_facts(dataset).await?;
    churn_with_history(dataset, &history, options).await
}

/// [`churn`] given the data set's whole-history summary with facts (which `analyze` has
/// already computed).
pub(crate) async fn churn_with_history(
    dataset: &Dataset,
    history: &Summary,
    options: &ChurnOptions,
) -> Result<ChurnRisk> {
    if options.window_days == 0 {
        return Err(not_enough("the churn window is 0 days".into()));
    }
    let mut laps = crate::timing::Laps::new("churn");
    let first_day = crate::first_purchase_day(history)?;
    // Without an as-of date, the summary's own end (the last purchase day) is the date.
    let as_of = options.as_of.unwrap_or(history.calibration_end);
    let validation_cutoff = day_before(as_of, options.window_days);
    let train_cutoff = day_before(validation_cutoff, options.window_days);
    if train_cutoff < first_day {
        return Err(not_enough(format!(
            "training needs customers before {train_cutoff} (two {}-day windows before {as_of}), and the first purchase is on {first_day}",
            options.window_days
        )));
    }
    let scoring = if as_of == history.calibration_end {
        cut_of(&history.batches, false)?
    } else {
        cut(dataset, as_of, None).await?
    };
    let train = cut(dataset, train_cutoff, Some(validation_cutoff)).await?;
    let validation = cut(dataset, validation_cutoff, Some(as_of)).await?;
    laps.lap("summaries at the cut-offs");
    for (name, part) in [("training", &train), ("validation", &validation)] {
        let churners = part.churned.iter().filter(|c| **c).count();
        if part.ids.len() < 20 || churners == 0 || churners == part.ids.len() {
            return Err(not_enough(format!(
                "the {name} cut has {} customers of whom {churners} churned; both outcomes are needed among at least 20 customers",
                part.ids.len()
            )));
        }
    }
    // Scores on up to VALIDATION_ROWS customers (a seeded sample beyond): scoring the 1 M demo's
    // validation customers through the forest took 3.17 s, the sample 0.81 s
    // (`SALESFLOW_TIMINGS=1 salesflow predict churn`), and both models' AUCs moved by at most
    // 0.001 (bench/predict).
    let checked = sample_rows(validation.ids.len(), VALIDATION_ROWS, options.seed);
    let checked_features = validation.features.select_rows(&checked);
    let checked_churned: Vec<bool> = checked.iter().map(|&i| validation.churned[i]).collect();
    let mut scores = Vec::new();
    for kind in [ChurnModelKind::Logistic, ChurnModelKind::RandomForest] {
        let model = fit_kind(kind, &train, options)?;
        laps.lap(&format!("{} fitted", kind.name()));
        let p = churn_probability(&model, &checked_features)?;
        laps.lap(&format!("{} validated", kind.name()));
        let metrics = classification_metrics(&checked_churned, &p, 0.5)
            .map_err(AnalyticsError::model("churn validation"))?;
        scores.push(Validation {
            model: kind,
            metrics,
        });
    }
    let chosen = scores
        .iter()
        .max_by(|a, b| {
            let auc = |v: &Validation| v.metrics.roc_auc.unwrap_or(0.5);
            auc(a).total_cmp(&auc(b)).then(
                // On equal AUC the simpler model.
                (a.model == ChurnModelKind::Logistic).cmp(&(b.model == ChurnModelKind::Logistic)),
            )
        })
        .map_or(ChurnModelKind::Logistic, |v| v.model);

    // Refit on the latest labelled cut for the scores and the drivers.
    let logistic = fit_kind(ChurnModelKind::Logistic, &validation, options)?;
    let forest = fit_kind(ChurnModelKind::RandomForest, &validation, options)?;
    laps.lap("both refitted");
    let drivers = drivers(&logistic, &forest);
    let model = if chosen == ChurnModelKind::Logistic {
        logistic
    } else {
        forest
    };
    let probability = churn_probability(&model, &scoring.features)?;
    laps.lap("scored");
    let rules = rules(&validation)?;
    laps.lap("rules");
    Ok(ChurnRisk {
        window_days: options.window_days,
        cutoffs: [train_cutoff, validation_cutoff, as_of],
        train: (train.ids.len(), rate(&train.churned)),
        validation_rows: (validation.ids.len(), rate(&validation.churned)),
        validation: scores,
        chosen,
        drivers,
        rules,
        customers: scoring.ids,
        probability,
    })
}

fn drivers(logistic: &Classifier, forest: &Classifier) -> Vec<Driver> {
    let (Classifier::Logistic(_, fit), Classifier::Forest(forest)) = (logistic, forest) else {
        return Vec::new();
    };
    let importances = forest.feature_importances();
    let mut drivers: Vec<Driver> = FEATURES
        .iter()
        .enumerate()
        .map(|(j, feature)| {
            let coefficient = &fit.coefficients[j + 1];
            Driver {
                feature,
                coefficient: coefficient.estimate,
                p_value: coefficient.p_value,
                importance: importances[j],
            }
        })
        .collect();
    drivers.sort_by(|a, b| b.coefficient.abs().total_cmp(&a.coefficient.abs()));
    drivers
}

/// A three-level tree's leaves as sentences, highest churn share first.
fn rules(cut: &Cut) -> Result<Vec<String>> {
    let labels: Vec<u32> = cut.churned.iter().map(|&c| u32::from(c)).collect();
    let tree = DecisionTree::fit(
        &cut.features,
        TreeTarget::Classes {
            labels: &labels,
            n_classes: 2,
        },
        None,
        &TreeOptions {
            max_depth: Some(3),
            min_samples_leaf: (cut.ids.len() / 50).max(10),
            ..TreeOptions::default()
        },
    )
    .map_err(AnalyticsError::model("churn rules"))?;
    let mut rules = tree.rules();
    rules.sort_by(|a, b| b.prediction[1].total_cmp(&a.prediction[1]));
    Ok(rules.iter().map(|r| r.text("churn", 1)).collect())
}
