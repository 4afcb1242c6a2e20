//! `salesflow clv`: customer-lifetime-value models.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Result, bail};
use salesflow_engine::numeric::read_numeric_columns;
use salesflow_models::clv::{self, FitOptions, FitResult, PeriodRow, RfmRow, SpendRow};
use serde_json::{Map, Value, json};

use super::Global;
use crate::input::UsageError;

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Fit a model by maximum likelihood to a summary file and print the parameters, their
    /// standard errors, the log-likelihood, AIC and BIC.
    Fit(FitArgs),
}

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
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
        Command::Fit(fit_args) => fit(global, fit_args),
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

fn fit_json(fit: &FitResult) -> Value {
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
