//! The cleaning report accounts for every row, with lines and reasons.

use crate::util::{folder, read_csv, report, salesflow};

const ORDERS: &str = "\
customer_id,order_id,ordered_at,amount,status
c1,o1,2024-01-01T10:00:00Z,10.00,completed
c1,o1,2024-01-01T10:00:00Z,10.00,completed
c1,o2,2024-01-05,20.00,Completed
c2,o3,2024-01-02,15.00,completed
c2,o3,2024-01-02,16.00,completed
c3,o4,,12.00,completed
c3,o5,2024-01-03,abc,completed
c3,o6,2024-01-04,-5.00,completed
c4,o7,2024-01-04,-8.00,
c4,o8,2024-01-04,8.00,Refunded
c5,o9,2024-01-06,30.00,CANCELED
c5,o10,2024-01-06,25.00,completed,extra
c6,o11,2024-01-07,5000000.00,completed
c7,o12,2024-01-08,11.00,completed
c8,o13,2024-01-08,12.00,completed
c9,o14,2024-01-09,13.00,completed
c10,o15,2024-01-09,14.00,completed
c11,o16,2024-01-10,9.00,completed
c12,o17,2024-01-10,10.50,completed
c13,o18,2024-01-11,11.50,completed
c14,o19,2024-01-11,12.50,completed
c15,o20,2024-01-12,13.50,completed
c16,o21,2024-01-12,14.50,completed
c17,o22,2024-01-13,9.50,completed
c18,o23,2024-01-13,10.25,completed
c19,o24,2024-01-14,11.25,completed
";

#[test]
fn every_row_is_accounted_for() {
    let dir = folder(&[("orders.csv", ORDERS.as_bytes())]);
    let run = salesflow(dir.path(), &["validate", "--data", "."]);
    run.success();
    let report = report(dir.path());
    let t = &report["tables"][0];
    let n = |k: &str| t[k].as_u64().unwrap();
    assert_eq!(n("rows_read"), 26);
    assert_eq!(
        n("rows_read"),
        n("rows_kept") + n("rows_rejected") + n("duplicates_removed")
    );
    let issues = t["issues"].as_array().unwrap();
    let find = |line: u64| {
        issues
            .iter()
            .find(|i| i["line"] == line)
            .unwrap_or_else(|| panic!("no entry for line {line}: {issues:#?}"))
    };
    // Line numbers count the header as line 1.
    assert_eq!(find(3)["kind"], "exact_duplicate");
    assert_eq!(find(3)["action"], "removed");
    assert_eq!(find(6)["kind"], "conflicting_duplicate");
    assert_eq!(find(6)["action"], "flagged");
    assert_eq!(find(7)["kind"], "missing_value");
    assert_eq!(find(7)["column"], "ordered_at");
    assert_eq!(find(8)["kind"], "unparseable");
    assert_eq!(find(8)["value"], "abc");
    assert_eq!(find(9)["kind"], "negative_amount");
    assert_eq!(find(10)["kind"], "refund_without_status");
    assert_eq!(find(10)["action"], "repaired");
    assert_eq!(find(13)["kind"], "wrong_field_count");
    assert_eq!(find(14)["kind"], "outlier");
    assert_eq!(find(14)["action"], "flagged");
    assert_eq!(n("duplicates_removed"), 1);
    assert_eq!(n("rows_rejected"), 4);
    assert_eq!(t["not_purchases"]["refunded"], 2);
    assert_eq!(t["not_purchases"]["cancelled"], 1);
    // The human summary names the kinds and shows lines.
    assert!(run.stdout.contains("rejected"), "{}", run.stdout);
    assert!(run.stdout.contains("line 7"), "{}", run.stdout);
    // Descriptive statistics of the numeric column.
    let amount = t["stats"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["column"] == "amount")
        .unwrap();
    assert_eq!(amount["count"], 21);
    assert_eq!(amount["missing"], 0);
}

#[test]
fn refunds_and_cancellations_are_not_purchases() {
    let dir = folder(&[("orders.csv", ORDERS.as_bytes())]);
    salesflow(
        dir.path(),
        &["summary", "--data", ".", "--out", "s.csv", "--facts"],
    )
    .success();
    let (header, rows) = read_csv(&dir.path().join("s.csv"));
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    let c1 = rows.iter().find(|r| r[0] == "c1").unwrap();
    // o1 (its duplicate removed) and o2, four days apart.
    assert_eq!(c1[col("frequency")], "1");
    assert_eq!(c1[col("recency")], "4.0");
    assert_eq!(c1[col("monetary_value")], "20.0");
    assert_eq!(c1[col("orders")], "2");
    // c4 only refunded, c5 only cancelled or malformed: not customers with purchases.
    assert!(rows.iter().all(|r| r[0] != "c4" && r[0] != "c5"));
    // c2's conflicting duplicates are both kept, on the same day: one purchase of 31.
    let c2 = rows.iter().find(|r| r[0] == "c2").unwrap();
    assert_eq!(c2[col("frequency")], "0");
    assert_eq!(c2[col("revenue")], "31.0");
}

#[test]
fn mapping_from_salesflow_toml_and_whitespace_files() {
    let dir = folder(&[
        ("export.txt", b" 7  19970101  2   29.33\n 7  19970118  2   29.73\n 9  19970102  1   5.00\n"),
        (
            "salesflow.toml",
            b"[tables.orders]\nfile = \"export.txt\"\ndelimiter = \"whitespace\"\ncolumns = [\"who\", \"when\", \"cds\", \"dollars\"]\n\n[mapping.orders]\ncustomer_id = \"who\"\nordered_at = \"when\"\namount = \"dollars\"\n",
        ),
    ]);
    salesflow(dir.path(), &["summary", "--data", ".", "--out", "s.csv"]).success();
    let (_, rows) = read_csv(&dir.path().join("s.csv"));
    assert_eq!(
        rows,
        vec![
            vec!["7", "1", "17.0", "17.0", "29.73"],
            vec!["9", "0", "0.0", "16.0", "0.0"]
        ]
    );
}

#[test]
fn parquet_rows_are_numbered_and_checked() {
    let dir = folder(&[(
        "orders.csv",
        b"customer_id,ordered_at,amount,notes\nc1,2024-01-01,5,ok\nc2,2024-01-02,6,\n",
    )]);
    // A Parquet file whose amount column is text, one value unreadable.
    salesflow(
        dir.path(),
        &["sql", "SELECT customer_id, ordered_at, CASE WHEN customer_id = 'c2' THEN 'n/a' ELSE CAST(amount AS VARCHAR) END AS amount FROM orders", "--data", ".", "--out", "p/orders.parquet"],
    )
    .success();
    salesflow(dir.path(), &["validate", "--data", "p"]).success();
    let t = &report(dir.path())["tables"][0];
    assert_eq!(t["format"], "parquet");
    assert_eq!(t["rows_kept"], 1);
    assert_eq!(t["issues"][0]["line"], 2);
    assert_eq!(t["issues"][0]["kind"], "unparseable");
}
