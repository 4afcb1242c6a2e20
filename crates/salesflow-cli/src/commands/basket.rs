//! `salesflow basket`: frequent itemsets, association rules, bundles and cross-sell.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use salesflow_core::TableKind;
use salesflow_engine::baskets::{order_line_baskets, read_basket_file};
use salesflow_engine::{Dataset, output};
use salesflow_models::basket::{
    self, Bundle, CrossSell, Itemset, Metric, MiningOptions, Rule, Transactions,
};
use serde_json::{Value, json};

use super::Global;
use crate::input::{ReadFlags, UsageError, load_config};
use crate::progress::Bars;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Order lines (CSV or Parquet with order_id, product_id, quantity[, unit_price]): one
    /// basket per order. Lines with quantity <= 0 are not purchases and are left out.
    #[arg(long, value_name = "FILE", group = "input")]
    order_lines: Option<PathBuf>,
    /// A basket file: one basket a line, items separated by commas.
    #[arg(long, value_name = "FILE", group = "input")]
    baskets: Option<PathBuf>,
    /// A data folder with order_lines (and orders, to leave cancelled orders out).
    #[arg(long, value_name = "DIR", group = "input")]
    data: Option<PathBuf>,
    /// Smallest share of baskets an itemset must appear in (0.01 = 1 %).
    #[arg(long, value_name = "S", default_value_t = 0.01)]
    min_support: f64,
    /// Longest itemset to mine.
    #[arg(long, value_name = "K")]
    max_len: Option<usize>,
    /// Metric that rules are filtered and ranked by: support, confidence, lift, leverage,
    /// conviction, zhangs_metric, jaccard, certainty, kulczynski.
    #[arg(long, default_value = "confidence", value_parser = parse_metric)]
    metric: Metric,
    /// Keep rules whose metric is at least this (mlxtend's default: confidence >= 0.8).
    #[arg(long, value_name = "X", default_value_t = 0.8)]
    min_threshold: f64,
    /// Also find the maximal itemsets (FPMax): those no larger frequent set contains.
    #[arg(long)]
    maximal: bool,
    /// Print the itemsets and rules as JSON on stdout (conviction's infinity is the string
    /// "inf").
    #[arg(long)]
    json: bool,
    /// Folder for itemsets.csv, rules.csv, bundles.csv, cross_sell.csv and basket.json.
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// How many rows of each table to print.
    #[arg(long, value_name = "N", default_value_t = 10)]
    top: usize,
    #[command(flatten)]
    read: ReadFlags,
}

fn parse_metric(s: &str) -> Result<Metric, String> {
    Metric::from_name(s).ok_or_else(|| {
        let names: Vec<&str> = Metric::ALL.iter().map(|m| m.name()).collect();
        format!("unknown metric `{s}`; use one of {}", names.join(", "))
    })
}

/// Everything one run finds.
struct Analysis {
    transactions: Transactions,
    /// Product names by id, for the printed summary (from `products`, when loaded).
    labels: HashMap<String, String>,
    itemsets: Vec<Itemset>,
    maximal: Option<Vec<Itemset>>,
    rules: Vec<Rule>,
    bundles: Vec<Bundle>,
    cross_sell: Vec<CrossSell>,
}

pub fn run(global: &Global, args: Args) -> Result<ExitCode> {
    let (transactions, labels) = load(global, &args)?;
    let options = MiningOptions {
        min_support: args.min_support,
        max_len: args.max_len,
    };
    let usage = |e: salesflow_models::ModelError| UsageError(e.to_string());
    let clock = std::time::Instant::now();
    let itemsets = basket::frequent_itemsets(&transactions, &options).map_err(usage)?;
    let maximal = if !args.maximal {
        None
    } else if args.max_len.is_some() {
        Some(basket::maximal_subset(&itemsets))
    } else {
        Some(basket::maximal_itemsets(&transactions, &options).map_err(usage)?)
    };
    let rules = basket::association_rules(
        &itemsets,
        transactions.len(),
        args.metric,
        args.min_threshold,
    )
    .map_err(usage)?;
    let bundles = basket::bundles(&itemsets, &transactions, 50);
    let cross_sell = basket::cross_sell(&rules, 5);
    if std::env::var_os("SALESFLOW_TIMINGS").is_some() {
        eprintln!(
            "[timing] mining and rules: {:.3}s",
            clock.elapsed().as_secs_f64()
        );
    }
    let analysis = Analysis {
        transactions,
        labels,
        itemsets,
        maximal,
        rules,
        bundles,
        cross_sell,
    };
    if args.json {
        let stdout = std::io::stdout();
        let mut out = std::io::BufWriter::with_capacity(1 << 20, stdout.lock());
        write_json(&analysis, &mut out).context("writing JSON to stdout")?;
        out.flush().context("writing JSON to stdout")?;
    } else if !global.quiet {
        print_human(&analysis, &args);
    }
    if let Some(dir) = &args.out {
        write_outputs(dir, &analysis)?;
        if !global.quiet {
            eprintln!(
                "wrote itemsets, rules, bundles and cross-sell to {}",
                dir.display()
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn load(global: &Global, args: &Args) -> Result<(Transactions, HashMap<String, String>)> {
    if let Some(path) = &args.baskets {
        return Ok((read_basket_file(path)?, HashMap::new()));
    }
    let config = load_config(global.config.as_deref(), args.data.as_deref())?;
    args.read.check(&config)?;
    let bars = Bars::new(global.quiet || args.json);
    let dataset = match (&args.order_lines, &args.data) {
        (Some(file), _) => {
            let options = args.read.options(&config, TableKind::OrderLines)?;
            let mut dataset = Dataset::new(salesflow_engine::default_threads());
            dataset.load(TableKind::OrderLines, file, &options, &bars)?;
            dataset
        }
        // `check` above has validated the flags, so per-table options cannot fail here.
        (None, Some(dir)) => args.read.load_dir(dir, &config, &bars)?,
        (None, None) => bail!(UsageError(
            "give --baskets FILE, --order-lines FILE or --data DIR".into()
        )),
    };
    if !global.quiet && !args.json {
        eprint!("{}", dataset.report().human_summary(3));
    }
    let rt = super::runtime()?;
    let transactions = rt.block_on(order_line_baskets(&dataset))?;
    let mut labels = HashMap::new();
    if dataset
        .table(TableKind::Products)
        .is_some_and(|t| t.has_values("name"))
    {
        let batches = rt.block_on(
            dataset.sql("SELECT product_id, name FROM products WHERE name IS NOT NULL"),
        )?;
        for batch in batches {
            use datafusion::arrow::array::AsArray;
            let ids = batch.column(0).as_string_view();
            let names = batch.column(1).as_string_view();
            for row in 0..batch.num_rows() {
                labels.insert(ids.value(row).to_owned(), names.value(row).to_owned());
            }
        }
    }
    Ok((transactions, labels))
}

/// Items for people: `P0001 Aperture C10 Compact Camera` when the name is known.
fn shown(a: &Analysis, ids: &[u32]) -> String {
    names(&a.transactions, ids)
        .into_iter()
        .map(|id| match a.labels.get(&id) {
            Some(name) => format!("{id} {name}"),
            None => id,
        })
        .collect::<Vec<_>>()
        .join(" + ")
}

fn names(t: &Transactions, ids: &[u32]) -> Vec<String> {
    t.sorted_names(ids)
}

/// A JSON number, or the string "inf" / "-inf" / "nan" that JSON has no number for.
fn write_number(w: &mut dyn Write, x: f64) -> std::io::Result<()> {
    if x.is_finite() {
        serde_json::to_writer(&mut *w, &x).map_err(std::io::Error::other)
    } else if x.is_nan() {
        w.write_all(b"\"nan\"")
    } else if x > 0.0 {
        w.write_all(b"\"inf\"")
    } else {
        w.write_all(b"\"-inf\"")
    }
}

fn write_names(w: &mut dyn Write, t: &Transactions, ids: &[u32]) -> std::io::Result<()> {
    serde_json::to_writer(&mut *w, &names(t, ids)).map_err(std::io::Error::other)
}

fn write_itemsets(w: &mut dyn Write, t: &Transactions, sets: &[Itemset]) -> std::io::Result<()> {
    let n = t.len() as f64;
    w.write_all(b"[")?;
    for (k, s) in sets.iter().enumerate() {
        w.write_all(if k == 0 {
            b"{\"items\":"
        } else {
            b",{\"items\":"
        })?;
        write_names(w, t, &s.items)?;
        w.write_all(b",\"support\":")?;
        write_number(w, s.count as f64 / n)?;
        write!(w, ",\"count\":{}}}", s.count)?;
    }
    w.write_all(b"]")
}

/// The whole result as one JSON object, streamed: a rule set can run to millions of rows,
/// and building it as a `serde_json::Value` first would cost gigabytes.
fn write_json(a: &Analysis, w: &mut dyn Write) -> std::io::Result<()> {
    let t = &a.transactions;
    write!(w, "{{\"transactions\":{},\"itemsets\":", t.len())?;
    write_itemsets(w, t, &a.itemsets)?;
    w.write_all(b",\"rules\":[")?;
    for (k, r) in a.rules.iter().enumerate() {
        w.write_all(if k == 0 {
            b"{\"antecedents\":"
        } else {
            b",{\"antecedents\":"
        })?;
        write_names(w, t, &r.antecedents)?;
        w.write_all(b",\"consequents\":")?;
        write_names(w, t, &r.consequents)?;
        for metric in Metric::ALL {
            write!(w, ",\"{}\":", metric.name())?;
            write_number(w, r.metrics.get(metric))?;
        }
        w.write_all(b"}")?;
    }
    w.write_all(b"]")?;
    let bundles: Vec<Value> = a
        .bundles
        .iter()
        .map(|b| {
            json!({
                "items": names(t, &b.items),
                "count": b.count,
                "support": b.support,
                "lift": b.lift,
                "revenue": b.revenue,
                "revenue_share": b.revenue_share,
            })
        })
        .collect();
    let cross_sell: Vec<Value> = a
        .cross_sell
        .iter()
        .map(|c| {
            json!({
                "item": t.name(c.item),
                "offers": c.offers.iter().map(|(offer, m)| json!({
                    "item": t.name(*offer),
                    "confidence": m.confidence,
                    "lift": m.lift,
                    "support": m.support,
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    w.write_all(b",\"bundles\":")?;
    serde_json::to_writer(&mut *w, &bundles).map_err(std::io::Error::other)?;
    w.write_all(b",\"cross_sell\":")?;
    serde_json::to_writer(&mut *w, &cross_sell).map_err(std::io::Error::other)?;
    if let Some(maximal) = &a.maximal {
        w.write_all(b",\"maximal_itemsets\":")?;
        write_itemsets(w, t, maximal)?;
    }
    w.write_all(b"}\n")
}

fn print_human(a: &Analysis, args: &Args) {
    let t = &a.transactions;
    let mut by_len = std::collections::BTreeMap::<usize, usize>::new();
    for s in &a.itemsets {
        *by_len.entry(s.items.len()).or_default() += 1;
    }
    let lengths: Vec<String> = by_len.iter().map(|(k, n)| format!("{n} of {k}")).collect();
    println!(
        "{} baskets, {} distinct items; {} frequent itemsets at support >= {} ({})",
        t.len(),
        t.items(),
        a.itemsets.len(),
        args.min_support,
        lengths.join(", ")
    );
    if let Some(maximal) = &a.maximal {
        println!("{} maximal itemsets", maximal.len());
    }
    let pairs: Vec<&Itemset> = a
        .itemsets
        .iter()
        .filter(|s| s.items.len() >= 2)
        .take(args.top)
        .collect();
    if !pairs.is_empty() {
        println!("\nmost frequent combinations:");
        for s in pairs {
            println!("  {:>7} baskets  {}", s.count, shown(a, &s.items));
        }
    }
    println!(
        "\n{} rules with {} >= {}{}",
        a.rules.len(),
        args.metric.name(),
        args.min_threshold,
        if a.rules.is_empty() {
            ""
        } else {
            "; the strongest:"
        }
    );
    for r in a.rules.iter().take(args.top) {
        println!(
            "  {} -> {}  (support {:.4}, confidence {:.3}, lift {:.2})",
            shown(a, &r.antecedents),
            shown(a, &r.consequents),
            r.metrics.support,
            r.metrics.confidence,
            r.metrics.lift
        );
    }
    if !a.bundles.is_empty() {
        println!("\nbundles (bought together more than chance, by lift):");
        for b in a.bundles.iter().take(args.top) {
            let revenue = b
                .revenue
                .map(|r| {
                    format!(
                        ", revenue {r:.2} ({:.1} %)",
                        100.0 * b.revenue_share.unwrap_or(0.0)
                    )
                })
                .unwrap_or_default();
            println!(
                "  {}  (lift {:.2}, {} baskets{revenue})",
                shown(a, &b.items),
                b.lift,
                b.count
            );
        }
    }
}

fn write_outputs(dir: &Path, a: &Analysis) -> Result<()> {
    let t = &a.transactions;
    let n = t.len() as f64;
    let mut itemsets = csv_text(&["items", "length", "count", "support"]);
    for s in &a.itemsets {
        itemsets.write_record([
            names(t, &s.items).join(" "),
            s.items.len().to_string(),
            s.count.to_string(),
            (s.count as f64 / n).to_string(),
        ])?;
    }
    let mut header = vec!["antecedents", "consequents"];
    header.extend(Metric::ALL.iter().map(|m| m.name()));
    let mut rules = csv_text(&header);
    for r in &a.rules {
        let mut row = vec![
            names(t, &r.antecedents).join(" "),
            names(t, &r.consequents).join(" "),
        ];
        row.extend(Metric::ALL.iter().map(|&m| r.metrics.get(m).to_string()));
        rules.write_record(row)?;
    }
    let mut bundles = csv_text(&[
        "items",
        "count",
        "support",
        "lift",
        "revenue",
        "revenue_share",
    ]);
    for b in &a.bundles {
        bundles.write_record([
            names(t, &b.items).join(" "),
            b.count.to_string(),
            b.support.to_string(),
            b.lift.to_string(),
            b.revenue.map(|r| r.to_string()).unwrap_or_default(),
            b.revenue_share.map(|r| r.to_string()).unwrap_or_default(),
        ])?;
    }
    let mut cross = csv_text(&["item", "rank", "offer", "confidence", "lift", "support"]);
    for c in &a.cross_sell {
        for (rank, (offer, m)) in c.offers.iter().enumerate() {
            cross.write_record([
                t.name(c.item).to_owned(),
                (rank + 1).to_string(),
                t.name(*offer).to_owned(),
                m.confidence.to_string(),
                m.lift.to_string(),
                m.support.to_string(),
            ])?;
        }
    }
    for (name, writer) in [
        ("itemsets.csv", itemsets),
        ("rules.csv", rules),
        ("bundles.csv", bundles),
        ("cross_sell.csv", cross),
    ] {
        let bytes = writer.into_inner().context("formatting CSV")?;
        output::write_text(&dir.join(name), &String::from_utf8(bytes)?)?;
    }
    output::write_text(&dir.join("basket.json"), &{
        let mut json = Vec::new();
        write_json(a, &mut json)?;
        String::from_utf8(json)?
    })?;
    Ok(())
}

fn csv_text(header: &[&str]) -> csv::Writer<Vec<u8>> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    // Writing to a Vec cannot fail.
    let _ = writer.write_record(header);
    writer
}
