//! Many series at once — every product, every channel — spread over threads, each with its
//! forecast and, when asked, a rolling-origin backtest of the same method.

use super::accuracy::{Backtest, rolling_origin};
use super::events::Events;
use super::method::{Method, SeriesForecast, forecast_series_with_events};
use crate::ModelError;
use crate::parallel::{map_jobs, resolve_threads};

/// How to forecast a panel of series.
#[derive(Debug, Clone, PartialEq)]
pub struct PanelOptions {
    /// The method for every series.
    pub method: Method,
    /// Periods per season.
    pub season_length: usize,
    /// Periods to forecast.
    pub horizon: usize,
    /// Coverage of the prediction intervals.
    pub level: f64,
    /// Backtest windows at most (each `horizon` long, `horizon` apart, the last ending with
    /// the series; fewer when the series is short); 0 for none.
    pub backtest_windows: usize,
    /// Threads (0 = every core).
    pub threads: usize,
}

/// One series' outcome.
#[derive(Debug, Clone, PartialEq)]
pub struct PanelResult {
    /// The forecast, or why there is none.
    pub forecast: Result<SeriesForecast, ModelError>,
    /// The backtest, when asked for and the series is long enough (`None` otherwise).
    pub backtest: Option<Result<Backtest, ModelError>>,
    /// The same backtest of the seasonal naive forecast, the yardstick: a method worth using
    /// beats it.
    pub baseline: Option<Result<Backtest, ModelError>>,
}

/// Forecasts every series (results in input order), with its known events when `events`
/// has an entry for it (an empty slice: none); `on_done` is called after each, from
/// whichever thread finished it.
pub fn forecast_panel(
    series: &[&[f64]],
    events: &[Option<Events>],
    options: &PanelOptions,
    on_done: &(dyn Fn() + Sync),
) -> Vec<PanelResult> {
    let threads = resolve_threads(options.threads);
    map_jobs(threads, series.len(), |i| {
        let y = series[i];
        let own_events = events.get(i).and_then(Option::as_ref);
        let forecast = forecast_series_with_events(
            y,
            own_events,
            &options.method,
            options.season_length,
            options.horizon,
            options.level,
        );
        let windows = options.backtest_windows;
        let h = options.horizon;
        // Each window's training set keeps at least two seasons (and 8 periods).
        let shortest_training = (2 * options.season_length).max(8);
        // As many windows as asked for that leave each training set at least two seasons
        // (and 8 periods): a short history gets fewer windows rather than none.
        let usable = y.len().saturating_sub(shortest_training) / h.max(1);
        let windows = windows.min(usable);
        let backtest_of = |method: &Method, with_events: bool| {
            rolling_origin(y, options.season_length, h, windows, h, |train, horizon| {
                let origin = train.len();
                // The events as they were known at the origin: history up to it, the test
                // window's events as the future.
                // Events not yet seen by then have no estimable effect and are left out.
                let window_events = own_events.filter(|_| with_events).map(|e| {
                    let seen: Vec<usize> = (0..e.names.len())
                        .filter(|&k| e.history[k][..origin].iter().any(|&v| v != 0.0))
                        .collect();
                    Events {
                        names: seen.iter().map(|&k| e.names[k].clone()).collect(),
                        history: seen
                            .iter()
                            .map(|&k| e.history[k][..origin].to_vec())
                            .collect(),
                        future: seen
                            .iter()
                            .map(|&k| e.history[k][origin..origin + horizon].to_vec())
                            .collect(),
                    }
                });
                let fit = forecast_series_with_events(
                    train,
                    window_events.as_ref(),
                    method,
                    options.season_length,
                    horizon,
                    options.level,
                )?;
                Ok(fit.forecast.mean)
            })
        };
        let long_enough = windows > 0 && h > 0;
        let backtest = long_enough.then(|| backtest_of(&options.method, true));
        let baseline = long_enough.then(|| backtest_of(&Method::SeasonalNaive, false));
        on_done();
        PanelResult {
            forecast,
            backtest,
            baseline,
        }
    })
}
