//! `salesflow abtest`: the demo's planted experiment effect, the plan calculator, bad input.

use crate::util::salesflow;

#[test]
fn planted_trial_effect_and_channel_saturation_are_found() {
    let dir = tempfile::tempdir().unwrap();
    salesflow(
        dir.path(),
        &[
            "-q",
            "demo",
            "--customers",
            "20000",
            "--seed",
            "4",
            "--out",
            "co",
            "--format",
            "csv",
        ],
    )
    .success();
    let run = salesflow(dir.path(), &["abtest", "--data", "co/csv", "--json"]);
    run.success();
    let out: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let experiment = &out[0];
    assert_eq!(experiment["experiment"], "free_trial_2025");
    assert_eq!(experiment["sample_ratio"]["ok"], true);
    let treatment = &experiment["variants"][0];
    assert_eq!(treatment["variant"], "treatment");
    assert_eq!(treatment["significant"], true, "{treatment}");
    // Planted: 5 % -> 6.5 %, a difference of 1.5 points.
    let ci = treatment["ci_difference"].as_array().unwrap();
    let (lo, hi) = (ci[0].as_f64().unwrap(), ci[1].as_f64().unwrap());
    assert!(
        lo < 0.015 && 0.015 < hi,
        "CI {lo}..{hi} misses the planted 1.5 points"
    );
    assert!(treatment["prob_better"].as_f64().unwrap() > 0.95);
    assert!(treatment["revenue"]["p_value"].as_f64().unwrap() < 0.05);

    let text = salesflow(dir.path(), &["abtest", "--data", "co/csv/experiments.csv"]);
    text.success();
    assert!(
        text.stdout
            .contains("verdict: treatment raised conversion from"),
        "{}",
        text.stdout
    );

    planted_saturation_is_within_the_fit_uncertainty(&dir.path().join("co/csv"));
    clv_objective_weighs_customers_by_their_channel_value(dir.path());
}

/// `--objective clv` is the customer curves scaled by each channel's customer value: the
/// same fit, so every channel's outcome at its recent spend is its customers times its value;
/// the plan spends the total within the bounds.
fn clv_objective_weighs_customers_by_their_channel_value(dir: &std::path::Path) {
    let plan = |objective: &str| -> serde_json::Value {
        let run = salesflow(
            dir,
            &[
                "budget",
                "--data",
                "co/csv",
                "--total",
                "20000",
                "--objective",
                objective,
                "--json",
            ],
        );
        run.success();
        serde_json::from_str(&run.stdout).unwrap()
    };
    let (customers, clv) = (plan("customers"), plan("clv"));
    assert_eq!(clv["objective"], "clv");
    assert_eq!(clv["customer_value_source"], "model");
    let mut spent = 0.0;
    for (by_count, by_value) in customers["channels"]
        .as_array()
        .unwrap()
        .iter()
        .zip(clv["channels"].as_array().unwrap())
    {
        assert_eq!(by_count["channel"], by_value["channel"]);
        let value = by_value["customer_value"].as_f64().unwrap();
        // The demo's customers are worth a few hundred, whatever their channel.
        assert!((100.0..5000.0).contains(&value), "{by_value}");
        let expected = by_count["current_outcome"].as_f64().unwrap() * value;
        let got = by_value["current_outcome"].as_f64().unwrap();
        assert!((got / expected - 1.0).abs() < 1e-9, "{got} vs {expected}");
        let proposed = by_value["proposed_spend"].as_f64().unwrap();
        let bounds = by_value["bounds"].as_array().unwrap();
        assert!(bounds[0].as_f64().unwrap() - 1e-6 <= proposed);
        assert!(proposed <= bounds[1].as_f64().unwrap() + 1e-6);
        assert!(by_value["half_saturation_interval95"].is_array());
        spent += proposed;
    }
    assert!((spent - 20000.0).abs() < 1e-6, "{spent}");
}

/// The demo's planted response curves (new customers per channel and segment against that
/// cell's weekly spend) are inside the fit's joint 95 % confidence region: the
/// likelihood-ratio statistic of all six (K, h) pairs is below χ²₁₂(0.95) = 21.03. Curves with
/// half the planted half-saturation are rejected, so the test can fail. (Measured on demo
/// seeds 4, 5, 6 and 7: 19.6, 14.2, 20.4 and 19.3 at the planted curves, 87 to 114 at the
/// halved ones.)
fn planted_saturation_is_within_the_fit_uncertainty(data: &std::path::Path) {
    use salesflow_analytics::budget::response_inputs;
    use salesflow_engine::spend::Outcome;
    use salesflow_models::budget::fit::{HeldCurve, Priors, fit_response, likelihood_ratio};
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let dataset = salesflow_engine::Dataset::load_dir(
        data,
        2,
        |_| salesflow_core::ReadOptions::default(),
        &salesflow_core::progress::NoProgress,
    )
    .unwrap();
    let inputs = runtime
        .block_on(response_inputs(&dataset, Outcome::Customers))
        .unwrap()
        .unwrap();
    // Split by segment: the customers table says whose segment each customer is.
    assert_eq!(inputs.series.len(), 12, "{:?}", inputs.channels);
    let priors = Priors::default();
    let fit = fit_response(&inputs.data(), &priors).unwrap();
    assert!(fit.converged);
    let planted = salesflow_demo::params::planted_response_curves();
    let curves = |k_factor: f64| -> Vec<HeldCurve> {
        planted
            .iter()
            .map(|&(name, k, h)| HeldCurve {
                channel: inputs.channels.iter().position(|c| c == name).unwrap(),
                half_saturation: k * k_factor,
                shape: h,
            })
            .collect()
    };
    let at_planted = likelihood_ratio(&inputs.data(), &fit, &curves(1.0)).unwrap();
    assert!(
        at_planted < 21.03,
        "planted curves rejected: LR {at_planted}"
    );
    let halved = likelihood_ratio(&inputs.data(), &fit, &curves(0.5)).unwrap();
    assert!(
        halved > 21.03,
        "halved half-saturations not rejected: LR {halved}"
    );
}

#[test]
fn plan_matches_statsmodels_normal_ind_power() {
    let dir = tempfile::tempdir().unwrap();
    let run = salesflow(
        dir.path(),
        &[
            "abtest",
            "plan",
            "--baseline",
            "0.05",
            "--mde",
            "0.01",
            "--json",
        ],
    );
    run.success();
    let out: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    // statsmodels NormalIndPower: 8142.595394 per group, so 8143.
    assert_eq!(out["customers_variant"], 8143.0);
    assert_eq!(out["customers_control"], 8143.0);
}

#[test]
fn counts_alone_give_the_statsmodels_numbers() {
    let dir = tempfile::tempdir().unwrap();
    let run = salesflow(
        dir.path(),
        &[
            "abtest",
            "--counts",
            "control=41/1000",
            "--counts",
            "discount=50/1000",
            "--json",
        ],
    );
    run.success();
    let out: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let discount = &out[0]["variants"][0];
    // statsmodels proportions_ztest: z 0.965681356371158, p 0.3342036513621244.
    assert!((discount["z"].as_f64().unwrap() - 0.965681356371158).abs() < 1e-12);
    assert!((discount["p_value"].as_f64().unwrap() / 0.3342036513621244 - 1.0).abs() < 1e-8);
    assert_eq!(discount["significant"], false);
    assert!(
        discount["verdict"]
            .as_str()
            .unwrap()
            .starts_with("no clear difference")
    );
    salesflow(
        dir.path(),
        &[
            "abtest",
            "--counts",
            "control=41of1000",
            "--counts",
            "b=1/2",
        ],
    )
    .bad_input()
    .stderr_has("CONVERTED/CUSTOMERS");
}

/// With the MDE fixed in advance, the mSPRT's always-valid p-value (Johari et al. 2017) at the
/// last look: Λ = √(v/(v + nτ²)) exp(n²τ²d²/(2v(v + nτ²))), v = Σ p(1−p), τ = MDE; the value
/// computed by hand in Python is 0.0018561318311694304 — larger than the fixed-horizon z-test's,
/// the price of being allowed to peek.
#[test]
fn a_sequential_mde_adds_the_always_valid_p_value() {
    let dir = tempfile::tempdir().unwrap();
    let args = [
        "abtest",
        "--counts",
        "control=400/10000",
        "--counts",
        "variant=520/10000",
        "--sequential-mde",
        "0.01",
    ];
    let run = salesflow(dir.path(), &[&args[..], &["--json"]].concat());
    run.success();
    let out: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let variant = &out[0]["variants"][0];
    let always_valid = variant["p_value_always_valid"].as_f64().unwrap();
    assert!(
        (always_valid / 0.0018561318311694304 - 1.0).abs() < 1e-9,
        "{always_valid}"
    );
    assert!(always_valid > variant["p_value"].as_f64().unwrap());
    let text = salesflow(dir.path(), &args);
    text.success();
    assert!(
        text.stdout
            .contains("always-valid p (mSPRT, τ = 1.0 points) = 0.0019"),
        "{}",
        text.stdout
    );
    salesflow(
        dir.path(),
        &[
            "abtest",
            "--counts",
            "a=1/10",
            "--counts",
            "control=2/10",
            "--sequential-mde",
            "2",
        ],
    )
    .bad_input()
    .stderr_has("--sequential-mde");
}

#[test]
fn abtest_bad_input_is_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("exp.csv"),
        "experiment,variant,customer_id,converted\nt,a,C1,true\nt,b,C2,false\nt,a,C3,false\nt,b,C4,true\n",
    )
    .unwrap();
    salesflow(dir.path(), &["abtest", "--data", "exp.csv"])
        .bad_input()
        .stderr_has("--control");
    salesflow(
        dir.path(),
        &[
            "abtest",
            "--data",
            "exp.csv",
            "--control",
            "a",
            "--split",
            "1,2,3",
        ],
    )
    .bad_input()
    .stderr_has("--split");
    salesflow(
        dir.path(),
        &["abtest", "plan", "--baseline", "0.05", "--mde", "0"],
    )
    .bad_input();
    salesflow(
        dir.path(),
        &["abtest", "plan", "--baseline", "1.5", "--mde", "0.01"],
    )
    .bad_input();
    salesflow(dir.path(), &["abtest"]).bad_input();
    salesflow(dir.path(), &["budget", "--data", ".", "--total", "-5"])
        .bad_input()
        .stderr_has("--total");
}

/// Segment targeting: value per unit of spend is conversion × CLV / cost per prospect; loyal
/// (0.05 × 900 / 10 = 4.5) is filled to its 1,000 prospects first, new (4.0) takes the rest,
/// bargain (0.1 < 1) gets nothing.
#[test]
fn segment_targeting_fills_the_best_value_per_unit_first() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("segments.csv"),
        "segment,clv,conversion,cost_per_prospect,prospects\nloyal,900,0.05,10,1000\nnew,400,0.02,2,100000\nbargain,50,0.01,5,5000\n",
    )
    .unwrap();
    let run = salesflow(
        dir.path(),
        &[
            "budget",
            "--segments",
            "segments.csv",
            "--total",
            "25000",
            "--json",
        ],
    );
    run.success();
    let out: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let spend: Vec<(String, f64)> = out["segments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["segment"].as_str().unwrap().to_owned(),
                s["spend"].as_f64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        spend,
        [
            ("loyal".to_owned(), 10_000.0),
            ("new".to_owned(), 15_000.0),
            ("bargain".to_owned(), 0.0)
        ]
    );
    assert_eq!(out["expected_value"], 105_000.0);
    assert_eq!(out["segments"][0]["expected_customers"], 50.0);
    let text = salesflow(
        dir.path(),
        &["budget", "--segments", "segments.csv", "--total", "500000"],
    );
    text.success();
    // Both worthwhile segments are reached in full (10,000 + 200,000): the rest is kept.
    assert!(
        text.stdout.contains("290000.00 left unspent"),
        "{}",
        text.stdout
    );

    std::fs::write(
        dir.path().join("bad.csv"),
        "segment,clv,conversion,cost_per_prospect\nloyal,900,0.05,10\nnew,400,5,2\n",
    )
    .unwrap();
    salesflow(
        dir.path(),
        &["budget", "--segments", "bad.csv", "--total", "100"],
    )
    .bad_input()
    .stderr_has("bad.csv, line 3, column `conversion`");
    std::fs::write(
        dir.path().join("twice.csv"),
        "segment,clv,conversion,cost_per_prospect\nloyal,900,0.05,10\nloyal,400,0.02,2\n",
    )
    .unwrap();
    salesflow(
        dir.path(),
        &["budget", "--segments", "twice.csv", "--total", "100"],
    )
    .bad_input()
    .stderr_has("twice.csv, line 3, column `segment`");
    // Channel-split flags make no sense with --segments, and --min-return none without it.
    salesflow(
        dir.path(),
        &[
            "budget",
            "--data",
            ".",
            "--total",
            "100",
            "--min-return",
            "2",
        ],
    )
    .bad_input()
    .stderr_has("--segments");
    std::fs::write(dir.path().join("short.csv"), "segment,clv\nloyal,900\n").unwrap();
    salesflow(
        dir.path(),
        &["budget", "--segments", "short.csv", "--total", "100"],
    )
    .bad_input()
    .stderr_has("conversion");
}
