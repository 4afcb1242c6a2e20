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
    let doc = spend_json(&customers, &orders);
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
    let dropped = dropped_columns(&doc);
    assert!(
        dropped.contains(&"country") && dropped.contains(&"email"),
        "{dropped:?}"
    );
}

/// 240 deals: referral deals are won four times in five, cold ones one time in five; the
/// last 40 are still open. Every deal enters `lead`, then `demo`, then closes.
fn deals_folder() -> tempfile::TempDir {
    deals_folder_with(|_| true)
}

/// [`deals_folder`], with `source` written only on the deals `has_source` picks.
fn deals_folder_with(has_source: impl Fn(u32) -> bool) -> tempfile::TempDir {
    let mut deals = String::from("deal_id,created_at,stage,amount,status,closed_at,source\n");
    let mut events = String::from("deal_id,stage,entered_at\n");
    for i in 0..240u32 {
        let source = if i % 2 == 0 { "referral" } else { "cold" };
        let won = if source == "referral" {
            i % 5 != 0
        } else {
            i % 5 == 0
        };
        let created =
            chrono::NaiveDate::from_ymd_opt(2024, 1, 1).unwrap() + chrono::Days::new(u64::from(i));
        let demo = created + chrono::Days::new(5);
        let closed = created + chrono::Days::new(20);
        let amount = 1000 + 10 * i;
        let written_source = if has_source(i) { source } else { "" };
        writeln!(events, "D{i:03},lead,{created}").unwrap();
        writeln!(events, "D{i:03},demo,{demo}").unwrap();
        if i < 200 {
            let status = if won { "won" } else { "lost" };
            writeln!(events, "D{i:03},{status},{closed}").unwrap();
            writeln!(
                deals,
                "D{i:03},{created},{status},{amount},{status},{closed},{written_source}"
            )
            .unwrap();
        } else {
            writeln!(
                deals,
                "D{i:03},{created},demo,{amount},open,,{written_source}"
            )
            .unwrap();
        }
    }
    folder(&[
        ("deals.csv", deals.as_bytes()),
        ("stage_events.csv", events.as_bytes()),
    ])
}

#[test]
fn lead_scores_learn_what_the_stage_rates_miss_and_score_open_deals() {
    let dir = deals_folder();
    let run = salesflow(
        dir.path(),
        &[
            "predict",
            "leads",
            "--data",
            ".",
            "--out",
            "leads.csv",
            "--json",
        ],
    );
    run.success();
    let doc: serde_json::Value = serde_json::from_str(&run.stdout).expect("JSON");
    let auc = |model: &str| {
        doc["validation"]["models"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["model"] == model)
            .unwrap()["roc_auc"]
            .as_f64()
            .unwrap()
    };
    // Source decides the outcome; the stage (every deal reaches demo) cannot.
    assert!(auc("logistic_regression") > 0.75, "{doc}");
    assert!((auc("stage_win_rate") - 0.5).abs() < 1e-9, "{doc}");
    assert_eq!(doc["validation"]["deals"], 50);
    assert_eq!(doc["open_deals"], 40);
    let (header, rows) = read_csv(&dir.path().join("leads.csv"));
    assert_eq!(
        header[..4],
        ["deal_id", "stage", "amount", "win_probability"]
    );
    assert_eq!(rows.len(), 40);
    // Every open referral deal ranks above every open cold one.
    let p = |parity: u32| -> Vec<f64> {
        rows.iter()
            .filter(|r| r[0][1..].parse::<u32>().unwrap() % 2 == parity)
            .map(|r| r[3].parse().unwrap())
            .collect()
    };
    let (referral, cold) = (p(0), p(1));
    let lowest_referral = referral.iter().copied().fold(f64::INFINITY, f64::min);
    let highest_cold = cold.iter().copied().fold(0.0, f64::max);
    assert!(lowest_referral > highest_cold, "{referral:?} vs {cold:?}");
}

#[test]
fn lead_scoring_without_deals_is_bad_input() {
    let dir = folder(&[(
        "orders.csv",
        b"customer_id,ordered_at,amount\nc1,2024-01-01,5\n",
    )]);
    salesflow(dir.path(), &["predict", "leads", "--data", "."])
        .bad_input()
        .stderr_has("deals");
}

#[test]
fn lead_scoring_learns_its_columns_from_the_training_deals_only() {
    // `source` is filled only on the deals that closed last and on the open ones: the model
    // trained on the earlier deals has no source column, and scoring later rows that have one
    // must neither fail nor shift columns.
    let dir = deals_folder_with(|i| i >= 150);
    let run = salesflow(dir.path(), &["predict", "leads", "--data", ".", "--json"]);
    run.success();
    let doc: serde_json::Value = serde_json::from_str(&run.stdout).expect("JSON");
    assert_eq!(doc["open_deals"], 40);
}

#[test]
fn spend_drops_a_collinear_column_whose_name_has_brackets() {
    let mut customers = String::from("customer_id,age_months,age [years]\n");
    let mut orders = String::from("order_id,customer_id,ordered_at,amount\n");
    for i in 0..30 {
        let age = 20 + i;
        writeln!(customers, "c{i},{},{age}", 12 * age).unwrap();
        writeln!(orders, "{i},c{i},2024-01-{:02},{}", 1 + i % 28, 10 + age).unwrap();
    }
    let doc = spend_json(&customers, &orders);
    let dropped = dropped_columns(&doc);
    // Ingestion turns the header into a plain identifier.
    assert!(dropped.contains(&"age__years"), "{doc}");
}

/// The columns `predict spend` left out.
fn dropped_columns(doc: &serde_json::Value) -> Vec<&str> {
    doc["dropped"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["column"].as_str().unwrap())
        .collect()
}

/// `salesflow predict spend --json` on a folder with these customers and orders.
fn spend_json(customers: &str, orders: &str) -> serde_json::Value {
    let dir = folder(&[
        ("customers.csv", customers.as_bytes()),
        ("orders.csv", orders.as_bytes()),
    ]);
    let run = salesflow(dir.path(), &["predict", "spend", "--data", ".", "--json"]);
    run.success();
    serde_json::from_str(&run.stdout).expect("JSON")
}
