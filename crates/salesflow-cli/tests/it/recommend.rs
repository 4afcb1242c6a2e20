//! `salesflow recommend`: top-k products per customer with reasons, and the model comparison.

use std::collections::{HashMap, HashSet};

use crate::util::{read_csv, salesflow};

#[test]
fn demo_company_gets_recommendations_and_an_evaluation() {
    let dir = tempfile::tempdir().unwrap();
    salesflow(
        dir.path(),
        &[
            "-q",
            "demo",
            "--customers",
            "400",
            "--seed",
            "9",
            "--out",
            "co",
            "--format",
            "csv",
        ],
    )
    .success();
    let run = salesflow(
        dir.path(),
        &[
            "recommend",
            "--data",
            "co/csv",
            "--k",
            "5",
            "--factors",
            "8",
            "--iterations",
            "5",
            "--out",
            "recs.csv",
            "--evaluation",
            "eval.json",
        ],
    );
    run.success();
    assert!(run.stdout.contains("holdout from"), "{}", run.stdout);
    let eval: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("eval.json")).unwrap())
            .unwrap();
    let models: Vec<&str> = eval["models"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["model"].as_str().unwrap())
        .collect();
    for name in [
        "popular",
        "popular-segment",
        "item-knn",
        "content",
        "als",
        "hybrid",
    ] {
        assert!(models.contains(&name), "{name} not evaluated: {models:?}");
    }
    for m in eval["models"].as_array().unwrap() {
        let p = m["precision"].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&p), "{m}");
    }

    let (header, rows) = read_csv(&dir.path().join("recs.csv"));
    assert_eq!(
        header,
        ["customer_id", "rank", "product_id", "score", "reason"]
    );
    // Every customer gets 5 distinct products, ranked 1..5, none already bought.
    let (_, lines) = read_csv(&dir.path().join("co/csv/order_lines.csv"));
    let (_, orders) = read_csv(&dir.path().join("co/csv/orders.csv"));
    let customer_of: HashMap<&str, &str> = orders
        .iter()
        .map(|o| (o[0].as_str(), o[1].as_str()))
        .collect();
    let mut bought: HashSet<(&str, &str)> = HashSet::new();
    for l in &lines {
        if let Some(c) = customer_of.get(l[0].as_str()) {
            bought.insert((c, l[1].as_str()));
        }
    }
    let mut per_customer: HashMap<&str, Vec<&str>> = HashMap::new();
    for r in &rows {
        per_customer.entry(&r[0]).or_default().push(&r[2]);
        assert!(!r[4].is_empty());
    }
    assert_eq!(per_customer.len(), 400);
    for products in per_customer.values() {
        assert_eq!(products.len(), 5);
        assert_eq!(products.iter().collect::<HashSet<_>>().len(), 5);
    }
    let repeats = rows
        .iter()
        .filter(|r| bought.contains(&(r[0].as_str(), r[2].as_str())))
        .count();
    assert_eq!(repeats, 0, "recommended something already bought");
}

#[test]
fn recommend_rejects_bad_settings_with_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    salesflow(
        dir.path(),
        &[
            "-q",
            "demo",
            "--customers",
            "60",
            "--seed",
            "2",
            "--out",
            "co",
            "--format",
            "csv",
        ],
    )
    .success();
    salesflow(
        dir.path(),
        &[
            "recommend",
            "--data",
            "co/csv",
            "--k",
            "0",
            "--out",
            "r.csv",
        ],
    )
    .bad_input()
    .stderr_has("--k");
    salesflow(
        dir.path(),
        &[
            "recommend",
            "--data",
            "co/csv",
            "--holdout-from",
            "2001-01-01",
            "--out",
            "r.csv",
        ],
    )
    .bad_input()
    .stderr_has("holdout");
    salesflow(
        dir.path(),
        &[
            "recommend",
            "--data",
            "co/csv",
            "--segment-by",
            "shoe_size",
            "--out",
            "r.csv",
        ],
    )
    .bad_input()
    .stderr_has("shoe_size");
}
