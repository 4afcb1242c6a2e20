//! The store's tests, each run against SQLite and — when `SALESFLOW_TEST_PG` names a
//! PostgreSQL server (CI sets it) — against PostgreSQL too, each on a fresh database.

mod harness;

mod import;
mod lists;
mod records;
mod roles;
