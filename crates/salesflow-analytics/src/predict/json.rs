//! The `salesflow predict` documents.

use salesflow_models::evaluate::{ClassificationMetrics, RegressionMetrics};
use salesflow_models::linear::Coefficient;
use serde_json::{Value, json};

use super::churn::ChurnRisk;
use super::leads::LeadScores;
use super::spend::SpendModel;

fn classification(m: &ClassificationMetrics) -> Value {
    json!({
        "n": m.n,
        "positives": m.positives,
        "roc_auc": m.roc_auc,
        "log_loss": m.log_loss,
        "brier": m.brier,
        "threshold": m.threshold,
        "accuracy": m.accuracy,
        "precision": m.precision,
        "recall": m.recall,
        "f1": m.f1,
        "calibration": m.calibration.iter().map(|b| json!({
            "lower": b.lower, "upper": b.upper, "count": b.count,
            "mean_predicted": b.mean_predicted, "observed_rate": b.observed_rate,
        })).collect::<Vec<_>>(),
    })
}

fn regression(m: &RegressionMetrics) -> Value {
    json!({"mse": m.mse, "rmse": m.rmse, "mae": m.mae, "r_squared": m.r_squared})
}

/// One coefficient-table row.
pub fn coefficient(c: &Coefficient) -> Value {
    json!({
        "name": c.name,
        "estimate": c.estimate,
        "std_error": c.std_error,
        "t": c.t,
        "p_value": c.p_value,
        "lower": c.interval.map(|i| i.0),
        "upper": c.interval.map(|i| i.1),
    })
}

impl ChurnRisk {
    /// The churn document; `customers` adds every customer's probability.
    pub fn json(&self, customers: bool) -> Value {
        let mut doc = json!({
            "window_days": self.window_days,
            "cutoffs": {
                "train": self.cutoffs[0].to_string(),
                "validation": self.cutoffs[1].to_string(),
                "scored_as_of": self.cutoffs[2].to_string(),
            },
            "train": {"customers": self.train.0, "churn_rate": self.train.1},
            "validation": {
                "customers": self.validation_rows.0,
                "churn_rate": self.validation_rows.1,
                "models": self.validation.iter().map(|v| {
                    let mut m = classification(&v.metrics);
                    m["model"] = json!(v.model.name());
                    m
                }).collect::<Vec<_>>(),
            },
            "model": self.chosen.name(),
            "drivers": self.drivers.iter().map(|d| json!({
                "feature": d.feature,
                "coefficient_per_sd": d.coefficient,
                "p_value": d.p_value,
                "forest_importance": d.importance,
            })).collect::<Vec<_>>(),
            "rules": self.rules,
            "scored_customers": self.customers.len(),
            "mean_churn_probability": self.probability.iter().sum::<f64>() / self.probability.len().max(1) as f64,
        });
        if customers {
            doc["customers"] = self
                .customers
                .iter()
                .zip(&self.probability)
                .map(|(id, p)| json!({"customer_id": id, "churn_probability": p}))
                .collect();
        }
        doc
    }
}

impl SpendModel {
    /// The spend document.
    pub fn json(&self) -> Value {
        let fit = &self.fit;
        json!({
            "target": self.target,
            "customers": self.rows,
            "coefficients": fit.coefficients.iter().map(coefficient).collect::<Vec<_>>(),
            "r_squared": fit.r_squared,
            "adj_r_squared": fit.adj_r_squared,
            "f_statistic": fit.f_test.map(|f| f.0),
            "f_p_value": fit.f_test.map(|f| f.1),
            "log_likelihood": fit.log_likelihood,
            "aic": fit.aic,
            "bic": fit.bic,
            "residual_std_error": fit.scale.sqrt(),
            "diagnostics": fit.diagnostics.as_ref().map(|d| json!({
                "durbin_watson": d.durbin_watson,
                "jarque_bera": d.jarque_bera,
                "jarque_bera_p": d.jarque_bera_p,
                "skew": d.skew,
                "kurtosis": d.kurtosis,
                "condition_number": d.condition_number,
            })),
            "test": regression(&self.test),
            "baseline_test": regression(&self.baseline),
            "inputs": self.used,
            "dropped": self.dropped.iter().map(|(c, why)| json!({"column": c, "reason": why})).collect::<Vec<_>>(),
            "imputed": self.imputed.iter().map(|(c, n)| json!({"column": c, "rows": n})).collect::<Vec<_>>(),
        })
    }
}

impl LeadScores {
    /// The lead-scoring document; `deals` adds every open deal's score.
    pub fn json(&self, deals: bool) -> Value {
        let mut doc = json!({
            "stage_history": self.stage_history,
            "train": {"deals": self.train.0, "rows": self.train.1, "win_rate": self.train.2},
            "validation": {
                "from": self.validation_from,
                "deals": self.validation_rows.0,
                "rows": self.validation_rows.1,
                "win_rate": self.validation_rows.2,
                "models": self.validation.iter().map(|v| {
                    let mut m = classification(&v.metrics);
                    m["model"] = json!(v.model);
                    m
                }).collect::<Vec<_>>(),
            },
            "model": self.chosen,
            "coefficients": self.coefficients.iter().map(coefficient).collect::<Vec<_>>(),
            "open_deals": self.open.len(),
            "weighted_pipeline": self.weighted_pipeline,
            "stage_weighted_pipeline": self.stage_weighted_pipeline,
        });
        if deals {
            doc["deals"] = self
                .open
                .iter()
                .map(|d| {
                    json!({
                        "deal_id": d.id,
                        "stage": d.stage,
                        "amount": d.amount,
                        "win_probability": d.win_probability,
                        "stage_probability": d.stage_probability,
                    })
                })
                .collect();
        }
        doc
    }
}
