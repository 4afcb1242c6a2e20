//! Many series at once — every product, every channel — spread over threads, each with its
//! forecast and, when asked, a rolling-origin backtest of the same method.

use super::accuracy::{Backtest, rolling_origin};
use super::method::{Method, SeriesForecast, forecast_series};
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

/// Forecasts every series (results in input order); `on_done` is called after each, from
/// whichever thread finished it.
pub fn forecast_panel(
    series: &[&[f64]],
    options: &PanelOptions,
    on_done: &(dyn Fn() + Sync),
) -> Vec<PanelResult> {
    let threads = resolve_threads(options.threads);
    map_jobs(threads, series.len(), |i| {
        let y = series[i];
        let forecast = forecast_series(
            y,
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
        let backtest_of = |method: &Method| {
            rolling_origin(y, options.season_length, h, windows, h, |train, horizon| {
                let fit =
                    forecast_series(train, method, options.season_length, horizon, options.level)?;
                Ok(fit.forecast.mean)
            })
        };
        let long_enough = windows > 0 && h > 0;
        let backtest = long_enough.then(|| backtest_of(&options.method));
        let baseline = long_enough.then(|| backtest_of(&Method::SeasonalNaive));
        on_done();
        PanelResult {
            forecast,
            backtest,
            baseline,
        }
    })
}
