//! Descriptive statistics of every numeric column, computed by DataFusion.

use datafusion::arrow::array::{Array, AsArray};
use datafusion::arrow::datatypes::{DataType, Float64Type, Int64Type};
use salesflow_core::TableKind;

use crate::dataset::Dataset;
use crate::error::Result;
use crate::report::ColumnStats;

/// Statistics of the numeric columns of `table`: count, missing, mean, sample standard
/// deviation, min, quartiles (linear interpolation, as pandas' `describe`), max.
pub async fn describe(dataset: &Dataset, table: TableKind) -> Result<Vec<ColumnStats>> {
    let Some(loaded) = dataset.table(table) else {
        return Ok(Vec::new());
    };
    let numeric: Vec<String> = loaded
        .schema
        .fields()
        .iter()
        .filter(|f| matches!(f.data_type(), DataType::Float64 | DataType::Int64))
        .map(|f| f.name().clone())
        .collect();
    let mut out = Vec::with_capacity(numeric.len());
    for column in numeric {
        let c = format!("CAST(\"{column}\" AS DOUBLE)");
        let sql = format!(
            "SELECT COUNT({c}), COUNT(*) - COUNT({c}), AVG({c}), STDDEV_SAMP({c}), MIN({c}),
                    percentile_cont(0.25) WITHIN GROUP (ORDER BY {c}),
                    percentile_cont(0.5) WITHIN GROUP (ORDER BY {c}),
                    percentile_cont(0.75) WITHIN GROUP (ORDER BY {c}),
                    MAX({c})
             FROM {table}"
        );
        let batches = dataset.sql(&sql).await?;
        let Some(b) = batches.first().filter(|b| b.num_rows() == 1) else {
            continue;
        };
        let int = |i: usize| b.column(i).as_primitive::<Int64Type>().value(0) as u64;
        let float = |i: usize| {
            let a = b.column(i).as_primitive::<Float64Type>();
            a.is_valid(0).then(|| a.value(0))
        };
        out.push(ColumnStats {
            column,
            count: int(0),
            missing: int(1),
            mean: float(2),
            std: float(3),
            min: float(4),
            q1: float(5),
            median: float(6),
            q3: float(7),
            max: float(8),
        });
    }
    Ok(out)
}
