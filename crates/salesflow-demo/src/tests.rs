//! Crate-level tests: reproducibility, plausibility and referential integrity
//! of small generated data sets, read back from the files.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs::File;
use std::path::{Path, PathBuf};

use datafusion::arrow::array::{Array, AsArray, RecordBatch, RecordBatchReader};
use datafusion::arrow::compute::concat_batches;
use datafusion::arrow::datatypes::{Float64Type, Int64Type, TimestampMicrosecondType};
use datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use crate::calendar::{END, START};
use crate::{DemoConfig, DemoError, DemoOutput, Format, NoProgress, Settings, generate, run};

/// A scratch directory removed on drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Self {
        let dir =
            std::env::temp_dir().join(format!("salesflow-demo-test-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        Self(dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

const BOTH: [Format; 2] = [Format::Csv, Format::Parquet];

fn config(seed: u64, customers: usize, orders_only: bool) -> DemoConfig {
    DemoConfig {
        seed,
        customers,
        orders_only,
    }
}

/// Every file under `dir`, by relative path.
fn files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    for sub in ["csv", "parquet"] {
        let Ok(entries) = std::fs::read_dir(dir.join(sub)) else {
            continue;
        };
        for entry in entries {
            let path = entry.expect("readable directory entry").path();
            let bytes = std::fs::read(&path).expect("readable file");
            let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
            out.insert(format!("{sub}/{}", name.unwrap_or_default()), bytes);
        }
    }
    out
}

fn generate_files(
    name: &str,
    cfg: &DemoConfig,
    settings: Option<Settings>,
) -> BTreeMap<String, Vec<u8>> {
    let dir = Scratch::new(name);
    match settings {
        Some(s) => run(&dir.0, cfg, &BOTH, &NoProgress, s),
        None => generate(&dir.0, cfg, &BOTH, &NoProgress),
    }
    .expect("generation succeeds");
    files(&dir.0)
}

fn read_parquet(path: &Path) -> RecordBatch {
    let file = File::open(path).expect("parquet file exists");
    let reader = ParquetRecordBatchReaderBuilder::try_new(file)
        .expect("valid parquet")
        .build()
        .expect("reader");
    let schema = reader.schema();
    let batches: Vec<RecordBatch> = reader.map(|b| b.expect("batch")).collect();
    concat_batches(&schema, &batches).expect("same schema")
}

/// A generated full data set, read back from Parquet.
struct Data {
    _dir: Scratch,
    output: DemoOutput,
    tables: HashMap<&'static str, RecordBatch>,
}

impl Data {
    fn new(name: &str, cfg: &DemoConfig) -> Self {
        Self::with(name, cfg, Settings::standard())
    }

    fn with(name: &str, cfg: &DemoConfig, settings: Settings) -> Self {
        let dir = Scratch::new(name);
        let output = run(&dir.0, cfg, &BOTH, &NoProgress, settings).expect("generation succeeds");
        let mut tables = HashMap::new();
        for t in &output.tables {
            let parquet = t
                .paths
                .iter()
                .find(|p| p.extension().is_some_and(|e| e == "parquet"))
                .expect("a parquet path");
            tables.insert(t.table, read_parquet(parquet));
        }
        Self {
            _dir: dir,
            output,
            tables,
        }
    }

    fn table(&self, name: &str) -> &RecordBatch {
        &self.tables[name]
    }

    fn strings(&self, table: &str, column: &str) -> Vec<Option<String>> {
        let col = self
            .table(table)
            .column_by_name(column)
            .expect("column exists");
        let arr = col.as_string::<i32>();
        (0..arr.len())
            .map(|i| arr.is_valid(i).then(|| arr.value(i).to_string()))
            .collect()
    }

    fn str_col(&self, table: &str, column: &str) -> Vec<String> {
        self.strings(table, column)
            .into_iter()
            .map(|s| s.expect("non-null string"))
            .collect()
    }

    fn f64_col(&self, table: &str, column: &str) -> Vec<Option<f64>> {
        let col = self
            .table(table)
            .column_by_name(column)
            .expect("column exists");
        let arr = col.as_primitive::<Float64Type>();
        (0..arr.len())
            .map(|i| arr.is_valid(i).then(|| arr.value(i)))
            .collect()
    }

    fn i64_col(&self, table: &str, column: &str) -> Vec<i64> {
        let col = self
            .table(table)
            .column_by_name(column)
            .expect("column exists");
        col.as_primitive::<Int64Type>().values().to_vec()
    }

    /// Timestamps in seconds.
    fn ts_col(&self, table: &str, column: &str) -> Vec<Option<i64>> {
        let col = self
            .table(table)
            .column_by_name(column)
            .expect("column exists");
        let arr = col.as_primitive::<TimestampMicrosecondType>();
        (0..arr.len())
            .map(|i| arr.is_valid(i).then(|| arr.value(i) / 1_000_000))
            .collect()
    }
}

fn cents(x: f64) -> i64 {
    (x * 100.0).round() as i64
}

#[test]
fn same_seed_gives_identical_files_full() {
    let cfg = config(7, 500, false);
    let a = generate_files("same-full-a", &cfg, None);
    let b = generate_files("same-full-b", &cfg, None);
    assert_eq!(a.len(), 20);
    assert_eq!(a, b);
}

#[test]
fn same_seed_gives_identical_files_orders_only() {
    let cfg = config(7, 500, true);
    let a = generate_files("same-orders-a", &cfg, None);
    let b = generate_files("same-orders-b", &cfg, None);
    assert_eq!(
        a.keys().collect::<Vec<_>>(),
        ["csv/orders.csv", "parquet/orders.parquet"]
    );
    assert_eq!(a, b);
}

#[test]
fn thread_count_does_not_change_output() {
    for orders_only in [false, true] {
        let cfg = config(11, 450, orders_only);
        let one = Settings {
            chunk_size: 100,
            workers: 1,
        };
        let three = Settings {
            chunk_size: 100,
            workers: 3,
        };
        let a = generate_files("threads-1", &cfg, Some(one));
        let b = generate_files("threads-3", &cfg, Some(three));
        assert_eq!(a, b, "orders_only = {orders_only}");
    }
}

#[test]
fn different_seed_gives_different_data() {
    let a = generate_files("seed-a", &config(1, 300, false), None);
    let b = generate_files("seed-b", &config(2, 300, false), None);
    for (name, bytes) in &a {
        // The product catalogue is fixed; everything else depends on the seed.
        if name.contains("products") {
            assert_eq!(Some(bytes), b.get(name), "{name}");
        } else {
            assert_ne!(Some(bytes), b.get(name), "{name}");
        }
    }
}

#[test]
fn orders_only_matches_full_mode_order_timing() {
    // The purchase process draws from its own stream, so both modes produce the
    // same customers, times and statuses; only the amounts differ.
    let settings = Settings {
        chunk_size: 150,
        workers: 2,
    };
    let full = Data::with("timing-full", &config(5, 400, false), settings);
    let orders = Data::with("timing-orders", &config(5, 400, true), settings);
    assert_eq!(orders.output.tables.len(), 1);
    assert_eq!(
        full.str_col("orders", "customer_id"),
        orders.str_col("orders", "customer_id")
    );
    assert_eq!(
        full.ts_col("orders", "ordered_at"),
        orders.ts_col("orders", "ordered_at")
    );
    assert_eq!(
        full.str_col("orders", "status"),
        orders.str_col("orders", "status")
    );
    assert_eq!(
        full.table("orders").schema(),
        orders.table("orders").schema()
    );
}

#[test]
fn row_counts_are_plausible() {
    let n = 3_000;
    let d = Data::new("counts", &config(42, n, false));
    let rows: HashMap<&str, u64> = d.output.tables.iter().map(|t| (t.table, t.rows)).collect();
    assert_eq!(rows.len(), 10);
    assert_eq!(rows["customers"], n as u64);
    assert_eq!(rows["products"], 60);
    assert_eq!(rows["marketing_spend"], 104 * 6 * 2);
    let per_customer = rows["orders"] as f64 / n as f64;
    assert!(
        (2.6..4.2).contains(&per_customer),
        "{per_customer} orders per customer"
    );
    assert!(rows["order_lines"] > rows["orders"]);
    let deals = rows["deals"] as f64 / n as f64;
    assert!((0.07..0.13).contains(&deals), "{deals} deals per customer");
    assert!(rows["stage_events"] > rows["deals"]);
    let subs = rows["subscriptions"] as f64 / n as f64;
    assert!(
        (0.25..0.35).contains(&subs),
        "{subs} subscriptions per customer"
    );
    let exp = rows["experiments"] as f64 / n as f64;
    assert!((0.35..0.45).contains(&exp), "{exp} experiment share");
    let events = rows["events"] as f64 / n as f64;
    assert!(
        (5.0..20.0).contains(&events),
        "{events} events per customer"
    );
    for t in &d.output.tables {
        assert_eq!(d.table(t.table).num_rows() as u64, t.rows, "{}", t.table);
        // The CSV has the same rows plus a header (no field contains a newline).
        let csv = std::fs::read_to_string(&t.paths[0]).expect("csv readable");
        assert_eq!(csv.lines().count() as u64, t.rows + 1, "{}", t.table);
    }

    let status = d.str_col("orders", "status");
    let share = |s: &str| status.iter().filter(|x| *x == s).count() as f64 / status.len() as f64;
    assert!(
        (0.01..0.03).contains(&share("refunded")),
        "{}",
        share("refunded")
    );
    assert!(
        (0.004..0.02).contains(&share("cancelled")),
        "{}",
        share("cancelled")
    );
    let completed: Vec<f64> = d
        .f64_col("orders", "amount")
        .into_iter()
        .zip(&status)
        .filter(|(_, s)| *s == "completed")
        .filter_map(|(a, _)| a)
        .collect();
    let mean = completed.iter().sum::<f64>() / completed.len() as f64;
    assert!((60.0..130.0).contains(&mean), "mean order {mean}");
}

#[test]
fn referential_integrity_and_consistency() {
    let d = Data::new("integrity", &config(3, 2_000, false));
    let in_range = |t: i64| (START..END).contains(&t);

    // Customers: unique ids, sorted by sign-up time.
    let customer_ids = d.str_col("customers", "customer_id");
    assert_eq!(customer_ids[0], "C0000001");
    let customers: HashSet<&String> = customer_ids.iter().collect();
    assert_eq!(customers.len(), customer_ids.len());
    let created: Vec<i64> = d
        .ts_col("customers", "created_at")
        .into_iter()
        .flatten()
        .collect();
    assert!(
        created.windows(2).all(|w| w[0] <= w[1]),
        "customers sorted by created_at"
    );
    assert!(created.iter().all(|&t| in_range(t)));
    let created_of: HashMap<&String, i64> =
        customer_ids.iter().zip(created.iter().copied()).collect();

    // Orders: customers exist, unique ids, within the calendar, after sign-up.
    let order_ids = d.str_col("orders", "order_id");
    assert_eq!(order_ids[0], "O00000001");
    let order_customer = d.str_col("orders", "customer_id");
    let ordered_at: Vec<i64> = d
        .ts_col("orders", "ordered_at")
        .into_iter()
        .flatten()
        .collect();
    let amount: Vec<f64> = d
        .f64_col("orders", "amount")
        .into_iter()
        .flatten()
        .collect();
    let status = d.str_col("orders", "status");
    assert_eq!(
        order_ids.iter().collect::<HashSet<_>>().len(),
        order_ids.len()
    );
    for i in 0..order_ids.len() {
        let c = &order_customer[i];
        assert!(
            customers.contains(c),
            "order {} has unknown customer {c}",
            order_ids[i]
        );
        assert!(in_range(ordered_at[i]));
        assert!(ordered_at[i] >= created_of[c]);
        assert_eq!(
            cents(amount[i]) as f64 / 100.0,
            amount[i],
            "amount rounded to cents"
        );
        match status[i].as_str() {
            "completed" | "cancelled" => assert!(amount[i] > 0.0),
            "refunded" => {
                // Negated amount of an earlier completed order of the same customer.
                let original = (0..i).any(|j| {
                    order_customer[j] == *c
                        && status[j] == "completed"
                        && ordered_at[j] <= ordered_at[i]
                        && cents(amount[j]) == -cents(amount[i])
                });
                assert!(original, "refund {} matches no earlier order", order_ids[i]);
            }
            other => panic!("unexpected status {other}"),
        }
    }
    // Every customer ordered.
    assert_eq!(
        order_customer.iter().collect::<HashSet<_>>().len(),
        customers.len()
    );
    for col in ["currency", "channel"] {
        let values: HashSet<String> = d.str_col("orders", col).into_iter().collect();
        let allowed: &[&str] = if col == "currency" {
            &["USD"]
        } else {
            &["web", "mobile", "sales"]
        };
        assert!(
            values.iter().all(|v| allowed.contains(&v.as_str())),
            "{col}: {values:?}"
        );
    }

    // Order lines: orders and products exist; completed amounts equal the lines.
    let products: HashSet<String> = d.str_col("products", "product_id").into_iter().collect();
    assert_eq!(products.len(), 60);
    let line_order = d.str_col("order_lines", "order_id");
    let line_product = d.str_col("order_lines", "product_id");
    let quantity = d.i64_col("order_lines", "quantity");
    let unit_price: Vec<f64> = d
        .f64_col("order_lines", "unit_price")
        .into_iter()
        .flatten()
        .collect();
    let order_index: HashMap<&String, usize> =
        order_ids.iter().enumerate().map(|(i, o)| (o, i)).collect();
    let mut line_total: HashMap<usize, i64> = HashMap::new();
    for i in 0..line_order.len() {
        let Some(&o) = order_index.get(&line_order[i]) else {
            panic!("line of unknown order {}", line_order[i]);
        };
        assert!(products.contains(&line_product[i]));
        assert!(quantity[i] >= 1);
        *line_total.entry(o).or_default() += quantity[i] * cents(unit_price[i]);
    }
    for (i, s) in status.iter().enumerate() {
        match s.as_str() {
            "completed" | "cancelled" => {
                assert_eq!(
                    line_total.get(&i).copied(),
                    Some(cents(amount[i])),
                    "order {}",
                    order_ids[i]
                );
            }
            _ => assert!(
                !line_total.contains_key(&i),
                "refund {} has lines",
                order_ids[i]
            ),
        }
    }

    // Deals and their stage history.
    let deal_ids = d.str_col("deals", "deal_id");
    assert_eq!(deal_ids[0], "D000001");
    let deal_created: Vec<i64> = d
        .ts_col("deals", "created_at")
        .into_iter()
        .flatten()
        .collect();
    let deal_closed = d.ts_col("deals", "closed_at");
    let deal_stage = d.str_col("deals", "stage");
    let deal_status = d.str_col("deals", "status");
    let deal_lost = d.strings("deals", "lost_reason");
    let deal_customer = d.str_col("deals", "customer_id");
    let mut history: HashMap<&String, Vec<(String, i64)>> = HashMap::new();
    let ev_deal = d.str_col("stage_events", "deal_id");
    let ev_stage = d.str_col("stage_events", "stage");
    let ev_at: Vec<i64> = d
        .ts_col("stage_events", "entered_at")
        .into_iter()
        .flatten()
        .collect();
    for i in 0..ev_deal.len() {
        history
            .entry(&ev_deal[i])
            .or_default()
            .push((ev_stage[i].clone(), ev_at[i]));
    }
    assert_eq!(
        history.len(),
        deal_ids.len(),
        "every deal has a history, no orphans"
    );
    let order = ["contact", "needs_analysis", "demo", "proposal"];
    for i in 0..deal_ids.len() {
        assert!(customers.contains(&deal_customer[i]));
        let h = &history[&deal_ids[i]];
        assert_eq!(h[0].0, "contact");
        assert_eq!(h[0].1, deal_created[i]);
        assert!(
            h.windows(2).all(|w| w[0].1 <= w[1].1),
            "deal {} out of order",
            deal_ids[i]
        );
        let ranks: Vec<usize> = h
            .iter()
            .map(|(s, _)| order.iter().position(|o| o == s).unwrap_or(4))
            .collect();
        assert!(
            ranks.windows(2).all(|w| w[0] < w[1]),
            "deal {} stages not increasing",
            deal_ids[i]
        );
        let (last_stage, last_at) = h[h.len() - 1].clone();
        assert_eq!(deal_stage[i], last_stage);
        match deal_status[i].as_str() {
            "open" => {
                assert!(deal_closed[i].is_none());
                assert!(deal_lost[i].is_none());
                assert!(order.contains(&last_stage.as_str()));
            }
            "won" => {
                assert_eq!(last_stage, "won");
                assert_eq!(deal_closed[i], Some(last_at));
                assert!(deal_lost[i].is_none());
            }
            "lost" => {
                assert_eq!(last_stage, "lost");
                assert_eq!(deal_closed[i], Some(last_at));
                assert!(deal_lost[i].is_some());
            }
            other => panic!("unexpected deal status {other}"),
        }
        if let Some(closed) = deal_closed[i] {
            assert!(closed >= deal_created[i]);
            assert!(in_range(closed));
        }
    }

    // Subscriptions, events, experiments reference known customers.
    let sub_started = d.ts_col("subscriptions", "started_at");
    let sub_ended = d.ts_col("subscriptions", "ended_at");
    for (i, c) in d.str_col("subscriptions", "customer_id").iter().enumerate() {
        assert!(customers.contains(c));
        let started = sub_started[i].expect("started_at");
        assert!(started >= created_of[c] && in_range(started));
        if let Some(ended) = sub_ended[i] {
            assert!(ended > started && in_range(ended));
        }
    }
    let kinds = d.str_col("events", "kind");
    let values = d.f64_col("events", "value");
    let purchases = kinds.iter().filter(|k| *k == "purchase").count();
    assert_eq!(
        purchases,
        status.iter().filter(|s| *s == "completed").count()
    );
    for (i, c) in d.str_col("events", "customer_id").iter().enumerate() {
        assert!(customers.contains(c));
        assert_eq!(values[i].is_some(), kinds[i] == "purchase");
    }
    assert!(
        d.ts_col("events", "occurred_at")
            .iter()
            .flatten()
            .all(|&t| in_range(t))
    );
    for c in d.str_col("experiments", "customer_id") {
        assert!(customers.contains(&c));
    }
}

#[test]
fn csv_uses_iso_timestamps_and_empty_nulls() {
    let dir = Scratch::new("csv-format");
    generate(&dir.0, &config(9, 200, false), &[Format::Csv], &NoProgress).expect("generation");
    assert!(!dir.0.join("parquet").exists());
    let orders = std::fs::read_to_string(dir.0.join("csv/orders.csv")).expect("orders.csv");
    let mut lines = orders.lines();
    assert_eq!(
        lines.next(),
        Some("customer_id,order_id,ordered_at,amount,currency,channel,status")
    );
    let first: Vec<&str> = lines.next().expect("a row").split(',').collect();
    assert_eq!(first[1], "O00000001");
    let ts = first[2];
    assert_eq!(ts.len(), 20, "{ts}");
    assert!(
        ts.starts_with("2024-") && ts.ends_with('Z') && &ts[10..11] == "T",
        "{ts}"
    );
    let spend = std::fs::read_to_string(dir.0.join("csv/marketing_spend.csv")).expect("marketing");
    assert!(
        spend
            .lines()
            .nth(1)
            .is_some_and(|l| l.starts_with("2024-01-01,search,"))
    );
    let deals = std::fs::read_to_string(dir.0.join("csv/deals.csv")).expect("deals");
    assert!(
        deals.lines().skip(1).any(|l| l.ends_with(",open,")),
        "open deals have empty closed_at/lost_reason"
    );
    let experiments =
        std::fs::read_to_string(dir.0.join("csv/experiments.csv")).expect("experiments");
    assert!(
        experiments
            .lines()
            .skip(1)
            .all(|l| l.contains(",true,") || l.contains(",false,"))
    );
}

#[test]
fn invalid_configurations_are_rejected() {
    let dir = Scratch::new("invalid");
    let err = generate(&dir.0, &config(1, 0, false), &BOTH, &NoProgress);
    assert!(matches!(err, Err(DemoError::Config(_))));
    let err = generate(&dir.0, &config(1, 10, false), &[], &NoProgress);
    assert!(matches!(err, Err(DemoError::Config(_))));
}

#[test]
fn progress_reports_every_customer() {
    use std::sync::Mutex;
    #[derive(Default)]
    struct Recorder(Mutex<Vec<(String, u64)>>);
    impl crate::Progress for Recorder {
        fn start(&self, table: &str, total: u64) {
            self.0
                .lock()
                .expect("lock")
                .push((format!("start {table}"), total));
        }
        fn advance(&self, units: u64) {
            self.0.lock().expect("lock").push(("advance".into(), units));
        }
        fn finish(&self, table: &str) {
            self.0
                .lock()
                .expect("lock")
                .push((format!("finish {table}"), 0));
        }
    }
    let dir = Scratch::new("progress");
    let rec = Recorder::default();
    run(
        &dir.0,
        &config(1, 250, true),
        &[Format::Parquet],
        &rec,
        Settings {
            chunk_size: 100,
            workers: 2,
        },
    )
    .expect("generation");
    let events = rec.0.into_inner().expect("lock");
    assert_eq!(events.first(), Some(&("start orders".to_string(), 250)));
    assert_eq!(events.last(), Some(&("finish orders".to_string(), 0)));
    let advanced: u64 = events
        .iter()
        .filter(|e| e.0 == "advance")
        .map(|e| e.1)
        .sum();
    assert_eq!(advanced, 250);
}

/// Prints summary statistics of a default-size data set (not run by default:
/// `cargo test -p salesflow-demo calibration_report -- --ignored --nocapture`).
#[test]
#[ignore = "slow; prints calibration statistics"]
fn calibration_report() {
    let customers: usize = std::env::var("DEMO_CUSTOMERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20_000);
    let started = std::time::Instant::now();
    let d = Data::new("calibration", &config(42, customers, false));
    println!("full generate + read back: {:?}", started.elapsed());
    for t in &d.output.tables {
        println!("{:>16}: {:>9} rows", t.table, t.rows);
    }
    let n = customers as f64;
    let status = d.str_col("orders", "status");
    let amount: Vec<f64> = d
        .f64_col("orders", "amount")
        .into_iter()
        .flatten()
        .collect();
    let completed: Vec<f64> = amount
        .iter()
        .zip(&status)
        .filter(|(_, s)| *s == "completed")
        .map(|(a, _)| *a)
        .collect();
    println!(
        "completed orders per customer {:.3}, mean amount {:.2}, median {:.2}",
        completed.len() as f64 / n,
        completed.iter().sum::<f64>() / completed.len() as f64,
        {
            let mut v = completed.clone();
            v.sort_by(f64::total_cmp);
            v[v.len() / 2]
        }
    );
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for s in &status {
        *counts.entry(s.clone()).or_default() += 1;
    }
    println!("order status: {counts:?}");
    for (table, col) in [
        ("orders", "channel"),
        ("customers", "acquisition_channel"),
        ("customers", "gender"),
        ("deals", "status"),
        ("deals", "stage"),
        ("deals", "pipeline"),
        ("deals", "lost_reason"),
        ("subscriptions", "plan"),
        ("events", "kind"),
        ("experiments", "variant"),
    ] {
        let mut counts: BTreeMap<String, usize> = BTreeMap::new();
        for s in d.strings(table, col) {
            *counts.entry(s.unwrap_or_default()).or_default() += 1;
        }
        println!("{table}.{col}: {counts:?}");
    }
    let conv: Vec<bool> = {
        let col = d
            .table("experiments")
            .column_by_name("converted")
            .expect("converted");
        let arr = col.as_boolean();
        (0..arr.len()).map(|i| arr.value(i)).collect()
    };
    let variant = d.str_col("experiments", "variant");
    for v in ["control", "treatment"] {
        let (k, m) = variant
            .iter()
            .zip(&conv)
            .filter(|(x, _)| *x == v)
            .fold((0, 0), |(k, m), (_, &c)| (k + usize::from(c), m + 1));
        println!("experiment {v}: {k}/{m} = {:.4}", k as f64 / m as f64);
    }
    let ended = d.ts_col("subscriptions", "ended_at");
    println!(
        "subscriptions ended: {:.3}",
        ended.iter().filter(|e| e.is_some()).count() as f64 / ended.len() as f64
    );
    // Orders per month.
    let mut per_month: BTreeMap<String, usize> = BTreeMap::new();
    for (t, s) in d.ts_col("orders", "ordered_at").into_iter().zip(&status) {
        if s == "completed" {
            let t = t.expect("ordered_at");
            let dt = chrono::DateTime::from_timestamp(t, 0).expect("valid");
            *per_month.entry(dt.format("%Y-%m").to_string()).or_default() += 1;
        }
    }
    println!("completed orders per month: {per_month:?}");
    let mut per_month: BTreeMap<String, usize> = BTreeMap::new();
    for t in d.ts_col("customers", "created_at").into_iter().flatten() {
        let dt = chrono::DateTime::from_timestamp(t, 0).expect("valid");
        *per_month.entry(dt.format("%Y-%m").to_string()).or_default() += 1;
    }
    println!("new customers per month: {per_month:?}");
    let spend: f64 = d
        .f64_col("marketing_spend", "spend")
        .into_iter()
        .flatten()
        .sum();
    let attributed: f64 = d
        .f64_col("marketing_spend", "attributed_revenue")
        .into_iter()
        .flatten()
        .sum();
    println!("total spend {spend:.0}, attributed revenue {attributed:.0}");

    for orders_only in [false, true] {
        let dir = Scratch::new("calibration-timing");
        let started = std::time::Instant::now();
        let out = generate(
            &dir.0,
            &config(42, customers, orders_only),
            &BOTH,
            &NoProgress,
        )
        .expect("generation");
        let rows: u64 = out.tables.iter().map(|t| t.rows).sum();
        println!(
            "generate (orders_only = {orders_only}, CSV + Parquet): {:?}, {rows} rows",
            started.elapsed()
        );
        if orders_only {
            let b = read_parquet(&out.tables[0].paths[1]);
            let amount = b.column(3).as_primitive::<Float64Type>();
            let status = b.column(6).as_string::<i32>();
            let (sum, count) = (0..b.num_rows())
                .filter(|&i| status.value(i) == "completed")
                .fold((0.0, 0), |(s, c), i| (s + amount.value(i), c + 1));
            println!(
                "orders_only mean completed amount {:.2}",
                sum / f64::from(count)
            );
        }
    }
}

#[test]
fn a_single_customer_works() {
    let d = Data::new("single", &config(1, 1, false));
    assert_eq!(d.table("customers").num_rows(), 1);
    assert!(d.table("orders").num_rows() >= 1);
    assert_eq!(d.table("marketing_spend").num_rows(), 104 * 12);
}
