//! Budget allocation: pymc-marketing's optimiser test case and the textbook linear case
//! (fixtures/experiments/budget.json).

use salesflow_models::budget::linear::linear_allocation;
use salesflow_models::budget::{Curve, LogisticSaturation, allocate};
use serde_json::Value;

use crate::common::fixture;

/// pymc-marketing's channel response in its test: the budget is spent in each of 30 periods,
/// carried over by normalised geometric adstock (4 lags), saturated by the logistic curve and
/// averaged over four posterior draws of (λ, β).
struct PymcChannel {
    draws: Vec<LogisticSaturation>,
    profile: Vec<f64>,
}

impl Curve for PymcChannel {
    fn value(&self, x: f64) -> f64 {
        let total: f64 = self
            .draws
            .iter()
            .map(|d| self.profile.iter().map(|a| d.value(x * a)).sum::<f64>())
            .sum();
        total / self.draws.len() as f64
    }
    fn slope(&self, x: f64) -> f64 {
        let total: f64 = self
            .draws
            .iter()
            .map(|d| self.profile.iter().map(|a| a * d.slope(x * a)).sum::<f64>())
            .sum();
        total / self.draws.len() as f64
    }
}

fn budget() -> Value {
    let text = std::fs::read_to_string(fixture("experiments/budget.json")).expect("fixture");
    serde_json::from_str(&text).expect("JSON")
}

#[test]
fn pymc_marketing_two_channel_case() {
    let case = &budget()["pymc_marketing_two_channels"];
    let params = &case["parameters"];
    let channels: Vec<PymcChannel> = (0..2)
        .map(|c| PymcChannel {
            draws: (0..4)
                .map(|d| LogisticSaturation {
                    beta: params["beta"][c][d].as_f64().unwrap(),
                    lambda: params["lam"][c][d].as_f64().unwrap(),
                })
                .collect(),
            profile: case["adstock_profiles"][c]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_f64().unwrap())
                .collect(),
        })
        .collect();
    // The response function agrees with pymc-marketing's at its own evaluation points.
    for check in case["response_checks"].as_array().unwrap() {
        let b = [
            check["budgets"][0].as_f64().unwrap(),
            check["budgets"][1].as_f64().unwrap(),
        ];
        let value = channels[0].value(b[0]) + channels[1].value(b[1]);
        let want = check["response"].as_f64().unwrap();
        assert!(
            (value - want).abs() < 1e-12 * want,
            "{b:?}: {value} vs {want}"
        );
    }
    let curves: [&dyn Curve; 2] = [&channels[0], &channels[1]];
    let r = allocate(&curves, &[(0.0, 100.0), (0.0, 100.0)], 100.0).unwrap();
    // pymc-marketing's test expects 54.78 / 45.22 (its SLSQP stops at 54.783576); the exact
    // optimum, where the marginal returns are equal, is 54.783323.
    assert!(
        (r.spend[0] - 54.78).abs() < 1e-2 && (r.spend[1] - 45.22).abs() < 1e-2,
        "{r:?}"
    );
    let exact = &case["exact_optimum"];
    assert!(
        (r.spend[0] - exact["x"][0].as_f64().unwrap()).abs() < 1e-6,
        "{r:?}"
    );
    assert!((r.outcome - exact["response"].as_f64().unwrap()).abs() < 1e-10);
    assert!((r.marginal[0] - r.marginal[1]).abs() < 1e-10);
    assert!((r.spend[0] + r.spend[1] - 100.0).abs() < 1e-9);
}

#[test]
fn textbook_linear_case_puts_the_budget_where_the_return_is_best() {
    let lp = &budget()["textbook_lp"];
    let roi: Vec<f64> = lp["roi"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    let cost: Vec<f64> = lp["cost"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    // Uncapped (segments scale): everything into ROI 2, return 6000.
    let free = linear_allocation(&roi, &[None, None, None], 3000.0).unwrap();
    assert_eq!(free.spend, vec![3000.0, 0.0, 0.0]);
    assert_eq!(free.total_return, 6000.0);
    // Capped at each segment's cost: all three funded, 3700, with 700 left over.
    let caps: Vec<Option<f64>> = cost.iter().map(|&c| Some(c)).collect();
    let capped = linear_allocation(&roi, &caps, 3000.0).unwrap();
    assert_eq!(capped.spend, cost);
    assert_eq!(capped.total_return, 3700.0);
    assert_eq!(capped.unspent, 700.0);
    // Never over budget, never a negative or over-cap spend.
    let tight = linear_allocation(&roi, &caps, 1500.0).unwrap();
    assert_eq!(tight.spend, vec![1000.0, 500.0, 0.0]);
}
