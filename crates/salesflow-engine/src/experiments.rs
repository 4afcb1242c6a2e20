//! The arms of the experiments in the `experiments` table, for the A/B statistics.

use datafusion::arrow::array::{Array, AsArray};
use datafusion::arrow::datatypes::Float64Type;
use salesflow_core::TableKind;

use crate::Dataset;
use crate::error::{EngineError, Location, Result};

/// One arm of one experiment.
#[derive(Debug, Clone, PartialEq)]
pub struct Arm {
    /// The experiment's name.
    pub experiment: String,
    /// The arm's name (`control`, `treatment`, ...).
    pub variant: String,
    /// Customers assigned.
    pub customers: u64,
    /// Customers who converted.
    pub converted: u64,
    /// Revenue of each customer (0 for no revenue), when the table has a revenue column.
    pub revenue: Option<Vec<f64>>,
}

/// Every (experiment, variant) arm, sorted by experiment then variant. A customer listed twice
/// in one experiment counts twice (the cleaning report flags exact duplicates).
pub async fn experiment_arms(dataset: &Dataset) -> Result<Vec<Arm>> {
    let table = dataset.table(TableKind::Experiments).ok_or_else(|| {
        EngineError::input(
            Location::default(),
            "no experiments table is loaded",
            Some("give a file with experiment, variant, customer_id, converted[, revenue]".into()),
        )
    })?;
    let has_revenue = table.has_values("revenue");
    let batches = dataset
        .sql(
            "SELECT experiment, variant, converted, CAST(revenue AS DOUBLE) FROM experiments \
             ORDER BY experiment, variant",
        )
        .await?;
    let mut arms: Vec<Arm> = Vec::new();
    for batch in &batches {
        let experiment = batch.column(0).as_string_view();
        let variant = batch.column(1).as_string_view();
        let converted = batch.column(2).as_boolean();
        let revenue = batch.column(3).as_primitive::<Float64Type>();
        for row in 0..batch.num_rows() {
            let (e, v) = (experiment.value(row), variant.value(row));
            let same = arms
                .last()
                .is_some_and(|a| a.experiment == e && a.variant == v);
            if !same {
                arms.push(Arm {
                    experiment: e.to_owned(),
                    variant: v.to_owned(),
                    customers: 0,
                    converted: 0,
                    revenue: has_revenue.then(Vec::new),
                });
            }
            let Some(arm) = arms.last_mut() else { continue };
            arm.customers += 1;
            arm.converted += u64::from(converted.is_valid(row) && converted.value(row));
            if let Some(values) = arm.revenue.as_mut() {
                values.push(if revenue.is_valid(row) {
                    revenue.value(row)
                } else {
                    0.0
                });
            }
        }
    }
    Ok(arms)
}
