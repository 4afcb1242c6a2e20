//! The two model families churn and lead scoring compare on their validation rows: an L2
//! logistic regression on standardised features, and a random forest.

use salesflow_models::evaluate::sample_rows;
use salesflow_models::features::{FeatureMatrix, Standardizer};
use salesflow_models::linear::{LogisticFit, LogisticOptions, fit_logistic};
use salesflow_models::tree::{ForestOptions, RandomForest, TreeOptions, TreeTarget};

use crate::error::{AnalyticsError, Result};

/// Most rows a random forest trains on (a seeded sample beyond). On the 1,000,000-customer
/// demo, `bench/predict` gave the churn forest a validation AUC of 0.7489 with 200,000 and
/// 0.7499 with 100,000 (and the forest's fit 1.45 s against 0.62 s, `SALESFLOW_TIMINGS=1`).
const FOREST_ROWS: usize = 100_000;

/// Deepest level of the forests' trees (with leaves of at least 0.5 % of the rows).
const FOREST_DEPTH: usize = 12;

/// A fitted binary classifier of either family.
pub(crate) enum Classifier {
    /// Logistic regression (C = 1) on z-scores of the features.
    Logistic(Standardizer, LogisticFit),
    /// Random forest on the features as they are.
    Forest(RandomForest),
}

impl Classifier {
    /// A logistic regression of `positive` on `x`; `what` names the model in errors.
    pub(crate) fn logistic(x: &FeatureMatrix, positive: &[bool], what: &str) -> Result<Self> {
        let scaler = Standardizer::fit(x);
        let fit = fit_logistic(&scaler.transform(x), positive, &LogisticOptions::default())
            .map_err(AnalyticsError::model(what))?;
        Ok(Classifier::Logistic(scaler, fit))
    }

    /// A random forest of `trees` trees on at most [`FOREST_ROWS`] rows of `x` (a sample
    /// drawn with `seed`, which also seeds the trees), leaves of at least 0.5 % of those rows
    /// (and 5) and depth at most [`FOREST_DEPTH`].
    pub(crate) fn forest(
        x: &FeatureMatrix,
        positive: &[bool],
        trees: usize,
        seed: u64,
        what: &str,
    ) -> Result<Self> {
        let rows = sample_rows(x.rows(), FOREST_ROWS, seed);
        let labels: Vec<u32> = rows.iter().map(|&i| u32::from(positive[i])).collect();
        let forest = RandomForest::fit(
            &x.select_rows(&rows),
            TreeTarget::Classes {
                labels: &labels,
                n_classes: 2,
            },
            &ForestOptions {
                trees: trees.max(1),
                tree: TreeOptions {
                    min_samples_leaf: (rows.len() / 200).max(5),
                    max_depth: Some(FOREST_DEPTH),
                    ..TreeOptions::default()
                },
                seed,
                ..ForestOptions::default()
            },
        )
        .map_err(AnalyticsError::model(what))?;
        Ok(Classifier::Forest(forest))
    }

    /// The probability of the positive class for each row of `x`.
    pub(crate) fn probability(&self, x: &FeatureMatrix, what: &str) -> Result<Vec<f64>> {
        match self {
            Classifier::Logistic(scaler, fit) => fit
                .predict_proba(&scaler.transform(x))
                .map_err(AnalyticsError::model(what)),
            Classifier::Forest(forest) => Ok(forest
                .predict_proba(x)
                .map_err(AnalyticsError::model(what))?
                .chunks(2)
                .map(|p| p[1])
                .collect()),
        }
    }
}
