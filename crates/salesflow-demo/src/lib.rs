//! # salesflow-demo — a reproducible synthetic company
//!
//! [`generate`] writes every canonical table of the salesflow data contract
//! (`orders`, `order_lines`, `products`, `customers`, `deals`, `stage_events`,
//! `marketing_spend`, `subscriptions`, `events`, `experiments`) for a fictional
//! online shop selling cameras, lenses, laptops and their accessories, as CSV
//! (`dir/csv/<table>.csv`) and/or Parquet (`dir/parquet/<table>.parquet`).
//! With [`DemoConfig::orders_only`] it writes only `orders`: that mode is the
//! benchmark generator (3 million customers give about 10 million orders).
//!
//! The data are not noise: they come from the generative models below, whose
//! parameters live in [`params`] so that tests of the analytics can check
//! parameter recovery.
//!
//! ## Reproducibility
//!
//! The same seed and customer count give byte-identical files, whatever the
//! number of threads. Customers are generated in chunks of 10,000 consecutive
//! customer numbers; every table of chunk `k` draws from its own ChaCha8
//! stream keyed by `(seed, table, k)`. The purchase process has its own
//! stream, separate from order values and baskets, so `orders_only` gives the
//! same customers, order times and statuses as the full mode (only the amounts
//! differ). Two worker threads generate chunks, assign the global order and
//! deal numbers and encode the CSV rows; the calling thread appends the rows
//! to the CSV files in chunk order and a third thread encodes Parquet. Memory
//! is bounded by a few chunks in flight plus one Parquet row group (1,000,000
//! rows, ZSTD level 1).
//!
//! ## Calendar and formats
//!
//! Data span 2024-01-01T00:00:00Z to 2025-12-31T23:59:59Z (fixed). Timestamps
//! are whole seconds, written as `2024-03-05T14:22:31Z` in CSV and as
//! `Timestamp(Microsecond, "UTC")` in Parquet; dates as `YYYY-MM-DD` /
//! `Date32`; money as `Float64` rounded to cents. Ids: customers `C0000001`,
//! orders `O00000001`, deals `D000001`, products `P0001` (zero-padded, wider when
//! needed). Customer numbers follow sign-up time. Empty CSV fields are nulls.
//!
//! ## Generative model
//!
//! **Acquisition and marketing.** Weekly spend per channel (`search`, `social`,
//! `display`, `email`, `referral`, `events`) and segment (`smb`, `mid_market`)
//! for the 104 Mondays 2024-01-01 .. 2025-12-22 is a log-normal around a base
//! budget, times a monthly budget profile (high in Oct-Dec, low in summer),
//! times 35 % linear growth over the two years; `display` pauses in 20 % of
//! weeks and `events` runs in only 30 % of weeks. Spend scales linearly with
//! `customers / 20,000`. The expected number of new customers of a
//! (week, channel, segment) cell is
//! `V * effect_c * segment_s * demand(month) * Hill(spend / scale; K_c, h_c) * LogNormal(0, 0.1)`
//! with `Hill(x; K, h) = x^h / (K^h + x^h)` (diminishing returns); an `organic`
//! channel (no spend) adds a seasonal, growing baseline. `V` is set so the
//! expectation totals `customers`; the weekly counts are a multinomial draw
//! and each customer's cell a categorical draw within the week, so realised
//! acquisitions follow the curves with Poisson-like noise. Per-channel
//! `(K, h, effect)`: search (2000, 1.0, 1.0), social (1500, 1.2, 0.7),
//! display (2500, 1.6, 0.6), email (200, 0.9, 0.25), referral (400, 1.0, 0.35),
//! events (5000, 1.8, 0.8) — K in weekly USD at 20,000 customers; segment
//! effect smb 1.0, mid_market 0.45; organic 0.30 (smb) and 0.10 (mid_market).
//! Demand peaks in Nov-Dec (x1.45, x1.6) with a summer dip (x0.75-0.8).
//! Within a week, sign-up times follow a weekday x hour-of-day profile.
//! `leads`, `clicks` and `impressions` are derived from the realised customers
//! with channel-specific funnel rates; `attributed_revenue` is the completed
//! order revenue of the cell's customers within 30 days of sign-up.
//!
//! **Purchases (BG/NBD).** Each customer places a first order shortly after
//! sign-up (exponential delay, mean 20 minutes). Repeat purchases follow a
//! Poisson process with rate `lambda * s(t)` per day, `lambda ~ Gamma(shape
//! r = 0.8, rate alpha = 80)`, where `s(t)` (mean exactly 1 over the two years)
//! is a month x weekday x hour-of-day profile (months from x0.90 in February
//! and July to x1.18 in November and x1.25 in December), simulated by
//! thinning. After each repeat purchase the customer becomes inactive for good
//! with probability `p ~ Beta(a = 0.6, b = 3.0)`. Sign-ups are spread over the
//! two years (more in Nov-Dec and in the second year), which gives about 3.2
//! completed orders per customer (about 9.8 million order rows for 3 million
//! customers). A BG/NBD fitted by maximum likelihood (days as the time unit,
//! `status = completed` rows, first order as time zero) recovers the
//! parameters up to the seasonal misspecification: on 100,000 customers
//! (orders only, seed 42) r = 0.81, alpha = 78.6, a = 0.51, b = 2.62, while the
//! same fit on a season-free simulation gives 0.80 / 80.6 / 0.61 / 2.98.
//!
//! **Order values (Gamma-Gamma).** Each customer has `nu ~ Gamma(shape q = 4,
//! rate gamma = 45)`; each order's value is `z ~ Gamma(shape p = 6, rate nu)`,
//! independent of the purchase process; population mean 90 USD. With
//! `orders_only` the amount *is* `z` (rounded to cents, at least 0.01); a
//! Gamma-Gamma fit on the repeat orders of those 100,000 customers gives
//! p = 5.88, q = 4.04, gamma = 46.4. In full mode `z` is the target of a basket
//! (see below) and the amount is the exact sum of `quantity * unit_price` of
//! the order's lines (mean about 107 USD, median 55), so the Gamma-Gamma model
//! holds only approximately.
//!
//! **Statuses.** Every purchase above is `completed`. With probability 0.021 a
//! completed order is later refunded: an extra `refunded` row 1 day +
//! Exp(6 days) later with the negated amount of that order; with probability
//! 0.01 an extra `cancelled` order (positive amount, own basket) follows within
//! 3 days. Order channel: web/mobile/sales with weights 60/32/8 (smb) and
//! 45/15/40 (mid_market). Currency is always USD.
//!
//! **Baskets.** 60 products in 9 categories. A basket's anchor product is drawn
//! with probability proportional to popularity times a log-normal kernel
//! (sigma 0.5) around 0.75 x the target value; complements follow with
//! category-specific probabilities (camera -> memory card 0.70, lens 0.40,
//! camera bag 0.35, tripod 0.20; laptop -> sleeve 0.60, mouse 0.50, cables &
//! hubs 0.35; ...), plus with probability 0.12 an unrelated popular item.
//! Memory cards and cables are sometimes bought by two or three. On Black
//! Friday - Cyber Monday (2024-11-29..12-02, 2025-11-28..12-01) unit prices
//! are 15 % off.
//!
//! **Customers.** Names from small built-in lists (gender-consistent first
//! names; `gender` F/M/X 48/48/4 %), `email = first.last<number>@example.com`,
//! company `"<word> <word> <legal form>"`, country (13 ISO codes, US 34 %),
//! industry (11), `age ~ round(N(38, 11))` clipped to 18..80, and
//! `satisfaction = clip(4.3 - 2.5 p + N(0, 0.55), 1, 5)` rounded to 0.1 — so
//! loyal customers (low dropout probability `p`) are genuinely more satisfied.
//! `acquisition_channel` is the customer's cell channel (or `organic`), `segment`
//! its cell segment (`smb` or `mid_market`).
//!
//! **Deals.** A new-business deal for 5.5 % of smb and 17 % of mid-market
//! customers (opened 0-few days after sign-up) and an expansion deal for 1.2 %
//! / 5 % (opened 30 + Exp(120) days after): about `customers / 10` deals.
//! Stages `contact -> needs_analysis -> demo -> proposal -> won`, passing each
//! with probability 0.70 / 0.60 / 0.55 / 0.45 (first stage times a source
//! effect: inbound 1.0, outbound 0.8, referral 1.25, partner 1.1; proposal
//! times an owner effect, six reps from 0.8 to 1.2), otherwise `lost` with a
//! stage-dependent `lost_reason`. Time in stage is log-normal with medians 3,
//! 6, 9, 12 days (sigma 0.7). 5 % of deals skip needs_analysis or demo. Deals
//! whose next step would fall after the data end stay `open` at their current
//! stage. Amounts are log-normal (median 2,400 USD smb, 14,000 mid-market,
//! halved for expansion).
//!
//! **Subscriptions.** 32 % of customers start one 21 days (exponential mean)
//! after sign-up if before the data end: plan starter/growth/scale (29/99/299
//! USD MRR, weights 55/33/12 %; 20 % pay annually at 15 % off). Churn is
//! shifted-beta-geometric: each subscriber has a fixed monthly churn
//! probability `theta ~ Beta(1, 3)` and at each monthly renewal ends with
//! probability `theta` (`ended_at` = that renewal; empty while active).
//!
//! **Events.** Per customer: 1 + Poisson(0.7) visits in the 14 days before
//! sign-up (the last within 30 minutes of it), each followed by 1 +
//! Poisson(1.5) page views; the sign-up; a `trial_start` (14 days before a
//! subscription, or for 12 % of non-subscribers a few days after sign-up); one
//! `purchase` per completed order with `value` = its amount. `duration_s` is
//! log-normal per kind.
//!
//! **Experiment.** 40 % of customers are in `free_trial_2025`, split 50/50
//! into `control` (conversion 5 %) and `treatment` (6.5 %); converters bring
//! `revenue ~ Gamma(2, scale 60)` USD, others 0.
#![warn(missing_docs)]

mod calendar;
mod catalog;
mod chunk;
mod marketing;
mod names;
mod output;
pub mod params;
mod pipeline;
mod rng;
mod tables;
#[cfg(test)]
mod tests;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::mpsc::sync_channel;

use datafusion::arrow::array::{ArrayRef, Float64Array, StringArray};
use datafusion::arrow::error::ArrowError;
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::parquet::errors::ParquetError;

use crate::calendar::{Calendar, dollars};
use crate::catalog::{CATEGORIES, Catalog, PRODUCTS};
use crate::chunk::{Ctx, Dists};
use crate::marketing::Plan;
use crate::output::{Router, open_csv, open_parquet, parquet_loop};
use crate::pipeline::run_chunks;
use crate::tables::Table;

/// What to generate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DemoConfig {
    /// Seed of every random stream; the same seed gives the same files.
    pub seed: u64,
    /// Number of customers (each places at least one order).
    pub customers: usize,
    /// Write only the `orders` table (the benchmark generator).
    pub orders_only: bool,
}

impl Default for DemoConfig {
    fn default() -> Self {
        Self {
            seed: 42,
            customers: 20_000,
            orders_only: false,
        }
    }
}

/// Output file format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Format {
    /// `dir/csv/<table>.csv`, with a header row.
    Csv,
    /// `dir/parquet/<table>.parquet`, ZSTD-compressed.
    Parquet,
}

/// Progress events so the CLI can draw bars (the library must not print).
///
/// Phases, in order: `products` (units: products) and then `customers`
/// (units: customers; this phase writes every per-customer table) and
/// `marketing_spend` (units: rows) in full mode; a single `orders` phase
/// (units: customers) with [`DemoConfig::orders_only`].
pub trait Progress: Sync {
    /// A phase begins; `total_units` units of work will be reported.
    fn start(&self, table: &str, total_units: u64);
    /// `units` more units are done.
    fn advance(&self, units: u64);
    /// The phase is complete.
    fn finish(&self, table: &str);
}

/// A [`Progress`] that ignores every event.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoProgress;

impl Progress for NoProgress {
    fn start(&self, _table: &str, _total_units: u64) {}
    fn advance(&self, _units: u64) {}
    fn finish(&self, _table: &str) {}
}

/// One table written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TableWritten {
    /// Canonical table name.
    pub table: &'static str,
    /// Number of data rows (per file).
    pub rows: u64,
    /// The files written (CSV first, then Parquet, as requested).
    pub paths: Vec<PathBuf>,
}

/// Everything [`generate`] wrote, in data-contract table order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DemoOutput {
    /// The tables written.
    pub tables: Vec<TableWritten>,
}

/// Errors of the demo generator.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    /// The configuration cannot be generated.
    #[error("invalid demo configuration: {0}")]
    Config(String),
    /// Creating or writing a file or directory failed.
    #[error("cannot write {}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// Building or CSV-encoding a record batch failed.
    #[error("Arrow error writing {}: {source}", path.display())]
    Arrow {
        /// The file being written.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: ArrowError,
    },
    /// Parquet encoding failed.
    #[error("Parquet error writing {}: {source}", path.display())]
    Parquet {
        /// The file being written.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: ParquetError,
    },
    /// A generator thread stopped unexpectedly (a bug).
    #[error("internal error in the demo generator: {0}")]
    Internal(String),
}

/// Tuning knobs. `workers` never changes the output; `chunk_size` is part of
/// the random-stream keys, so [`generate`] fixes it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Settings {
    /// Customers per chunk (part of the random-stream keys).
    pub chunk_size: u64,
    /// Generator threads.
    pub workers: usize,
}

/// Customers per chunk in [`generate`]. The same in both modes, so that
/// `orders_only` reproduces the full mode's order times and statuses.
const CHUNK_CUSTOMERS: u64 = 10_000;

impl Settings {
    fn standard() -> Self {
        Self {
            chunk_size: CHUNK_CUSTOMERS,
            workers: 2,
        }
    }
}

/// Writes every canonical table to `dir/csv/<table>.csv` and
/// `dir/parquet/<table>.parquet` (creating the directories), for the formats
/// listed; with `config.orders_only`, only `orders`.
///
/// # Errors
/// [`DemoError::Config`] for zero customers or no format; I/O, Arrow and
/// Parquet errors name the file concerned.
pub fn generate(
    dir: &Path,
    config: &DemoConfig,
    formats: &[Format],
    progress: &dyn Progress,
) -> Result<DemoOutput, DemoError> {
    run(dir, config, formats, progress, Settings::standard())
}

/// [`generate`] with explicit [`Settings`].
pub(crate) fn run(
    dir: &Path,
    config: &DemoConfig,
    formats: &[Format],
    progress: &dyn Progress,
    settings: Settings,
) -> Result<DemoOutput, DemoError> {
    if config.customers == 0 {
        return Err(DemoError::Config(
            "the number of customers must be at least 1".to_string(),
        ));
    }
    if formats.is_empty() {
        return Err(DemoError::Config(
            "no output format requested (choose CSV and/or Parquet)".to_string(),
        ));
    }
    let want_csv = formats.contains(&Format::Csv);
    let want_parquet = formats.contains(&Format::Parquet);
    let tables: Vec<Table> = if config.orders_only {
        vec![Table::Orders]
    } else {
        Table::ALL.to_vec()
    };

    let csv_dir = dir.join("csv");
    let parquet_dir = dir.join("parquet");
    let mkdir = |d: &Path| {
        std::fs::create_dir_all(d).map_err(|source| DemoError::Io {
            path: d.to_path_buf(),
            source,
        })
    };
    if want_csv {
        mkdir(&csv_dir)?;
    }
    if want_parquet {
        mkdir(&parquet_dir)?;
    }
    let mut csv = Vec::with_capacity(Table::ALL.len());
    let mut parquet = Vec::with_capacity(Table::ALL.len());
    let mut paths: Vec<Vec<PathBuf>> = vec![Vec::new(); Table::ALL.len()];
    for table in Table::ALL {
        let selected = tables.contains(&table);
        csv.push(if selected && want_csv {
            let path = csv_dir.join(format!("{}.csv", table.name()));
            paths[table.index()].push(path.clone());
            Some(open_csv(path, table)?)
        } else {
            None
        });
        parquet.push(if selected && want_parquet {
            let path = parquet_dir.join(format!("{}.parquet", table.name()));
            paths[table.index()].push(path.clone());
            Some(open_parquet(path, table)?)
        } else {
            None
        });
    }

    let customers = config.customers as u64;
    let cal = Calendar::new();
    let plan = Plan::new(config.seed, customers, &cal);
    let catalog = Catalog::new();
    let dists = Dists::new();
    let ctx = Ctx {
        seed: config.seed,
        customers,
        full: !config.orders_only,
        chunk_size: settings.chunk_size.max(1),
        cal: &cal,
        plan: &plan,
        catalog: &catalog,
        dists: &dists,
    };

    let rows = std::thread::scope(|s| -> Result<Vec<u64>, DemoError> {
        let (ptx, prx) = sync_channel(4);
        let parquet_thread = want_parquet.then(|| s.spawn(move || parquet_loop(prx, parquet)));
        let mut router = Router {
            csv,
            parquet: want_parquet.then_some(ptx),
            rows: vec![0; Table::ALL.len()],
        };
        let body = write_all(&ctx, &mut router, want_csv, settings.workers, progress);
        let closed = body.and_then(|()| router.close_csv());
        router.parquet = None; // lets the Parquet thread finish
        let parquet_result = match parquet_thread {
            Some(handle) => match handle.join() {
                Ok(result) => result,
                Err(panic) => std::panic::resume_unwind(panic),
            },
            None => Ok(()),
        };
        // A failed Parquet thread also makes the writer fail; report its cause.
        parquet_result?;
        closed?;
        Ok(router.rows)
    })?;

    Ok(DemoOutput {
        tables: tables
            .iter()
            .map(|&t| TableWritten {
                table: t.name(),
                rows: rows[t.index()],
                paths: std::mem::take(&mut paths[t.index()]),
            })
            .collect(),
    })
}

/// The writer side: products, the chunks in order, then marketing spend.
fn write_all(
    ctx: &Ctx<'_>,
    router: &mut Router,
    want_csv: bool,
    workers: usize,
    progress: &dyn Progress,
) -> Result<(), DemoError> {
    let arrow_err = |table: Table, source: ArrowError| DemoError::Arrow {
        path: PathBuf::from(table.name()),
        source,
    };
    if ctx.full {
        progress.start(Table::Products.name(), PRODUCTS.len() as u64);
        let batch = products_batch(&ctx.catalog.ids).map_err(|e| arrow_err(Table::Products, e))?;
        router.emit(Table::Products, batch, None)?;
        progress.advance(PRODUCTS.len() as u64);
        progress.finish(Table::Products.name());
    }

    let phase = if ctx.full {
        Table::Customers.name()
    } else {
        Table::Orders.name()
    };
    progress.start(phase, ctx.customers);
    let totals = run_chunks(ctx, router, want_csv, workers, progress)?;
    progress.finish(phase);

    if ctx.full {
        let batch = ctx
            .plan
            .batch(ctx.seed, &totals.customers, &totals.revenue_cents)
            .map_err(|e| arrow_err(Table::MarketingSpend, e))?;
        let n = batch.num_rows() as u64;
        progress.start(Table::MarketingSpend.name(), n);
        router.emit(Table::MarketingSpend, batch, None)?;
        progress.advance(n);
        progress.finish(Table::MarketingSpend.name());
    }
    Ok(())
}

fn products_batch(ids: &[String]) -> Result<RecordBatch, ArrowError> {
    let columns: Vec<ArrayRef> = vec![
        Arc::new(StringArray::from_iter_values(ids)),
        Arc::new(StringArray::from_iter_values(
            PRODUCTS.iter().map(|p| p.name),
        )),
        Arc::new(StringArray::from_iter_values(
            PRODUCTS.iter().map(|p| CATEGORIES[p.category]),
        )),
        Arc::new(Float64Array::from_iter_values(
            PRODUCTS.iter().map(|p| dollars(p.price_cents)),
        )),
    ];
    RecordBatch::try_new(Table::Products.schema(), columns)
}
