//! The bridge to the analytics: the CRM's orders, order lines, products, customers, deals and
//! stage history written out as the canonical tables of the data contract (so `salesflow
//! analyze --db` runs the very same ingest, cleaning report and analyses as on files), and
//! the per-customer scores written back onto the customers.

use std::path::Path;

use serde::Serialize;
use sqlx::Row;

use crate::Store;
use crate::auth::{Actor, Role};
use crate::db::now;
use crate::error::{ErrorCode, Result, StoreError};
use crate::records::Params;
use crate::value::SqlValue;

/// One canonical table: its file name, the header, and the query giving its rows in that
/// order (every column as text or a number).
struct CanonicalTable {
    file: &'static str,
    header: &'static [&'static str],
    query: &'static str,
}

const TABLES: &[CanonicalTable] = &[
    CanonicalTable {
        file: "orders.csv",
        header: &[
            "order_id",
            "customer_id",
            "ordered_at",
            "amount",
            "currency",
            "channel",
            "status",
        ],
        query: "SELECT id, customer_id, ordered_at, amount, currency, channel, status FROM orders ORDER BY id",
    },
    CanonicalTable {
        file: "order_lines.csv",
        header: &["order_id", "product_id", "quantity", "unit_price"],
        query: "SELECT order_id, product_id, quantity, unit_price FROM order_lines ORDER BY id",
    },
    CanonicalTable {
        file: "products.csv",
        header: &["product_id", "name", "category", "price"],
        query: "SELECT id, name, category, price FROM products ORDER BY id",
    },
    CanonicalTable {
        file: "customers.csv",
        header: &[
            "customer_id",
            "created_at",
            "email",
            "name",
            "company",
            "country",
            "industry",
        ],
        query: "SELECT c.id, c.created_at, c.email, c.name, co.name, co.country, co.industry FROM customers c LEFT JOIN companies co ON co.id = c.company_id ORDER BY c.id",
    },
    CanonicalTable {
        file: "deals.csv",
        header: &[
            "deal_id",
            "created_at",
            "stage",
            "amount",
            "customer_id",
            "pipeline",
            "owner",
            "closed_at",
            "status",
            "lost_reason",
        ],
        query: "SELECT d.id, d.created_at, s.name, COALESCE(d.amount, 0), d.customer_id, p.name, u.email, d.closed_at, s.kind, r.name \
                FROM deals d JOIN stages s ON s.id = d.stage_id JOIN pipelines p ON p.id = d.pipeline_id \
                LEFT JOIN users u ON u.id = d.owner_id LEFT JOIN lost_reasons r ON r.id = d.lost_reason_id ORDER BY d.id",
    },
    CanonicalTable {
        file: "stage_events.csv",
        header: &["deal_id", "stage", "entered_at"],
        query: "SELECT h.deal_id, s.name, h.changed_at FROM deal_stage_history h JOIN stages s ON s.id = h.to_stage_id ORDER BY h.deal_id, h.changed_at, h.id",
    },
];

/// Rows written per table.
#[derive(Debug, Clone, Serialize)]
pub struct ExportCounts {
    /// (file, rows).
    pub tables: Vec<(String, u64)>,
}

/// One customer's scores from an analysis.
#[derive(Debug, Clone)]
pub struct CustomerScore {
    /// The CRM's customer id.
    pub customer_id: String,
    /// Segment name.
    pub segment: Option<String>,
    /// Predicted value over the analysis horizon.
    pub clv: Option<f64>,
    /// Probability the customer is still active.
    pub p_alive: Option<f64>,
    /// Recommended next action.
    pub next_action: Option<String>,
}

fn cell(row: &sqlx::any::AnyRow, index: usize) -> Result<String> {
    if let Ok(text) = row.try_get::<Option<String>, _>(index) {
        return Ok(text.unwrap_or_default());
    }
    if let Ok(number) = row.try_get::<Option<f64>, _>(index) {
        return Ok(number.map_or(String::new(), |x| format!("{x}")));
    }
    Ok(row
        .try_get::<Option<i64>, _>(index)?
        .map_or(String::new(), |x| x.to_string()))
}

impl Store {
    /// Writes the canonical tables that have rows into `dir` (all the CRM's records:
    /// analytics read everything, so only roles that see everything may run it).
    pub async fn export_for_analysis(&self, actor: &Actor, dir: &Path) -> Result<ExportCounts> {
        actor.require_scope(crate::auth::Scope::Read)?;
        if !actor.sees_everything() {
            return Err(StoreError::forbidden(
                "analytics read every record; a sales user's view is partial",
            ));
        }
        let io = |error: std::io::Error| {
            StoreError::new(
                ErrorCode::Database,
                format!("writing the tables into {}: {error}", dir.display()),
            )
        };
        std::fs::create_dir_all(dir).map_err(io)?;
        let mut counts = Vec::new();
        for table in TABLES {
            let rows = sqlx::query(table.query).fetch_all(&self.pool).await?;
            let path = dir.join(table.file);
            if rows.is_empty() {
                // An absent table is one the analysis goes without; an empty file is an error
                // to the ingest. A file of an earlier export must not stand in for it.
                if path.exists() {
                    std::fs::remove_file(&path).map_err(io)?;
                }
                counts.push((table.file.to_string(), 0));
                continue;
            }
            let mut writer = csv::Writer::from_path(&path).map_err(|e| io(e.into()))?;
            writer
                .write_record(table.header)
                .map_err(|e| io(e.into()))?;
            for row in &rows {
                let cells = (0..table.header.len())
                    .map(|i| cell(row, i))
                    .collect::<Result<Vec<_>>>()?;
                writer.write_record(&cells).map_err(|e| io(e.into()))?;
            }
            writer.flush().map_err(io)?;
            counts.push((table.file.to_string(), rows.len() as u64));
        }
        Ok(ExportCounts { tables: counts })
    }

    /// Writes the analysis' scores onto the customers, many per statement, in one
    /// transaction; customers without a score keep theirs. Returns how many were updated.
    pub async fn write_scores(&self, actor: &Actor, scores: &[CustomerScore]) -> Result<u64> {
        actor.require_writer()?;
        if !matches!(actor.role, Role::Admin | Role::Manager) {
            return Err(StoreError::forbidden(
                "only admins and managers write analytics scores",
            ));
        }
        let stamp = now();
        let mut transaction = self.begin_write().await?;
        let mut updated = 0;
        // Five parameters per customer; well under both databases' limits.
        for chunk in scores.chunks(2000) {
            let mut params = Params::new(self.dialect);
            let rows: Vec<String> = chunk
                .iter()
                .map(|score| {
                    format!(
                        "({}, {}, CAST({} AS DOUBLE PRECISION), CAST({} AS DOUBLE PRECISION), {})",
                        params.text(&score.customer_id),
                        params.push(SqlValue::Text(score.segment.clone())),
                        params.push(SqlValue::Float(score.clv.filter(|x| x.is_finite()))),
                        params.push(SqlValue::Float(score.p_alive.filter(|x| x.is_finite()))),
                        params.push(SqlValue::Text(score.next_action.clone())),
                    )
                })
                .collect();
            // Pushed after the rows: it comes after them in the statement.
            let stamp_param = params.text(&stamp);
            let sql = format!(
                // A CTE names the VALUES columns in both dialects (SQLite has no alias lists).
                "WITH v (id, segment, clv, p_alive, action) AS (VALUES {}) \
                 UPDATE customers SET segment = v.segment, clv = v.clv, p_alive = v.p_alive, next_action = v.action, scored_at = {stamp_param} \
                 FROM v WHERE customers.id = v.id",
                rows.join(", ")
            );
            updated += params
                .query(sql)
                .persistent(false)
                .execute(&mut *transaction)
                .await?
                .rows_affected();
        }
        let summary = serde_json::json!({"scored": [null, updated]});
        crate::audit::record(
            &mut transaction,
            actor,
            "score",
            "customers",
            None,
            &summary,
            None,
        )
        .await?;
        transaction.commit().await?;
        Ok(updated)
    }
}
