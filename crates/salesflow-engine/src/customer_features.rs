//! One row per customer with everything known about them, registered as the table
//! `customer_features`, and the hand-written segment rules evaluated over it.
//!
//! Columns: the summary with facts (`frequency`, `recency`, `T`, `monetary_value`,
//! `first_order_at`, `last_order_at`, `orders`, `revenue`, `average_order_value`), then
//! `recency_days` (days from the last purchase to the end of the period), every column of the
//! `customers` table, and from `events` when present: `events`, `visits` (events of kind
//! `visit`) and `visit_minutes` (total `duration_s` / 60).

use std::sync::Arc;

use datafusion::arrow::array::{Array, AsArray};
use datafusion::arrow::datatypes::Int64Type;
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::datasource::MemTable;
use salesflow_core::{SegmentRule, TableKind};

use crate::Dataset;
use crate::error::{EngineError, Location, Result};
use crate::summary::Summary;

/// The registered table's name.
pub const TABLE: &str = "customer_features";

/// Registers `customer_features` from a summary computed with facts, in day units, and
/// returns its rows, in the summary's order (by customer_id), so callers can read them
/// without sorting again.
pub async fn register(dataset: &Dataset, summary: &Summary) -> Result<Vec<RecordBatch>> {
    let ctx = dataset.context();
    let provider = MemTable::try_new(summary.schema.clone(), vec![summary.batches.clone()])?;
    ctx.deregister_table("customer_summary")?;
    ctx.register_table("customer_summary", Arc::new(provider))?;
    let mut select = String::from("SELECT s.*, s.\"T\" - s.recency AS recency_days");
    let mut from = String::from("FROM customer_summary s");
    if let Some(customers) = dataset.table(TableKind::Customers) {
        for field in customers.schema.fields() {
            let name = field.name();
            if summary.schema.field_with_name(name).is_ok() || name == "recency_days" {
                continue;
            }
            // Extra attributes arrive as text; one whose every value is a number becomes a
            // number, so that rules can compare it (`satisfaction >= 4`).
            if field.data_type().is_string() && numeric_text(dataset, name).await? {
                select.push_str(&format!(", TRY_CAST(c.\"{name}\" AS DOUBLE) AS \"{name}\""));
            } else {
                select.push_str(&format!(", c.\"{name}\""));
            }
        }
        from.push_str(" LEFT JOIN customers c ON c.customer_id = s.customer_id");
    }
    if let Some(events) = dataset.table(TableKind::Events) {
        let minutes = if events.has_values("duration_s") {
            "COALESCE(SUM(duration_s), 0) / 60.0"
        } else {
            "0.0"
        };
        select.push_str(
            ", COALESCE(e.events, 0) AS events, COALESCE(e.visits, 0) AS visits, \
             COALESCE(e.visit_minutes, 0.0) AS visit_minutes",
        );
        from.push_str(&format!(
            " LEFT JOIN (SELECT customer_id, COUNT(*) AS events, \
             COUNT(*) FILTER (WHERE kind = 'visit') AS visits, {minutes} AS visit_minutes \
             FROM events GROUP BY customer_id) e ON e.customer_id = s.customer_id"
        ));
    }
    let query = format!("{select} {from} ORDER BY s.customer_id");
    let (schema, batches) = dataset.sql_with_schema(&query).await?;
    let provider = MemTable::try_new(schema, vec![batches.clone()])?;
    ctx.deregister_table(TABLE)?;
    ctx.register_table(TABLE, Arc::new(provider))?;
    Ok(batches)
}

/// Whether the text column `name` of `customers` has values and all of them are numbers.
async fn numeric_text(dataset: &Dataset, name: &str) -> Result<bool> {
    let batches = dataset
        .sql(&format!(
            "SELECT COUNT(*) FILTER (WHERE \"{name}\" IS NOT NULL) AS v, \
             COUNT(*) FILTER (WHERE TRY_CAST(\"{name}\" AS DOUBLE) IS NOT NULL) AS n FROM customers"
        ))
        .await?;
    Ok(batches.iter().find(|b| b.num_rows() > 0).is_some_and(|b| {
        let values = b.column(0).as_primitive::<Int64Type>().value(0);
        let numbers = b.column(1).as_primitive::<Int64Type>().value(0);
        values > 0 && values == numbers
    }))
}

/// The column names of `customer_features` (after [`register`]).
pub async fn columns(dataset: &Dataset) -> Result<Vec<String>> {
    let (schema, _) = dataset
        .sql_with_schema(&format!("SELECT * FROM {TABLE} LIMIT 0"))
        .await?;
    Ok(schema.fields().iter().map(|f| f.name().clone()).collect())
}

/// For each customer of `customer_features` (in its order), whether each rule holds (a
/// condition that is NULL, e.g. on a missing value, does not hold). A condition that does not
/// parse or names an unknown column is an input error naming the rule and the columns there
/// are.
pub async fn rule_matches(dataset: &Dataset, rules: &[SegmentRule]) -> Result<Vec<Vec<bool>>> {
    let mut per_rule = Vec::with_capacity(rules.len());
    for rule in rules {
        let query = format!(
            "SELECT COALESCE(CAST(({}) AS BOOLEAN), false) FROM {TABLE} ORDER BY customer_id",
            rule.when
        );
        let batches = match dataset.sql(&query).await {
            Ok(batches) => batches,
            Err(e) => {
                let available = columns(dataset).await.unwrap_or_default().join(", ");
                return Err(EngineError::input(
                    Location::default(),
                    format!(
                        "[segments.rules.{}] when = {:?} cannot be evaluated: {e}",
                        rule.name, rule.when
                    ),
                    Some(format!(
                        "write an SQL condition over the customer columns: {available}"
                    )),
                ));
            }
        };
        let mut matches = Vec::new();
        for batch in &batches {
            let column = batch.column(0).as_boolean();
            matches.extend((0..batch.num_rows()).map(|i| column.is_valid(i) && column.value(i)));
        }
        per_rule.push(matches);
    }
    Ok(per_rule)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::summary::{SummaryOptions, customer_summary};
    use crate::test_support::dataset_of;

    #[tokio::test]
    async fn rules_see_summary_customer_and_event_columns() {
        let orders = "customer_id,ordered_at,amount\n\
                      a,2024-01-01,10\na,2024-01-05,30\nb,2024-01-03,5\nc,2024-01-04,50\n";
        let customers = "customer_id,satisfaction\na,4.5\nb,2.0\n";
        let events = "customer_id,occurred_at,kind,duration_s\n\
                      a,2024-01-01,visit,600\na,2024-01-02,visit,1200\nb,2024-01-02,visit,60\n";
        let (_dir, dataset) = dataset_of(&[
            (TableKind::Orders, orders),
            (TableKind::Customers, customers),
            (TableKind::Events, events),
        ]);
        let summary = customer_summary(
            &dataset,
            &SummaryOptions {
                facts: true,
                ..SummaryOptions::default()
            },
        )
        .await
        .unwrap();
        register(&dataset, &summary).await.unwrap();
        let rule = |name: &str, when: &str| SegmentRule {
            name: name.into(),
            when: when.into(),
            action: None,
        };
        let matches = rule_matches(
            &dataset,
            &[
                rule("engaged", "visit_minutes > 20"),
                rule("happy", "satisfaction >= 4"),
                rule("recent", "recency_days <= 1 AND orders = 1"),
            ],
        )
        .await
        .unwrap();
        // a: 30 minutes of visits, satisfaction 4.5, last order 5 Jan (0 days before the end).
        // b: 1 minute, 2.0, last order 3 Jan (2 days). c: no events, no customer row, 4 Jan.
        assert_eq!(matches[0], [true, false, false]);
        assert_eq!(matches[1], [true, false, false]);
        assert_eq!(matches[2], [false, false, true]);
        let error = rule_matches(&dataset, &[rule("typo", "visit_minute > 3")])
            .await
            .unwrap_err();
        assert!(error.is_bad_input());
        let message = error.to_string();
        assert!(message.contains("[segments.rules.typo]"), "{message}");
    }
}
