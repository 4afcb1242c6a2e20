//! The CRM's persistence: companies, customers, pipelines and their stages, deals with their
//! stage history, activities, products, orders, tags, custom fields, users and API tokens,
//! the audit log and imports — on SQLite (the embedded default) or PostgreSQL, through one
//! code path (sqlx's Any driver; the few dialect differences live in [`db`]).
//!
//! This is the only crate that speaks SQL to the operational database. The HTTP server and
//! the command line are thin layers over [`Store`]: every operation takes the [`Actor`]
//! performing it and enforces what that actor's role and token scopes allow, on every record
//! (lists, search and export included). Entities are described as data in [`schema`], and
//! the generic operations are driven by those descriptions, so a field name from a request
//! is only ever matched against them, never spliced into SQL.
#![warn(missing_docs)]

pub mod analytics;
pub mod audit;
pub mod auth;
pub mod custom_fields;
pub mod db;
pub mod error;
pub mod import;
pub mod merge;
pub mod query;
pub mod records;
pub mod schema;
pub mod value;

use sqlx::AnyPool;

pub use analytics::{CustomerScore, ExportCounts};
pub use audit::{AuditEntry, AuditQuery};
pub use auth::{Actor, IssuedToken, Role, Scope, User};
pub use custom_fields::CustomFieldDef;
pub use db::{Dialect, redact_url};
pub use error::{ErrorCode, Result, StoreError};
pub use import::{ColumnMapping, ImportMode, ImportOptions, ImportReport, RowError};
pub use merge::MergeReport;
pub use query::{Filter, FilterOp, KanbanColumn, ListQuery, Page, SearchHit};
pub use records::{Record, StageChange};

/// An open CRM database.
#[derive(Debug, Clone)]
pub struct Store {
    pool: AnyPool,
    dialect: Dialect,
}

impl Store {
    /// Opens (creating a missing SQLite file) and migrates the database at `url`, and makes
    /// sure it has a sales pipeline to start with.
    pub async fn open(url: &str) -> Result<Store> {
        let (pool, dialect) = db::connect(url).await?;
        let store = Store { pool, dialect };
        store.ensure_default_pipeline().await?;
        Ok(store)
    }

    /// Which database this is.
    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    /// Begins a transaction that writes. SQLite's default (deferred) transaction takes the
    /// write lock only at its first write and, when another connection committed since its
    /// first read, fails there at once with "database is locked" (the busy timeout does not
    /// apply to a stale read snapshot); `BEGIN IMMEDIATE` takes the lock up front, waiting
    /// up to the busy timeout for a writer in progress.
    pub(crate) async fn begin_write(&self) -> Result<sqlx::Transaction<'static, sqlx::Any>> {
        Ok(match self.dialect {
            Dialect::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await?,
            Dialect::Postgres => self.pool.begin().await?,
        })
    }

    /// Closes the pool, waiting for connections to finish.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// On a database without pipelines, creates the stages a startup's sale goes through.
    async fn ensure_default_pipeline(&self) -> Result<()> {
        let existing = sqlx::query("SELECT id FROM pipelines LIMIT 1")
            .fetch_optional(&self.pool)
            .await?;
        if existing.is_some() {
            return Ok(());
        }
        let system = Actor::system();
        let pipeline = self
            .create(
                &system,
                "pipelines",
                &serde_json::json!({"name": "Sales", "position": 1}),
            )
            .await?;
        let pipeline_id = pipeline["id"].clone();
        let stages = [
            ("Contact", 0.1, "open"),
            ("Needs analysis", 0.2, "open"),
            ("Demo", 0.4, "open"),
            ("Close", 0.7, "open"),
            ("Won", 1.0, "won"),
            ("Lost", 0.0, "lost"),
        ];
        for (position, (name, probability, kind)) in stages.into_iter().enumerate() {
            self.create(
                &system,
                "stages",
                &serde_json::json!({"pipeline_id": pipeline_id, "name": name, "position": position as i64 + 1, "probability": probability, "kind": kind}),
            )
            .await?;
        }
        Ok(())
    }
}
