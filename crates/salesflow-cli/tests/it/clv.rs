//! `salesflow clv fit` reproduces the published fits, from files salesflow itself wrote.

use crate::util::{fixture, salesflow};

/// Within the published rounding plus 1e-3 relative.
#[track_caller]
fn close(fit: &serde_json::Value, name: &str, published: f64, decimals: i32) {
    let ours = fit["params"][name]
        .as_f64()
        .unwrap_or_else(|| panic!("no parameter {name}: {fit}"));
    let tolerance = 0.5 * 10f64.powi(-decimals) + 1e-3 * published.abs();
    assert!(
        (ours - published).abs() <= tolerance,
        "{name}: ours {ours}, published {published}"
    );
}

fn fit(dir: &std::path::Path, args: &[&str]) -> serde_json::Value {
    let mut all = vec!["clv", "fit", "--json"];
    all.extend_from_slice(args);
    let run = salesflow(dir, &all);
    run.success();
    serde_json::from_str(&run.stdout).expect("JSON fit")
}

#[test]
fn bg_nbd_and_gamma_gamma_on_the_cdnow_summary_salesflow_writes() {
    let dir = tempfile::tempdir().unwrap();
    let orders = fixture("cdnow/CDNOW_sample.txt");
    salesflow(
        dir.path(),
        &[
            "summary",
            "--orders",
            orders.to_str().unwrap(),
            "--columns",
            "customer_id,sample_id,ordered_at,cds,amount",
            "--time-unit",
            "week",
            "--calibration-end",
            "1997-09-30",
            "--out",
            "cdnow.csv",
        ],
    )
    .success();
    let bg = fit(dir.path(), &["--summary", "cdnow.csv", "--model", "bgnbd"]);
    assert_eq!(bg["converged"], true);
    assert_eq!(bg["n"], 2357.0);
    for (name, value) in [("r", 0.243), ("alpha", 4.414), ("a", 0.793), ("b", 2.426)] {
        close(&bg, name, value, 3);
    }
    assert!((bg["log_likelihood"].as_f64().unwrap() - -9582.4).abs() < 0.06);
    assert!(bg["std_errors"]["r"].as_f64().unwrap() > 0.0);
    let gg = fit(
        dir.path(),
        &["--summary", "cdnow.csv", "--model", "gamma-gamma"],
    );
    for (name, value) in [("p", 6.25), ("q", 3.74), ("gamma", 15.44)] {
        close(&gg, name, value, 2);
    }
    assert!((gg["log_likelihood"].as_f64().unwrap() - -4055.92).abs() < 0.015);
}

#[test]
fn bg_bb_on_donations_and_sbg_on_the_retention_cohorts() {
    let dir = tempfile::tempdir().unwrap();
    let donations = fixture("cdnow/donations.csv");
    let bb = fit(
        dir.path(),
        &["--summary", donations.to_str().unwrap(), "--model", "bgbb"],
    );
    for (name, value) in [
        ("alpha", 1.204),
        ("beta", 0.750),
        ("gamma", 0.657),
        ("delta", 2.783),
    ] {
        close(&bb, name, value, 3);
    }
    assert!((bb["log_likelihood"].as_f64().unwrap() - -33225.58).abs() < 0.015);
    let cohorts = fixture("retention/sbg_fader_hardie_2007.csv");
    for (column, alpha, beta) in [("high_end", 0.668, 3.806), ("regular", 0.704, 1.182)] {
        let sbg = fit(
            dir.path(),
            &[
                "--summary",
                cohorts.to_str().unwrap(),
                "--model",
                "sbg",
                "--survivors",
                column,
                "--through-period",
                "7",
            ],
        );
        close(&sbg, "alpha", alpha, 3);
        close(&sbg, "beta", beta, 3);
    }
}

#[test]
fn clv_fit_refuses_bad_input() {
    let dir = crate::util::folder(&[("s.csv", b"customer_id,frequency,recency,T\nc1,1,2,NaN\n")]);
    salesflow(
        dir.path(),
        &["clv", "fit", "--summary", "s.csv", "--model", "bgnbd"],
    )
    .bad_input()
    .stderr_has("line 2");
    salesflow(
        dir.path(),
        &["clv", "fit", "--summary", "s.csv", "--model", "gamma-gamma"],
    )
    .bad_input()
    .stderr_has("monetary_value");
    salesflow(
        dir.path(),
        &["clv", "fit", "--summary", "missing.csv", "--model", "bgnbd"],
    )
    .bad_input();
}

/// Reads a CSV of numbers into rows.
fn numbers(path: &std::path::Path) -> (Vec<String>, Vec<Vec<f64>>) {
    let (header, rows) = crate::util::read_csv(path);
    let rows = rows
        .iter()
        .map(|r| r.iter().map(|v| v.parse().unwrap_or(f64::NAN)).collect())
        .collect();
    (header, rows)
}

#[track_caller]
fn relative(ours: f64, theirs: f64, what: &str) {
    let scale = theirs.abs().max(1e-12);
    assert!(
        ((ours - theirs) / scale).abs() < 1e-6,
        "{what}: ours {ours}, lifetimes {theirs}"
    );
}

#[test]
fn predictions_match_lifetimes() {
    let dir = crate::util::folder(&[
        ("bg.json", br#"{"model": "bg_nbd", "params": {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}}"#),
        ("gg.json", br#"{"model": "gamma_gamma", "params": {"p": 6.25, "q": 3.74, "gamma": 15.44}}"#),
    ]);
    // Expected purchases in 10 weeks and P(alive), lifetimes' BetaGeoFitter.
    let purchases = fixture("cdnow/lifetimes_bg_nbd.csv");
    salesflow(
        dir.path(),
        &[
            "clv",
            "predict",
            "--summary",
            purchases.to_str().unwrap(),
            "--fit",
            "bg.json",
            "--horizon",
            "10",
            "--out",
            "p.csv",
        ],
    )
    .success();
    let (_, reference) = numbers(&purchases);
    let (header, ours) = numbers(&dir.path().join("p.csv"));
    assert_eq!(
        header,
        [
            "customer_id",
            "expected_purchases",
            "p_alive",
            "expected_spend",
            "clv"
        ]
    );
    assert_eq!(ours.len(), reference.len());
    for (o, r) in ours.iter().zip(&reference) {
        relative(o[1], r[3], "expected purchases in 10 weeks");
        relative(o[2], r[5], "P(alive)");
        assert!(
            o[3].is_nan() && o[4].is_nan(),
            "no spend without a spend fit"
        );
    }
    // Expected spend and 12-month CLV at 1 % a month on weekly data, lifetimes' GammaGammaFitter.
    let spend = fixture("cdnow/lifetimes_gamma_gamma.csv");
    salesflow(
        dir.path(),
        &[
            "clv",
            "predict",
            "--summary",
            spend.to_str().unwrap(),
            "--fit",
            "bg.json",
            "--spend-fit",
            "gg.json",
            "--horizon",
            "52",
            "--time-unit",
            "week",
            "--months",
            "12",
            "--discount-rate",
            "0.01",
            "--out",
            "v.csv",
        ],
    )
    .success();
    let (_, reference) = numbers(&spend);
    let (_, ours) = numbers(&dir.path().join("v.csv"));
    for (o, r) in ours.iter().zip(&reference) {
        relative(o[3], r[4], "expected spend");
        relative(o[4], r[5], "CLV");
    }
    // A spend fit that is not Gamma-Gamma is refused.
    salesflow(
        dir.path(),
        &[
            "clv",
            "predict",
            "--summary",
            spend.to_str().unwrap(),
            "--fit",
            "bg.json",
            "--spend-fit",
            "bg.json",
            "--horizon",
            "1",
            "--out",
            "x.csv",
        ],
    )
    .bad_input()
    .stderr_has("gamma-gamma");
}

#[test]
fn one_shot_path_from_orders_to_values_fits_and_charts() {
    let dir = tempfile::tempdir().unwrap();
    let orders = fixture("cdnow/CDNOW_sample.txt");
    let run = salesflow(
        dir.path(),
        &[
            "clv",
            "--orders",
            orders.to_str().unwrap(),
            "--columns",
            "customer_id,sample_id,ordered_at,cds,amount",
            "--calibration-end",
            "1997-09-30",
            "--observation-end",
            "1998-06-30",
            "--model",
            "auto",
            "--out",
            "clv",
        ],
    );
    run.success();
    assert!(
        run.stdout.contains("chosen by BIC among: bg_nbd"),
        "{}",
        run.stdout
    );
    let out = dir.path().join("clv");
    // The published BG/NBD fit, from the one-shot path's own summary.
    let bg: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("fit_bg_nbd.json")).unwrap())
            .unwrap();
    close(&bg, "r", 0.243, 3);
    close(&bg, "b", 2.426, 3);
    let (header, rows) = crate::util::read_csv(&out.join("predictions.csv"));
    assert_eq!(header.last().map(String::as_str), Some("clv"));
    assert_eq!(rows.len(), 2357);
    for row in &rows {
        let p_alive: f64 = row[6].parse().unwrap();
        let value: f64 = row[8].parse().unwrap();
        assert!(
            (0.0..=1.0).contains(&p_alive) && value.is_finite() && value >= 0.0,
            "{row:?}"
        );
    }
    for chart in [
        "expected_purchases.svg",
        "probability_alive.svg",
        "calibration_holdout.svg",
    ] {
        let svg = std::fs::read_to_string(out.join(chart)).unwrap();
        assert!(
            svg.starts_with("<svg") && svg.contains("<title>"),
            "{chart}"
        );
    }
    // Without a subcommand the path needs its two options.
    salesflow(dir.path(), &["clv", "--out", "x"])
        .bad_input()
        .stderr_has("--orders");
}
