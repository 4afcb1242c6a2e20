//! A fresh database per test on each backend.

use salesflow_store::{Actor, ListQuery, Record, Role, Store, schema};
use serde_json::Value as Json;
use sqlx::{Connection, Executor};

/// A store on a fresh database, and what to drop afterwards.
pub struct TestDb {
    pub store: Store,
    pub backend: &'static str,
    postgres: Option<(String, String)>,
    _dir: Option<tempfile::TempDir>,
}

impl TestDb {
    async fn finish(self) {
        self.store.close().await;
        if let Some((admin_url, name)) = self.postgres {
            let mut connection = sqlx::AnyConnection::connect(&admin_url)
                .await
                .expect("connect to drop");
            connection
                .execute(sqlx::AssertSqlSafe(format!(
                    "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                )))
                .await
                .expect("drop the test database");
        }
    }
}

async fn sqlite() -> TestDb {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}", dir.path().join("crm.db").display());
    TestDb {
        store: Store::open(&url).await.expect("open SQLite"),
        backend: "sqlite",
        postgres: None,
        _dir: Some(dir),
    }
}

async fn postgres(admin_url: &str) -> TestDb {
    sqlx::any::install_default_drivers();
    let name = format!("sftest_{}", std::process::id()) + &format!("_{:x}", rand_suffix());
    let mut connection = sqlx::AnyConnection::connect(admin_url)
        .await
        .expect("connect to SALESFLOW_TEST_PG");
    connection
        .execute(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .await
        .expect("the SALESFLOW_TEST_PG role needs CREATEDB");
    connection.close().await.ok();
    let base = admin_url.split('?').next().unwrap_or(admin_url);
    let url = format!(
        "{}/{name}",
        &base[..base.rfind('/').expect("a database in the URL")]
    );
    TestDb {
        store: Store::open(&url).await.expect("open PostgreSQL"),
        backend: "postgres",
        postgres: Some((admin_url.to_string(), name)),
        _dir: None,
    }
}

fn rand_suffix() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos() as u64);
    (nanos << 16) ^ COUNTER.fetch_add(1, Ordering::Relaxed)
}

/// Runs `check` on a fresh SQLite database, then on a fresh PostgreSQL one when
/// `SALESFLOW_TEST_PG` is set.
pub async fn on_each_backend<F, Fut>(check: F)
where
    F: Fn(Store, &'static str) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let db = sqlite().await;
    check(db.store.clone(), db.backend).await;
    db.finish().await;
    match std::env::var("SALESFLOW_TEST_PG") {
        Ok(url) if !url.is_empty() => {
            let db = postgres(&url).await;
            check(db.store.clone(), db.backend).await;
            db.finish().await;
        }
        // CI promises both databases; only a developer's `cargo test` may skip one.
        _ if std::env::var("CI").is_ok_and(|ci| ci == "true") => {
            panic!(
                "CI=true but SALESFLOW_TEST_PG is not set: .ci/run should have started PostgreSQL"
            )
        }
        _ => eprintln!("SALESFLOW_TEST_PG is not set: PostgreSQL half of this test skipped"),
    }
}

/// An admin, a manager, two sales users in different teams and an analyst, as actors.
pub struct Cast {
    pub admin: Actor,
    pub manager: Actor,
    pub north: Actor,
    pub north_mate: Actor,
    pub south: Actor,
    pub analyst: Actor,
}

/// A user of `role` in team `team` (created when new) and an API token of theirs with `scopes`.
pub async fn user_with_token(
    store: &Store,
    email: &str,
    role: Role,
    team: Option<&str>,
    scopes: &[salesflow_store::Scope],
) -> String {
    let system = Actor::system();
    let team_id = match team {
        Some(team) => Some(store.ensure_team(&system, team).await.unwrap()),
        None => None,
    };
    let (user, _) = store
        .create_user(
            &system,
            email,
            email,
            role,
            team_id.as_deref(),
            Some("correct horse battery"),
        )
        .await
        .unwrap();
    store
        .create_token(&system, &user.id, "test", scopes)
        .await
        .unwrap()
        .token
}

pub async fn cast(store: &Store) -> Cast {
    let mut actors = Vec::new();
    for (email, role, team) in [
        ("admin@x.io", Role::Admin, None),
        ("manager@x.io", Role::Manager, None),
        ("north@x.io", Role::Sales, Some("North")),
        ("north2@x.io", Role::Sales, Some("North")),
        ("south@x.io", Role::Sales, Some("South")),
        ("analyst@x.io", Role::Analyst, None),
    ] {
        let token = user_with_token(store, email, role, team, salesflow_store::Scope::ALL).await;
        actors.push(store.authenticate_token(&token).await.unwrap());
    }
    let mut actors = actors.into_iter();
    let mut next = || actors.next().unwrap();
    Cast {
        admin: next(),
        manager: next(),
        north: next(),
        north_mate: next(),
        south: next(),
        analyst: next(),
    }
}

/// Every record of every entity and the deals' stage history, for before/after comparisons.
pub async fn dump(store: &Store) -> Vec<(String, Vec<Record>)> {
    let system = Actor::system();
    let mut all = Vec::new();
    for spec in schema::ENTITIES {
        let mut records = Vec::new();
        let mut query = ListQuery {
            limit: Some(1000),
            ..ListQuery::default()
        };
        loop {
            let page = store.list(&system, spec.name, &query).await.unwrap();
            records.extend(page.records);
            match page.next_cursor {
                Some(cursor) => query.cursor = Some(cursor),
                None => break,
            }
        }
        all.push((spec.name.to_string(), records));
    }
    all
}

/// The id of the default pipeline's stage of this name.
pub async fn stage(store: &Store, name: &str) -> String {
    let page = store
        .list(
            &Actor::system(),
            "stages",
            &ListQuery {
                filters: vec![salesflow_store::Filter {
                    field: "name".into(),
                    op: salesflow_store::FilterOp::Eq,
                    value: Json::String(name.into()),
                }],
                ..ListQuery::default()
            },
        )
        .await
        .unwrap();
    page.records[0]["id"].as_str().unwrap().to_string()
}
