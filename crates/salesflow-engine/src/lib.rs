//! salesflow's tabular engine: every scan, join and group-by, on Apache DataFusion.
//!
//! - [`ingest`] reads a canonical table from CSV or Parquet, maps the user's columns, parses
//!   formatted values, cleans (duplicates, refunds, outliers) and accounts for every row in a
//!   [`report::TableReport`].
//! - [`Dataset`] holds the cleaned tables of a data directory registered in a DataFusion
//!   session; [`summary`] computes the per-customer summaries there as SQL plans, [`stats`]
//!   the descriptive statistics, and [`Dataset::sql`] runs the user's own queries.
//! - [`baskets`] turns a basket file or `order_lines` into baskets for market-basket analysis.
//! - [`sales`] holds the order and customer metrics (AOV, repeat rate, cohorts, event
//!   funnel); [`subscriptions`] the MRR movements; [`acquisition`] CAC and ROI per channel.
//! - [`pipeline`] computes the sales pipeline metrics from `deals` and `stage_events`.
//! - [`output`] writes results as CSV, Parquet or JSON, or prints them as a table.
//!
//! The SQL here is plain DataFusion SQL over registered tables, so the same plans can run on
//! a Ballista cluster once the tables are registered there.
#![warn(missing_docs)]

pub mod acquisition;
pub mod baskets;
mod csv_text;
pub mod customer_features;
mod dataset;
pub mod error;
pub mod experiments;
pub mod ingest;
pub mod numeric;
pub mod output;
pub mod parse;
pub mod pipeline;
pub mod positions;
pub mod purchase_periods;
pub mod purchases;
pub mod report;
pub mod sales;
pub mod series;
mod sorted_by_key;
pub mod spend;
pub mod stats;
pub mod subscriptions;
pub mod summary;

#[cfg(test)]
mod test_support;

pub use dataset::{Dataset, default_threads};
pub use error::{EngineError, InputError, Location, Result};
pub use ingest::{LoadedTable, load_table};
