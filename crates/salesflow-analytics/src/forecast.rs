//! Forecasts of a panel of series — revenue, orders, channels, products, or a user's own —
//! with a rolling-origin backtest of each against the seasonal naive yardstick, and the
//! machine-readable document `salesflow forecast --json` prints.

use salesflow_core::progress::Progress;
use salesflow_engine::series::{CalendarEvent, Frequency, Series};
use salesflow_models::forecast::accuracy::Backtest;
use salesflow_models::forecast::events::Events;
use salesflow_models::forecast::{Forecast, Method, PanelOptions, forecast_panel};
use serde_json::{Value, json};

/// How to forecast.
#[derive(Debug, Clone, PartialEq)]
pub struct ForecastSettings {
    /// Periods ahead.
    pub horizon: usize,
    /// Periods per season (default: the frequency's — 12 for months, 7 for days ...).
    pub season_length: Option<usize>,
    /// Coverage of the prediction intervals.
    pub level: f64,
    /// The method (automatic by default).
    pub method: Method,
    /// Backtest windows per series (0: none).
    pub backtest_windows: usize,
    /// Threads (0: every core).
    pub threads: usize,
}

impl ForecastSettings {
    /// Automatic method, 95 % intervals, three backtest windows.
    pub fn new(horizon: usize) -> ForecastSettings {
        ForecastSettings {
            horizon,
            season_length: None,
            level: 0.95,
            method: Method::Auto,
            backtest_windows: 3,
            threads: 0,
        }
    }
}

/// One series with its forecast (or why there is none) and its backtest.
#[derive(Debug, Clone, PartialEq)]
pub struct SeriesOutcome {
    /// The series.
    pub series: Series,
    /// The model used, e.g. `ETS(M,Ad,M)`.
    pub model: Option<String>,
    /// Forecast with interval.
    pub forecast: Option<Forecast>,
    /// Why the series could not be forecast.
    pub error: Option<String>,
    /// Rolling-origin scores of the method.
    pub backtest: Option<Backtest>,
    /// The same for the seasonal naive forecast.
    pub baseline: Option<Backtest>,
    /// Each known event's estimated effect per period (ETS models only).
    pub event_effects: Vec<(String, f64)>,
    /// Events of the calendar that never happen in the series' history, so have no
    /// estimable effect and were left out.
    pub events_without_history: Vec<String>,
    /// Why the backtest failed, when it did (a window the method could not fit).
    pub backtest_error: Option<String>,
}

/// Mean scores over the backtested series.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PanelAccuracy {
    /// Series with a backtest.
    pub series: usize,
    /// Mean MASE of the method (series with a defined MASE).
    pub mase: Option<f64>,
    /// Mean sMAPE of the method, percent.
    pub smape: f64,
    /// Mean RMSSE of the method.
    pub rmsse: Option<f64>,
    /// Mean MASE of the seasonal naive forecast on the same series.
    pub baseline_mase: Option<f64>,
}

/// Every series' forecast.
#[derive(Debug, Clone, PartialEq)]
pub struct PanelForecast {
    /// The period.
    pub frequency: Frequency,
    /// Periods per season used.
    pub season_length: usize,
    /// Periods ahead.
    pub horizon: usize,
    /// Interval coverage.
    pub level: f64,
    /// Backtest windows per series.
    pub backtest_windows: usize,
    /// The series in input order.
    pub series: Vec<SeriesOutcome>,
    /// Mean backtest scores, when any series was backtested.
    pub accuracy: Option<PanelAccuracy>,
}

impl PanelForecast {
    /// The series that could not be forecast.
    pub fn failures(&self) -> impl Iterator<Item = &SeriesOutcome> {
        self.series.iter().filter(|s| s.error.is_some())
    }
}

/// Each series' event columns from the calendar rows that concern it (its own and those
/// without a series), over its history and the horizon, in one pass; events that never happen
/// in the history are left out and named.
fn series_events<'a>(
    series: &Series,
    rows: impl Iterator<Item = &'a CalendarEvent>,
    horizon: usize,
) -> (Option<Events>, Vec<String>) {
    let n = series.values.len() as i64;
    let mut columns: std::collections::BTreeMap<&str, (Vec<f64>, Vec<f64>)> = Default::default();
    for e in rows {
        let (history, future) = columns
            .entry(e.event.as_str())
            .or_insert_with(|| (vec![0.0; n as usize], vec![0.0; horizon]));
        let offset = e.period - series.first_period;
        if (0..n).contains(&offset) {
            history[offset as usize] += e.value;
        } else if (n..n + horizon as i64).contains(&offset) {
            future[(offset - n) as usize] += e.value;
        }
    }
    let mut events = Events {
        names: Vec::new(),
        history: Vec::new(),
        future: Vec::new(),
    };
    let mut unseen = Vec::new();
    for (name, (history, future)) in columns {
        if history.iter().all(|&v| v == 0.0) {
            unseen.push(name.to_string());
        } else {
            events.names.push(name.to_string());
            events.history.push(history);
            events.future.push(future);
        }
    }
    ((!events.names.is_empty()).then_some(events), unseen)
}

/// Forecasts each series, in parallel, with a progress bar over the series.
pub fn forecast_series_panel(
    series: Vec<Series>,
    frequency: Frequency,
    settings: &ForecastSettings,
    progress: &dyn Progress,
) -> PanelForecast {
    forecast_with_calendar(series, &[], frequency, settings, progress)
}

/// [`forecast_series_panel`] with known events (promotions, holidays) as regressors of the
/// ETS models.
pub fn forecast_with_calendar(
    series: Vec<Series>,
    calendar: &[CalendarEvent],
    frequency: Frequency,
    settings: &ForecastSettings,
    progress: &dyn Progress,
) -> PanelForecast {
    let season_length = settings
        .season_length
        .unwrap_or_else(|| frequency.season_length());
    let options = PanelOptions {
        method: settings.method.clone(),
        season_length,
        horizon: settings.horizon,
        level: settings.level,
        backtest_windows: settings.backtest_windows,
        threads: settings.threads,
    };
    progress.start("forecasting", series.len() as u64);
    let values: Vec<&[f64]> = series.iter().map(|s| s.values.as_slice()).collect();
    let (events, unseen): (Vec<Option<Events>>, Vec<Vec<String>>) = if calendar.is_empty() {
        (Vec::new(), vec![Vec::new(); series.len()])
    } else {
        // The calendar grouped once by series, not scanned again for every series.
        let mut own: std::collections::HashMap<&str, Vec<&CalendarEvent>> = Default::default();
        let mut everyone = Vec::new();
        for e in calendar {
            match e.series.as_deref() {
                Some(id) => own.entry(id).or_default().push(e),
                None => everyone.push(e),
            }
        }
        series
            .iter()
            .map(|s| {
                let mine = own.get(s.id.as_str()).into_iter().flatten();
                series_events(s, everyone.iter().chain(mine).copied(), settings.horizon)
            })
            .unzip()
    };
    let results = forecast_panel(&values, &events, &options, &|| progress.advance(1));
    progress.finish();
    let outcomes: Vec<SeriesOutcome> = series
        .into_iter()
        .zip(results)
        .zip(unseen)
        .map(|((series, result), events_without_history)| {
            let (model, forecast, error, event_effects) = match result.forecast {
                Ok(f) => (Some(f.model), Some(f.forecast), None, f.effects),
                Err(e) => (None, None, Some(e.to_string()), Vec::new()),
            };
            let (backtest, backtest_error) = match result.backtest {
                Some(Ok(b)) => (Some(b), None),
                Some(Err(e)) => (None, Some(e.to_string())),
                None => (None, None),
            };
            SeriesOutcome {
                series,
                model,
                forecast,
                error,
                backtest,
                baseline: result.baseline.and_then(Result::ok),
                event_effects,
                events_without_history,
                backtest_error,
            }
        })
        .collect();
    let accuracy = panel_accuracy(&outcomes);
    PanelForecast {
        frequency,
        season_length,
        horizon: settings.horizon,
        level: settings.level,
        backtest_windows: settings.backtest_windows,
        series: outcomes,
        accuracy,
    }
}

fn panel_accuracy(outcomes: &[SeriesOutcome]) -> Option<PanelAccuracy> {
    let scored: Vec<&SeriesOutcome> = outcomes.iter().filter(|o| o.backtest.is_some()).collect();
    if scored.is_empty() {
        return None;
    }
    let mean = |values: Vec<f64>| {
        (!values.is_empty()).then(|| values.iter().sum::<f64>() / values.len() as f64)
    };
    let method = |pick: fn(&Backtest) -> Option<f64>| {
        mean(
            scored
                .iter()
                .filter_map(|o| o.backtest.as_ref().and_then(pick))
                .collect(),
        )
    };
    Some(PanelAccuracy {
        series: scored.len(),
        mase: method(|b| b.mase),
        smape: method(|b| Some(b.smape)).unwrap_or(f64::NAN),
        rmsse: method(|b| b.rmsse),
        baseline_mase: mean(
            scored
                .iter()
                .filter_map(|o| o.baseline.as_ref().and_then(|b| b.mase))
                .collect(),
        ),
    })
}

/// ISO date of the first day of period `period`.
pub fn period_label(frequency: Frequency, period: i64) -> String {
    frequency.start_of(period).format("%Y-%m-%d").to_string()
}

fn backtest_json(b: &Backtest) -> Value {
    json!({
        "windows": b.windows.len(),
        "mase": b.mase,
        "smape": b.smape,
        "rmsse": b.rmsse,
    })
}

/// The `salesflow forecast --json` document: settings, overall accuracy, and per series
/// `{id, model, dates, forecast, lower, upper, level, backtest}`; `with_history` adds each
/// series' observed values.
pub fn forecast_json(panel: &PanelForecast, with_history: bool) -> Value {
    let series: Vec<Value> = panel
        .series
        .iter()
        .map(|o| {
            let next = o.series.first_period + o.series.values.len() as i64;
            let mut entry = json!({
                "id": o.series.id,
                "model": o.model,
                "level": panel.level,
            });
            if let Some(f) = &o.forecast {
                entry["dates"] = json!(
                    (0..f.mean.len() as i64)
                        .map(|k| period_label(panel.frequency, next + k))
                        .collect::<Vec<_>>()
                );
                entry["forecast"] = json!(f.mean);
                entry["lower"] = json!(f.lower);
                entry["upper"] = json!(f.upper);
            }
            if let Some(e) = &o.error {
                entry["error"] = json!(e);
            }
            if !o.event_effects.is_empty() {
                entry["event_effects"] = o
                    .event_effects
                    .iter()
                    .map(|(name, effect)| (name.clone(), json!(effect)))
                    .collect::<serde_json::Map<_, _>>()
                    .into();
            }
            if !o.events_without_history.is_empty() {
                entry["events_without_history"] = json!(o.events_without_history);
            }
            if let Some(b) = &o.backtest {
                entry["backtest"] = backtest_json(b);
            }
            if let Some(e) = &o.backtest_error {
                entry["backtest_error"] = json!(e);
            }
            if let Some(b) = &o.baseline {
                entry["baseline_backtest"] = backtest_json(b);
            }
            if with_history {
                entry["history_start"] =
                    json!(period_label(panel.frequency, o.series.first_period));
                entry["history"] = json!(o.series.values);
            }
            entry
        })
        .collect();
    json!({
        "frequency": panel.frequency.name(),
        "season_length": panel.season_length,
        "horizon": panel.horizon,
        "level": panel.level,
        "backtest_windows": panel.backtest_windows,
        "accuracy": panel.accuracy.map(|a| json!({
            "series": a.series,
            "mase": a.mase,
            "smape": a.smape,
            "rmsse": a.rmsse,
            "seasonal_naive_mase": a.baseline_mase,
        })),
        "failed": panel.failures().count(),
        "series": series,
    })
}
