//! Customers read from a summary and their predictions under a purchase model and a spend
//! model: what `clv predict`, `clv --orders` and `analyze` share.

use datafusion::arrow::array::{Array, AsArray, Float64Array};
use datafusion::arrow::datatypes::{DataType, Float64Type, Int64Type};
use datafusion::arrow::record_batch::RecordBatch;
use salesflow_core::TimeUnit;
use salesflow_models::clv::{self, GammaGamma, RepeatPurchaseModel};

use crate::error::{AnalyticsError, Result};

/// One customer's summary.
pub struct Customer {
    /// The customer's id.
    pub id: String,
    /// Repeat purchase periods.
    pub frequency: f64,
    /// First to last purchase.
    pub recency: f64,
    /// First purchase to the end of the calibration period (`T`).
    pub age: f64,
    /// Mean value of the repeat purchases.
    pub monetary: f64,
    /// Purchase periods in the holdout, when the summary has one.
    pub holdout: Option<f64>,
}

/// A summary column that is missing or of another type: salesflow's own mistake.
fn column_error(name: &str) -> AnalyticsError {
    AnalyticsError::Engine(salesflow_engine::EngineError::Internal(format!(
        "the customer summary has no usable column {name}"
    )))
}

/// The customers of a summary computed by the engine.
pub fn customers(batches: &[RecordBatch]) -> Result<Vec<Customer>> {
    let mut out = Vec::new();
    for batch in batches {
        let float = |name: &str| -> Result<&Float64Array> {
            batch
                .column_by_name(name)
                .and_then(|c| c.as_primitive_opt::<Float64Type>())
                .ok_or_else(|| column_error(name))
        };
        let ids = datafusion::arrow::compute::cast(batch.column(0), &DataType::Utf8)
            .map_err(|e| AnalyticsError::Engine(e.into()))?;
        let ids = ids.as_string::<i32>();
        let frequency = batch
            .column_by_name("frequency")
            .and_then(|c| c.as_primitive_opt::<Int64Type>())
            .ok_or_else(|| column_error("frequency"))?;
        let holdout = batch
            .column_by_name("frequency_holdout")
            .map(|c| c.as_primitive::<Int64Type>().clone());
        let (recency, age, monetary) = (float("recency")?, float("T")?, float("monetary_value")?);
        for i in 0..batch.num_rows() {
            out.push(Customer {
                id: ids.value(i).to_string(),
                frequency: frequency.value(i) as f64,
                recency: recency.value(i),
                age: age.value(i),
                monetary: monetary.value(i),
                holdout: holdout
                    .as_ref()
                    .filter(|h| h.is_valid(i))
                    .map(|h| h.value(i) as f64),
            });
        }
    }
    Ok(out)
}

/// The per-customer predictions, in the customers' order.
#[derive(Debug, Default)]
pub struct Predictions {
    /// Expected purchases over the horizon's periods.
    pub expected_purchases: Vec<f64>,
    /// Probability that the customer is still alive.
    pub p_alive: Vec<f64>,
    /// Expected value of an order (with a spend model).
    pub expected_spend: Vec<Option<f64>>,
    /// Discounted value over the horizon's months (with a spend model).
    pub clv: Vec<Option<f64>>,
}

/// What to predict.
pub struct Horizon {
    /// Expected purchases over this many periods of the summary's unit.
    pub periods: f64,
    /// CLV over this many months, discounted monthly at `monthly_discount_rate`.
    pub months: u32,
    /// The monthly discount rate (0.01 = 1 % a month).
    pub monthly_discount_rate: f64,
    /// The summary's time unit.
    pub unit: TimeUnit,
}

/// Predicts every customer, on every core (CLV evaluates one expectation per month). Spend
/// and CLV are `None` without a spend model.
pub fn predict(
    model: &(dyn RepeatPurchaseModel + Sync),
    spend: Option<&GammaGamma>,
    customers: &[Customer],
    horizon: &Horizon,
) -> Result<Predictions> {
    let unit = match horizon.unit {
        TimeUnit::Day => clv::TimeUnit::Days,
        TimeUnit::Week => clv::TimeUnit::Weeks,
        TimeUnit::Month => clv::TimeUnit::Months,
    };
    type Row = (f64, f64, Option<f64>, Option<f64>);
    let one = |c: &Customer| -> Result<Row> {
        let row = || -> Result<Row, salesflow_models::ModelError> {
            let expected =
                model.expected_purchases(horizon.periods, c.frequency, c.recency, c.age)?;
            let alive = model.probability_alive(c.frequency, c.recency, c.age)?;
            Ok(match spend {
                Some(gg) => (
                    expected,
                    alive,
                    Some(gg.expected_average_spend(c.frequency, c.monetary)?),
                    Some(gg.customer_lifetime_value(
                        model,
                        c.frequency,
                        c.recency,
                        c.age,
                        c.monetary,
                        horizon.months,
                        horizon.monthly_discount_rate,
                        unit,
                    )?),
                ),
                None => (expected, alive, None, None),
            })
        };
        row().map_err(AnalyticsError::model(format!("customer {}", c.id)))
    };
    let threads = salesflow_engine::default_threads().max(1);
    let per = customers.len().div_ceil(threads).max(1);
    let parts: Vec<Result<Vec<Row>>> = std::thread::scope(|scope| {
        let handles: Vec<_> = customers
            .chunks(per)
            .map(|part| scope.spawn(move || part.iter().map(one).collect::<Result<Vec<_>>>()))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or(Err(AnalyticsError::Thread)))
            .collect()
    });
    let mut out = Predictions::default();
    for part in parts {
        for (e, a, s, v) in part? {
            out.expected_purchases.push(e);
            out.p_alive.push(a);
            out.expected_spend.push(s);
            out.clv.push(v);
        }
    }
    Ok(out)
}

/// The customers as Gamma-Gamma's input rows (weight 1 each; the fitter skips one-time buyers).
pub fn spend_rows(customers: &[Customer]) -> Vec<clv::SpendRow> {
    customers
        .iter()
        .map(|c| clv::SpendRow {
            frequency: c.frequency,
            monetary_value: c.monetary,
            weight: 1.0,
        })
        .collect()
}
