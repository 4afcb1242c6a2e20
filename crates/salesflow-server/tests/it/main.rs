//! The REST API driven through its router, on SQLite and (with `SALESFLOW_TEST_PG`) PostgreSQL.

#[path = "../../../salesflow-store/tests/it/harness.rs"]
#[allow(dead_code)]
mod harness;

mod api;
