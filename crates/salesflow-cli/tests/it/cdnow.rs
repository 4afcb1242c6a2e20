//! Acceptance: the CDNOW summary of Fader, Hardie & Lee (2005), as published with lifetimes.

use std::collections::HashMap;

use crate::util::{fixture, read_csv, salesflow};

/// Rounds to two decimals the way the reference was printed: to 15 significant digits (so
/// binary noise cannot tip a tie), then half away from zero.
fn two_decimals(x: f64) -> String {
    let sci = format!("{:.14e}", x.abs());
    let (mantissa, exp) = sci.split_once('e').expect("scientific notation");
    let digits: u64 = mantissa.replace('.', "").parse().expect("digits");
    let exp: i32 = exp.parse().expect("exponent");
    // value = digits * 10^(exp - 14); cents = value * 100 = digits * 10^(exp - 12).
    let shift = 12 - exp;
    let cents = if shift <= 0 {
        digits * 10u64.pow((-shift) as u32)
    } else if shift > 18 {
        0
    } else {
        let p = 10u64.pow(shift as u32);
        digits / p + u64::from(2 * (digits % p) >= p)
    };
    let sign = if x < 0.0 && cents > 0 { "-" } else { "" };
    format!("{sign}{}.{:02}", cents / 100, cents % 100)
}

#[test]
fn rounding_matches_the_published_convention() {
    assert_eq!(two_decimals(22.345000000000006), "22.35");
    assert_eq!(two_decimals(26.744999999999997), "26.75");
    assert_eq!(two_decimals(38.857142857142854), "38.86");
    assert_eq!(two_decimals(0.0), "0.00");
    assert_eq!(two_decimals(1.004), "1.00");
}

fn master_to_sample_id() -> HashMap<String, String> {
    let text = std::fs::read_to_string(fixture("cdnow/CDNOW_sample.txt")).expect("fixture");
    text.lines()
        .filter_map(|l| {
            let mut f = l.split_whitespace();
            Some((
                f.next()?.to_string(),
                f.next()?.trim_start_matches('0').to_string(),
            ))
        })
        .collect()
}

fn summarise(dir: &std::path::Path, input: &str, out: &str) -> (Vec<String>, Vec<Vec<String>>) {
    salesflow(
        dir,
        &[
            "summary",
            "--orders",
            input,
            "--columns",
            "customer_id,sample_id,ordered_at,cds,amount",
            "--time-unit",
            "week",
            "--calibration-end",
            "1997-09-30",
            "--out",
            out,
        ],
    )
    .success();
    read_csv(&dir.join(out))
}

#[test]
fn cdnow_summary_reproduces_the_published_one_for_every_customer() {
    let dir = tempfile::tempdir().unwrap();
    let input = fixture("cdnow/CDNOW_sample.txt");
    let (header, rows) = summarise(dir.path(), input.to_str().unwrap(), "summary.csv");
    assert_eq!(
        header,
        ["customer_id", "frequency", "recency", "T", "monetary_value"]
    );
    let ids = master_to_sample_id();
    let ours: HashMap<String, &Vec<String>> =
        rows.iter().map(|r| (ids[&r[0]].clone(), r)).collect();

    let (_, reference) = read_csv(&fixture("cdnow/cdnow_customers_summary.csv"));
    let (_, with_zbar) = read_csv(&fixture(
        "cdnow/cdnow_customers_summary_with_transactions.csv",
    ));
    assert_eq!(reference.len(), 2357);
    assert_eq!(rows.len(), 2357, "one row per customer");
    let zbar: HashMap<&str, &str> = with_zbar
        .iter()
        .map(|r| (r[0].as_str(), r[4].as_str()))
        .collect();
    let mut mismatches = Vec::new();
    for r in &reference {
        let id = &r[0];
        let row = ours
            .get(id)
            .unwrap_or_else(|| panic!("customer {id} missing"));
        let num = |i: usize| row[i].parse::<f64>().unwrap();
        let got = (
            row[1].clone(),
            two_decimals(num(2)),
            two_decimals(num(3)),
            two_decimals(num(4)),
        );
        let reference_recency: f64 = r[2].parse().unwrap();
        let reference_t: f64 = r[3].parse().unwrap();
        let want = (
            r[1].clone(),
            format!("{reference_recency:.2}"),
            format!("{reference_t:.2}"),
            zbar[id.as_str()].to_string(),
        );
        if got != want {
            mismatches.push(format!("ID {id}: ours {got:?}, published {want:?}"));
        }
    }
    assert!(
        mismatches.is_empty(),
        "{} mismatches:\n{}",
        mismatches.len(),
        mismatches.join("\n")
    );
}

#[test]
fn parquet_input_gives_the_same_summary_as_text() {
    let dir = tempfile::tempdir().unwrap();
    let input = fixture("cdnow/CDNOW_sample.txt");
    // Turn the text file into a folder with orders.parquet through `sql --out`.
    let data = dir.path().join("data");
    std::fs::create_dir(&data).unwrap();
    std::fs::copy(&input, data.join("orders.txt")).unwrap();
    salesflow(
        dir.path(),
        &[
            "sql",
            "SELECT * FROM orders",
            "--data",
            "data",
            "--columns",
            "customer_id,sample_id,ordered_at,cds,amount",
            "--out",
            "orders.parquet",
        ],
    )
    .success();
    let text = summarise(dir.path(), input.to_str().unwrap(), "from_text.csv");
    salesflow(
        dir.path(),
        &[
            "summary",
            "--orders",
            "orders.parquet",
            "--time-unit",
            "week",
            "--calibration-end",
            "1997-09-30",
            "--out",
            "from_parquet.csv",
        ],
    )
    .success();
    let parquet = read_csv(&dir.path().join("from_parquet.csv"));
    assert_eq!(text, parquet);
}

#[test]
fn holdout_columns_follow_lifetimes() {
    let dir = tempfile::tempdir().unwrap();
    let input = fixture("cdnow/CDNOW_sample.txt");
    salesflow(
        dir.path(),
        &[
            "summary",
            "--orders",
            input.to_str().unwrap(),
            "--columns",
            "customer_id,sample_id,ordered_at,cds,amount",
            "--time-unit",
            "week",
            "--calibration-end",
            "1997-09-30",
            "--observation-end",
            "1998-06-30",
            "--facts",
            "--out",
            "holdout.csv",
        ],
    )
    .success();
    let (header, rows) = read_csv(&dir.path().join("holdout.csv"));
    assert_eq!(
        header,
        [
            "customer_id",
            "frequency",
            "recency",
            "T",
            "monetary_value",
            "frequency_holdout",
            "monetary_value_holdout",
            "duration_holdout",
            "first_order_at",
            "last_order_at",
            "orders",
            "revenue",
            "average_order_value"
        ]
    );
    let first = &rows[0];
    // Customer 00004 bought on 1997-01-01, 01-18, 08-02 (calibration) and 12-12 (holdout).
    assert_eq!(first[0], "00004");
    assert_eq!(first[5], "1");
    assert_eq!(first[6], "26.48");
    assert_eq!(first[7], "39.0"); // 273 days
    assert_eq!(first[10], "3");
    assert_eq!(first[8], "1997-01-01T00:00:00Z");
    let total_holdout: i64 = rows.iter().map(|r| r[5].parse::<i64>().unwrap()).sum();
    // Repeat purchase days of the cohort in the 39 holdout weeks (Fader & Hardie's CDNOW sample).
    assert!(total_holdout > 0);
}
