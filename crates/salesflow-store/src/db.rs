//! Connecting to the database, applying the migrations, and the few things the two dialects
//! spell differently.

use std::borrow::Cow;
use std::time::Duration;

use sqlx::any::{AnyPoolOptions, install_default_drivers};
use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::{AnyPool, Executor, SqlSafeStr};

use crate::error::{ErrorCode, Result, StoreError};
use crate::schema::FieldKind;

/// Which database is behind the pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// The embedded default.
    Sqlite,
    /// PostgreSQL 12 or later.
    Postgres,
}

impl Dialect {
    /// The dialect of an open connection.
    pub(crate) fn of(connection: &sqlx::AnyConnection) -> Dialect {
        if connection.backend_name() == "PostgreSQL" {
            Dialect::Postgres
        } else {
            Dialect::Sqlite
        }
    }

    /// The expression reading custom field `name` (already validated) of a row as a value of
    /// `kind` (text, a real, or a 0/1 flag), to compare and sort on.
    pub(crate) fn custom_field(self, name: &str, kind: FieldKind) -> String {
        // Names of custom fields are checked against `[a-z][a-z0-9_]*` when defined, so they
        // can be spliced into the JSON path without quoting games. SQLite's json_extract
        // gives numbers and 1/0 for booleans already; PostgreSQL's ->> gives text.
        let text = format!("(custom_fields::jsonb ->> '{name}')");
        match (self, kind) {
            (Dialect::Sqlite, _) => format!("json_extract(custom_fields, '$.{name}')"),
            (Dialect::Postgres, FieldKind::Float | FieldKind::Integer) => {
                format!("({text}::double precision)")
            }
            (Dialect::Postgres, FieldKind::Bool) => format!("(({text}::boolean)::int::bigint)"),
            (Dialect::Postgres, _) => text,
        }
    }

    /// Case-insensitive substring match of `expression` against a bound pattern.
    pub(crate) fn contains(self, expression: &str, placeholder: &str) -> String {
        match self {
            Dialect::Sqlite => format!("{expression} LIKE {placeholder} ESCAPE '\\'"),
            Dialect::Postgres => format!("{expression} ILIKE {placeholder} ESCAPE '\\'"),
        }
    }
}

/// The migrations, embedded in the binary so a fresh database needs nothing beside it. Most
/// are shared; a dialect-only one is an empty statement on the other database, and one the
/// dialects spell differently (triggers) has a file per dialect, so both keep the same
/// version numbers.
fn migrator(dialect: Dialect) -> Migrator {
    let postgres_only = |sql: &'static str| {
        if dialect == Dialect::Postgres {
            sql
        } else {
            "SELECT 1;"
        }
    };
    let per_dialect = |sqlite: &'static str, postgres: &'static str| match dialect {
        Dialect::Sqlite => sqlite,
        Dialect::Postgres => postgres,
    };
    let steps: [(i64, &'static str, &'static str); 4] = [
        (1, "crm", include_str!("../migrations/0001_crm.sql")),
        (
            2,
            "postgres sort indexes",
            postgres_only(include_str!("../migrations/0002_postgres_sort_indexes.sql")),
        ),
        (
            3,
            "deal totals",
            per_dialect(
                include_str!("../migrations/0003_deal_totals_sqlite.sql"),
                include_str!("../migrations/0003_deal_totals_postgres.sql"),
            ),
        ),
        (
            4,
            "reference indexes",
            include_str!("../migrations/0004_reference_indexes.sql"),
        ),
    ];
    let migrations = steps
        .into_iter()
        .map(|(version, description, sql)| {
            Migration::new(
                version,
                Cow::Borrowed(description),
                MigrationType::Simple,
                sql.into_sql_str(),
                false,
            )
        })
        .collect();
    Migrator::with_migrations(migrations)
}

/// Opens a pool on `url` (`sqlite://FILE`, `sqlite::memory:`, `postgres://...`), creating a
/// SQLite file when missing, and applies the migrations.
pub(crate) async fn connect(url: &str) -> Result<(AnyPool, Dialect)> {
    install_default_drivers();
    let (url, dialect) = normalise_url(url)?;
    let max_connections = match dialect {
        // One writer at a time anyway; readers share the WAL.
        Dialect::Sqlite => 4,
        Dialect::Postgres => 16,
    };
    let in_memory = url.contains(":memory:") || url.contains("mode=memory");
    let pool = AnyPoolOptions::new()
        .max_connections(if in_memory { 1 } else { max_connections })
        .acquire_timeout(Duration::from_secs(30))
        // An in-memory database lives as long as its one connection.
        .idle_timeout(if in_memory { None } else { Some(Duration::from_secs(600)) })
        .max_lifetime(if in_memory { None } else { Some(Duration::from_secs(1800)) })
        .after_connect(move |connection, _| {
            Box::pin(async move {
                if dialect == Dialect::Sqlite {
                    // WAL lets readers go on while an import writes; NORMAL sync is durable
                    // in WAL mode except for the last commits on power loss.
                    connection
                        .execute("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 10000; PRAGMA cache_size = -262144; PRAGMA temp_store = MEMORY;")
                        .await?;
                }
                Ok(())
            })
        })
        .connect(&url)
        .await
        .map_err(|error| {
            StoreError::new(
                ErrorCode::Database,
                format!("cannot open the database {:?}: {error}", redact_url(&url)),
            )
        })?;
    migrator(dialect).run(&pool).await?;
    Ok((pool, dialect))
}

/// `url` without its password (`postgres://user@host/db`), for messages and reports.
pub fn redact_url(url: &str) -> String {
    let Some(scheme_end) = url.find("://").map(|i| i + 3) else {
        return url.to_string();
    };
    // The credentials are in the authority: up to the first '/', '?' or '#' after the scheme.
    let authority_end = url[scheme_end..]
        .find(['/', '?', '#'])
        .map_or(url.len(), |i| scheme_end + i);
    match url[scheme_end..authority_end].rfind('@') {
        Some(at) => {
            let credentials = &url[scheme_end..scheme_end + at];
            let user = credentials.split(':').next().unwrap_or("");
            format!("{}{user}{}", &url[..scheme_end], &url[scheme_end + at..])
        }
        None => url.to_string(),
    }
}

/// Works out the dialect, and asks SQLite to create a missing file.
fn normalise_url(url: &str) -> Result<(String, Dialect)> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        return Ok((url.to_string(), Dialect::Postgres));
    }
    if let Some(rest) = url.strip_prefix("sqlite:") {
        let url = if rest.contains("mode=") || rest.contains(":memory:") {
            url.to_string()
        } else if rest.contains('?') {
            format!("{url}&mode=rwc")
        } else {
            format!("{url}?mode=rwc")
        };
        return Ok((url, Dialect::Sqlite));
    }
    Err(StoreError::new(
        ErrorCode::InvalidValue,
        format!(
            "unsupported database URL {url:?}: use sqlite://FILE (the default, e.g. sqlite://salesflow.db) or postgres://USER:PASSWORD@HOST/DB"
        ),
    )
    .with_field("db"))
}

/// Now, as the RFC 3339 UTC text the store keeps moments in (microseconds, so rows written
/// in one burst still sort by time).
pub(crate) fn now() -> String {
    chrono::Utc::now()
        .format("%Y-%m-%dT%H:%M:%S%.6fZ")
        .to_string()
}

/// A new id: 48 bits of milliseconds then 80 random bits, as 32 hex digits, so ids sort by
/// creation time (cursor pages and indexes stay append-friendly).
pub(crate) fn new_id() -> String {
    let millis = chrono::Utc::now().timestamp_millis() as u64 & 0xffff_ffff_ffff;
    let mut random = [0u8; 10];
    getrandom::fill(&mut random).expect("the operating system's random source failed");
    format!("{millis:012x}{}", hex(&random))
}

/// `bytes` as lower-case hex.
pub(crate) fn hex(bytes: &[u8]) -> String {
    let mut text = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        text.push_str(&format!("{byte:02x}"));
    }
    text
}

#[cfg(test)]
mod tests {
    #[test]
    fn urls_lose_their_password_only() {
        use super::redact_url;
        assert_eq!(
            redact_url("postgres://sf:secret@db:5432/crm"),
            "postgres://sf@db:5432/crm"
        );
        assert_eq!(
            redact_url("postgres://db/crm?user=a@b"),
            "postgres://db/crm?user=a@b"
        );
        assert_eq!(redact_url("sqlite://salesflow.db"), "sqlite://salesflow.db");
    }

    use super::*;

    #[test]
    fn ids_sort_by_time_and_differ() {
        let first = new_id();
        std::thread::sleep(Duration::from_millis(2));
        let second = new_id();
        assert_eq!(first.len(), 32);
        assert!(first < second);
        assert_ne!(new_id(), new_id());
    }

    #[test]
    fn urls() {
        assert_eq!(
            normalise_url("sqlite://crm.db").unwrap(),
            ("sqlite://crm.db?mode=rwc".to_string(), Dialect::Sqlite)
        );
        assert_eq!(
            normalise_url("postgres://u:p@h/db").unwrap().1,
            Dialect::Postgres
        );
        let error = normalise_url("mysql://x").unwrap_err();
        assert_eq!(error.field(), Some("db"));
    }
}
