//! `salesflow clv --orders FILE --out DIR`: the one-shot path from an order history to
//! per-customer lifetime values, the fits, and charts.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use chrono::NaiveDate;
use datafusion::arrow::array::{ArrayRef, Float64Array};
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use datafusion::arrow::record_batch::RecordBatch;
use salesflow_core::{TableKind, TimeUnit};
use salesflow_engine::summary::{SummaryOptions, customer_summary};
use salesflow_engine::{Dataset, output};
use salesflow_models::clv::{self, FitOptions, FitResult, RepeatPurchaseModel};
use salesflow_report::{Heatmap, LineChart, Series, heatmap, line_chart};

use super::Global;
use crate::input::{ReadFlags, UsageError, load_config};
use crate::progress::Bars;
use salesflow_analytics::lifetime::{self, Horizon};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum PurchaseModel {
    /// BG/NBD.
    Bgnbd,
    /// MBG/NBD.
    Mbgnbd,
    /// Pareto/NBD.
    Pareto,
    /// All three; the one with the lowest BIC is used.
    Auto,
}

/// The one-shot path's options (used when no subcommand is given).
#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// The order history (CSV or Parquet; columns mapped as for every command).
    #[arg(long, value_name = "FILE")]
    orders: Option<PathBuf>,
    /// Folder for summary.csv, the fits (JSON), predictions.csv and the charts (SVG).
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Time unit of the summary and the models.
    #[arg(long, default_value = "week")]
    time_unit: TimeUnit,
    /// Last day of the calibration period (YYYY-MM-DD); default the last purchase.
    #[arg(long, value_name = "DATE", value_parser = crate::input::parse_date)]
    calibration_end: Option<NaiveDate>,
    /// With --calibration-end: compare predictions with what happened up to this day.
    #[arg(long, value_name = "DATE", value_parser = crate::input::parse_date)]
    observation_end: Option<NaiveDate>,
    /// The purchase model.
    #[arg(long, value_enum, default_value = "bgnbd")]
    model: PurchaseModel,
    /// Horizon of expected purchases, in the time unit (default: one year).
    #[arg(long, value_name = "PERIODS")]
    horizon: Option<f64>,
    /// CLV horizon in months.
    #[arg(long, default_value_t = 12)]
    months: u32,
    /// Discount rate per month for CLV.
    #[arg(long, default_value_t = 0.01)]
    discount_rate: f64,
    #[command(flatten)]
    read: ReadFlags,
}

fn boxed(fit: &FitResult) -> Result<Box<dyn RepeatPurchaseModel + Send + Sync>> {
    Ok(match fit.model {
        "bg_nbd" => Box::new(clv::BgNbd::from_fit(fit)?),
        "mbg_nbd" => Box::new(clv::MbgNbd::from_fit(fit)?),
        _ => Box::new(clv::ParetoNbd::from_fit(fit)?),
    })
}

fn write_json(path: &Path, fit: &FitResult) -> Result<()> {
    let text = serde_json::to_string_pretty(&super::clv::fit_json(fit))?;
    std::fs::write(path, text + "\n").with_context(|| format!("writing {}", path.display()))
}

pub fn run(global: &Global, args: RunArgs) -> Result<ExitCode> {
    let (Some(orders), Some(out)) = (args.orders.clone(), args.out.clone()) else {
        bail!(UsageError(
            "give --orders FILE --out DIR (or a subcommand: salesflow clv fit | predict)".into()
        ));
    };
    if !(args.discount_rate.is_finite() && args.discount_rate > -1.0) {
        bail!(UsageError(format!(
            "--discount-rate {}: give a rate per month, e.g. 0.01",
            args.discount_rate
        )));
    }
    let horizon = args.horizon.unwrap_or(365.0 / args.time_unit.days());
    if !(horizon.is_finite() && horizon >= 0.0) {
        bail!(UsageError(format!(
            "--horizon {horizon}: give a number of periods >= 0"
        )));
    }
    let config = load_config(global.config.as_deref(), None)?;
    args.read.check(&config)?;
    let mut options = args.read.options(&config, TableKind::Orders)?;
    // Only what the summary reads: currency, channel and any extra columns are not parsed.
    options.used_columns = Some(super::summary::used_columns());
    let bars = Bars::new(global.quiet);
    let mut laps = salesflow_analytics::timing::Laps::new("clv");
    let mut dataset = Dataset::new(salesflow_engine::default_threads());
    dataset.load(TableKind::Orders, &orders, &options, &bars)?;
    if !global.quiet {
        eprint!("{}", dataset.report().human_summary(3));
    }
    let rt = super::runtime()?;
    let summary_options = SummaryOptions {
        time_unit: args.time_unit,
        calibration_end: args.calibration_end,
        observation_end: args.observation_end,
        ..SummaryOptions::default()
    };
    laps.lap("read and clean");
    let summary = rt.block_on(customer_summary(&dataset, &summary_options))?;
    // The orders are not needed again: what comes next reuses their memory (a fresh page
    // costs more than the work on it here).
    drop(dataset);
    laps.lap("summary");
    std::fs::create_dir_all(&out).with_context(|| format!("creating {}", out.display()))?;
    let fit_options = FitOptions::default();
    // Three pieces of work that do not wait on each other run side by side: writing
    // summary.csv, the purchase model (with the grouping of customers it needs) and the spend
    // model (on bench/clv's input the stretch from "customers" to "summary written" went from
    // 1.2 to 0.96 s, SALESFLOW_TIMINGS=1). The spend model fits while the customers are
    // grouped, and summary.csv is written while the purchase model fits: the phases' CPU over
    // wall time showed both cores busy while grouping (1.95) and not while fitting (1.4), and
    // with the writer moved "customers" to "purchase model fitted" went from 0.465 to 0.39 s
    // (medians of six interleaved runs).
    let (customers, groups, candidates, spend_fit) = std::thread::scope(|scope| -> Result<_> {
        let customers = lifetime::customers(&summary.batches)?;
        laps.lap("customers");
        // Purchase model: the one asked for, or the best of three by BIC.
        // The spend model needs only the customers: it fits while they are grouped.
        let (spend_rows, spend_options) = (lifetime::spend_rows(&customers), fit_options.clone());
        let spend_thread = scope.spawn(move || clv::gamma_gamma::fit(&spend_rows, &spend_options));
        let groups = lifetime::Grouped::of(&customers);
        let rows = groups.rows();
        laps.lap("compressed");
        let (summary_path, summary) = (out.join("summary.csv"), &summary);
        let writer = scope
            .spawn(move || output::write_file(&summary_path, &summary.schema, &summary.batches));
        let candidates: Vec<FitResult> = match args.model {
            PurchaseModel::Bgnbd => vec![clv::bg_nbd::fit(&rows, &fit_options)?],
            PurchaseModel::Mbgnbd => vec![clv::mbg_nbd::fit(&rows, &fit_options)?],
            PurchaseModel::Pareto => vec![clv::pareto_nbd::fit(&rows, &fit_options)?],
            PurchaseModel::Auto => vec![
                clv::bg_nbd::fit(&rows, &fit_options)?,
                clv::mbg_nbd::fit(&rows, &fit_options)?,
                clv::pareto_nbd::fit(&rows, &fit_options)?,
            ],
        };
        laps.lap("purchase model fitted");
        let stopped = |what: &str| anyhow::anyhow!("the {what} thread stopped unexpectedly");
        let spend_fit = spend_thread.join().map_err(|_| stopped("spend model"))?;
        laps.lap("spend model fitted");
        writer.join().map_err(|_| stopped("summary writer"))??;
        laps.lap("summary written");
        Ok((customers, groups, candidates, spend_fit))
    })?;
    for fit in &candidates {
        write_json(&out.join(format!("fit_{}.json", fit.model)), fit)?;
    }
    let chosen = candidates
        .iter()
        .filter(|f| f.converged)
        .min_by(|a, b| a.bic.total_cmp(&b.bic))
        .or(candidates.first())
        .context("no purchase model fitted")?;
    let model = boxed(chosen)?;

    // Spend model, when there are repeat buyers.
    let spend = match spend_fit {
        Ok(fit) => {
            write_json(&out.join("fit_gamma_gamma.json"), &fit)?;
            for warning in &fit.warnings {
                eprintln!("warning: Gamma-Gamma: {warning}");
            }
            Some(clv::GammaGamma::from_fit(&fit)?)
        }
        Err(e) => {
            eprintln!("warning: no spend model, so no CLV: {e}");
            None
        }
    };
    let predictions = lifetime::predict_grouped(
        model.as_ref(),
        spend.as_ref(),
        &customers,
        &groups,
        &Horizon {
            periods: horizon,
            months: args.months,
            monthly_discount_rate: args.discount_rate,
            unit: args.time_unit,
        },
        &|i| lifetime::SummaryIds::new(&summary.batches).id(i),
    )?;
    // Totals for the report below, before the columns move into the output.
    let expected_total: f64 = predictions.expected_purchases.iter().sum();
    let alive_total: f64 = predictions.p_alive.iter().sum();
    let value_total: f64 = predictions.clv.iter().flatten().sum();
    let schema = Arc::new(Schema::new(vec![
        Field::new("customer_id", DataType::Utf8View, false),
        Field::new("frequency", DataType::Float64, false),
        Field::new("recency", DataType::Float64, false),
        Field::new("T", DataType::Float64, false),
        Field::new("monetary_value", DataType::Float64, false),
        Field::new("expected_purchases", DataType::Float64, false),
        Field::new("p_alive", DataType::Float64, false),
        Field::new("expected_spend", DataType::Float64, true),
        Field::new("clv", DataType::Float64, true),
    ]));
    // One output batch per summary batch, sharing the summary's id and input columns (the
    // customers are the summary's rows in order).
    let whole: [ArrayRef; 4] = [
        Arc::new(Float64Array::from(predictions.expected_purchases)),
        Arc::new(Float64Array::from(predictions.p_alive)),
        Arc::new(Float64Array::from(predictions.expected_spend)),
        Arc::new(Float64Array::from(predictions.clv)),
    ];
    let mut batches = Vec::with_capacity(summary.batches.len());
    let mut offset = 0;
    for part in &summary.batches {
        let column = |name: &str| -> Result<ArrayRef> {
            let array = part
                .column_by_name(name)
                .with_context(|| format!("the summary has no column {name}"))?;
            Ok(datafusion::arrow::compute::cast(array, &DataType::Float64)?)
        };
        let rows = part.num_rows();
        let mut columns = vec![
            datafusion::arrow::compute::cast(part.column(0), &DataType::Utf8View)?,
            column("frequency")?,
            column("recency")?,
            column("T")?,
            column("monetary_value")?,
        ];
        columns.extend(whole.iter().map(|array| array.slice(offset, rows)));
        batches.push(RecordBatch::try_new(schema.clone(), columns)?);
        offset += rows;
    }
    laps.lap("predicted");
    output::write_file(&out.join("predictions.csv"), &schema, &batches)?;
    laps.lap("predictions written");

    // Charts.
    let max_frequency = customers
        .iter()
        .map(|c| c.frequency)
        .fold(0.0, f64::max)
        .min(30.0) as usize;
    let max_age = customers.iter().map(|c| c.age).fold(0.0, f64::max);
    let bins = 20usize;
    let recencies: Vec<f64> = (0..=bins)
        .map(|i| max_age * i as f64 / bins as f64)
        .collect();
    let grid = |f: &dyn Fn(f64, f64) -> f64| -> Vec<Vec<f64>> {
        (0..=max_frequency)
            .rev()
            .map(|x| {
                recencies
                    .iter()
                    .map(|r| {
                        if x == 0 && *r > 0.0 {
                            f64::NAN
                        } else {
                            f(x as f64, *r)
                        }
                    })
                    .collect()
            })
            .collect()
    };
    let x_ticks: Vec<String> = recencies.iter().map(|r| format!("{r:.0}")).collect();
    let y_ticks: Vec<String> = (0..=max_frequency).rev().map(|x| x.to_string()).collect();
    let unit_name = args.time_unit.name();
    let expected_title = format!(
        "Expected purchases in the next {horizon:.0} {unit_name}s (customer observed {max_age:.0} {unit_name}s)"
    );
    let expected_grid = grid(&|x, r| {
        model
            .expected_purchases(horizon, x, r, max_age)
            .unwrap_or(f64::NAN)
    });
    std::fs::write(
        out.join("expected_purchases.svg"),
        heatmap(&Heatmap {
            title: &expected_title,
            x_label: "recency",
            y_label: "frequency",
            x_ticks: x_ticks.clone(),
            y_ticks: y_ticks.clone(),
            values: expected_grid,
        }),
    )?;
    let alive_grid = grid(&|x, r| model.probability_alive(x, r, max_age).unwrap_or(f64::NAN));
    std::fs::write(
        out.join("probability_alive.svg"),
        heatmap(&Heatmap {
            title: "Probability a customer is still active",
            x_label: "recency",
            y_label: "frequency",
            x_ticks,
            y_ticks,
            values: alive_grid,
        }),
    )?;
    let holdout_line = if let (Some(cal), Some(obs)) = (
        summary.holdout_end.map(|_| summary.calibration_end),
        summary.holdout_end,
    ) {
        let duration = (obs - cal).num_days() as f64 / args.time_unit.days();
        let groups = 8usize;
        let (mut actual, mut predicted, mut counts) =
            (vec![0.0; groups], vec![0.0; groups], vec![0.0; groups]);
        for c in &customers {
            let g = (c.frequency as usize).min(groups - 1);
            actual[g] += c.holdout.unwrap_or(0.0);
            predicted[g] += model.expected_purchases(duration, c.frequency, c.recency, c.age)?;
            counts[g] += 1.0;
        }
        let mean = |v: &[f64]| {
            v.iter()
                .zip(&counts)
                .map(|(s, n)| if *n > 0.0 { s / n } else { f64::NAN })
                .collect::<Vec<_>>()
        };
        let (actual, predicted) = (mean(&actual), mean(&predicted));
        let ticks: Vec<String> = (0..groups)
            .map(|g| {
                if g + 1 == groups {
                    format!("{g}+")
                } else {
                    g.to_string()
                }
            })
            .collect();
        std::fs::write(
            out.join("calibration_holdout.svg"),
            line_chart(&LineChart {
                title: &format!("Holdout purchases, actual vs predicted ({cal} to {obs})"),
                x_label: "repeat purchases in the calibration period",
                y_label: "mean purchases in the holdout",
                x_ticks: ticks,
                series: vec![
                    Series {
                        name: "actual",
                        color: "#1f77b4",
                        values: actual.clone(),
                    },
                    Series {
                        name: "predicted",
                        color: "#ff7f0e",
                        values: predicted.clone(),
                    },
                ],
                band: None,
            }),
        )?;
        let total_actual: f64 = customers.iter().filter_map(|c| c.holdout).sum();
        let total_predicted: f64 = predicted
            .iter()
            .zip(&counts)
            .map(|(p, n)| if p.is_finite() { p * n } else { 0.0 })
            .sum();
        Some(format!(
            "holdout: {total_actual:.0} purchases happened, {total_predicted:.0} predicted"
        ))
    } else {
        None
    };

    laps.lap("charts");
    let params = chosen
        .params
        .iter()
        .map(|(k, v)| format!("{k} {v:.4}"))
        .collect::<Vec<_>>()
        .join(", ");
    println!(
        "{} customers summarised (calibration end {}, time unit {unit_name})",
        customers.len(),
        summary.calibration_end
    );
    println!(
        "purchase model {}: {params}; log-likelihood {:.2}, BIC {:.2}",
        chosen.model, chosen.log_likelihood, chosen.bic
    );
    if candidates.len() > 1 {
        let others: Vec<String> = candidates
            .iter()
            .map(|f| format!("{} {:.2}", f.model, f.bic))
            .collect();
        println!("  chosen by BIC among: {}", others.join(", "));
    }
    println!(
        "expected purchases in the next {horizon:.0} {unit_name}s: {:.0}; customers probably still active: {:.0}",
        expected_total, alive_total
    );
    if spend.is_some() {
        println!(
            "expected value of the next {} months ({}% a month discount): {value_total:.2}",
            args.months,
            args.discount_rate * 100.0
        );
    }
    if let Some(line) = holdout_line {
        println!("{line}");
    }
    println!(
        "wrote {}: summary.csv, fit_*.json, predictions.csv, expected_purchases.svg, probability_alive.svg{}",
        out.display(),
        if summary.holdout_end.is_some() {
            ", calibration_holdout.svg"
        } else {
            ""
        }
    );
    Ok(ExitCode::SUCCESS)
}
