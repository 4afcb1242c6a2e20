//! `salesflow forecast`: series files in the shapes people have them, the sales series of a
//! data folder, and bad input.

use std::fmt::Write as _;
use std::path::PathBuf;

use crate::util::{folder, read_csv, salesflow};

/// AirPassengers as `date,value` (from the models crate's fixtures).
fn airpassengers() -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../salesflow-models/tests/fixtures/forecast/airpassengers.csv");
    std::fs::read_to_string(path).expect("fixture")
}

fn json(stdout: &str) -> serde_json::Value {
    serde_json::from_str(stdout).expect("JSON")
}

fn numbers(value: &serde_json::Value) -> Vec<f64> {
    value
        .as_array()
        .expect("array")
        .iter()
        .map(|v| v.as_f64().expect("number"))
        .collect()
}

#[test]
fn a_monthly_series_gets_a_seasonal_ets_forecast_with_intervals_and_a_backtest() {
    let dir = folder(&[("air.csv", airpassengers().as_bytes())]);
    let run = salesflow(dir.path(), &["forecast", "--series", "air.csv", "--json"]);
    run.success();
    let doc = json(&run.stdout);
    assert_eq!(doc["frequency"], "month");
    assert_eq!(doc["season_length"], 12);
    assert_eq!(doc["horizon"], 12);
    let series = &doc["series"][0];
    // The same model the models crate's panel test finds on the full series.
    assert_eq!(series["model"], "ETS(M,A,M)");
    assert_eq!(series["level"], 0.95);
    assert_eq!(series["dates"][0], "1961-01-01");
    assert_eq!(series["dates"][11], "1961-12-01");
    let (mean, lower, upper) = (
        numbers(&series["forecast"]),
        numbers(&series["lower"]),
        numbers(&series["upper"]),
    );
    assert_eq!(mean.len(), 12);
    for h in 0..12 {
        assert!(lower[h] < mean[h] && mean[h] < upper[h], "h={h}");
    }
    // July above November, as every year of the history.
    assert!(mean[6] > mean[10] * 1.2);
    let backtest = &series["backtest"];
    assert_eq!(backtest["windows"], 3);
    let mase = backtest["mase"].as_f64().unwrap();
    let naive = series["baseline_backtest"]["mase"].as_f64().unwrap();
    assert!(
        mase < naive,
        "ETS {mase} should beat seasonal naive {naive}"
    );
    assert_eq!(doc["accuracy"]["series"], 1);
}

#[test]
fn statsforecast_shaped_files_with_several_series_write_a_long_table() {
    let mut csv = String::from("unique_id,ds,y\n");
    for (id, base) in [("north", 100.0), ("south", 40.0)] {
        for q in 0..24 {
            let (year, quarter) = (2018 + q / 4, q % 4);
            let seasonal = [1.0, 1.3, 0.9, 0.8][quarter];
            let value = base * seasonal * (1.0 + 0.02 * q as f64);
            writeln!(csv, "{id},{year}-{:02}-01,{value:.3}", quarter * 3 + 1).unwrap();
        }
    }
    let dir = folder(&[("panel.csv", csv.as_bytes())]);
    salesflow(
        dir.path(),
        &[
            "forecast",
            "--series",
            "panel.csv",
            "--horizon",
            "6",
            "--out",
            "out.csv",
        ],
    )
    .success();
    let (header, rows) = read_csv(&dir.path().join("out.csv"));
    assert_eq!(
        header,
        ["series_id", "date", "model", "forecast", "lower", "upper"]
    );
    assert_eq!(rows.len(), 12);
    assert_eq!(rows[0][0], "north");
    assert_eq!(rows[0][1], "2024-01-01");
    assert_eq!(rows[5][1], "2025-04-01");
    assert_eq!(rows[6][0], "south");
    // Quarterly data was recognised: the season is 4 quarters and the forecast repeats it.
    let q2: f64 = rows[1][3].parse().unwrap();
    let q4: f64 = rows[3][3].parse().unwrap();
    assert!(q2 > q4 * 1.3, "Q2 {q2} vs Q4 {q4}");
}

#[test]
fn a_missing_period_is_named_and_can_count_as_zero() {
    let csv = "date,value\n2024-01-01,5\n2024-02-01,6\n2024-04-01,7\n2024-05-01,5\n2024-06-01,6\n";
    let dir = folder(&[("gap.csv", csv.as_bytes())]);
    salesflow(dir.path(), &["forecast", "--series", "gap.csv"])
        .bad_input()
        .stderr_has("gap.csv")
        .stderr_has("no value for the month starting 2024-03-01")
        .stderr_has("--fill-gaps zero");
    let run = salesflow(
        dir.path(),
        &[
            "forecast",
            "--series",
            "gap.csv",
            "--fill-gaps",
            "zero",
            "--horizon",
            "2",
            "--json",
        ],
    );
    run.success();
    let doc = json(&run.stdout);
    assert_eq!(doc["series"][0]["dates"][0], "2024-07-01");
}

#[test]
fn intermittent_demand_gets_sba_and_a_flat_series_the_naive_forecast() {
    let mut csv = String::from("sku,day,units\n");
    let start = chrono::NaiveDate::from_ymd_opt(2024, 3, 1).unwrap();
    for d in 0..60 {
        let units = if d % 4 == 0 { 3 + d % 3 } else { 0 };
        writeln!(csv, "A-1,{},{units}", start + chrono::Duration::days(d)).unwrap();
        writeln!(csv, "B-2,{},7", start + chrono::Duration::days(d)).unwrap();
    }
    let dir = folder(&[("daily.csv", csv.as_bytes())]);
    let run = salesflow(dir.path(), &["forecast", "--series", "daily.csv", "--json"]);
    run.success();
    let doc = json(&run.stdout);
    assert_eq!(doc["frequency"], "day");
    assert_eq!(doc["season_length"], 7);
    assert_eq!(doc["series"][0]["model"], "SBA");
    let sba = numbers(&doc["series"][0]["forecast"]);
    assert!(sba.iter().all(|&v| v > 0.5 && v < 2.0), "{sba:?}");
    assert_eq!(doc["series"][1]["model"], "Naive");
    assert_eq!(numbers(&doc["series"][1]["forecast"]), vec![7.0; 7]);
}

#[test]
fn bad_flags_and_values_are_refused_with_a_hint() {
    let dir = folder(&[("air.csv", airpassengers().as_bytes())]);
    salesflow(
        dir.path(),
        &["forecast", "--series", "air.csv", "--level", "1.5"],
    )
    .bad_input()
    .stderr_has("--level");
    salesflow(
        dir.path(),
        &["forecast", "--series", "air.csv", "--model", "XYZ"],
    )
    .bad_input()
    .stderr_has("error A|M|Z");
    // A multiplicative model on data with zeros says what to choose instead.
    let zeros = "date,value\n2024-01-01,0\n2024-02-01,3\n2024-03-01,4\n2024-04-01,5\n2024-05-01,6\n2024-06-01,5\n2024-07-01,7\n2024-08-01,6\n2024-09-01,8\n2024-10-01,7\n";
    let dir = folder(&[("zeros.csv", zeros.as_bytes())]);
    salesflow(
        dir.path(),
        &["forecast", "--series", "zeros.csv", "--model", "MNN"],
    )
    .bad_input()
    .stderr_has("values above zero");
    // A seasonal model asked for on less than a season of data: a clear error, not a crash.
    let short = "date,value\n2024-01-01,5\n2024-02-01,6\n2024-03-01,7\n2024-04-01,5\n2024-05-01,6\n2024-06-01,8\n2024-07-01,7\n2024-08-01,6\n";
    let dir = folder(&[("short.csv", short.as_bytes())]);
    for model in ["ANA", "ZZA"] {
        salesflow(
            dir.path(),
            &["forecast", "--series", "short.csv", "--model", model],
        )
        .bad_input()
        .stderr_has("needs at least 13 observations");
    }
    // A value that is not a number leaves a hole, and the error points at the rejected row.
    let nan = "date,value\n2024-01-01,5\n2024-02-01,NaN\n2024-03-01,6\n2024-04-01,7\n";
    let dir = folder(&[("nan.csv", nan.as_bytes())]);
    salesflow(dir.path(), &["forecast", "--series", "nan.csv"])
        .bad_input()
        .stderr_has("series `nan` has no value for the month starting 2024-02-01")
        .stderr_has("line 3");
    // Dates that are no calendar period apart.
    let odd = "date,value\n2024-01-01,1\n2024-01-04,2\n2024-01-07,3\n";
    let dir = folder(&[("odd.csv", odd.as_bytes())]);
    salesflow(dir.path(), &["forecast", "--series", "odd.csv"])
        .bad_input()
        .stderr_has("3 days apart")
        .stderr_has("--frequency");
}

#[test]
fn a_data_folder_forecasts_revenue_orders_channels_and_products_from_complete_months() {
    let mut orders = String::from("order_id,customer_id,ordered_at,amount,channel\n");
    let mut lines = String::from("order_id,product_id,quantity\n");
    let mut monthly_revenue = vec![0.0; 36];
    let mut id = 0;
    for (month, revenue) in monthly_revenue.iter_mut().enumerate() {
        let (year, m) = (2021 + month / 12, month % 12 + 1);
        let orders_this_month = 20 + (month % 12) * 2;
        for k in 0..orders_this_month {
            id += 1;
            let amount = 50.0 + (k % 5) as f64 * 10.0;
            *revenue += amount;
            let channel = if k % 3 == 0 { "email" } else { "web" };
            writeln!(
                orders,
                "o{id},c{},{year}-{m:02}-{:02},{amount},{channel}",
                k % 17,
                1 + k % 28
            )
            .unwrap();
            writeln!(
                lines,
                "o{id},{},{}",
                if k % 2 == 0 { "P1" } else { "P2" },
                1 + k % 3
            )
            .unwrap();
        }
    }
    // Half of January 2024: a month the data ends inside, left out.
    writeln!(orders, "o{},c1,2024-01-15,999,web", id + 1).unwrap();
    let dir = folder(&[
        ("orders.csv", orders.as_bytes()),
        ("order_lines.csv", lines.as_bytes()),
    ]);
    let run = salesflow(dir.path(), &["forecast", "--data", ".", "--horizon", "3"]);
    run.success();
    assert!(
        run.stdout.contains("month starting 2024-01-01 is left out"),
        "{}",
        run.stdout
    );
    let kept = salesflow(
        dir.path(),
        &[
            "forecast",
            "--data",
            ".",
            "--horizon",
            "3",
            "--keep-last-period",
            "--json",
        ],
    );
    kept.success();
    assert_eq!(json(&kept.stdout)["series"][0]["dates"][0], "2024-02-01");
    salesflow(
        dir.path(),
        &[
            "forecast",
            "--data",
            ".",
            "--horizon",
            "3",
            "--out",
            "f.json",
            "-q",
        ],
    )
    .success();
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("f.json")).unwrap()).unwrap();
    let ids: Vec<&str> = doc["series"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        [
            "revenue",
            "orders",
            "revenue/channel=email",
            "revenue/channel=web",
            "units/product=P1",
            "units/product=P2"
        ]
    );
    let revenue = &doc["series"][0];
    assert_eq!(revenue["history_start"], "2021-01-01");
    assert_eq!(numbers(&revenue["history"]), monthly_revenue);
    assert_eq!(revenue["dates"][0], "2024-01-01");
    let email = numbers(&doc["series"][2]["history"]);
    let web = numbers(&doc["series"][3]["history"]);
    for month in 0..36 {
        assert!((email[month] + web[month] - monthly_revenue[month]).abs() < 1e-9);
    }
}

#[test]
fn known_promotions_are_estimated_and_added_where_they_recur() {
    // Four years of monthly sales with a promotion adding about 300 in seven months (never the
    // same month two years running, so the season cannot absorb it), and one
    // promotion planned in the forecast year.
    let mut series = String::from("date,value\n");
    let mut calendar = String::from("date,event\n");
    let mut noise = 7u64;
    for t in 0..48 {
        let (year, month) = (2020 + t / 12, t % 12 + 1);
        let promo = t % 7 == 2;
        noise = noise
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let jitter = ((noise >> 33) % 41) as f64 - 20.0;
        let season = 150.0 * (2.0 * std::f64::consts::PI * t as f64 / 12.0).sin();
        let value = 2000.0 + 5.0 * t as f64 + season + if promo { 300.0 } else { 0.0 } + jitter;
        writeln!(series, "{year}-{month:02}-01,{value:.1}").unwrap();
        if promo {
            writeln!(calendar, "{year}-{month:02}-10,spring sale").unwrap();
        }
    }
    calendar.push_str("2024-03-05,spring sale\n2024-06-01,launch party\n");
    let dir = folder(&[
        ("sales.csv", series.as_bytes()),
        ("calendar.csv", calendar.as_bytes()),
    ]);
    let run = salesflow(
        dir.path(),
        &[
            "forecast",
            "--series",
            "sales.csv",
            "--events",
            "calendar.csv",
            "--json",
        ],
    );
    run.success();
    let doc = json(&run.stdout);
    let s = &doc["series"][0];
    assert!(
        s["model"].as_str().unwrap().ends_with("+ events"),
        "{}",
        s["model"]
    );
    let effect = s["event_effects"]["spring sale"].as_f64().unwrap();
    assert!((effect - 300.0).abs() < 40.0, "estimated effect {effect}");
    // The launch party has no history to learn from: left out and named.
    assert_eq!(s["events_without_history"][0], "launch party");
    // March 2024 carries the promotion; its neighbours do not.
    let mean = numbers(&s["forecast"]);
    assert!(mean[2] - (mean[1] + mean[3]) / 2.0 > 200.0, "{mean:?}");
}

#[test]
fn weekly_sales_keep_their_yearly_season_through_a_seasonal_index() {
    let mut csv = String::from("week,sales\n");
    let start = chrono::NaiveDate::from_ymd_opt(2022, 1, 3).unwrap(); // a Monday
    for t in 0..156 {
        let season = 1.0 + 0.4 * (2.0 * std::f64::consts::PI * t as f64 / 52.0).cos();
        let value =
            (1000.0 + 2.0 * t as f64) * season * (1.0 + 0.02 * ((t * 7 % 11) as f64 - 5.0) / 5.0);
        writeln!(csv, "{},{value:.2}", start + chrono::Duration::weeks(t)).unwrap();
    }
    let dir = folder(&[("weekly.csv", csv.as_bytes())]);
    let run = salesflow(
        dir.path(),
        &[
            "forecast",
            "--series",
            "weekly.csv",
            "--horizon",
            "52",
            "--json",
        ],
    );
    run.success();
    let doc = json(&run.stdout);
    assert_eq!(doc["frequency"], "week");
    assert_eq!(doc["season_length"], 52);
    let s = &doc["series"][0];
    assert!(
        s["model"]
            .as_str()
            .unwrap()
            .ends_with("+ seasonal index (52)"),
        "{}",
        s["model"]
    );
    assert_eq!(s["dates"][0], "2024-12-30");
    let mean = numbers(&s["forecast"]);
    assert!(
        mean[0] > 1.8 * mean[26],
        "peak {} vs trough {}",
        mean[0],
        mean[26]
    );
}

#[test]
fn a_product_launched_late_is_forecast_from_its_first_sale() {
    let mut orders = String::from("order_id,customer_id,ordered_at,amount\n");
    let mut lines = String::from("order_id,product_id,quantity\n");
    let mut id = 0;
    for month in 0..36 {
        let (year, m) = (2021 + month / 12, month % 12 + 1);
        for k in 0..10 {
            id += 1;
            writeln!(orders, "o{id},c{k},{year}-{m:02}-{:02},20", 1 + k).unwrap();
            // The new product sells 10 a month, but only in the last year.
            let product = if month >= 24 { "NEW" } else { "OLD" };
            writeln!(lines, "o{id},{product},1").unwrap();
        }
    }
    writeln!(orders, "o{},c1,2023-12-31,20", id + 1).unwrap();
    let dir = folder(&[
        ("orders.csv", orders.as_bytes()),
        ("order_lines.csv", lines.as_bytes()),
    ]);
    let run = salesflow(
        dir.path(),
        &["forecast", "--data", ".", "--horizon", "3", "--json"],
    );
    run.success();
    let doc = json(&run.stdout);
    let new = doc["series"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == "units/product=NEW")
        .expect("the new product is forecast");
    let mean = numbers(&new["forecast"]);
    // Ten a month since launch: not diluted by two years of zeros before it existed.
    assert!(
        mean.iter().all(|&v| (v - 10.0).abs() < 1.0),
        "{} {mean:?}",
        new["model"]
    );
}
