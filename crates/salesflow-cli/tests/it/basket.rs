//! `salesflow basket`: itemsets and rules from a basket file or order lines.

use std::path::PathBuf;

use crate::util::salesflow;

fn online_retail() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../salesflow-models/tests/fixtures/basket/online-retail.txt")
}

#[test]
fn basket_file_gives_the_published_itemsets_as_json() {
    let dir = tempfile::tempdir().unwrap();
    let file = online_retail();
    let run = salesflow(
        dir.path(),
        &[
            "basket",
            "--baskets",
            file.to_str().unwrap(),
            "--min-support",
            "0.02",
            "--min-threshold",
            "0.5",
            "--json",
        ],
    );
    run.success();
    let out: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(out["transactions"], 28_816);
    let itemsets = out["itemsets"].as_array().unwrap();
    assert_eq!(itemsets.len(), 159);
    let pair = itemsets
        .iter()
        .find(|s| s["items"].as_array().unwrap().len() == 2)
        .unwrap();
    assert_eq!(pair["items"], serde_json::json!(["21231", "21232"]));
    assert_eq!(pair["count"], 818);
    // mlxtend: 12 rules at confidence >= 0.5 at this support.
    let rules = out["rules"].as_array().unwrap();
    assert_eq!(rules.len(), 12);
    for key in [
        "antecedents",
        "consequents",
        "support",
        "confidence",
        "lift",
        "leverage",
        "conviction",
        "zhangs_metric",
        "jaccard",
        "certainty",
        "kulczynski",
    ] {
        assert!(rules[0].get(key).is_some(), "rule lacks {key}");
    }
}

#[test]
fn order_lines_make_baskets_with_revenue_and_outputs() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("shop");
    std::fs::create_dir(&data).unwrap();
    // Four orders; O4 is cancelled and must not count; the return line (quantity -1) neither.
    std::fs::write(
        data.join("orders.csv"),
        "order_id,customer_id,ordered_at,amount,status\n\
         O1,C1,2025-01-02,520,completed\nO2,C2,2025-01-03,475,completed\n\
         O3,C3,2025-01-04,5,completed\nO4,C4,2025-01-05,500,cancelled\n",
    )
    .unwrap();
    std::fs::write(
        data.join("order_lines.csv"),
        "order_id,product_id,quantity,unit_price\n\
         O1,camera,1,500\nO1,card,1,20\nO2,camera,1,450\nO2,card,1,25\nO2,pen,-1,2\n\
         O3,pen,2,2.5\nO4,camera,1,500\nO4,card,1,20\n",
    )
    .unwrap();
    let run = salesflow(
        dir.path(),
        &[
            "basket",
            "--data",
            "shop",
            "--min-support",
            "0.5",
            "--out",
            "out",
            "--json",
        ],
    );
    run.success();
    let out: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(out["transactions"], 3);
    let bundle = &out["bundles"][0];
    assert_eq!(bundle["items"], serde_json::json!(["camera", "card"]));
    assert_eq!(bundle["count"], 2);
    assert_eq!(bundle["revenue"], 995.0);
    for file in [
        "itemsets.csv",
        "rules.csv",
        "bundles.csv",
        "cross_sell.csv",
        "basket.json",
    ] {
        assert!(
            dir.path().join("out").join(file).is_file(),
            "{file} missing"
        );
    }
    let cross = std::fs::read_to_string(dir.path().join("out/cross_sell.csv")).unwrap();
    assert!(cross.contains("camera,1,card,1"), "{cross}");
}

#[test]
fn bad_basket_input_is_exit_2_with_where() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("b.txt"), "a,b\nc,,d\n").unwrap();
    salesflow(dir.path(), &["basket", "--baskets", "b.txt"])
        .bad_input()
        .stderr_has("line 2")
        .stderr_has("item 2");
    std::fs::write(dir.path().join("ok.txt"), "a,b\n").unwrap();
    salesflow(
        dir.path(),
        &["basket", "--baskets", "ok.txt", "--min-support", "0"],
    )
    .bad_input()
    .stderr_has("min_support");
    salesflow(
        dir.path(),
        &["basket", "--baskets", "ok.txt", "--metric", "lifts"],
    )
    .bad_input()
    .stderr_has("unknown metric");
    salesflow(dir.path(), &["basket", "--baskets", "missing.txt"]).bad_input();
}
