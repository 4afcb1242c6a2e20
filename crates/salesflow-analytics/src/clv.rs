//! The analysis's CLV: BG/NBD for purchases and Gamma-Gamma for spend, fitted on the day-unit
//! summary, and each customer's predictions.

use std::collections::BTreeMap;

use datafusion::arrow::array::{Array, AsArray};
use datafusion::arrow::datatypes::{DataType, Float64Type};
use datafusion::arrow::record_batch::RecordBatch;
use salesflow_core::TimeUnit;
use salesflow_models::clv::{self, FitOptions, FitResult};

use crate::AnalyzeOptions;
use crate::error::{AnalyticsError, Result};
use crate::lifetime::{self, Customer, Horizon, Predictions};

/// Days of the "next purchases" horizon.
pub const PURCHASE_HORIZON_DAYS: f64 = 90.0;

/// Fewest repeat customers the models are fitted on: below it the fits say little.
const MIN_REPEAT_CUSTOMERS: usize = 20;

/// The fitted models and what they predict.
#[derive(Debug)]
pub struct ClvResult {
    /// BG/NBD's fit.
    pub purchase_fit: FitResult,
    /// Gamma-Gamma's fit.
    pub spend_fit: FitResult,
    /// Months of CLV and the monthly discount rate.
    pub horizon: (u32, f64),
    /// Per customer, in the summary's order.
    pub predictions: Predictions,
    /// Correlation of repeat frequency and mean repeat spend: Gamma-Gamma assumes none.
    pub frequency_spend_correlation: f64,
}

impl ClvResult {
    /// Sum of the customers' CLV.
    pub fn total(&self) -> f64 {
        self.predictions.clv.iter().flatten().sum()
    }

    /// Expected purchases of all customers in the next [`PURCHASE_HORIZON_DAYS`].
    pub fn expected_purchases(&self) -> f64 {
        self.predictions.expected_purchases.iter().sum()
    }

    /// Expected number of customers still alive.
    pub fn expected_alive(&self) -> f64 {
        self.predictions.p_alive.iter().sum()
    }
}

/// Fits and predicts; `Err` carries why CLV is skipped (too little repeat data, a fit that
/// failed), which the report shows.
pub(crate) fn fit_and_predict(
    customers: &[Customer],
    name: lifetime::CustomerName<'_>,
    options: &AnalyzeOptions,
) -> std::result::Result<ClvResult, String> {
    let repeaters = customers.iter().filter(|c| c.frequency > 0.0).count();
    if repeaters < MIN_REPEAT_CUSTOMERS {
        return Err(format!(
            "{repeaters} customers bought more than once; the CLV models need at least {MIN_REPEAT_CUSTOMERS}"
        ));
    }
    let started = std::time::Instant::now();
    let triples: Vec<(f64, f64, f64)> = customers
        .iter()
        .map(|c| (c.frequency, c.recency, c.age))
        .collect();
    let fit_options = FitOptions::default();
    let purchase_fit = clv::bg_nbd::fit(&clv::compress(&triples), &fit_options)
        .map_err(|e| format!("BG/NBD could not be fitted: {e}"))?;
    let spend_rows = lifetime::spend_rows(customers);
    let spend_fit = clv::gamma_gamma::fit(&spend_rows, &fit_options)
        .map_err(|e| format!("Gamma-Gamma could not be fitted: {e}"))?;
    if std::env::var_os("SALESFLOW_TIMINGS").is_some() {
        eprintln!("analyze clv fits: {:.3} s", started.elapsed().as_secs_f64());
    }
    let model = clv::BgNbd::from_fit(&purchase_fit).map_err(|e| format!("BG/NBD: {e}"))?;
    let spend = clv::GammaGamma::from_fit(&spend_fit).map_err(|e| format!("Gamma-Gamma: {e}"))?;
    let predictions = lifetime::predict(
        &model,
        Some(&spend),
        customers,
        &Horizon {
            periods: PURCHASE_HORIZON_DAYS,
            months: options.clv_months,
            monthly_discount_rate: options.monthly_discount_rate,
            unit: TimeUnit::Day,
        },
        name,
    )
    .map_err(|e| format!("CLV predictions failed: {e}"))?;
    Ok(ClvResult {
        purchase_fit,
        spend_fit,
        horizon: (options.clv_months, options.monthly_discount_rate),
        predictions,
        frequency_spend_correlation: correlation(
            customers
                .iter()
                .filter(|c| c.frequency > 0.0)
                .map(|c| (c.frequency, c.monetary)),
        ),
    })
}

/// Pearson's correlation (0 when either side is constant).
fn correlation(pairs: impl Iterator<Item = (f64, f64)>) -> f64 {
    let pairs: Vec<(f64, f64)> = pairs.collect();
    let n = pairs.len() as f64;
    if n < 2.0 {
        return 0.0;
    }
    let (mx, my) = (
        pairs.iter().map(|p| p.0).sum::<f64>() / n,
        pairs.iter().map(|p| p.1).sum::<f64>() / n,
    );
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for (x, y) in &pairs {
        sxy += (x - mx) * (y - my);
        sxx += (x - mx).powi(2);
        syy += (y - my).powi(2);
    }
    if sxx == 0.0 || syy == 0.0 {
        0.0
    } else {
        sxy / (sxx * syy).sqrt()
    }
}

/// Mean lifetime value per customer of each acquisition channel: revenue to date plus the
/// predicted discounted value of the CLV horizon. `features` are the rows of
/// `customer_features`, in the predictions' order.
pub(crate) fn mean_by_channel(
    features: &[RecordBatch],
    result: &ClvResult,
) -> Result<BTreeMap<String, f64>> {
    let mut sums: BTreeMap<String, (f64, f64)> = BTreeMap::new();
    let mut row = 0;
    for batch in features {
        let channel = batch
            .column_by_name("acquisition_channel")
            .map(|c| datafusion::arrow::compute::cast(c, &DataType::Utf8))
            .transpose()
            .map_err(|e| AnalyticsError::Engine(e.into()))?;
        let revenue = batch
            .column_by_name("revenue")
            .and_then(|c| c.as_primitive_opt::<Float64Type>());
        for i in 0..batch.num_rows() {
            let future = result.predictions.clv.get(row).copied().flatten();
            row += 1;
            let Some(channel) = channel.as_ref().map(|c| c.as_string::<i32>()) else {
                continue;
            };
            if channel.is_null(i) {
                continue;
            }
            let past = revenue
                .filter(|r| r.is_valid(i))
                .map_or(0.0, |r| r.value(i));
            let entry = sums.entry(channel.value(i).to_owned()).or_default();
            entry.0 += past + future.unwrap_or(0.0);
            entry.1 += 1.0;
        }
    }
    Ok(sums
        .into_iter()
        .map(|(channel, (sum, n))| (channel, sum / n))
        .collect())
}
