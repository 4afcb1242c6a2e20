//! `salesflow clv`: customer-lifetime-value models.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Result, bail};
use salesflow_engine::numeric::read_numeric_columns;
use salesflow_models::clv::{self, FitOptions, FitResult, PeriodRow, RfmRow, SpendRow};
use serde_json::{Map, Value, json};

use super::Global;
use crate::input::UsageError;
use salesflow_analytics::lifetime::{self, Customer, Horizon};

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Fit a model by maximum likelihood to a summary file and print the parameters, their
    /// standard errors, the log-likelihood, AIC and BIC.
    Fit(FitArgs),
    /// Per-customer predictions from a summary and fits written by `clv fit --json`:
    /// expected purchases in the horizon, probability alive, expected spend and CLV.
    Predict(PredictArgs),
}

#[derive(Debug, clap::Args)]
pub struct PredictArgs {
    /// The customers: a summary with frequency, recency, T (and monetary_value for spend and
    /// CLV; customer_id is carried over when present).
    #[arg(long, value_name = "FILE")]
    summary: PathBuf,
    /// A purchase-model fit (bgnbd, mbgnbd or pareto) as written by `clv fit --json`.
    #[arg(long, value_name = "FIT.json")]
    fit: PathBuf,
    /// A Gamma-Gamma fit, for expected spend and CLV.
    #[arg(long, value_name = "FIT.json")]
    spend_fit: Option<PathBuf>,
    /// Horizon of expected purchases, in the summary's time unit.
    #[arg(long, value_name = "PERIODS")]
    horizon: f64,
    /// The summary's time unit (for CLV's months): day, week or month.
    #[arg(long, default_value = "day")]
    time_unit: salesflow_core::TimeUnit,
    /// CLV horizon in months (lifetimes' monthly steps).
    #[arg(long, default_value_t = 12)]
    months: u32,
    /// Discount rate per month for CLV (lifetimes' default 0.01).
    #[arg(long, default_value_t = 0.01)]
    discount_rate: f64,
    /// Output file (.csv, .json or .parquet).
    #[arg(long, value_name = "FILE")]
    out: PathBuf,
}

#[derive(Debug, clap::Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct Args {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    run: super::clv_run::RunArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Model {
    /// BG/NBD (Fader, Hardie & Lee 2005): reads frequency, recency, T.
    Bgnbd,
    /// MBG/NBD (Batislam et al. 2007, as lifetimes): reads frequency, recency, T.
    Mbgnbd,
    /// Pareto/NBD (Schmittlein, Morrison & Colombo 1987): reads frequency, recency, T.
    Pareto,
    /// BG/BB (discrete opportunities): reads frequency, recency, periods, weights.
    Bgbb,
    /// Gamma-Gamma spend model: reads frequency, monetary_value (repeat buyers only).
    GammaGamma,
    /// Shifted-beta-geometric retention: reads cohort survivors per period, in period order.
    Sbg,
}

#[derive(Debug, clap::Args)]
pub struct FitArgs {
    /// The input: a summary as `salesflow summary` writes it (optionally with a `weight`
    /// column); for bgbb `frequency,recency,periods,weights`; for sbg a column of survivors.
    #[arg(long, value_name = "FILE")]
    summary: PathBuf,
    /// Which model.
    #[arg(long, value_enum)]
    model: Model,
    /// L2 penalty on the log-parameters (0 = plain maximum likelihood).
    #[arg(long, default_value_t = 0.0)]
    penalty: f64,
    /// For sbg: the column holding the survivors (e.g. `high_end`).
    #[arg(long, default_value = "survivors", value_name = "COLUMN")]
    survivors: String,
    /// For sbg: fit on periods 0..=N only (the rows after are for checking the projection).
    #[arg(long, value_name = "N")]
    through_period: Option<usize>,
    /// Print the fit as JSON.
    #[arg(long)]
    json: bool,
}

pub fn run(global: &Global, args: Args) -> Result<ExitCode> {
    match args.command {
        Some(Command::Fit(fit_args)) => fit(global, fit_args),
        Some(Command::Predict(predict_args)) => predict(global, predict_args),
        None => super::clv_run::run(global, args.run),
    }
}

fn fit(_global: &Global, args: FitArgs) -> Result<ExitCode> {
    if !args.penalty.is_finite() || args.penalty < 0.0 {
        bail!(UsageError(format!(
            "--penalty {}: give a number >= 0",
            args.penalty
        )));
    }
    let options = FitOptions {
        penalty: args.penalty,
        ..FitOptions::default()
    };
    let rt = super::runtime()?;
    let read = |required: &[&str], optional: &[&str]| {
        rt.block_on(read_numeric_columns(&args.summary, required, optional))
    };
    let result: FitResult = match args.model {
        Model::Bgnbd | Model::Mbgnbd | Model::Pareto => {
            let data = read(&["frequency", "recency", "T"], &["weight"])?;
            let rows = rfm_rows(&data)?;
            match args.model {
                Model::Bgnbd => clv::bg_nbd::fit(&rows, &options)?,
                Model::Mbgnbd => clv::mbg_nbd::fit(&rows, &options)?,
                _ => clv::pareto_nbd::fit(&rows, &options)?,
            }
        }
        Model::GammaGamma => {
            let data = read(&["frequency", "monetary_value"], &["weight"])?;
            let (f, m) = (
                column(&data, "frequency")?,
                column(&data, "monetary_value")?,
            );
            let weights = data.get("weight");
            let rows: Vec<SpendRow> = (0..data.rows)
                .map(|i| SpendRow {
                    frequency: f[i],
                    monetary_value: m[i],
                    weight: weights.map_or(1.0, |w| w[i]),
                })
                .collect();
            clv::gamma_gamma::fit(&rows, &options)?
        }
        Model::Bgbb => {
            let data = read(&["frequency", "recency", "periods"], &["weights", "weight"])?;
            let (f, r, n) = (
                column(&data, "frequency")?,
                column(&data, "recency")?,
                column(&data, "periods")?,
            );
            let weights = data.get("weights").or_else(|| data.get("weight"));
            let mut rows = Vec::with_capacity(data.rows);
            for i in 0..data.rows {
                let whole = |v: f64, name: &str| -> Result<u32> {
                    if v.fract() != 0.0 || !(0.0..=f64::from(u32::MAX)).contains(&v) {
                        bail!(UsageError(format!(
                            "{}: row {}: {name} = {v} is not a whole number of periods",
                            args.summary.display(),
                            i + 1
                        )));
                    }
                    Ok(v as u32)
                };
                rows.push(PeriodRow {
                    frequency: whole(f[i], "frequency")?,
                    recency: whole(r[i], "recency")?,
                    periods: whole(n[i], "periods")?,
                    weight: weights.map_or(1.0, |w| w[i]),
                });
            }
            clv::bg_bb::fit(&rows, &options)?
        }
        Model::Sbg => {
            let name = args.survivors.as_str();
            let data = read(&[name], &[])?;
            let survivors = column(&data, name)?;
            let kept = args
                .through_period
                .map_or(survivors.len(), |n| (n + 1).min(survivors.len()));
            clv::sbg::fit_cohort(&survivors[..kept], &options)?
        }
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&fit_json(&result))?);
    } else {
        print_fit(&result);
    }
    Ok(ExitCode::SUCCESS)
}

fn column<'a>(
    data: &'a salesflow_engine::numeric::NumericColumns,
    name: &str,
) -> Result<&'a [f64]> {
    data.get(name)
        .ok_or_else(|| anyhow::Error::new(UsageError(format!("column `{name}` missing"))))
}

fn rfm_rows(data: &salesflow_engine::numeric::NumericColumns) -> Result<Vec<RfmRow>> {
    let (f, r, t) = (
        column(data, "frequency")?,
        column(data, "recency")?,
        column(data, "T")?,
    );
    match data.get("weight") {
        None => {
            let triples: Vec<(f64, f64, f64)> =
                (0..data.rows).map(|i| (f[i], r[i], t[i])).collect();
            Ok(clv::compress(&triples))
        }
        Some(w) => Ok((0..data.rows)
            .map(|i| RfmRow {
                frequency: f[i],
                recency: r[i],
                t: t[i],
                weight: w[i],
            })
            .collect()),
    }
}

pub(crate) fn fit_json(fit: &FitResult) -> Value {
    let map = |pairs: &[(&'static str, f64)]| -> Map<String, Value> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), json!(v)))
            .collect()
    };
    json!({
        "model": fit.model,
        "params": map(&fit.params),
        "std_errors": fit.std_errors.as_deref().map(map),
        "log_likelihood": fit.log_likelihood,
        "aic": fit.aic,
        "bic": fit.bic,
        "n": fit.n,
        "converged": fit.converged,
        "iterations": fit.iterations,
        "gradient_norm": fit.gradient_norm,
        "diagnostics": map(&fit.diagnostics),
        "warnings": fit.warnings,
    })
}

fn print_fit(fit: &FitResult) {
    println!(
        "{} fit on {} customers ({})",
        fit.model,
        fit.n,
        if fit.converged {
            "converged"
        } else {
            "DID NOT CONVERGE"
        }
    );
    println!(
        "  {:<10} {:>14} {:>14}",
        "parameter", "estimate", "std. error"
    );
    for (name, value) in &fit.params {
        let se = fit
            .std_errors
            .as_ref()
            .and_then(|s| s.iter().find(|(n, _)| n == name))
            .map_or("-".to_string(), |(_, v)| format!("{v:.6}"));
        println!("  {name:<10} {value:>14.6} {se:>14}");
    }
    println!(
        "  log-likelihood {:.4}, AIC {:.4}, BIC {:.4}, {} iterations",
        fit.log_likelihood, fit.aic, fit.bic, fit.iterations
    );
    for warning in &fit.warnings {
        println!("  warning: {warning}");
    }
}

/// A fit file: the model's name and its parameters.
fn read_fit(path: &std::path::Path) -> Result<(String, std::collections::BTreeMap<String, f64>)> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| UsageError(format!("{}: {e}", path.display())))?;
    let value: Value = serde_json::from_str(&text).map_err(|e| {
        UsageError(format!(
            "{}: not a fit written by `clv fit --json`: {e}",
            path.display()
        ))
    })?;
    let model = value["model"].as_str().unwrap_or_default().to_string();
    let params = value["params"]
        .as_object()
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| v.as_f64().map(|v| (k.clone(), v)))
                .collect()
        })
        .unwrap_or_default();
    Ok((model, params))
}

fn param(
    params: &std::collections::BTreeMap<String, f64>,
    name: &str,
    path: &std::path::Path,
) -> Result<f64> {
    params.get(name).copied().ok_or_else(|| {
        anyhow::Error::new(UsageError(format!(
            "{}: the fit has no parameter `{name}`",
            path.display()
        )))
    })
}

fn purchase_model(
    path: &std::path::Path,
) -> Result<Box<dyn clv::RepeatPurchaseModel + Send + Sync>> {
    let (model, p) = read_fit(path)?;
    let g = |n: &str| param(&p, n, path);
    Ok(match model.as_str() {
        "bg_nbd" => Box::new(clv::BgNbd::new(g("r")?, g("alpha")?, g("a")?, g("b")?)?),
        "mbg_nbd" => Box::new(clv::MbgNbd::new(g("r")?, g("alpha")?, g("a")?, g("b")?)?),
        "pareto_nbd" => Box::new(clv::ParetoNbd::new(
            g("r")?,
            g("alpha")?,
            g("s")?,
            g("beta")?,
        )?),
        other => bail!(UsageError(format!(
            "{}: `{other}` is not a purchase model; --fit takes a bgnbd, mbgnbd or pareto fit",
            path.display()
        ))),
    })
}

fn predict(_global: &Global, args: PredictArgs) -> Result<ExitCode> {
    use std::sync::Arc;

    use datafusion::arrow::array::{ArrayRef, Float64Array, StringArray};
    use datafusion::arrow::datatypes::{DataType, Field, Schema};
    use datafusion::arrow::record_batch::RecordBatch;

    if !(args.horizon.is_finite() && args.horizon >= 0.0) {
        bail!(UsageError(format!(
            "--horizon {}: give a number of periods >= 0",
            args.horizon
        )));
    }
    let model = purchase_model(&args.fit)?;
    let spend = match &args.spend_fit {
        Some(path) => {
            let (name, p) = read_fit(path)?;
            if name != "gamma_gamma" {
                bail!(UsageError(format!(
                    "{}: --spend-fit takes a gamma-gamma fit, not `{name}`",
                    path.display()
                )));
            }
            Some(clv::GammaGamma::new(
                param(&p, "p", path)?,
                param(&p, "q", path)?,
                param(&p, "gamma", path)?,
            )?)
        }
        None => None,
    };
    let required: &[&str] = if spend.is_some() {
        &["frequency", "recency", "T", "monetary_value"]
    } else {
        &["frequency", "recency", "T"]
    };
    let rt = super::runtime()?;
    let data = rt.block_on(read_numeric_columns(&args.summary, required, &[]))?;
    let (f, r, t) = (
        column(&data, "frequency")?,
        column(&data, "recency")?,
        column(&data, "T")?,
    );
    let monetary = data.get("monetary_value");
    let ids: Vec<String> = data
        .ids
        .clone()
        .unwrap_or_else(|| (1..=data.rows).map(|i| i.to_string()).collect());
    let customers: Vec<Customer> = (0..data.rows)
        .map(|i| Customer {
            frequency: f[i],
            recency: r[i],
            age: t[i],
            monetary: monetary.map_or(0.0, |m| m[i]),
            holdout: None,
        })
        .collect();
    let predictions = lifetime::predict(
        model.as_ref(),
        spend.as_ref(),
        &customers,
        &Horizon {
            periods: args.horizon,
            months: args.months,
            monthly_discount_rate: args.discount_rate,
            unit: args.time_unit,
        },
        &|i| ids[i].clone(),
    )?;

    let schema = Arc::new(Schema::new(vec![
        Field::new("customer_id", DataType::Utf8, false),
        Field::new("expected_purchases", DataType::Float64, false),
        Field::new("p_alive", DataType::Float64, false),
        Field::new("expected_spend", DataType::Float64, true),
        Field::new("clv", DataType::Float64, true),
    ]));
    let columns: Vec<ArrayRef> = vec![
        Arc::new(StringArray::from(ids)),
        Arc::new(Float64Array::from(predictions.expected_purchases)),
        Arc::new(Float64Array::from(predictions.p_alive)),
        Arc::new(Float64Array::from(predictions.expected_spend)),
        Arc::new(Float64Array::from(predictions.clv)),
    ];
    let batch = RecordBatch::try_new(schema.clone(), columns)?;
    salesflow_engine::output::write_file(&args.out, &schema, &[batch])?;
    Ok(ExitCode::SUCCESS)
}
