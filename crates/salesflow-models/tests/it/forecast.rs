//! Forecasting against R's forecast package (through statsmodels' stored results),
//! statsmodels and statsforecast (`fixtures/forecast`, made by `make_forecast_fixtures.py`).

use salesflow_models::forecast::ets::{
    EtsFit, EtsOptions, EtsSpec, FixedParameters, States, fit_ets,
};
use serde_json::Value;

use crate::common::fixture;

fn json(name: &str) -> Value {
    let text = std::fs::read_to_string(fixture(&format!("forecast/{name}"))).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn column(name: &str) -> Vec<f64> {
    let text = std::fs::read_to_string(fixture(&format!("forecast/{name}"))).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let at = header.iter().position(|h| *h == "value").unwrap();
    lines
        .map(|l| l.split(',').nth(at).unwrap().parse().unwrap())
        .collect()
}

/// An R number (`"NaN"` where the model has no such parameter).
fn r_number(value: &Value) -> Option<f64> {
    value[0].as_f64()
}

fn numbers(value: &Value) -> Vec<f64> {
    value
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect()
}

/// Every model R fitted to austourists: (damped key, code, R's results).
fn r_models() -> Vec<(EtsSpec, Value)> {
    let results = json("fit_ets_results_seasonal.json");
    let mut models = Vec::new();
    for (damped, by_model) in results.as_object().unwrap() {
        for (code, result) in by_model.as_object().unwrap() {
            if result.as_object().is_none_or(|o| o.is_empty()) {
                continue;
            }
            let code = if damped == "TRUE" {
                format!("{}{}d{}", &code[..1], &code[1..2], &code[2..])
            } else {
                code.clone()
            };
            models.push((EtsSpec::parse(&code).unwrap(), result.clone()));
        }
    }
    assert_eq!(
        models.len(),
        11,
        "R fitted eleven seasonal models to austourists"
    );
    models
}

/// R's log-likelihood drops the constant `−n/2 (ln(2π/n) + 1)`.
fn r_log_likelihood(result: &Value, n: usize) -> f64 {
    let nf = n as f64;
    r_number(&result["loglik"]).unwrap() - nf / 2.0 * ((2.0 * std::f64::consts::PI / nf).ln() + 1.0)
}

fn with_r_parameters(y: &[f64], spec: EtsSpec, result: &Value) -> EtsFit {
    let initial = numbers(&result["initstate"]);
    let has_trend = spec.trend != salesflow_models::forecast::ets::Trend::None;
    let (level, trend, season) = if has_trend {
        (initial[0], initial[1], initial[2..].to_vec())
    } else {
        (initial[0], 0.0, initial[1..].to_vec())
    };
    let options = EtsOptions {
        fixed: FixedParameters {
            alpha: r_number(&result["alpha"]),
            beta: r_number(&result["beta"]),
            gamma: r_number(&result["gamma"]),
            phi: r_number(&result["phi"]),
            initial: Some((level, trend, season)),
        },
        ..EtsOptions::default()
    };
    fit_ets(y, 4, spec, &options).unwrap()
}

fn assert_close(got: f64, want: f64, rtol: f64, atol: f64, what: &str) {
    assert!(
        (got - want).abs() <= atol + rtol * want.abs(),
        "{what}: got {got}, want {want}"
    );
}

/// statsmodels' test_smooth_vs_R, test_residuals_vs_R, test_loglike_vs_R and
/// test_forecast_vs_R, with its tolerances.
#[test]
fn ets_with_r_parameters_reproduces_r_states_fits_likelihood_and_forecasts() {
    let y = column("austourists.csv");
    for (spec, result) in r_models() {
        let fit = with_r_parameters(&y, spec, &result);
        let name = spec.code();
        let r_states = result["states"].as_array().unwrap();
        // The states after the last observation; the ring holds them newest first.
        let last = numbers(&r_states[y.len()]);
        let has_trend = spec.trend != salesflow_models::forecast::ets::Trend::None;
        assert_close(
            fit.last.level,
            last[0],
            1e-5,
            1e-5,
            &format!("{name} level"),
        );
        let season_at = if has_trend {
            assert_close(
                fit.last.trend,
                last[1],
                1e-5,
                1e-5,
                &format!("{name} trend"),
            );
            2
        } else {
            1
        };
        for (got, want) in fit
            .last
            .season_newest_first()
            .iter()
            .zip(&last[season_at..])
        {
            assert_close(*got, *want, 1e-5, 1e-5, &format!("{name} season"));
        }
        for (t, (got, want)) in fit
            .fitted
            .iter()
            .zip(numbers(&result["fitted"]))
            .enumerate()
        {
            assert_close(*got, want, 1e-5, 1e-5, &format!("{name} fitted[{t}]"));
        }
        for (got, want) in fit.residuals.iter().zip(numbers(&result["residuals"])) {
            assert_close(*got, want, 1e-5, 1e-5, &format!("{name} residual"));
        }
        let want = r_log_likelihood(&result, y.len());
        assert_close(
            fit.log_likelihood,
            want,
            1e-5,
            1e-5,
            &format!("{name} log-likelihood"),
        );
        for (got, want) in fit
            .point_forecast(4)
            .iter()
            .zip(numbers(&result["forecast"]))
        {
            assert_close(*got, want, 1e-3, 1e-4, &format!("{name} forecast"));
        }
    }
}

/// statsmodels' test_fit_vs_R: our own fit's likelihood is at least R's (less 1e-4).
#[test]
fn ets_fit_reaches_at_least_r_likelihood_on_austourists() {
    let y = column("austourists.csv");
    for (spec, result) in r_models() {
        let fit = fit_ets(&y, 4, spec, &EtsOptions::default()).unwrap();
        let want = r_log_likelihood(&result, y.len());
        eprintln!(
            "{}: ours {:.5} R {:.5} (α {:.4} β {:.4} γ {:.4} φ {:.4}, {} evaluations)",
            spec.code(),
            fit.log_likelihood,
            want,
            fit.smoothing.alpha,
            fit.smoothing.beta,
            fit.smoothing.gamma,
            fit.smoothing.phi,
            fit.evaluations
        );
        assert!(
            fit.log_likelihood >= want - 1e-4,
            "{}: log-likelihood {} below R's {}",
            spec.code(),
            fit.log_likelihood,
            want
        );
    }
    let _ = States::from_newest_first(0.0, 0.0, &[]);
}
