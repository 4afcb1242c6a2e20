//! Inputs that break lifetimes or are simply bad: results stay finite and sensible, or an
//! error names the problem. Nothing panics.

use salesflow_models::ModelError;
use salesflow_models::clv::{
    BgBb, BgNbd, FitOptions, GammaGamma, MbgNbd, ParetoNbd, PeriodRow, RepeatPurchaseModel, RfmRow,
    Sbg, SbgCustomer, SpendRow, TimeUnit, bg_bb, bg_nbd, compress, gamma_gamma, mbg_nbd,
    pareto_nbd, sbg,
};

use crate::common::{cdnow_rows, fixture};

#[test]
fn bg_nbd_case_that_breaks_lifetimes_is_finite_and_correct() {
    // x = 0, t = 30, T = 1, r = 0.11, alpha = 2.24, a = 0.31, b = 0.50: a + b + x − 1 < 0, so
    // lifetimes takes the log of a negative 2F1 and returns NaN.
    let m = BgNbd::new(0.11, 2.24, 0.31, 0.50).unwrap();
    let e = m.expected_purchases(30.0, 0.0, 0.0, 1.0).unwrap();
    let text = std::fs::read_to_string(fixture("special_cases.csv")).unwrap();
    let fields: Vec<&str> = text.lines().nth(1).unwrap().split(',').collect();
    let quad: f64 = fields[1].parse().unwrap();
    assert_eq!(fields[2], "nan", "lifetimes returns NaN here");
    assert!(e.is_finite() && e > 0.0);
    // Without dropout the expectation would be E[λ] t = (r + x) t/(α + T).
    assert!(e < 0.11 * 30.0 / (2.24 + 1.0), "{e}");
    assert!(((e - quad) / quad).abs() < 1e-6, "{e} vs quadrature {quad}");
}

#[test]
fn predictions_are_finite_and_monotone_in_awkward_corners() {
    let models: Vec<Box<dyn RepeatPurchaseModel>> = vec![
        Box::new(BgNbd::new(0.243, 4.414, 1.0, 2.426).unwrap()), // a = 1: 0/0 in lifetimes
        Box::new(BgNbd::new(0.243, 4.414, 1.0005, 2.426).unwrap()),
        Box::new(BgNbd::new(0.11, 2.24, 0.31, 0.69).unwrap()), // a + b − 1 = 0 (a pole)
        Box::new(MbgNbd::new(0.525, 6.183, 1.0, 1.614).unwrap()),
        Box::new(ParetoNbd::new(0.553, 10.578, 1.0, 11.669).unwrap()), // s = 1
        Box::new(ParetoNbd::new(1.0, 0.01, 2.0, 1e4).unwrap()),        // z → 1
    ];
    for m in &models {
        for &(x, tx, age) in &[
            (0.0, 0.0, 1.0),
            (0.0, 0.0, 1e-9),
            (1.0, 0.5, 38.0),
            (29.0, 37.71, 38.0),
            (1e4, 300.0, 300.0),
        ] {
            let mut prev = 0.0;
            for t in [0.0, 1e-9, 1.0, 10.0, 52.0, 1e3, 1e6] {
                let e = m.expected_purchases(t, x, tx, age).unwrap();
                assert!(
                    e.is_finite() && e >= prev * (1.0 - 1e-9),
                    "t={t} x={x}: {e} < {prev}"
                );
                prev = e;
            }
            let p = m.probability_alive(x, tx, age).unwrap();
            assert!((0.0..=1.0).contains(&p), "{p}");
        }
    }
    // a = 1 sits between its neighbours.
    let e = |a: f64| {
        BgNbd::new(0.243, 4.414, a, 2.426)
            .unwrap()
            .expected_purchases(52.0, 2.0, 30.0, 38.0)
            .unwrap()
    };
    let (lo, mid, hi) = (e(0.999), e(1.0), e(1.001));
    assert!((lo - mid) * (mid - hi) > 0.0, "{lo} {mid} {hi}");
}

#[test]
fn bad_prediction_inputs_are_errors() {
    let m = BgNbd::new(0.243, 4.414, 0.793, 2.426).unwrap();
    for (t, x, tx, age) in [
        (f64::NAN, 1.0, 1.0, 2.0),
        (-1.0, 1.0, 1.0, 2.0),
        (1.0, -1.0, 1.0, 2.0),
        (1.0, 1.0, 3.0, 2.0),
        (1.0, 1.0, 1.0, f64::INFINITY),
        (f64::INFINITY, 1.0, 1.0, 2.0),
    ] {
        assert!(
            m.expected_purchases(t, x, tx, age).is_err(),
            "{t} {x} {tx} {age}"
        );
    }
    assert!(BgNbd::new(0.0, 1.0, 1.0, 1.0).is_err());
    assert!(ParetoNbd::new(1.0, f64::NAN, 1.0, 1.0).is_err());
    assert!(GammaGamma::new(1.0, 1.0, 1.0).is_err(), "q must exceed 1");
    let gg = GammaGamma::new(6.25, 3.74, 15.44).unwrap();
    assert!(gg.expected_average_spend(1.0, -5.0).is_err());
    let huge = gg.expected_average_spend(1.0, f64::MAX);
    assert!(huge.as_ref().map_or(true, |v| v.is_finite()), "{huge:?}");
    assert!(gg.expected_average_spend(f64::INFINITY, 1.0).is_err());
    assert!(
        gg.customer_lifetime_value(&m, 1.0, 1.0, 2.0, 10.0, 12, -2.0, TimeUnit::Weeks)
            .is_err()
    );
    assert!(m.probability_of_n_purchases(u32::MAX, 10.0).is_err());
    assert!(
        gg.customer_lifetime_value(&m, 1.0, 1.0, 2.0, 10.0, u32::MAX, 0.01, TimeUnit::Days)
            .is_err()
    );
    let pn = ParetoNbd::new(1e300, 1.0, 1e300, 1.0).unwrap();
    assert!(
        pn.discounted_expected_residual_transactions(1.0, 1.0, 2.0, 0.01)
            .map_or(true, |v| v.is_finite())
    );
    let bb = BgBb::new(1.2, 0.75, 0.66, 2.8).unwrap();
    assert!(
        bb.expected_purchases(1, 3, 2, 6).is_err(),
        "frequency > recency"
    );
    assert!(
        bb.probability_alive(0, 0, 0, 2_000_000).is_err(),
        "too many periods"
    );
}

#[test]
fn bad_fit_inputs_are_errors_naming_the_row() {
    let o = FitOptions::default();
    assert!(matches!(
        bg_nbd::fit(&[], &o),
        Err(ModelError::EmptyInput { .. })
    ));
    assert!(matches!(
        pareto_nbd::fit(&[], &o),
        Err(ModelError::EmptyInput { .. })
    ));
    assert!(matches!(
        gamma_gamma::fit(&[], &o),
        Err(ModelError::EmptyInput { .. })
    ));
    assert!(matches!(
        bg_bb::fit(&[], &o),
        Err(ModelError::EmptyInput { .. })
    ));
    assert!(matches!(
        sbg::fit_customers(&[], &o),
        Err(ModelError::EmptyInput { .. })
    ));
    let mut rows = cdnow_rows();
    rows[7].recency = f64::NAN;
    match mbg_nbd::fit(&rows, &o) {
        Err(ModelError::InvalidInput { row: 7, field, .. }) => assert_eq!(field, "recency"),
        other => panic!("{other:?}"),
    }
    let err = bg_nbd::fit(&rows, &o).unwrap_err().to_string();
    assert!(err.contains("row 7") && err.contains("recency"), "{err}");
    let zero = [RfmRow {
        frequency: 1.0,
        recency: 1.0,
        t: 2.0,
        weight: 0.0,
    }];
    assert!(matches!(
        bg_nbd::fit(&zero, &o),
        Err(ModelError::EmptyInput { .. })
    ));
    let spend = [SpendRow {
        frequency: 2.0,
        monetary_value: 0.0,
        weight: 1.0,
    }];
    assert!(matches!(
        gamma_gamma::fit(&spend, &o),
        Err(ModelError::InvalidInput { .. })
    ));
    assert!(
        sbg::fit_cohort(&[1000.0, 1200.0], &o).is_err(),
        "survivors increase"
    );
    assert!(sbg::fit_cohort(&[1000.0], &o).is_err());
    let bad = [PeriodRow {
        frequency: 2,
        recency: 1,
        periods: 6,
        weight: 1.0,
    }];
    assert!(bg_bb::fit(&bad, &o).is_err());
    let churned0 = [SbgCustomer {
        periods: 0,
        churned: true,
        weight: 1.0,
    }];
    assert!(sbg::fit_customers(&churned0, &o).is_err());
}

#[test]
fn degenerate_data_returns_finite_diagnostics_not_panics() {
    let o = FitOptions::default();
    // Nobody ever buys again: the likelihood increases towards a boundary (no MLE).
    let none: Vec<RfmRow> = compress(&[(0.0, 0.0, 10.0), (0.0, 0.0, 20.0), (0.0, 0.0, 30.0)]);
    for fit in [
        bg_nbd::fit(&none, &o),
        mbg_nbd::fit(&none, &o),
        pareto_nbd::fit(&none, &o),
    ] {
        let fit = fit.unwrap();
        assert!(fit.log_likelihood.is_finite(), "{fit:?}");
        assert!(
            fit.params.iter().all(|p| p.1.is_finite() && p.1 > 0.0),
            "{fit:?}"
        );
        if let Some(se) = &fit.std_errors {
            assert!(se.iter().all(|s| s.1.is_finite()));
        }
        assert!(fit.gradient_norm.is_finite());
    }
    // A single customer, and astronomically large times.
    let one = [RfmRow {
        frequency: 3.0,
        recency: 1e300,
        t: 1e300,
        weight: 1.0,
    }];
    for fit in [bg_nbd::fit(&one, &o), pareto_nbd::fit(&one, &o)] {
        match fit {
            Ok(f) => assert!(f.params.iter().all(|p| p.1.is_finite())),
            Err(e) => assert!(!e.to_string().is_empty()),
        }
    }
    // Too few iterations: returned, flagged, with a warning.
    let fit = bg_nbd::fit(
        &cdnow_rows(),
        &FitOptions {
            max_iter: 2,
            ..FitOptions::default()
        },
    )
    .unwrap();
    assert!(!fit.converged && !fit.warnings.is_empty());
    assert!(fit.params.iter().all(|p| p.1.is_finite()));
}

#[test]
fn penalty_shrinks_log_parameters() {
    let rows = cdnow_rows();
    let plain = bg_nbd::fit(&rows, &FitOptions::default()).unwrap();
    let pen = bg_nbd::fit(
        &rows,
        &FitOptions {
            penalty: 0.1,
            ..FitOptions::default()
        },
    )
    .unwrap();
    let size = |f: &salesflow_models::clv::FitResult| {
        f.params.iter().map(|p| p.1.ln().powi(2)).sum::<f64>()
    };
    assert!(pen.converged);
    assert!(size(&pen) < size(&plain));
    assert!(pen.log_likelihood < plain.log_likelihood);
}

#[test]
fn fit_results_convert_only_to_their_own_model() {
    let fit = sbg::fit_cohort(
        &[1000.0, 631.0, 468.0, 382.0, 326.0, 289.0, 262.0, 241.0],
        &FitOptions::default(),
    )
    .unwrap();
    assert!(Sbg::from_fit(&fit).is_ok());
    assert!(matches!(
        BgNbd::from_fit(&fit),
        Err(ModelError::ModelMismatch {
            expected: "bg_nbd",
            found: "sbg"
        })
    ));
}

#[test]
fn gamma_gamma_flags_dependence_between_frequency_and_spend() {
    let rows: Vec<SpendRow> = (1..=200)
        .map(|i| {
            let x = f64::from(1 + i % 10);
            SpendRow {
                frequency: x,
                monetary_value: 5.0 * x + f64::from(i % 7),
                weight: 1.0,
            }
        })
        .collect();
    let fit = gamma_gamma::fit(&rows, &FitOptions::default()).unwrap();
    let corr = fit
        .diagnostics
        .iter()
        .find(|d| d.0 == "frequency_monetary_correlation")
        .unwrap()
        .1;
    assert!(corr > 0.3, "{corr}");
    assert!(fit.warnings.iter().any(|w| w.contains("independence")));
    let gg = GammaGamma::from_fit(&fit).unwrap();
    assert!(gg.q > 1.0);
    for x in [0.0, 1.0, 100.0] {
        let s = gg.expected_average_spend(x, 20.0).unwrap();
        assert!(s.is_finite() && s > 0.0);
    }
}

#[test]
fn sbg_projection_and_derl() {
    let m = Sbg::new(0.704, 1.182).unwrap();
    let curve = m.project(12).unwrap();
    assert_eq!(curve.len(), 13);
    for t in 1..=12u32 {
        let i = t as usize;
        assert!((curve[i] - m.survival(t)).abs() < 1e-14);
        assert!((curve[i] / curve[i - 1] - m.retention_rate(t)).abs() < 1e-14);
        assert!((curve[i - 1] - curve[i] - m.churn_probability(t)).abs() < 1e-14);
    }
    // Fader & Hardie 2007: the regular segment retains 63.1 % in year 1 (model: β/(α+β)).
    assert!((m.retention_rate(1) - 1.182 / (0.704 + 1.182)).abs() < 1e-15);
    // DERL equals its defining sum Σ_{t≥n} S(t)/S(n−1) (1+d)^−(t−n), including α = 1, where
    // the 2F1 is at its degenerate point c − a − b = 0.
    for (alpha, beta) in [(0.704, 1.182), (0.668, 3.806), (1.0, 3.0), (2.5, 0.5)] {
        let m = Sbg::new(alpha, beta).unwrap();
        for n in [1u32, 2, 5, 20] {
            for d in [0.01, 0.1, 0.5] {
                let mut sum = 0.0;
                let mut term = 1.0;
                let mut t = f64::from(n);
                // S(t)/S(n−1) = Π_{j=n}^{t} r(j); discount (1+d)^−(t−n)
                for k in 0..1_000_000 {
                    term *= (beta + t - 1.0) / (alpha + beta + t - 1.0);
                    if k > 0 {
                        term /= 1.0 + d;
                    }
                    sum += term;
                    t += 1.0;
                    if term < 1e-18 * sum {
                        break;
                    }
                }
                let got = m.discounted_expected_residual_lifetime(n, d).unwrap();
                assert!(
                    ((got - sum) / sum).abs() < 1e-9,
                    "alpha={alpha} beta={beta} n={n} d={d}: {got} vs {sum}"
                );
            }
        }
        // A new customer's discounted expected lifetime is 1 + DERL after 0 renewals.
        let del = m.discounted_expected_lifetime(0.1).unwrap();
        let derl1 = m.discounted_expected_residual_lifetime(1, 0.1).unwrap();
        assert!(
            (del - 1.0 - derl1 / 1.1).abs() < 1e-9 * del,
            "{del} {derl1}"
        );
    }
    assert!(m.discounted_expected_residual_lifetime(0, 0.1).is_err());
    assert!(
        m.discounted_expected_residual_lifetime(1, 0.0).is_err(),
        "alpha < 1: infinite"
    );
    assert!(
        m.discounted_expected_residual_lifetime(1, f64::NAN)
            .is_err()
    );
}
