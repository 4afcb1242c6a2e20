//! Forecasts: revenue and orders for the coming months with their prediction intervals as
//! charts, and every forecast series in a table with its backtest against seasonal naive (the
//! same forecasts as `salesflow forecast --data`).

use salesflow_analytics::Analysis;
use salesflow_analytics::findings::thousands;
use salesflow_analytics::forecast::{PanelForecast, SeriesOutcome, period_label};

use super::{BLUE, ORANGE};
use crate::html::Section;
use crate::lines::{Band, LineChart, Series, line_chart};

/// Months of history drawn before the forecast.
const HISTORY_SHOWN: usize = 36;

fn score(value: Option<f64>) -> String {
    value.map_or("–".into(), |v| format!("{v:.2}"))
}

/// History (the last [`HISTORY_SHOWN`] periods) and forecast with its band, on one axis.
fn chart(
    panel: &PanelForecast,
    outcome: &SeriesOutcome,
    title: &str,
    y_label: &str,
) -> Option<String> {
    let forecast = outcome.forecast.as_ref()?;
    let values = &outcome.series.values;
    let shown = values.len().min(HISTORY_SHOWN);
    let first = outcome.series.first_period + (values.len() - shown) as i64;
    let total = shown + forecast.mean.len();
    let x_ticks: Vec<String> = (0..total as i64)
        .map(|k| period_label(panel.frequency, first + k)[..7].to_string())
        .collect();
    let mut actual = vec![f64::NAN; total];
    actual[..shown].copy_from_slice(&values[values.len() - shown..]);
    let mut predicted = vec![f64::NAN; total];
    let (mut lower, mut upper) = (vec![f64::NAN; total], vec![f64::NAN; total]);
    // The forecast line starts at the last actual value so the two join.
    predicted[shown - 1] = values[values.len() - 1];
    for (k, ((m, l), u)) in forecast
        .mean
        .iter()
        .zip(&forecast.lower)
        .zip(&forecast.upper)
        .enumerate()
    {
        predicted[shown + k] = *m;
        lower[shown + k] = *l;
        upper[shown + k] = *u;
    }
    let band_name = format!("{:.0} % interval", 100.0 * panel.level);
    Some(line_chart(&LineChart {
        title,
        x_label: panel.frequency.name(),
        y_label,
        x_ticks,
        series: vec![
            Series {
                name: "actual",
                color: BLUE,
                values: actual,
            },
            Series {
                name: outcome.model.as_deref().unwrap_or("forecast"),
                color: ORANGE,
                values: predicted,
            },
        ],
        band: Some(Band {
            name: &band_name,
            color: ORANGE,
            lower,
            upper,
        }),
    }))
}

pub(crate) fn render(a: &Analysis) -> Option<Section> {
    let panel = a.forecast.as_ref()?;
    let mut s = Section::new("forecasts", "Forecasts");
    let mut text = format!(
        "The next {} months of each series, by the exponential-smoothing model (ETS) with the \
         lowest AICc among the fifteen candidates R's forecast package also tries (Croston–SBA \
         for products sold in fewer than three months out of four), with {:.0} % prediction \
         intervals. A month the data ends inside is left out.",
        panel.horizon,
        100.0 * panel.level
    );
    if let Some(accuracy) = panel.accuracy {
        text.push_str(&format!(
            " Backtested on up to {} rolling windows of {} months: mean MASE {} against {} for \
             repeating last year's month (seasonal naive; below 1 beats the naive forecast's \
             in-sample error), sMAPE {:.1} %.",
            panel.backtest_windows,
            panel.horizon,
            score(accuracy.mase),
            score(accuracy.baseline_mase),
            accuracy.smape
        ));
    } else if panel.backtest_windows > 0 {
        text.push_str(&format!(
            " No backtest: that needs two years to train on plus {} months to test, more \
             history than there is.",
            panel.horizon
        ));
    }
    s.paragraph(&text);
    let find = |id: &str| panel.series.iter().find(|o| o.series.id == id);
    if let Some(svg) =
        find("revenue").and_then(|o| chart(panel, o, "Revenue by month, and forecast", "revenue"))
    {
        s.chart(&svg);
    }
    if let Some(svg) =
        find("orders").and_then(|o| chart(panel, o, "Orders by month, and forecast", "orders"))
    {
        s.chart(&svg);
    }
    let rows: Vec<Vec<String>> = panel
        .series
        .iter()
        .map(|o| {
            let Some(f) = &o.forecast else {
                return vec![
                    o.series.id.clone(),
                    "not forecast".into(),
                    o.error.clone().unwrap_or_default(),
                    String::new(),
                    String::new(),
                    String::new(),
                    String::new(),
                ];
            };
            vec![
                o.series.id.clone(),
                o.model.clone().unwrap_or_default(),
                thousands(f.mean[0]),
                format!("{} – {}", thousands(f.lower[0]), thousands(f.upper[0])),
                thousands(f.mean.iter().sum()),
                score(o.backtest.as_ref().and_then(|b| b.mase)),
                score(o.baseline.as_ref().and_then(|b| b.mase)),
            ]
        })
        .collect();
    s.table(
        &[
            "series",
            "model",
            "next month",
            "interval",
            &format!("next {} months", panel.horizon),
            "MASE",
            "seasonal naive MASE",
        ],
        &rows,
    );
    Some(s)
}
