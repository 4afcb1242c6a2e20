//! `salesflow predict`: churn on CDNOW against scikit-learn's reference, and the spend
//! regression recovering a known relationship.

use std::fmt::Write as _;
use std::path::PathBuf;

use crate::util::{fixture, folder, read_csv, salesflow};

/// CDNOW's purchase log as a data folder's orders.csv.
fn cdnow_orders() -> String {
    let text = std::fs::read_to_string(fixture("cdnow/CDNOW_sample.txt")).expect("fixture");
    let mut csv = String::from("order_id,customer_id,ordered_at,amount\n");
    for (i, line) in text.lines().enumerate() {
        let f: Vec<&str> = line.split_whitespace().collect();
        let d = f[2];
        writeln!(
            csv,
            "{i},{},{}-{}-{},{}",
            f[0],
            &d[..4],
            &d[4..6],
            &d[6..],
            f[4]
        )
        .unwrap();
    }
    csv
}

/// The scikit-learn reference computed once by the models crate's fixture script.
fn churn_reference() -> serde_json::Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../salesflow-models/tests/fixtures/predict/cdnow_churn.json");
    serde_json::from_str(&std::fs::read_to_string(path).expect("reference")).expect("JSON")
}

#[test]
fn cdnow_churn_matches_the_reference_cut_offs_and_scikit_learns_auc() {
    let orders = cdnow_orders();
    let dir = folder(&[("orders.csv", orders.as_bytes())]);
    let run = salesflow(
        dir.path(),
        &[
            "predict",
            "churn",
            "--data",
            ".",
            "--as-of",
            "1998-03-29",
            "--window-days",
            "90",
            "--out",
            "churn.csv",
            "--json",
        ],
    );
    run.success();
    let doc: serde_json::Value = serde_json::from_str(&run.stdout).expect("JSON");
    let reference = churn_reference();
    let counts = &reference["counts"];
    // The engine's cut-offs and labels are exactly the reference's.
    assert_eq!(doc["cutoffs"]["train"], reference["cutoff_train"]);
    assert_eq!(doc["cutoffs"]["validation"], reference["cutoff_test"]);
    assert_eq!(doc["train"]["customers"], counts["n_train"]);
    assert_eq!(doc["validation"]["customers"], counts["n_test"]);
    let rate = |v: &serde_json::Value| v.as_f64().unwrap();
    assert!((rate(&doc["train"]["churn_rate"]) - rate(&counts["churn_rate_train"])).abs() < 1e-12);
    assert!(
        (rate(&doc["validation"]["churn_rate"]) - rate(&counts["churn_rate_test"])).abs() < 1e-12
    );
    // Its logistic regression (log-transformed, one feature fewer) scores within 0.01 AUC of
    // scikit-learn's on the same split.
    let logistic = doc["validation"]["models"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["model"] == "logistic_regression")
        .expect("logistic scores");
    let auc = rate(&logistic["roc_auc"]);
    let want = rate(&reference["logistic"]["test_roc_auc"]);
    assert!(
        (auc - want).abs() < 0.01,
        "AUC {auc} vs scikit-learn {want}"
    );
    assert!(!doc["rules"].as_array().unwrap().is_empty());

    let (header, rows) = read_csv(&dir.path().join("churn.csv"));
    assert_eq!(header, ["customer_id", "churn_probability"]);
    assert_eq!(rows.len(), 2357);
    for row in &rows {
        let p: f64 = row[1].parse().unwrap();
        assert!((0.0..=1.0).contains(&p));
    }
}

#[test]
fn churn_without_two_windows_of_history_is_bad_input() {
    let orders = cdnow_orders();
    let dir = folder(&[("orders.csv", orders.as_bytes())]);
    salesflow(
        dir.path(),
        &["predict", "churn", "--data", ".", "--window-days", "400"],
    )
    .bad_input()
    .stderr_has("not enough data");
}

#[test]
fn spend_regression_recovers_a_known_relationship_and_says_what_it_left_out() {
    // Average order value = 20 + 2·age + 30 for gender f; orders and tenure do not matter.
    let mut customers = String::from("customer_id,age,gender,country,email\n");
    let mut orders = String::from("order_id,customer_id,ordered_at,amount\n");
    let mut order_id = 0;
    for i in 0..40 {
        let age = 20 + (i * 7) % 40;
        let gender = if i % 3 == 0 { "f" } else { "m" };
        writeln!(customers, "c{i},{age},{gender},DE,c{i}@example.com").unwrap();
        let value = 20.0 + 2.0 * f64::from(age) + if gender == "f" { 30.0 } else { 0.0 };
        for k in 0..=(i % 3) {
            order_id += 1;
            let day = 1 + (i + 5 * k) % 28;
            writeln!(orders, "{order_id},c{i},2024-0{}-{day:02},{value}", 1 + k).unwrap();
        }
    }
    let dir = folder(&[
        ("customers.csv", customers.as_bytes()),
        ("orders.csv", orders.as_bytes()),
    ]);
    let run = salesflow(dir.path(), &["predict", "spend", "--data", ".", "--json"]);
    run.success();
    let doc: serde_json::Value = serde_json::from_str(&run.stdout).expect("JSON");
    let estimate = |name: &str| {
        doc["coefficients"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == name)
            .unwrap_or_else(|| panic!("no coefficient {name}: {doc}"))["estimate"]
            .as_f64()
            .unwrap()
    };
    assert!((estimate("const") - 20.0).abs() < 1e-6, "{doc}");
    assert!((estimate("age") - 2.0).abs() < 1e-8);
    assert!((estimate("gender[T.f]") - 30.0).abs() < 1e-6);
    assert!(estimate("orders").abs() < 1e-6);
    assert!(estimate("tenure_days").abs() < 1e-6);
    assert!(doc["r_squared"].as_f64().unwrap() > 1.0 - 1e-9);
    let dropped: Vec<&str> = doc["dropped"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["column"].as_str().unwrap())
        .collect();
    assert!(
        dropped.contains(&"country") && dropped.contains(&"email"),
        "{dropped:?}"
    );
}
