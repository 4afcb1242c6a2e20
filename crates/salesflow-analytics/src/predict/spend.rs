//! Spend prediction: how much a customer spends per order, and which attributes go with it,
//! by ordinary least squares on the customer table.
//!
//! The target is each customer's average order value. The features are the customer's number
//! of orders and tenure (days since the first purchase), every usable column of `customers`
//! (numbers as they are; text with 2 to `max_levels` distinct values one-hot encoded against
//! its most common level), and the event counts when `events` exists. Revenue and the other
//! money columns are left out: they contain the target.
//!
//! Missing numbers are filled with the column's mean and counted; missing text becomes its
//! own level, `(missing)`. A column that is constant, has too many levels, is a date, or is
//! collinear with the ones before it is left out and listed with the reason. The test score
//! comes from a seeded 75/25 split (each part capped at 200,000 customers); the coefficient
//! table from the fit on every customer.

use std::collections::HashMap;

use datafusion::arrow::datatypes::DataType;
use datafusion::arrow::record_batch::RecordBatch;
use salesflow_engine::Dataset;
use salesflow_engine::customer_features;
use salesflow_models::ModelError;
use salesflow_models::evaluate::{
    RegressionMetrics, regression_metrics, sample_rows, train_test_split,
};
use salesflow_models::features::{ColumnEncoding, Encoder, InputColumn};
use salesflow_models::linear::{LinearFit, LinearOptions, fit_linear};

use super::columns::{distinct_up_to, numbers, required_numbers, texts};
use crate::error::{AnalyticsError, Result};

/// Summary columns that are the target, contain it, or repeat another feature.
const NOT_FEATURES: [&str; 10] = [
    "customer_id",
    "frequency",
    "recency",
    "T",
    "monetary_value",
    "first_order_at",
    "last_order_at",
    "revenue",
    "average_order_value",
    "recency_days",
];

/// Most customers in each part of the test split (a seeded sample beyond).
const SCORE_ROWS: usize = 200_000;

/// Settings of [`spend`].
#[derive(Debug, Clone)]
pub struct SpendOptions {
    /// Text columns with more distinct values than this are left out (default 20).
    pub max_levels: usize,
    /// Share of customers held out for the test score (default 0.25).
    pub test_fraction: f64,
    /// Seed of the split.
    pub seed: u64,
}

impl Default for SpendOptions {
    fn default() -> Self {
        SpendOptions {
            max_levels: 20,
            test_fraction: 0.25,
            seed: 42,
        }
    }
}

/// The spend regression.
#[derive(Debug, Clone)]
pub struct SpendModel {
    /// What is predicted.
    pub target: &'static str,
    /// Customers fitted.
    pub rows: usize,
    /// The fit on every customer (coefficients with standard errors and p-values).
    pub fit: LinearFit,
    /// Errors on the held-out customers of a model fitted on the rest.
    pub test: RegressionMetrics,
    /// Errors on the same customers when predicting the training mean for everyone.
    pub baseline: RegressionMetrics,
    /// Input columns used.
    pub used: Vec<String>,
    /// Input columns left out, with why.
    pub dropped: Dropped,
    /// Numeric columns with missing values filled by the mean, and how many.
    pub imputed: Imputed,
}

/// Fits the spend regression on the data set's customers.
pub async fn spend(dataset: &Dataset, options: &SpendOptions) -> Result<SpendModel> {
    let summary = crate::summary_with_facts(dataset).await?;
    let batches = customer_features::register(dataset, &summary).await?;
    spend_from_features(&batches, options)
}

/// [`spend`] on the rows of `customer_features` (which `analyze` has already registered).
pub(crate) fn spend_from_features(
    batches: &[RecordBatch],
    options: &SpendOptions,
) -> Result<SpendModel> {
    let mut laps = crate::timing::Laps::new("spend");
    let target = required_numbers(batches, "average_order_value")?;
    let (mut inputs, mut dropped, imputed) = candidate_inputs(batches, options)?;
    laps.lap("inputs");
    if target.len() < 10 {
        return Err(AnalyticsError::NotEnoughData {
            what: "spend prediction",
            detail: format!("{} customers", target.len()),
            hint: "a regression needs at least 10 customers",
        });
    }
    // Drop collinear inputs one at a time (the error names the matrix column).
    let (matrix, fit) = loop {
        let encoder =
            Encoder::fit(&inputs, &references(&inputs)).map_err(AnalyticsError::model("spend"))?;
        let matrix = encoder
            .encode(&inputs)
            .map_err(AnalyticsError::model("spend"))?
            .matrix;
        match fit_linear(&matrix, &target, &LinearOptions::default()) {
            Ok(fit) => break (matrix, fit),
            Err(ModelError::Collinear { column }) => {
                // The input that made the matrix column (a number, or one level's dummy).
                let input = encoder.columns().iter().find_map(|c| match c {
                    ColumnEncoding::Numeric { name } => (*name == column).then(|| name.clone()),
                    ColumnEncoding::OneHot { name, levels, .. } => levels
                        .iter()
                        .any(|l| format!("{name}[T.{l}]") == column)
                        .then(|| name.clone()),
                });
                let before = inputs.len();
                if let Some(input) = &input {
                    inputs.retain(|(name, _)| name != input);
                }
                if inputs.len() == before {
                    return Err(AnalyticsError::model("spend regression")(
                        ModelError::Collinear { column },
                    ));
                }
                dropped.push((
                    input.unwrap_or_default(),
                    "collinear with the columns before it".into(),
                ));
            }
            Err(ModelError::InvalidParameter { name: "rows", .. }) => {
                return Err(AnalyticsError::NotEnoughData {
                    what: "spend prediction",
                    detail: format!(
                        "{} customers for {} coefficients",
                        target.len(),
                        matrix.cols() + 1
                    ),
                    hint: "use fewer customer columns, or more customers",
                });
            }
            Err(e) => return Err(AnalyticsError::model("spend regression")(e)),
        }
    };
    laps.lap("fitted");
    let mut split = train_test_split(target.len(), options.test_fraction, options.seed)
        .map_err(AnalyticsError::model("spend split"))?;
    // The test score needs no million rows: both parts are capped (seeded samples beyond),
    // which keeps its refit from doubling the time on large customer tables.
    for part in [&mut split.train, &mut split.test] {
        let keep = sample_rows(part.len(), SCORE_ROWS, options.seed);
        *part = keep.iter().map(|&k| part[k]).collect();
    }
    if split.train.len() <= matrix.cols() + 1 {
        return Err(AnalyticsError::NotEnoughData {
            what: "spend prediction",
            detail: format!(
                "the {} customers of the 75 % training part are too few for {} coefficients",
                split.train.len(),
                matrix.cols() + 1
            ),
            hint: "use fewer customer columns, or more customers",
        });
    }
    let pick = |rows: &[usize]| rows.iter().map(|&i| target[i]).collect::<Vec<_>>();
    let (train_y, test_y) = (pick(&split.train), pick(&split.test));
    let test_x = matrix.select_rows(&split.test);
    let test = match fit_linear(
        &matrix.select_rows(&split.train),
        &train_y,
        &LinearOptions::default(),
    ) {
        Ok(train_fit) => regression_metrics(
            &test_y,
            &train_fit
                .predict(&test_x)
                .map_err(AnalyticsError::model("spend test"))?,
        ),
        // A level absent from the training part can make it collinear: fall back to the
        // ridge fit, which is always defined.
        Err(_) => {
            let ridge = LinearOptions {
                ridge: 1e-6,
                ..LinearOptions::default()
            };
            let train_fit = fit_linear(&matrix.select_rows(&split.train), &train_y, &ridge)
                .map_err(AnalyticsError::model("spend test"))?;
            regression_metrics(
                &test_y,
                &train_fit
                    .predict(&test_x)
                    .map_err(AnalyticsError::model("spend test"))?,
            )
        }
    }
    .map_err(AnalyticsError::model("spend test"))?;
    laps.lap("tested");
    let train_mean = train_y.iter().sum::<f64>() / train_y.len() as f64;
    let baseline = regression_metrics(&test_y, &vec![train_mean; test_y.len()])
        .map_err(AnalyticsError::model("spend baseline"))?;
    Ok(SpendModel {
        target: "average_order_value",
        rows: target.len(),
        fit,
        test,
        baseline,
        used: inputs.iter().map(|(n, _)| n.clone()).collect(),
        dropped,
        imputed,
    })
}

type Inputs = Vec<(String, InputColumn)>;

/// Columns left out, each with the reason.
type Dropped = Vec<(String, String)>;

/// Numeric columns with the count of missing values filled by the mean.
type Imputed = Vec<(String, usize)>;

/// The usable input columns, those left out with why, and the mean-filled counts.
fn candidate_inputs(
    batches: &[RecordBatch],
    options: &SpendOptions,
) -> Result<(Inputs, Dropped, Imputed)> {
    let Some(schema) = batches.first().map(RecordBatch::schema) else {
        return Ok((Vec::new(), Vec::new(), Vec::new()));
    };
    let mut inputs = vec![
        (
            "orders".to_owned(),
            InputColumn::Numeric(required_numbers(batches, "orders")?),
        ),
        (
            "tenure_days".to_owned(),
            InputColumn::Numeric(required_numbers(batches, "T")?),
        ),
    ];
    let mut dropped = Vec::new();
    let mut imputed = Vec::new();
    for field in schema.fields() {
        let name = field.name();
        if NOT_FEATURES.contains(&name.as_str()) || name == "orders" {
            continue;
        }
        match field.data_type() {
            DataType::Timestamp(..) | DataType::Date32 | DataType::Date64 => {
                dropped.push((name.clone(), "a date".into()));
            }
            t if t.is_numeric() => {
                let values = numbers(batches, name)?;
                let present: Vec<f64> = values.iter().flatten().copied().collect();
                if present.is_empty() {
                    dropped.push((name.clone(), "no values".into()));
                    continue;
                }
                let mean = present.iter().sum::<f64>() / present.len() as f64;
                if present.iter().all(|v| *v == present[0]) {
                    dropped.push((name.clone(), "constant".into()));
                    continue;
                }
                let missing = values.len() - present.len();
                if missing > 0 {
                    imputed.push((name.clone(), missing));
                }
                inputs.push((
                    name.clone(),
                    InputColumn::Numeric(values.iter().map(|v| v.unwrap_or(mean)).collect()),
                ));
            }
            _ => {
                let levels = distinct_up_to(batches, name, options.max_levels)?;
                if levels.is_none() {
                    dropped.push((
                        name.clone(),
                        format!("more than {} distinct values", options.max_levels),
                    ));
                } else if levels < Some(2) {
                    dropped.push((name.clone(), "constant".into()));
                } else {
                    let values = texts(batches, name)?
                        .into_iter()
                        .map(|v| v.unwrap_or_else(|| "(missing)".to_owned()))
                        .collect();
                    inputs.push((name.clone(), InputColumn::Categorical(values)));
                }
            }
        }
    }
    Ok((inputs, dropped, imputed))
}

/// Each text input's most common level as its reference (ties: the first in sorted order),
/// so coefficients compare against the typical customer.
fn references(inputs: &Inputs) -> Vec<(String, String)> {
    inputs
        .iter()
        .filter_map(|(name, column)| match column {
            InputColumn::Categorical(values) => {
                let mut counts: HashMap<&str, usize> = HashMap::new();
                for v in values {
                    *counts.entry(v.as_str()).or_default() += 1;
                }
                let mut levels: Vec<(&str, usize)> = counts.into_iter().collect();
                levels.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
                levels
                    .first()
                    .map(|(level, _)| (name.clone(), (*level).to_owned()))
            }
            InputColumn::Numeric(_) => None,
        })
        .collect()
}
