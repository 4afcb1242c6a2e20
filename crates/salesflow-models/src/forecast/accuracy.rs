//! Forecast accuracy by rolling origin: refit at several cut-offs, forecast the next `h`
//! periods, score against what happened. Errors are scaled by the in-sample seasonal naive
//! error so series of any size average together (Hyndman & Koehler 2006; M4 for MASE, M5 for
//! RMSSE with the seasonal lag in its place).

use crate::ModelError;

/// Scores of one forecast window.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WindowScore {
    /// Index of the first forecast period (the training set is everything before it).
    pub origin: usize,
    /// Mean absolute error over the in-sample seasonal naive MAE; `None` when that is 0.
    pub mase: Option<f64>,
    /// Symmetric MAPE in percent (0–200).
    pub smape: f64,
    /// Root mean squared error over the in-sample seasonal naive RMSE; `None` when that is 0.
    pub rmsse: Option<f64>,
}

/// A series' backtest: each window and the means over windows.
#[derive(Debug, Clone, PartialEq)]
pub struct Backtest {
    /// The windows, earliest first.
    pub windows: Vec<WindowScore>,
    /// Mean MASE over the windows that have one.
    pub mase: Option<f64>,
    /// Mean sMAPE.
    pub smape: f64,
    /// Mean RMSSE over the windows that have one.
    pub rmsse: Option<f64>,
}

/// Scores `forecast` of `actual` made from `train` (seasonal naive scale with lag `m`, plain
/// naive when `m` is 1 or the training set is shorter than a season plus one).
pub fn score(
    train: &[f64],
    actual: &[f64],
    forecast: &[f64],
    m: usize,
    origin: usize,
) -> WindowScore {
    let lag = if m > 1 && train.len() > m { m } else { 1 };
    // Everything divided by the largest magnitude first, so squares of huge values (1e300)
    // do not overflow; the ratios are unchanged.
    let largest = train
        .iter()
        .chain(actual)
        .chain(forecast)
        .map(|v| v.abs())
        .filter(|v| v.is_finite())
        .fold(0.0, f64::max);
    let norm = if largest > 0.0 { largest } else { 1.0 };
    let naive: Vec<f64> = (lag..train.len())
        .map(|t| (train[t] - train[t - lag]) / norm)
        .collect();
    let scale_abs = mean(naive.iter().map(|d| d.abs()));
    let scale_sq = mean(naive.iter().map(|d| d * d));
    let mae = mean(
        actual
            .iter()
            .zip(forecast)
            .map(|(a, f)| (a - f).abs() / norm),
    );
    let mse = mean(
        actual
            .iter()
            .zip(forecast)
            .map(|(a, f)| ((a - f) / norm).powi(2)),
    );
    let smape = mean(actual.iter().zip(forecast).map(|(a, f)| {
        let denominator = a.abs() + f.abs();
        if denominator == 0.0 {
            0.0
        } else {
            200.0 * (a - f).abs() / denominator
        }
    }));
    WindowScore {
        origin,
        mase: (scale_abs > 0.0).then(|| mae / scale_abs),
        smape,
        rmsse: (scale_sq > 0.0).then(|| (mse / scale_sq).sqrt()),
    }
}

fn mean(values: impl Iterator<Item = f64>) -> f64 {
    let (sum, count) = values.fold((0.0, 0usize), |(s, c), v| (s + v, c + 1));
    if count == 0 {
        f64::NAN
    } else {
        sum / count as f64
    }
}

/// Rolling-origin backtest: `windows` cut-offs `step` periods apart, the last one `horizon`
/// periods before the end; `forecast(train, horizon)` gives the point forecasts.
pub fn rolling_origin(
    y: &[f64],
    season_length: usize,
    horizon: usize,
    windows: usize,
    step: usize,
    mut forecast: impl FnMut(&[f64], usize) -> Result<Vec<f64>, ModelError>,
) -> Result<Backtest, ModelError> {
    let needed = horizon + step * windows.saturating_sub(1) + 2;
    if windows == 0 || horizon == 0 || y.len() < needed {
        return Err(ModelError::SeriesTooShort {
            model: format!("a backtest of {windows} windows of {horizon} periods"),
            length: y.len(),
            needed,
        });
    }
    let mut scores = Vec::with_capacity(windows);
    for k in 0..windows {
        let origin = y.len() - horizon - step * (windows - 1 - k);
        let train = &y[..origin];
        let actual = &y[origin..origin + horizon];
        let predicted = forecast(train, horizon)?;
        scores.push(score(train, actual, &predicted, season_length, origin));
    }
    let average = |pick: fn(&WindowScore) -> Option<f64>| {
        let values: Vec<f64> = scores.iter().filter_map(pick).collect();
        (!values.is_empty()).then(|| values.iter().sum::<f64>() / values.len() as f64)
    };
    Ok(Backtest {
        mase: average(|w| w.mase),
        rmsse: average(|w| w.rmsse),
        smape: scores.iter().map(|w| w.smape).sum::<f64>() / windows as f64,
        windows: scores,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scores_follow_their_definitions() {
        let train = [1.0, 2.0, 4.0, 3.0];
        // Naive differences (m = 1): 1, 2, −1 → MAE 4/3, MSE 2.
        let s = score(&train, &[5.0, 5.0], &[4.0, 6.0], 1, 4);
        assert!((s.mase.unwrap() - 1.0 / (4.0 / 3.0)).abs() < 1e-12);
        assert!((s.rmsse.unwrap() - (1.0f64 / 2.0).sqrt()).abs() < 1e-12);
        let smape = (200.0 / 9.0 + 200.0 / 11.0) / 2.0;
        assert!((s.smape - smape).abs() < 1e-12);
        // A flat history has no scale: MASE and RMSSE are undefined, not infinite.
        let flat = score(&[2.0; 5], &[2.0], &[3.0], 1, 5);
        assert_eq!((flat.mase, flat.rmsse), (None, None));
        // Huge values: squares would overflow without the normalisation.
        let huge = score(
            &[1e300, 2e300, 4e300, 3e300],
            &[5e300, 5e300],
            &[4e300, 6e300],
            1,
            4,
        );
        assert!((huge.rmsse.unwrap() - s.rmsse.unwrap()).abs() < 1e-12);
        assert!((huge.mase.unwrap() - s.mase.unwrap()).abs() < 1e-12);
        assert_eq!(score(&[0.0; 3], &[0.0], &[0.0], 1, 3).smape, 0.0);
    }

    #[test]
    fn rolling_origin_places_windows_at_the_end() {
        let y: Vec<f64> = (0..20).map(f64::from).collect();
        let mut origins = Vec::new();
        let backtest = rolling_origin(&y, 1, 3, 3, 2, |train, h| {
            origins.push(train.len());
            Ok(vec![*train.last().unwrap(); h])
        })
        .unwrap();
        assert_eq!(origins, vec![13, 15, 17]);
        assert_eq!(backtest.windows.len(), 3);
        // Naive on a unit ramp: errors 1, 2, 3 over a scale of 1.
        assert!((backtest.mase.unwrap() - 2.0).abs() < 1e-12);
        assert!(rolling_origin(&y[..5], 1, 3, 3, 2, |_, h| Ok(vec![0.0; h])).is_err());
    }
}
