//! The analysis's CLV: BG/NBD for purchases and Gamma-Gamma for spend, fitted on the day-unit
//! summary, and each customer's predictions.

use std::collections::BTreeMap;

use datafusion::arrow::array::{Array, AsArray};
use salesflow_core::TimeUnit;
use salesflow_engine::Dataset;
use salesflow_engine::summary::Summary;
use salesflow_models::clv::{self, FitOptions, FitResult};

use crate::AnalyzeOptions;
use crate::error::Result;
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
    options: &AnalyzeOptions,
) -> std::result::Result<ClvResult, String> {
    let repeaters = customers.iter().filter(|c| c.frequency > 0.0).count();
    if repeaters < MIN_REPEAT_CUSTOMERS {
        return Err(format!(
            "{repeaters} customers bought more than once; the CLV models need at least {MIN_REPEAT_CUSTOMERS}"
        ));
    }
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
/// predicted discounted value of the CLV horizon.
pub(crate) async fn mean_by_channel(
    dataset: &Dataset,
    summary: &Summary,
    result: &ClvResult,
) -> Result<BTreeMap<String, f64>> {
    let batches = dataset
        .sql(&format!(
            "SELECT acquisition_channel, revenue FROM {} ORDER BY customer_id",
            salesflow_engine::customer_features::TABLE
        ))
        .await?;
    let mut sums: BTreeMap<String, (f64, f64)> = BTreeMap::new();
    let mut row = 0;
    for batch in &batches {
        let channel = batch.column(0).as_string_view();
        let revenue = batch
            .column(1)
            .as_primitive::<datafusion::arrow::datatypes::Float64Type>();
        for i in 0..batch.num_rows() {
            let future = result.predictions.clv.get(row).copied().flatten();
            row += 1;
            if channel.is_null(i) {
                continue;
            }
            let value = if revenue.is_valid(i) {
                revenue.value(i)
            } else {
                0.0
            } + future.unwrap_or(0.0);
            let entry = sums.entry(channel.value(i).to_owned()).or_default();
            entry.0 += value;
            entry.1 += 1.0;
        }
    }
    debug_assert_eq!(row, summary.num_rows());
    Ok(sums
        .into_iter()
        .map(|(channel, (sum, n))| (channel, sum / n))
        .collect())
}
