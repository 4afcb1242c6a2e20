//! The front door: `salesflow demo` generates a company that salesflow reads cleanly.

use crate::util::{read_csv, salesflow};

#[test]
fn demo_data_is_clean_and_summarised() {
    let dir = tempfile::tempdir().unwrap();
    let run = salesflow(
        dir.path(),
        &["demo", "--customers", "300", "--seed", "3", "--out", "co"],
    );
    run.success();
    for needle in [
        "Data quality",
        "Customers (salesflow summary",
        "Customer lifetime value",
        "BG/NBD: r",
        "Revenue by channel",
        "Deals:",
        "What matters most",
        "Report: co/report/report.html",
    ] {
        assert!(
            run.stdout.contains(needle),
            "demo output lacks `{needle}`:\n{}",
            run.stdout
        );
    }
    // Every table validates from both formats without a rejected row, and the accounts balance.
    for format in ["csv", "parquet"] {
        salesflow(dir.path(), &["validate", "--data", &format!("co/{format}")]).success();
        let report: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(dir.path().join("cleaning_report.json")).unwrap(),
        )
        .unwrap();
        let tables = report["tables"].as_array().unwrap();
        assert_eq!(tables.len(), 10, "all ten canonical tables are generated");
        for t in tables {
            let n = |k: &str| t[k].as_u64().unwrap();
            assert_eq!(
                n("rows_rejected"),
                0,
                "{format} {}: {:#?}",
                t["table"],
                t["issues"]
            );
            assert_eq!(
                n("rows_read"),
                n("rows_kept") + n("duplicates_removed"),
                "{}",
                t["table"]
            );
        }
    }
    let (header, summary) = read_csv(&dir.path().join("co/customer_summary.csv"));
    assert_eq!(
        header[..5],
        ["customer_id", "frequency", "recency", "T", "monetary_value"]
    );
    assert!(summary.len() > 250, "most of the 300 customers buy");
    // Same seed, same company.
    salesflow(
        dir.path(),
        &[
            "demo",
            "--customers",
            "300",
            "--seed",
            "3",
            "--out",
            "again",
            "--format",
            "csv",
        ],
    )
    .success();
    for table in ["orders", "deals", "stage_events"] {
        let read =
            |d: &str| std::fs::read(dir.path().join(format!("{d}/csv/{table}.csv"))).unwrap();
        assert_eq!(
            read("co"),
            read("again"),
            "{table}.csv differs between two runs with one seed"
        );
    }
}

#[test]
fn weekly_periods_merge_like_lifetimes() {
    // 2024-03-04 is a Monday: the first two orders share a calendar week, the third does not.
    let dir = crate::util::folder(&[(
        "orders.csv",
        b"customer_id,ordered_at,amount\nc1,2024-03-04,10\nc1,2024-03-10,20\nc1,2024-03-11,5\n",
    )]);
    salesflow(
        dir.path(),
        &[
            "summary",
            "--data",
            ".",
            "--time-unit",
            "week",
            "--out",
            "day.csv",
        ],
    )
    .success();
    salesflow(
        dir.path(),
        &[
            "summary",
            "--data",
            ".",
            "--time-unit",
            "week",
            "--merge-by",
            "unit",
            "--out",
            "week.csv",
        ],
    )
    .success();
    let (_, by_day) = read_csv(&dir.path().join("day.csv"));
    let (_, by_week) = read_csv(&dir.path().join("week.csv"));
    // By day: three purchase days, 7 days from first to last = 1 week.
    assert_eq!(by_day[0][1..4], ["2", "1.0", "1.0"]);
    // By week: two purchase weeks (10+20, then 5), one week apart.
    assert_eq!(by_week[0][1..5], ["1", "1.0", "1.0", "5.0"]);
}
