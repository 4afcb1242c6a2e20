//! `salesflow forecast`: how much we will sell in the coming periods, of what, with intervals
//! and a backtest that says how far to trust it.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Result, bail};
use datafusion::arrow::array::{ArrayRef, Float64Array, StringArray};
use salesflow_analytics::forecast::{
    ForecastSettings, PanelForecast, forecast_json, forecast_with_calendar, period_label,
};
use salesflow_core::TableKind;
use salesflow_engine::Dataset;
use salesflow_engine::series::{
    Frequency, Gaps, SalesSeriesOptions, calendar_events, sales_series, table_series,
};
use salesflow_models::forecast::Method;
use salesflow_models::forecast::croston::CrostonKind;
use salesflow_models::forecast::ets::SpecPattern;

use super::Global;
use crate::input::{ReadFlags, UsageError, load_config};
use crate::progress::Bars;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// A file of series to forecast: columns date,value[,series_id] (other names are
    /// recognised: ds/y/unique_id, period/sales/sku, ...; map others with --map).
    #[arg(
        long,
        value_name = "FILE",
        conflicts_with = "data",
        required_unless_present = "data"
    )]
    series: Option<PathBuf>,
    /// Or a data folder: forecasts revenue and orders per period, revenue per channel and
    /// units of the best-selling products from its orders (and order_lines).
    #[arg(long, value_name = "DIR")]
    data: Option<PathBuf>,
    /// Periods to forecast (default: one season — 12 months, 4 quarters, 7 days, ...).
    #[arg(long)]
    horizon: Option<usize>,
    /// Periods per season (default: by frequency — 12 monthly, 4 quarterly, 7 daily, 52
    /// weekly, 1 yearly). Seasonal ETS models need 2..=24.
    #[arg(long)]
    season_length: Option<usize>,
    /// Period of the series: day, week, month, quarter or year (default: inferred from the
    /// dates for --series, month for --data).
    #[arg(long, value_parser = parse_frequency)]
    frequency: Option<Frequency>,
    /// Model: auto (SBA for intermittent demand, else ETS by AICc), ets, an ETS code with Z for
    /// "choose" (ZZZ, AAdN, MAM, ...), naive, snaive, drift, croston, sba or tsb.
    #[arg(long, default_value = "auto", value_parser = parse_method)]
    model: Method,
    /// Coverage of the prediction intervals.
    #[arg(long, default_value_t = 0.95)]
    level: f64,
    /// Rolling-origin backtest windows per series (each --horizon periods); 0 for none.
    #[arg(long, default_value_t = 3)]
    backtest_windows: usize,
    /// Known events, past and future (promotions, holidays): columns date,event[,series_id]
    /// [,value]. Each event becomes a regressor of the ETS models (its effect per period is
    /// estimated from the history and added to the forecast where it recurs); an event without
    /// series_id concerns every series.
    #[arg(long, value_name = "FILE")]
    events: Option<PathBuf>,
    /// What a period missing from --series means: error (stop and name it) or zero.
    #[arg(long, default_value = "error", value_parser = parse_gaps)]
    fill_gaps: Gaps,
    /// With --data: keep the last period although the data ends before its last day (by
    /// default it is left out as incomplete; keep it when that day simply had no sale).
    #[arg(long)]
    keep_last_period: bool,
    /// With --data: forecast units for this many best-selling products (0: none).
    #[arg(long, default_value_t = 20)]
    products: usize,
    /// Write the forecasts here: .json (the --json document, with history) or .csv/.parquet
    /// (series_id, date, model, forecast, lower, upper).
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    /// Print the JSON document.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    read: ReadFlags,
}

fn parse_frequency(text: &str) -> Result<Frequency, String> {
    Frequency::parse(text).ok_or_else(|| {
        format!("`{text}` is not a frequency; use day, week, month, quarter or year")
    })
}

fn parse_gaps(text: &str) -> Result<Gaps, String> {
    match text {
        "error" => Ok(Gaps::Error),
        "zero" => Ok(Gaps::Zero),
        _ => Err(format!("`{text}`: use error or zero")),
    }
}

fn parse_method(text: &str) -> Result<Method, String> {
    Ok(match text.to_ascii_lowercase().as_str() {
        "auto" => Method::Auto,
        "ets" => Method::Ets(SpecPattern::default()),
        "naive" => Method::Naive,
        "snaive" | "seasonal-naive" | "seasonal_naive" => Method::SeasonalNaive,
        "drift" => Method::Drift,
        "croston" => Method::Croston(CrostonKind::Classic),
        "sba" => Method::Croston(CrostonKind::Sba),
        "tsb" => Method::Croston(CrostonKind::Tsb {
            alpha_probability: 0.1,
            alpha_size: 0.1,
        }),
        _ => Method::Ets(SpecPattern::parse(text).map_err(|e| {
            format!("{e}; or name a method: auto, ets, naive, snaive, drift, croston, sba, tsb")
        })?),
    })
}

pub fn run(global: &Global, args: Args) -> Result<ExitCode> {
    if !(args.level > 0.0 && args.level < 1.0) {
        bail!(UsageError(format!(
            "--level {} must lie strictly between 0 and 1, e.g. 0.95",
            args.level
        )));
    }
    if args.horizon == Some(0) {
        bail!(UsageError("--horizon must be at least 1".into()));
    }
    let quiet = global.quiet || args.json;
    let bars = Bars::new(quiet);
    let rt = super::runtime()?;
    let (mut dataset, frequency, series, partial) = if let Some(path) = &args.series {
        let config = load_config(global.config.as_deref(), None)?;
        args.read.check(&config)?;
        let mut dataset = Dataset::new(salesflow_engine::default_threads());
        let options = args.read.options(&config, TableKind::Series)?;
        dataset.load(TableKind::Series, path, &options, &bars)?;
        let (frequency, series) =
            rt.block_on(table_series(&dataset, args.frequency, args.fill_gaps))?;
        (dataset, frequency, series, None)
    } else {
        let Some(data) = &args.data else {
            bail!(UsageError("give --series FILE or --data DIR".into()));
        };
        let config = load_config(global.config.as_deref(), Some(data))?;
        args.read.check(&config)?;
        let dataset = args.read.load_dir(data, &config, &bars)?;
        let frequency = args.frequency.unwrap_or(Frequency::Month);
        let options = SalesSeriesOptions {
            frequency,
            by_channel: true,
            products: args.products,
            keep_last_period: args.keep_last_period,
        };
        let (series, partial) = rt.block_on(sales_series(&dataset, options))?;
        (dataset, frequency, series, partial)
    };
    if let Some(path) = &args.events {
        let config = load_config(global.config.as_deref(), None)?;
        let options = args.read.options(&config, TableKind::Calendar)?;
        dataset.load(TableKind::Calendar, path, &options, &bars)?;
    }
    let calendar = rt.block_on(calendar_events(&dataset, frequency))?;
    drop(rt);
    if series.is_empty() {
        bail!(UsageError(
            "no series to forecast: the input has no rows (or, with --data, no complete period of purchases)".into()
        ));
    }
    let season_length = args.season_length.unwrap_or(frequency.season_length());
    if season_length == 0 {
        bail!(UsageError("--season-length must be at least 1".into()));
    }
    let settings = ForecastSettings {
        horizon: args.horizon.unwrap_or(season_length.max(1)),
        season_length: Some(season_length),
        level: args.level,
        method: args.model.clone(),
        backtest_windows: args.backtest_windows,
        threads: 0,
    };
    let panel = forecast_with_calendar(series, &calendar, frequency, &settings, &bars);
    if let Some(path) = &args.out {
        write_out(path, &panel)?;
    }
    if args.json {
        super::print_stdout(&serde_json::to_string_pretty(&forecast_json(
            &panel, false,
        ))?)?;
    } else {
        super::print_stdout(&summary_text(&panel, partial))?;
    }
    let failed = panel.failures().count();
    if failed > 0 && !quiet {
        for outcome in panel.failures().take(5) {
            eprintln!(
                "warning: series `{}` not forecast: {}",
                outcome.series.id,
                outcome.error.as_deref().unwrap_or_default()
            );
        }
        if failed > 5 {
            eprintln!(
                "warning: {} more series not forecast (see --json)",
                failed - 5
            );
        }
    }
    if failed == panel.series.len() {
        bail!(UsageError(format!(
            "no series could be forecast; the first: {}",
            panel.series[0].error.as_deref().unwrap_or_default()
        )));
    }
    Ok(ExitCode::SUCCESS)
}

/// The forecasts as a file: JSON (the document with history) or a long table.
fn write_out(path: &std::path::Path, panel: &PanelForecast) -> Result<()> {
    let extension = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or_default()
        .to_ascii_lowercase();
    if extension == "json" {
        let text = serde_json::to_string(&forecast_json(panel, true))?;
        std::fs::write(path, text).map_err(|source| salesflow_engine::EngineError::Io {
            path: path.to_owned(),
            source,
        })?;
        return Ok(());
    }
    let (mut ids, mut dates, mut models) = (Vec::new(), Vec::new(), Vec::new());
    let (mut mean, mut lower, mut upper) = (Vec::new(), Vec::new(), Vec::new());
    for outcome in &panel.series {
        let (Some(forecast), Some(model)) = (&outcome.forecast, &outcome.model) else {
            continue;
        };
        let next = outcome.series.first_period + outcome.series.values.len() as i64;
        for k in 0..forecast.mean.len() {
            ids.push(outcome.series.id.clone());
            dates.push(period_label(panel.frequency, next + k as i64));
            models.push(model.clone());
            mean.push(forecast.mean[k]);
            lower.push(forecast.lower[k]);
            upper.push(forecast.upper[k]);
        }
    }
    super::write_table(
        path,
        vec![
            ("series_id", Arc::new(StringArray::from(ids)) as ArrayRef),
            ("date", Arc::new(StringArray::from(dates))),
            ("model", Arc::new(StringArray::from(models))),
            ("forecast", Arc::new(Float64Array::from(mean))),
            ("lower", Arc::new(Float64Array::from(lower))),
            ("upper", Arc::new(Float64Array::from(upper))),
        ],
    )
}

/// The human summary: settings, accuracy against seasonal naive, then each series (the
/// first 25) with its model, next three periods and backtest MASE.
fn summary_text(panel: &PanelForecast, partial: Option<i64>) -> String {
    let mut text = format!(
        "{} series, {} periods ahead by {}, season length {}, {:.0} % intervals\n",
        panel.series.len(),
        panel.horizon,
        panel.frequency.name(),
        panel.season_length,
        100.0 * panel.level
    );
    if let Some(p) = partial {
        let _ = writeln!(
            text,
            "(the {} starting {} is left out: the data ends inside it; --keep-last-period keeps it)",
            panel.frequency.name(),
            period_label(panel.frequency, p)
        );
    }
    if let Some(a) = panel.accuracy {
        let _ = writeln!(
            text,
            "backtest (up to {} windows of {} periods, {} series): MASE {} (seasonal naive {}), sMAPE {:.1} %, RMSSE {}",
            panel.backtest_windows,
            panel.horizon,
            a.series,
            number(a.mase),
            number(a.baseline_mase),
            a.smape,
            number(a.rmsse),
        );
    }
    let _ = writeln!(
        text,
        "  {:<32} {:<14} {:>12} {:>12} {:>12}  {:>6} {:>6}",
        "series", "model", "next", "+1", "+2", "MASE", "naive"
    );
    for outcome in panel.series.iter().take(25) {
        let Some(forecast) = &outcome.forecast else {
            let _ = writeln!(text, "  {:<32} (not forecast)", short(&outcome.series.id));
            continue;
        };
        let at = |k: usize| forecast.mean.get(k).map_or(String::new(), |v| compact(*v));
        let _ = writeln!(
            text,
            "  {:<32} {:<14} {:>12} {:>12} {:>12}  {:>6} {:>6}",
            short(&outcome.series.id),
            outcome.model.as_deref().unwrap_or_default(),
            at(0),
            at(1),
            at(2),
            number(outcome.backtest.as_ref().and_then(|b| b.mase)),
            number(outcome.baseline.as_ref().and_then(|b| b.mase)),
        );
    }
    if panel.series.len() > 25 {
        let _ = writeln!(
            text,
            "  ... {} more series (--out or --json for all)",
            panel.series.len() - 25
        );
    }
    text.truncate(text.trim_end().len());
    text
}

/// One decimal, or scientific notation for magnitudes a column cannot hold.
fn compact(v: f64) -> String {
    if v.abs() >= 1e9 {
        format!("{v:.4e}")
    } else {
        format!("{v:.1}")
    }
}

fn number(value: Option<f64>) -> String {
    value.map_or("-".into(), |v| format!("{v:.3}"))
}

fn short(id: &str) -> String {
    if id.chars().count() <= 32 {
        id.to_string()
    } else {
        let head: String = id.chars().take(31).collect();
        format!("{head}…")
    }
}
