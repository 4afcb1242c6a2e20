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

/// Poisson draw by Knuth's product of uniforms (means here are below 100).
fn poisson(rng: &mut crate::sim::Rng, mean: f64) -> f64 {
    let limit = (-mean).exp();
    let (mut k, mut p) = (0.0, 1.0);
    loop {
        p *= rng.uniform();
        if p <= limit {
            return k;
        }
        k += 1.0;
    }
}

#[test]
fn response_curves_are_recovered_within_their_standard_errors() {
    use salesflow_models::budget::fit::{
        HeldCurve, Priors, ResponseData, Series, fit_response, likelihood_ratio,
    };
    let mut rng = crate::sim::Rng::new(17);
    let weeks = 104;
    let season_of: Vec<usize> = (0..weeks).map(|w| (w * 12 / 52) % 12).collect();
    let season: Vec<f64> = (0..12)
        .map(|m| 1.0 + 0.3 * (m as f64 * 0.52).sin())
        .collect();
    let season: Vec<f64> = season.iter().map(|s| s / season[0]).collect();
    // (channel, K, h, ceiling, baseline); channel 0 runs in two segments.
    let truth = [
        (0, 2000.0, 1.0, 40.0, 2.0),
        (0, 2000.0, 1.0, 18.0, 1.0),
        (1, 800.0, 1.8, 25.0, 1.5),
    ];
    let series: Vec<Series> = truth
        .iter()
        .map(|&(channel, k, h, beta, base)| {
            let spend: Vec<f64> = (0..weeks).map(|_| k * (0.8 * rng.normal()).exp()).collect();
            let outcome = spend
                .iter()
                .enumerate()
                .map(|(t, &s)| {
                    let r = (s / k).powf(h);
                    poisson(
                        &mut rng,
                        season[season_of[t]] * (base + beta * r / (1.0 + r)),
                    )
                })
                .collect();
            Series {
                channel,
                spend,
                outcome,
            }
        })
        .collect();
    let data = ResponseData {
        series: &series,
        channels: 2,
        season_of: &season_of,
        seasons: 12,
        max_lag: 1,
    };
    let priors = Priors::default();
    let fit = fit_response(&data, &priors).unwrap();
    assert!(fit.converged, "{fit:?}");
    for (c, (k, h)) in [(2000.0, 1.0), (800.0, 1.8)].into_iter().enumerate() {
        let f = fit.channels[c];
        assert!(
            (f.half_saturation - k).abs() < 3.0 * f.half_saturation_se,
            "channel {c}: K {} ± {} vs {k}",
            f.half_saturation,
            f.half_saturation_se
        );
        assert!(
            (f.shape - h).abs() < 3.0 * f.shape_se,
            "channel {c}: h {} ± {} vs {h}",
            f.shape,
            f.shape_se
        );
        // Uncertainty that means something: within a factor of the truth, not a blank cheque.
        assert!(f.half_saturation_se < 0.5 * k, "{f:?}");
        let (lo, hi) = f.half_saturation_interval;
        let (lo, hi) = (lo.unwrap(), hi.unwrap());
        assert!(
            lo < k && k < hi && hi < 3.0 * k,
            "channel {c}: {lo}..{hi} vs {k}"
        );
    }
    // The likelihood-ratio test accepts the true curves (χ² with 4 degrees of freedom: 9.49
    // at 95 %) and rejects curves at twice the true half-saturation.
    let curves = |scale: f64| -> Vec<HeldCurve> {
        [(2000.0, 1.0), (800.0, 1.8)]
            .iter()
            .enumerate()
            .map(|(channel, &(k, h))| HeldCurve {
                channel,
                half_saturation: k * scale,
                shape: h,
            })
            .collect()
    };
    let at_truth = likelihood_ratio(&data, &fit, &curves(1.0)).unwrap();
    assert!(at_truth < 9.49, "{at_truth}");
    let doubled = likelihood_ratio(&data, &fit, &curves(2.0)).unwrap();
    assert!(doubled > 9.49, "{doubled}");
    let twice = [curves(1.0)[0], curves(1.0)[0]];
    assert!(likelihood_ratio(&data, &fit, &twice).is_err());
    // Plain maximum likelihood: the same checks hold (the objective the intervals and the
    // test compare with is the dispersion-weighted one there too).
    let flat = fit_response(&data, &Priors::flat()).unwrap();
    for (c, k) in [2000.0, 800.0].into_iter().enumerate() {
        let (lo, hi) = flat.channels[c].half_saturation_interval;
        let (lo, hi) = (lo.unwrap(), hi.unwrap());
        assert!(
            lo < k && k < hi && hi < 3.0 * k,
            "flat, channel {c}: {lo}..{hi} vs {k}"
        );
    }
    let at_truth = likelihood_ratio(&data, &flat, &curves(1.0)).unwrap();
    assert!(at_truth < 9.49, "flat: {at_truth}");
    assert!(
        (fit.dispersion - 1.0).abs() < 0.3,
        "Poisson data: dispersion {}",
        fit.dispersion
    );
}
