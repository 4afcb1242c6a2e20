//! `salesflow sql` over the cleaned tables.

use crate::util::{folder, salesflow};

#[test]
fn sql_prints_tables_csv_and_json() {
    let dir = folder(&[
        ("orders.csv", b"customer_id,ordered_at,amount,channel\nc1,2024-01-01,5,web\nc2,2024-01-02,7,web\nc2,2024-01-03,1,store\n"),
        ("customers.csv", b"customer_id,country\nc1,DE\nc2,FR\n"),
    ]);
    let q = "SELECT c.country, SUM(o.amount) AS revenue FROM orders o JOIN customers c USING (customer_id) GROUP BY c.country ORDER BY c.country";
    let table = salesflow(dir.path(), &["sql", q, "--data", "."]);
    table.success();
    assert!(
        table.stdout.contains("| country | revenue |"),
        "{}",
        table.stdout
    );
    let csv = salesflow(dir.path(), &["sql", q, "--data", ".", "--format", "csv"]);
    assert_eq!(csv.stdout, "country,revenue\nDE,5.0\nFR,8.0\n");
    let json = salesflow(dir.path(), &["sql", q, "--data", ".", "--format", "json"]);
    let value: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(value[1]["country"], "FR");
    assert_eq!(value[1]["revenue"], 8.0);
    // An empty result still has its header.
    let empty = salesflow(
        dir.path(),
        &[
            "sql",
            "SELECT customer_id FROM orders WHERE amount > 100",
            "--data",
            ".",
            "--format",
            "csv",
        ],
    );
    assert_eq!(empty.stdout, "customer_id\n");
}
