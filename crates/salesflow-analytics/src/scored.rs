//! `customers_scored`: one row per customer with their summary, RFM scores and segment,
//! cluster, rule segments, action, CLV predictions and churn risk.

use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, Float64Array, Int64Array, StringArray, UInt8Array};
use datafusion::arrow::compute::concat_batches;
use datafusion::arrow::datatypes::{Field, Schema};
use datafusion::arrow::record_batch::RecordBatch;

use crate::Analysis;
use crate::error::{AnalyticsError, Result};

/// The scored table, in the summary's order (by customer_id).
pub fn scored_customers(analysis: &Analysis) -> Result<RecordBatch> {
    let arrow = |e: datafusion::arrow::error::ArrowError| AnalyticsError::Engine(e.into());
    let summary =
        concat_batches(&analysis.summary.schema, &analysis.summary.batches).map_err(arrow)?;
    let segments = &analysis.segments;
    let mut fields: Vec<Field> = summary
        .schema()
        .fields()
        .iter()
        .map(|f| f.as_ref().clone())
        .collect();
    let mut columns: Vec<ArrayRef> = summary.columns().to_vec();
    let mut push = |name: &str, array: ArrayRef| {
        fields.push(Field::new(name, array.data_type().clone(), true));
        columns.push(array);
    };
    let rfm = &segments.rfm;
    push("recency_days", recency_days(&summary)?);
    push(
        "r_score",
        Arc::new(UInt8Array::from_iter_values(rfm.iter().map(|s| s.r))),
    );
    push(
        "f_score",
        Arc::new(UInt8Array::from_iter_values(rfm.iter().map(|s| s.f))),
    );
    push(
        "m_score",
        Arc::new(UInt8Array::from_iter_values(rfm.iter().map(|s| s.m))),
    );
    push(
        "rfm_segment",
        Arc::new(StringArray::from_iter_values(
            rfm.iter().map(|s| s.segment.name()),
        )),
    );
    if let Some(clusters) = &segments.clusters {
        push(
            "cluster",
            Arc::new(Int64Array::from_iter_values(
                clusters.labels.iter().map(|&c| c as i64 + 1),
            )),
        );
        push(
            "cluster_name",
            Arc::new(StringArray::from_iter_values(
                clusters
                    .labels
                    .iter()
                    .map(|&c| clusters.stats[c].name.as_str()),
            )),
        );
    }
    if !segments.rules.is_empty() {
        let names = (0..summary.num_rows()).map(|i| {
            segments
                .rules
                .iter()
                .zip(&segments.rule_matches)
                .filter(|(_, m)| m[i])
                .map(|(r, _)| r.key.as_str())
                .collect::<Vec<_>>()
                .join(";")
        });
        push(
            "rule_segments",
            Arc::new(StringArray::from_iter_values(names)),
        );
    }
    push(
        "action",
        Arc::new(StringArray::from_iter_values(
            segments
                .action_of
                .iter()
                .map(|&a| segments.actions[a].as_str()),
        )),
    );
    if let Some(clv) = &analysis.clv {
        let p = &clv.predictions;
        push("p_alive", Arc::new(Float64Array::from(p.p_alive.clone())));
        push(
            "expected_purchases_90d",
            Arc::new(Float64Array::from(p.expected_purchases.clone())),
        );
        push(
            "expected_order_value",
            Arc::new(Float64Array::from(p.expected_spend.clone())),
        );
        push(
            &format!("clv_{}m", clv.horizon.0),
            Arc::new(Float64Array::from(p.clv.clone())),
        );
    }
    if let Some(churn) = &analysis.churn {
        // Scored as of the summary's end, so the same customers in the same order.
        if churn.customers.len() == summary.num_rows() {
            push(
                &format!("churn_probability_{}d", churn.window_days),
                Arc::new(Float64Array::from(churn.probability.clone())),
            );
        }
    }
    let schema = Arc::new(Schema::new(fields));
    RecordBatch::try_new(schema, columns).map_err(arrow)
}

/// Days from the last purchase to the end of the period: `T - recency` of the day-unit summary.
fn recency_days(summary: &RecordBatch) -> Result<ArrayRef> {
    let column = |name: &str| {
        summary.column_by_name(name).ok_or_else(|| {
            AnalyticsError::Engine(salesflow_engine::EngineError::Internal(format!(
                "the customer summary has no column {name}"
            )))
        })
    };
    datafusion::arrow::compute::kernels::numeric::sub(column("T")?, column("recency")?)
        .map_err(|e| AnalyticsError::Engine(e.into()))
}

/// The customers of each action, for the target lists: (action, customer ids).
pub fn action_targets(analysis: &Analysis) -> Vec<(String, Vec<usize>)> {
    let segments = &analysis.segments;
    let mut lists: Vec<Vec<usize>> = vec![Vec::new(); segments.actions.len()];
    for (i, &a) in segments.action_of.iter().enumerate() {
        lists[a].push(i);
    }
    segments.actions.iter().cloned().zip(lists).collect()
}

/// The customers' ids, in the summary's order.
pub fn customer_ids(analysis: &Analysis) -> Vec<String> {
    use datafusion::arrow::datatypes::DataType;
    let mut ids = Vec::with_capacity(analysis.summary.num_rows());
    for batch in &analysis.summary.batches {
        if let Ok(column) = datafusion::arrow::compute::cast(batch.column(0), &DataType::Utf8) {
            let column = datafusion::arrow::array::AsArray::as_string::<i32>(&column);
            ids.extend(column.iter().map(|v| v.unwrap_or_default().to_owned()));
        }
    }
    ids
}

/// The file name of action `index`'s target list: its number and the first words of the
/// action, e.g. `03-win-them-back-personalised-emails.csv`.
pub fn action_file_name(index: usize, action: &str) -> String {
    let words: Vec<String> = action
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .take(5)
        .map(str::to_ascii_lowercase)
        .collect();
    format!("{:02}-{}.csv", index + 1, words.join("-"))
}
