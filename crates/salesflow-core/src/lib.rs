//! Domain vocabulary shared by every salesflow crate.
//!
//! salesflow reads a company's data as a handful of *canonical tables* (orders, customers,
//! deals, ...). This crate names them and their columns ([`tables`]), holds the user's
//! configuration (`salesflow.toml`: column mapping and reading options, [`config`]), the
//! time units the customer summaries are measured in ([`TimeUnit`]) and the progress hook the
//! long-running library calls report through ([`progress`]). It has no I/O beyond reading the
//! configuration file, and no heavy dependencies, so every other crate can depend on it.
#![warn(missing_docs)]

pub mod config;
pub mod progress;
pub mod tables;
mod time_unit;

pub use config::{Config, ConfigError, Delimiter, Locale, ReadOptions, SegmentRule, SpendBound};
pub use tables::{ColumnSpec, TableKind, ValueKind};
pub use time_unit::TimeUnit;
