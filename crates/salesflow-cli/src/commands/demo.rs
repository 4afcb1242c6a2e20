//! `salesflow demo`: the front door. Generates a synthetic company and runs every analysis
//! salesflow has on it.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use datafusion::arrow::array::{Array, AsArray};
use datafusion::arrow::datatypes::{Float64Type, Int64Type};
use salesflow_core::TableKind;
use salesflow_demo::{DemoConfig, Format, generate};
use salesflow_engine::summary::{SummaryOptions, customer_summary};
use salesflow_engine::{Dataset, output, stats};

use super::Global;
use crate::progress::Bars;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Folder to write the company's tables to (csv/ and parquet/ inside).
    #[arg(long, value_name = "DIR", default_value = "salesflow-demo")]
    out: PathBuf,
    /// Seed: the same seed and size give the same files.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Number of customers.
    #[arg(long, default_value_t = 20_000)]
    customers: usize,
    /// Write only orders (the benchmark generator) and skip the analyses.
    #[arg(long)]
    orders_only: bool,
    /// Which formats to write.
    #[arg(long, value_delimiter = ',', default_value = "csv,parquet", value_parser = ["csv", "parquet"])]
    format: Vec<String>,
}

pub fn run(global: &Global, args: Args) -> Result<ExitCode> {
    let formats: Vec<Format> = args
        .format
        .iter()
        .map(|f| {
            if f == "csv" {
                Format::Csv
            } else {
                Format::Parquet
            }
        })
        .collect();
    let config = DemoConfig {
        seed: args.seed,
        customers: args.customers,
        orders_only: args.orders_only,
    };
    let bars = Bars::new(global.quiet);
    let written =
        generate(&args.out, &config, &formats, &bars).context("generating the demo company")?;
    println!(
        "Generated a company with {} customers (seed {}) in {}:",
        args.customers,
        args.seed,
        args.out.display()
    );
    for table in &written.tables {
        println!("  {:<16} {:>10} rows", table.table, table.rows);
    }
    if args.orders_only {
        return Ok(ExitCode::SUCCESS);
    }
    let data_dir = if formats.contains(&Format::Parquet) {
        args.out.join("parquet")
    } else {
        args.out.join("csv")
    };
    let dataset = Dataset::load_dir(
        &data_dir,
        salesflow_engine::default_threads(),
        |_| Default::default(),
        &bars,
    )?;
    let rt = super::runtime()?;

    println!(
        "\nData quality (salesflow validate --data {}):",
        data_dir.display()
    );
    for t in dataset.report().tables {
        println!(
            "  {:<16} {:>10} read, {:>10} kept, {} rejected, {} duplicates removed, {} repaired, {} flagged",
            t.table,
            t.rows_read,
            t.rows_kept,
            t.rows_rejected,
            t.duplicates_removed,
            t.rows_repaired,
            t.rows_flagged
        );
    }
    let order_stats = rt.block_on(stats::describe(&dataset, TableKind::Orders))?;
    if let Some(amount) = order_stats.iter().find(|s| s.column == "amount") {
        println!(
            "  order amounts: mean {:.2}, median {:.2}, quartiles {:.2} to {:.2}, max {:.2}",
            amount.mean.unwrap_or_default(),
            amount.median.unwrap_or_default(),
            amount.q1.unwrap_or_default(),
            amount.q3.unwrap_or_default(),
            amount.max.unwrap_or_default()
        );
    }

    let summary = rt.block_on(customer_summary(
        &dataset,
        &SummaryOptions {
            facts: true,
            ..SummaryOptions::default()
        },
    ))?;
    let summary_path = args.out.join("customer_summary.csv");
    output::write_file(&summary_path, &summary.schema, &summary.batches)?;
    let (mut customers, mut repeaters, mut revenue, mut orders) = (0u64, 0u64, 0f64, 0i64);
    for batch in &summary.batches {
        let frequency = batch
            .column_by_name("frequency")
            .context("frequency column")?
            .as_primitive::<Int64Type>();
        let rev = batch
            .column_by_name("revenue")
            .context("revenue column")?
            .as_primitive::<Float64Type>();
        let n = batch
            .column_by_name("orders")
            .context("orders column")?
            .as_primitive::<Int64Type>();
        for i in 0..batch.num_rows() {
            customers += 1;
            repeaters += u64::from(frequency.value(i) > 0);
            revenue += if rev.is_valid(i) { rev.value(i) } else { 0.0 };
            orders += if n.is_valid(i) { n.value(i) } else { 0 };
        }
    }
    println!(
        "\nCustomers (salesflow summary, written to {}):",
        summary_path.display()
    );
    println!(
        "  {customers} customers bought {orders} times for {revenue:.0} in total: {:.2} per order, {:.2} per customer",
        revenue / orders.max(1) as f64,
        revenue / customers.max(1) as f64
    );
    println!(
        "  {:.1}% bought again after their first day (repeat-purchase rate); the rest bought once",
        100.0 * repeaters as f64 / customers.max(1) as f64
    );

    let channel = rt.block_on(dataset.sql(
        "SELECT channel, COUNT(*) AS orders, SUM(amount) AS revenue FROM orders
         WHERE status IS NULL OR status NOT IN ('refunded', 'cancelled')
         GROUP BY channel ORDER BY revenue DESC",
    ))?;
    println!("\nRevenue by channel (salesflow sql):");
    for batch in &channel {
        let names = datafusion::arrow::compute::cast(
            batch.column(0),
            &datafusion::arrow::datatypes::DataType::Utf8,
        )?;
        let names = names.as_string::<i32>();
        let counts = batch.column(1).as_primitive::<Int64Type>();
        let revenue = batch.column(2).as_primitive::<Float64Type>();
        for i in 0..batch.num_rows() {
            println!(
                "  {:<10} {:>9} orders {:>14.0}",
                names.value(i),
                counts.value(i),
                revenue.value(i)
            );
        }
    }
    if dataset.table(TableKind::Deals).is_some() {
        let deals = rt.block_on(dataset.sql(
            "SELECT COUNT(*) FILTER (WHERE status = 'won'), COUNT(*) FILTER (WHERE status = 'lost'),
                    COUNT(*) FILTER (WHERE status = 'open') FROM deals",
        ))?;
        if let Some(b) = deals.first() {
            let v = |i: usize| b.column(i).as_primitive::<Int64Type>().value(0);
            let (won, lost, open) = (v(0), v(1), v(2));
            println!(
                "\nDeals: {won} won, {lost} lost ({:.1}% win rate on closed deals), {open} still open",
                100.0 * won as f64 / (won + lost).max(1) as f64
            );
        }
    }
    let report_dir = args.out.join("report");
    let written = super::analyze::run_analysis(
        &rt,
        &dataset,
        // The demo's planted channel saturation is on leads.
        &salesflow_analytics::AnalyzeOptions {
            budget: true,
            budget_objective: Some(salesflow_analytics::budget::Objective::Leads),
            ..salesflow_analytics::AnalyzeOptions::default()
        },
        &report_dir,
        &data_dir,
        &bars,
    )?;
    if let Some(clv) = &written.analysis.clv {
        show_clv(clv, &written.analysis);
    }
    println!("\nWhat matters most (salesflow analyze):");
    for (i, finding) in salesflow_analytics::findings::findings(&written.analysis)
        .iter()
        .take(3)
        .enumerate()
    {
        println!("  {}. {}", i + 1, finding.text);
    }
    println!(
        "\nReport: {} (with metrics.json, customers_scored.csv and actions/ beside it)",
        written.report.display()
    );
    println!(
        "Next: salesflow sql \"SELECT * FROM orders LIMIT 5\" --data {}",
        data_dir.display()
    );
    Ok(ExitCode::SUCCESS)
}

/// What the analysis's BG/NBD and Gamma-Gamma fits predict.
fn show_clv(clv: &salesflow_analytics::ClvResult, analysis: &salesflow_analytics::Analysis) {
    let params = |fit: &salesflow_models::clv::FitResult| {
        fit.params
            .iter()
            .map(|(n, v)| format!("{n} {v:.3}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    println!("\nCustomer lifetime value (salesflow clv fit / predict, time unit day):");
    println!(
        "  BG/NBD: {} (log-likelihood {:.1})",
        params(&clv.purchase_fit),
        clv.purchase_fit.log_likelihood
    );
    println!("  Gamma-Gamma: {}", params(&clv.spend_fit));
    println!(
        "  expected purchases in the next {} days: {:.0}; customers probably still active: {:.0} of {}",
        salesflow_analytics::PURCHASE_HORIZON_DAYS,
        clv.expected_purchases(),
        clv.expected_alive(),
        clv.predictions.p_alive.len()
    );
    let (months, rate) = clv.horizon;
    println!(
        "  expected value of the next {months} months ({:.0}% a month discount): {:.0}",
        100.0 * rate,
        clv.total()
    );
    let ids = salesflow_analytics::scored::customer_ids(analysis);
    let mut scored: Vec<(f64, &String)> = clv
        .predictions
        .clv
        .iter()
        .zip(&ids)
        .map(|(v, id)| (v.unwrap_or(0.0), id))
        .collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0));
    let top: Vec<String> = scored
        .iter()
        .take(5)
        .map(|(v, id)| format!("{id} {v:.0}"))
        .collect();
    println!("  most valuable customers: {}", top.join(", "));
}
