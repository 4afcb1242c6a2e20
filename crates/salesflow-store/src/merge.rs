//! Merging duplicate customers or companies: everything that points at the duplicate (deals,
//! orders, activities, tags, a company's people) moves to the survivor, the survivor's empty
//! fields are filled from the duplicate, and the duplicate goes — in one transaction, with
//! the whole move in the audit log.

use serde::Serialize;
use serde_json::{Map, Value as Json};
use sqlx::{AssertSqlSafe, Row};

use crate::Store;
use crate::auth::Actor;
use crate::db::now;
use crate::error::{ErrorCode, Result, StoreError};
use crate::records::{check_writer, fetch, spec_of, write_update};
use crate::schema::{self, FieldKind};

/// What a merge did.
#[derive(Debug, Clone, Serialize)]
pub struct MergeReport {
    /// The record kept.
    pub survivor_id: String,
    /// The record merged into it and deleted.
    pub duplicate_id: String,
    /// Rows moved to the survivor, per entity and field (`deals.customer_id`: 3).
    pub moved: Map<String, Json>,
    /// Fields of the survivor that were empty and now hold the duplicate's value.
    pub filled: Vec<String>,
}

impl Store {
    /// Merges `duplicate_id` into `survivor_id` (both customers or both companies).
    pub async fn merge(
        &self,
        actor: &Actor,
        entity: &str,
        survivor_id: &str,
        duplicate_id: &str,
    ) -> Result<MergeReport> {
        let spec = spec_of(entity)?;
        if !matches!(spec.name, "customers" | "companies") {
            return Err(StoreError::new(
                ErrorCode::InvalidValue,
                "only customers and companies are merged",
            )
            .with_field("entity"));
        }
        if survivor_id == duplicate_id {
            return Err(StoreError::new(
                ErrorCode::InvalidValue,
                "a record cannot be merged into itself",
            )
            .with_field("duplicate_id"));
        }
        check_writer(spec, actor)?;
        let mut transaction = self.begin_write().await?;
        let survivor = fetch(&mut transaction, spec, actor, survivor_id)
            .await?
            .ok_or_else(|| StoreError::not_found(spec.singular, survivor_id))?;
        let duplicate = fetch(&mut transaction, spec, actor, duplicate_id)
            .await?
            .ok_or_else(|| {
                StoreError::not_found(spec.singular, duplicate_id).with_field("duplicate_id")
            })?;

        let mut moved = Map::new();
        for other in schema::ENTITIES {
            for field in other.fields {
                if field.kind != FieldKind::Reference(spec.name) {
                    continue;
                }
                let sql = format!(
                    "UPDATE {} SET {} = $1, updated_at = $2 WHERE {} = $3",
                    other.name, field.name, field.name
                );
                let count = sqlx::query(AssertSqlSafe(sql))
                    .bind(survivor_id)
                    .bind(now())
                    .bind(duplicate_id)
                    .execute(&mut *transaction)
                    .await?
                    .rows_affected();
                if count > 0 {
                    moved.insert(format!("{}.{}", other.name, field.name), Json::from(count));
                }
            }
        }
        // A tag on both would break the tagging's uniqueness: keep the survivor's.
        sqlx::query(
            "DELETE FROM taggings WHERE record_type = $1 AND record_id = $2 AND tag_id IN (SELECT tag_id FROM taggings WHERE record_type = $1 AND record_id = $3)",
        )
        .bind(spec.name)
        .bind(duplicate_id)
        .bind(survivor_id)
        .execute(&mut *transaction)
        .await?;
        for table in ["activities", "taggings"] {
            let sql = format!(
                "UPDATE {table} SET record_id = $1 WHERE record_type = $2 AND record_id = $3"
            );
            let count = sqlx::query(AssertSqlSafe(sql))
                .bind(survivor_id)
                .bind(spec.name)
                .bind(duplicate_id)
                .execute(&mut *transaction)
                .await?
                .rows_affected();
            if count > 0 {
                moved.insert(format!("{table}.record_id"), Json::from(count));
            }
        }

        // Fill the survivor's gaps; unique values move only once the duplicate is gone.
        let mut values = survivor.values.clone();
        let mut filled = Vec::new();
        let mut changes = Map::new();
        for (i, field) in spec.fields.iter().enumerate() {
            if values[i].is_null() && !duplicate.values[i].is_null() {
                values[i] = duplicate.values[i].clone();
                filled.push(field.name.to_string());
                changes.insert(
                    field.name.into(),
                    Json::Array(vec![Json::Null, values[i].to_json()]),
                );
            }
        }
        let mut custom = survivor.custom.clone();
        for (name, value) in &duplicate.custom {
            if !custom.contains_key(name) {
                custom.insert(name.clone(), value.clone());
                filled.push(format!("custom_fields.{name}"));
                changes.insert(
                    format!("custom_fields.{name}"),
                    Json::Array(vec![Json::Null, value.clone()]),
                );
            }
        }
        sqlx::query(AssertSqlSafe(format!(
            "DELETE FROM {} WHERE id = $1",
            spec.name
        )))
        .bind(duplicate_id)
        .execute(&mut *transaction)
        .await?;
        if !filled.is_empty() {
            write_update(
                &mut transaction,
                spec,
                survivor_id,
                &values,
                &custom,
                &now(),
            )
            .await?;
        }
        changes.insert(
            "merged".into(),
            Json::Array(vec![Json::Object(duplicate.to_record(spec)), Json::Null]),
        );
        changes.insert(
            "moved".into(),
            Json::Array(vec![Json::Null, Json::Object(moved.clone())]),
        );
        crate::audit::record(
            &mut transaction,
            actor,
            "merge",
            spec.name,
            Some(survivor_id),
            &Json::Object(changes),
            None,
        )
        .await?;
        transaction.commit().await?;
        Ok(MergeReport {
            survivor_id: survivor_id.to_string(),
            duplicate_id: duplicate_id.to_string(),
            moved,
            filled,
        })
    }

    /// Records of `entity` that look like duplicates: the same e-mail (customers) or domain
    /// (companies), case-insensitive. Groups of ids, oldest first.
    pub async fn duplicate_groups(&self, actor: &Actor, entity: &str) -> Result<Vec<Vec<String>>> {
        let spec = spec_of(entity)?;
        let key = match spec.name {
            "customers" => "email",
            "companies" => "domain",
            _ => {
                return Err(StoreError::new(
                    ErrorCode::InvalidValue,
                    "duplicates are found among customers and companies",
                )
                .with_field("entity"));
            }
        };
        let mut params = crate::records::Params::new(self.dialect);
        let mut sql = format!(
            "SELECT id, LOWER({key}) AS k FROM {} WHERE {key} IS NOT NULL",
            spec.name
        );
        if let Some(visible) = crate::records::visibility(spec, actor, &mut params) {
            sql.push_str(&format!(" AND {visible}"));
        }
        sql.push_str(&format!(" AND LOWER({key}) IN (SELECT LOWER({key}) FROM {} GROUP BY LOWER({key}) HAVING COUNT(*) > 1) ORDER BY k, id", spec.name));
        let rows = params.query(sql).fetch_all(&self.pool).await?;
        let mut groups: Vec<(String, Vec<String>)> = Vec::new();
        for row in rows {
            let (id, key): (String, String) = (row.try_get("id")?, row.try_get("k")?);
            match groups.last_mut() {
                Some((last, ids)) if *last == key => ids.push(id),
                _ => groups.push((key, vec![id])),
            }
        }
        Ok(groups
            .into_iter()
            .map(|(_, ids)| ids)
            .filter(|ids| ids.len() > 1)
            .collect())
    }
}
