//! Bad input gets a clear error (exit 2) or a cleaning-report entry, never a panic.

use crate::util::{folder, report, salesflow};

const GOOD_HEADER: &str = "customer_id,order_id,ordered_at,amount\n";

#[test]
fn empty_file() {
    let dir = folder(&[("orders.csv", b"")]);
    salesflow(dir.path(), &["validate", "--data", "."])
        .bad_input()
        .stderr_has("orders.csv")
        .stderr_has("the file is empty");
}

#[test]
fn header_only() {
    let dir = folder(&[("orders.csv", GOOD_HEADER.as_bytes())]);
    salesflow(dir.path(), &["validate", "--data", "."])
        .bad_input()
        .stderr_has("header but no data rows");
}

#[test]
fn missing_required_column_is_named_with_the_columns_found() {
    let dir = folder(&[(
        "orders.csv",
        b"customer_id,ordered_at,total_cost\nc1,2024-01-01,5\n",
    )]);
    salesflow(dir.path(), &["validate", "--data", "."])
        .bad_input()
        .stderr_has("required column `amount`")
        .stderr_has("columns found: customer_id, ordered_at, total_cost")
        .stderr_has("--map amount=");
    // ... and the hint works.
    salesflow(
        dir.path(),
        &["validate", "--data", ".", "--map", "amount=total_cost"],
    )
    .success();
}

#[test]
fn wrong_delimiter_is_diagnosed() {
    let dir = folder(&[(
        "orders.csv",
        b"customer_id,ordered_at,amount\nc1,2024-01-01,5\n",
    )]);
    salesflow(dir.path(), &["validate", "--data", ".", "--delimiter", ";"])
        .bad_input()
        .stderr_has("--delimiter ','");
}

#[test]
fn non_utf8_bytes_reject_the_row_with_a_hint() {
    let mut content =
        b"customer_id,ordered_at,amount,channel\nc1,2024-01-01,5,web\nc2,2024-01-02,6,caf".to_vec();
    content.extend_from_slice(&[0xE9]); // Latin-1 é
    content.extend_from_slice(b"\nc3,2024-01-03,7,web\n");
    let dir = folder(&[("orders.csv", &content)]);
    salesflow(dir.path(), &["validate", "--data", "."]).success();
    let report = report(dir.path());
    let orders = &report["tables"][0];
    assert_eq!(orders["rows_read"], 3);
    assert_eq!(orders["rows_kept"], 2);
    let issue = &orders["issues"][0];
    assert_eq!(issue["line"], 3);
    assert_eq!(issue["kind"], "invalid_utf8");
    assert!(issue["message"].as_str().unwrap().contains("iconv"));
}

#[test]
fn dates_in_an_unknown_format_ask_for_date_format() {
    let dir = folder(&[(
        "orders.csv",
        b"customer_id,ordered_at,amount\nc1,March 5th 2024,5\nc2,April 1st 2024,6\n",
    )]);
    salesflow(dir.path(), &["validate", "--data", "."])
        .bad_input()
        .stderr_has("ordered_at")
        .stderr_has("--date-format");
}

#[test]
fn ambiguous_dates_ask_which_way_round() {
    let dir = folder(&[(
        "orders.csv",
        b"customer_id,ordered_at,amount\nc1,01/02/2024,5\nc2,03/04/2024,6\n",
    )]);
    salesflow(dir.path(), &["validate", "--data", "."])
        .bad_input()
        .stderr_has("%d/%m/%Y");
    salesflow(
        dir.path(),
        &["validate", "--data", ".", "--date-format", "%d/%m/%Y"],
    )
    .success();
}

#[test]
fn amounts_with_currency_symbols_and_locales() {
    let dir = folder(&[(
        "orders.csv",
        "customer_id,ordered_at,amount\nc1,2024-01-01,\"$1,234.50\"\nc2,2024-01-02,USD 12\nc3,2024-01-03,(5.00)\nc4,2024-01-04,12;50\n"
            .as_bytes(),
    )]);
    salesflow(
        dir.path(),
        &[
            "sql",
            "SELECT customer_id, amount, status FROM orders ORDER BY customer_id",
            "--data",
            ".",
            "--format",
            "csv",
        ],
    )
    .success();
    let run = salesflow(
        dir.path(),
        &[
            "sql",
            "SELECT amount FROM orders ORDER BY customer_id",
            "--data",
            ".",
            "--format",
            "csv",
        ],
    );
    run.success();
    assert_eq!(run.stdout, "amount\n1234.5\n12.0\n-5.0\n");
    let eu = folder(&[(
        "orders.csv",
        "customer_id;ordered_at;amount\nc1;05.03.2024;1.234,50 €\n".as_bytes(),
    )]);
    let run = salesflow(
        eu.path(),
        &[
            "sql",
            "SELECT amount, ordered_at FROM orders",
            "--data",
            ".",
            "--locale",
            "de",
            "--format",
            "csv",
        ],
    );
    run.success();
    assert_eq!(
        run.stdout,
        "amount,ordered_at\n1234.5,2024-03-05T00:00:00Z\n"
    );
}

#[test]
fn a_file_that_does_not_exist() {
    let dir = folder(&[]);
    salesflow(
        dir.path(),
        &["summary", "--orders", "nope.csv", "--out", "s.csv"],
    )
    .bad_input()
    .stderr_has("nope.csv");
    assert!(!dir.path().join("s.csv").exists());
}

#[test]
fn a_folder_without_any_table() {
    let dir = folder(&[("notes.txt", b"hello"), ("sales.xlsx", b"PK")]);
    salesflow(dir.path(), &["validate", "--data", "."])
        .bad_input()
        .stderr_has("none of the expected tables")
        .stderr_has("notes.txt, sales.xlsx")
        .stderr_has("orders.csv");
    salesflow(dir.path(), &["validate", "--data", "missing-folder"]).bad_input();
}

#[test]
fn headerless_files_are_detected() {
    let dir = folder(&[("orders.csv", b"c1,2024-01-01,5\nc2,2024-01-02,6\n")]);
    salesflow(dir.path(), &["validate", "--data", "."])
        .bad_input()
        .stderr_has("--columns");
    salesflow(
        dir.path(),
        &[
            "validate",
            "--data",
            ".",
            "--columns",
            "customer_id,ordered_at,amount",
        ],
    )
    .success();
}

#[test]
fn bad_flags_and_config_exit_2() {
    let dir = folder(&[(
        "orders.csv",
        b"customer_id,ordered_at,amount\nc1,2024-01-01,5\n",
    )]);
    salesflow(dir.path(), &["validate", "--data", ".", "--map", "amount"])
        .bad_input()
        .stderr_has("CANONICAL=YOURS");
    salesflow(
        dir.path(),
        &["validate", "--data", ".", "--locale", "klingon"],
    )
    .bad_input()
    .stderr_has("unknown locale");
    std::fs::write(
        dir.path().join("salesflow.toml"),
        "[mapping.orders]\ncustomer = \"x\"\n",
    )
    .unwrap();
    salesflow(dir.path(), &["validate", "--data", "."])
        .bad_input()
        .stderr_has("salesflow.toml")
        .stderr_has("customer_id");
}

#[test]
fn bad_sql_is_bad_input() {
    let dir = folder(&[(
        "orders.csv",
        b"customer_id,ordered_at,amount\nc1,2024-01-01,5\n",
    )]);
    salesflow(dir.path(), &["sql", "SELEC nonsense", "--data", "."]).bad_input();
    salesflow(
        dir.path(),
        &["sql", "SELECT nope FROM orders", "--data", "."],
    )
    .bad_input()
    .stderr_has("nope");
}

#[test]
fn summary_date_options_are_checked() {
    let dir = folder(&[(
        "orders.csv",
        b"customer_id,ordered_at,amount\nc1,2024-01-01,5\n",
    )]);
    salesflow(
        dir.path(),
        &[
            "summary",
            "--data",
            ".",
            "--calibration-end",
            "2023-01-01",
            "--out",
            "s.csv",
        ],
    )
    .bad_input()
    .stderr_has("before the first purchase");
    salesflow(
        dir.path(),
        &[
            "summary",
            "--data",
            ".",
            "--calibration-end",
            "2024-02-01",
            "--observation-end",
            "2024-01-15",
            "--out",
            "s.csv",
        ],
    )
    .bad_input()
    .stderr_has("not after the calibration end");
    salesflow(
        dir.path(),
        &[
            "summary",
            "--data",
            ".",
            "--calibration-end",
            "2024-13-01",
            "--out",
            "s.csv",
        ],
    )
    .bad_input();
}
