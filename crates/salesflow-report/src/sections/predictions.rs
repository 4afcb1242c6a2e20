//! Predictions: churn risk (validation scores, calibration, drivers and rules) and the spend
//! regression's coefficient table (the same as `salesflow predict churn|spend`).

use salesflow_analytics::Analysis;
use salesflow_analytics::findings::{percent, thousands};
use salesflow_models::evaluate::ClassificationMetrics;

use super::{BLUE, ORANGE};
use crate::bars::{Bar, BarChart, bar_chart};
use crate::html::Section;

fn decimals(v: f64, places: usize) -> String {
    if v.is_finite() {
        format!("{v:.places$}")
    } else {
        "–".into()
    }
}

fn p_value(p: Option<f64>) -> String {
    match p {
        Some(p) if p < 1e-4 => "<0.0001".into(),
        Some(p) => format!("{p:.4}"),
        None => "–".into(),
    }
}

const VALIDATION_HEADERS: [&str; 6] = [
    "model",
    "ROC AUC",
    "log loss",
    "Brier",
    "precision",
    "recall",
];

/// A model's validation scores as a table row.
fn validation_row(model: &str, used: bool, m: &ClassificationMetrics) -> Vec<String> {
    vec![
        format!(
            "{}{}",
            model.replace('_', " "),
            if used { " (used)" } else { "" }
        ),
        m.roc_auc.map_or("–".into(), |x| decimals(x, 3)),
        decimals(m.log_loss, 3),
        decimals(m.brier, 3),
        percent(m.precision),
        percent(m.recall),
    ]
}

pub(crate) fn render(a: &Analysis) -> Option<Section> {
    if a.churn.is_none() && a.spend.is_none() && a.leads.is_none() {
        return None;
    }
    let mut s = Section::new("predictions", "Predictions");
    if let Some(churn) = &a.churn {
        let [train, validation, as_of] = churn.cutoffs;
        s.heading(&format!(
            "Churn risk: no purchase in the next {} days",
            churn.window_days
        ));
        s.note(&format!(
            "Trained on the customers as they stood on {train} and what they did in the {} days \
             after; validated the same way from {validation}; the better model (by ROC AUC) was \
             refitted on the later cut-off and scored every customer as of {as_of}. The \
             per-customer probability is in customers_scored.",
            churn.window_days
        ));
        let high = churn.probability.iter().filter(|p| **p >= 0.8).count();
        let mean = churn.probability.iter().sum::<f64>() / churn.probability.len().max(1) as f64;
        let chosen = churn
            .validation
            .iter()
            .find(|v| v.model == churn.chosen)
            .and_then(|v| v.metrics.roc_auc);
        s.cards(&[
            ("customers scored", thousands(churn.customers.len() as f64)),
            ("mean churn risk", percent(mean)),
            ("at 80 % risk or more", thousands(high as f64)),
            (
                "validation ROC AUC",
                chosen.map_or("–".into(), |auc| decimals(auc, 3)),
            ),
        ]);
        let rows: Vec<Vec<String>> = churn
            .validation
            .iter()
            .map(|v| validation_row(v.model.name(), v.model == churn.chosen, &v.metrics))
            .collect();
        s.table(&VALIDATION_HEADERS, &rows);
        if let Some(v) = churn.validation.iter().find(|v| v.model == churn.chosen) {
            let bars = v
                .metrics
                .calibration
                .iter()
                .map(|b| Bar {
                    label: format!("predicted {:.0}–{:.0} %", b.lower * 100.0, b.upper * 100.0),
                    value: b.observed_rate,
                    text: format!(
                        "{} churned of {}",
                        percent(b.observed_rate),
                        thousands(b.count as f64)
                    ),
                })
                .collect();
            s.chart(&bar_chart(&BarChart {
                title: "Calibration: share that churned, by predicted risk (validation)",
                value_label: "observed churn rate",
                bars,
                color: ORANGE,
            }));
        }
        let rows: Vec<Vec<String>> = churn
            .drivers
            .iter()
            .map(|d| {
                vec![
                    d.feature.replace('_', " "),
                    format!("{:+.3}", d.coefficient),
                    p_value(d.p_value),
                    percent(d.importance),
                ]
            })
            .collect();
        s.table(
            &[
                "driver",
                "logistic coefficient per SD (+ raises risk)",
                "p-value",
                "forest importance",
            ],
            &rows,
        );
        s.paragraph(
            "The same risk as rules a person can act on (a three-level tree, riskiest first):",
        );
        s.list(&churn.rules);
    }
    if let Some(leads) = &a.leads {
        s.heading("Lead scores: which open deals will be won");
        s.note(&format!(
            "Learned from how closed deals ended, one row per stage a deal entered (what was \
             known then: stage, days since creation, stages so far, amount, pipeline, owner, \
             source){}; validated on the {} deals that closed from {} on, against the stage win \
             rates the pipeline uses (learned on every deal, which flatters them).",
            if leads.stage_history {
                ""
            } else {
                " (without stage_events: rows at creation, stage left out)"
            },
            thousands(leads.validation_rows.0 as f64),
            leads.validation_from
        ));
        s.cards(&[
            ("open deals", thousands(leads.open.len() as f64)),
            (
                "weighted pipeline (lead scores)",
                thousands(leads.weighted_pipeline),
            ),
            (
                "weighted pipeline (stage rates)",
                thousands(leads.stage_weighted_pipeline),
            ),
        ]);
        let rows: Vec<Vec<String>> = leads
            .validation
            .iter()
            .map(|v| validation_row(v.model, v.model == leads.chosen, &v.metrics))
            .collect();
        s.table(&VALIDATION_HEADERS, &rows);
        let rows: Vec<Vec<String>> = leads
            .open
            .iter()
            .take(15)
            .map(|d| {
                vec![
                    d.id.clone(),
                    d.stage.clone(),
                    thousands(d.amount),
                    percent(d.win_probability),
                    percent(d.stage_probability),
                ]
            })
            .collect();
        s.paragraph("The open deals most likely to be won:");
        s.table(
            &[
                "deal",
                "stage",
                "amount",
                "win probability",
                "stage win rate",
            ],
            &rows,
        );
    }
    if let Some(spend) = &a.spend {
        let fit = &spend.fit;
        s.heading("What goes with a higher order value");
        s.note(&format!(
            "Average order value of {} customers regressed (ordinary least squares) on their \
             orders, tenure and customer attributes; text columns are compared with their most \
             common value. R² {} (adjusted {}); on held-out customers the model's error \
             (RMSE {}) against {} for predicting the mean alone.",
            thousands(spend.rows as f64),
            decimals(fit.r_squared, 3),
            decimals(fit.adj_r_squared, 3),
            decimals(spend.test.rmse, 2),
            decimals(spend.baseline.rmse, 2),
        ));
        let significant: Vec<Bar> = fit
            .coefficients
            .iter()
            .filter(|c| c.name != "const" && c.p_value.is_some_and(|p| p < 0.05))
            .map(|c| Bar {
                label: c.name.clone(),
                value: c.estimate,
                text: format!("{:+.2}", c.estimate),
            })
            .collect();
        if !significant.is_empty() {
            s.chart(&bar_chart(&BarChart {
                title: "Coefficients significant at 5 % (change in order value per unit)",
                value_label: "coefficient",
                bars: significant,
                color: BLUE,
            }));
        }
        let rows: Vec<Vec<String>> = fit
            .coefficients
            .iter()
            .map(|c| {
                let (lo, hi) = c.interval.unwrap_or((f64::NAN, f64::NAN));
                vec![
                    c.name.clone(),
                    decimals(c.estimate, 4),
                    decimals(c.std_error.unwrap_or(f64::NAN), 4),
                    decimals(c.t.unwrap_or(f64::NAN), 2),
                    p_value(c.p_value),
                    decimals(lo, 4),
                    decimals(hi, 4),
                ]
            })
            .collect();
        s.table(
            &[
                "coefficient",
                "estimate",
                "std error",
                "t",
                "p-value",
                "95 % low",
                "95 % high",
            ],
            &rows,
        );
        if !spend.dropped.is_empty() {
            let dropped: Vec<String> = spend
                .dropped
                .iter()
                .map(|(c, why)| format!("{c}: {why}"))
                .collect();
            s.paragraph("Columns left out of the regression:");
            s.list(&dropped);
        }
    }
    Some(s)
}
