//! The audit log: every create, update, delete, import, merge and login, with who, when, and
//! each changed field's old and new value. Written in the same transaction as the change,
//! so the log never claims a change that was rolled back, nor misses one that was not.

use serde::Serialize;
use serde_json::Value as Json;
use sqlx::{Any, Row, Transaction};

use crate::Store;
use crate::auth::Actor;
use crate::db::{new_id, now};
use crate::error::Result;
use crate::value::{SqlValue, bind};

/// Appends one entry. `changes` maps each field to `[old, new]`.
pub(crate) async fn record(
    transaction: &mut Transaction<'_, Any>,
    actor: &Actor,
    action: &str,
    entity: &str,
    record_id: Option<&str>,
    changes: &Json,
    import_id: Option<&str>,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO audit_log (id, occurred_at, actor_id, action, entity, record_id, changes, import_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(new_id())
    .bind(now())
    .bind(actor.user_id.clone())
    .bind(action)
    .bind(entity)
    .bind(record_id.map(str::to_string))
    .bind(changes.to_string())
    .bind(import_id.map(str::to_string))
    .execute(&mut **transaction)
    .await?;
    Ok(())
}

/// One entry of the log.
#[derive(Debug, Clone, Serialize)]
pub struct AuditEntry {
    /// Entry id (entries sort by it, oldest first).
    pub id: String,
    /// When.
    pub occurred_at: String,
    /// Who (`null`: the system).
    pub actor_id: Option<String>,
    /// create, update, delete, import, undo_import, merge, login, move, revoke.
    pub action: String,
    /// The entity.
    pub entity: String,
    /// The record, when the action had one.
    pub record_id: Option<String>,
    /// Field → [old, new].
    pub changes: Json,
    /// The import this came from.
    pub import_id: Option<String>,
}

/// Which entries to list.
#[derive(Debug, Clone, Default)]
pub struct AuditQuery {
    /// Only this entity.
    pub entity: Option<String>,
    /// Only this record.
    pub record_id: Option<String>,
    /// Only this user's actions.
    pub actor_id: Option<String>,
    /// Only this action.
    pub action: Option<String>,
    /// From this moment (inclusive, RFC 3339).
    pub since: Option<String>,
    /// Before this moment.
    pub until: Option<String>,
    /// Entries after this id (the previous page's last).
    pub after: Option<String>,
    /// At most this many (default 100, at most 1000).
    pub limit: Option<u32>,
}

impl Store {
    /// The audit log, oldest first, filtered. Admins only.
    pub async fn audit_log(&self, actor: &Actor, query: &AuditQuery) -> Result<Vec<AuditEntry>> {
        actor.require_admin()?;
        let mut conditions = Vec::new();
        let mut values = Vec::new();
        let filters = [
            ("entity = ", &query.entity),
            ("record_id = ", &query.record_id),
            ("actor_id = ", &query.actor_id),
            ("action = ", &query.action),
            ("id > ", &query.after),
        ];
        for (condition, value) in filters {
            if let Some(value) = value {
                values.push(SqlValue::Text(Some(value.clone())));
                conditions.push(format!("{condition}${}", values.len()));
            }
        }
        for (condition, moment) in [
            ("occurred_at >= ", &query.since),
            ("occurred_at < ", &query.until),
        ] {
            if let Some(moment) = moment {
                let moment = crate::value::parse_timestamp(moment).ok_or_else(|| {
                    crate::error::StoreError::new(
                        crate::error::ErrorCode::InvalidQuery,
                        format!(
                            "{moment:?} is not a time: use RFC 3339, e.g. 2026-01-31T00:00:00Z"
                        ),
                    )
                })?;
                values.push(SqlValue::Text(Some(moment)));
                conditions.push(format!("{condition}${}", values.len()));
            }
        }
        let where_clause = if conditions.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", conditions.join(" AND "))
        };
        let limit = query.limit.unwrap_or(100).clamp(1, 1000);
        let sql = format!(
            "SELECT id, occurred_at, actor_id, action, entity, record_id, changes, import_id FROM audit_log {where_clause} ORDER BY id LIMIT {limit}"
        );
        let mut statement = sqlx::query(sqlx::AssertSqlSafe(sql));
        for value in values {
            statement = bind(statement, value);
        }
        let rows = statement.fetch_all(&self.pool).await?;
        rows.iter()
            .map(|row| {
                Ok(AuditEntry {
                    id: row.try_get("id")?,
                    occurred_at: row.try_get("occurred_at")?,
                    actor_id: row.try_get("actor_id")?,
                    action: row.try_get("action")?,
                    entity: row.try_get("entity")?,
                    record_id: row.try_get("record_id")?,
                    changes: serde_json::from_str(&row.try_get::<String, _>("changes")?)
                        .unwrap_or(Json::Null),
                    import_id: row.try_get("import_id")?,
                })
            })
            .collect()
    }
}
