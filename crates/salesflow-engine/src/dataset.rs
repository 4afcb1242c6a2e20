//! A data directory's cleaned tables, registered in one DataFusion session.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use datafusion::arrow::record_batch::RecordBatch;
use datafusion::datasource::MemTable;
use datafusion::prelude::{SessionConfig, SessionContext};
use salesflow_core::progress::Progress;
use salesflow_core::{ReadOptions, TableKind};

use crate::error::{EngineError, Location, Result};
use crate::ingest::{LoadedTable, find_table_file, load_table};
use crate::report::CleaningReport;

/// The cleaned canonical tables, queryable with SQL under their canonical names.
pub struct Dataset {
    ctx: SessionContext,
    tables: BTreeMap<TableKind, LoadedTable>,
    threads: usize,
}

impl std::fmt::Debug for Dataset {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Dataset")
            .field("tables", &self.tables.keys().collect::<Vec<_>>())
            .finish()
    }
}

/// The number of cores to use.
pub fn default_threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

impl Default for Dataset {
    fn default() -> Self {
        Dataset::new(default_threads())
    }
}

impl Dataset {
    /// An empty data set whose queries use `threads` cores.
    pub fn new(threads: usize) -> Dataset {
        let config = SessionConfig::new()
            .with_target_partitions(threads.max(1))
            .with_information_schema(true);
        let ctx = SessionContext::new_with_config(config);
        ctx.register_udaf(crate::purchase_periods::purchase_periods());
        Dataset {
            ctx,
            tables: BTreeMap::new(),
            threads: threads.max(1),
        }
    }

    /// The cores queries and reads use.
    pub fn threads(&self) -> usize {
        self.threads
    }

    /// Reads and cleans `path` as `kind` and registers it.
    pub fn load(
        &mut self,
        kind: TableKind,
        path: &Path,
        options: &ReadOptions,
        progress: &dyn Progress,
    ) -> Result<&LoadedTable> {
        let table = load_table(kind, path, options, self.threads, progress)?;
        self.add(table)
    }

    /// Registers an already loaded table under its canonical name (replacing any earlier one).
    pub fn add(&mut self, table: LoadedTable) -> Result<&LoadedTable> {
        // Spread the batches over one partition per core so scans run in parallel.
        let mut partitions: Vec<Vec<RecordBatch>> = vec![Vec::new(); self.threads];
        for (i, batch) in table.batches.iter().enumerate() {
            partitions[i % self.threads].push(batch.clone());
        }
        partitions.retain(|p| !p.is_empty());
        if partitions.is_empty() {
            partitions.push(Vec::new());
        }
        let provider = MemTable::try_new(table.schema.clone(), partitions)?;
        let name = table.kind.name();
        self.ctx.deregister_table(name)?;
        self.ctx.register_table(name, Arc::new(provider))?;
        let kind = table.kind;
        self.tables.insert(kind, table);
        Ok(&self.tables[&kind])
    }

    /// Loads every canonical table found in `dir` (by file name, or as `options_for` says).
    ///
    /// A directory with none of the tables is an error that lists what it holds.
    pub fn load_dir(
        dir: &Path,
        threads: usize,
        options_for: impl Fn(TableKind) -> ReadOptions,
        progress: &dyn Progress,
    ) -> Result<Dataset> {
        if !dir.is_dir() {
            return Err(EngineError::input(
                Location {
                    file: Some(dir.to_owned()),
                    line: None,
                    column: None,
                },
                "is not a directory",
                Some(
                    "--data takes a folder holding orders.csv (or .parquet) and the other tables"
                        .into(),
                ),
            ));
        }
        let mut dataset = Dataset::new(threads);
        for kind in TableKind::ALL {
            let options = options_for(kind);
            let file = options.file.clone().or_else(|| find_table_file(dir, kind));
            if let Some(file) = file {
                dataset.load(kind, &file, &options, progress)?;
            }
        }
        if dataset.tables.is_empty() {
            let mut found: Vec<String> = std::fs::read_dir(dir)
                .map_err(|source| EngineError::Io {
                    path: dir.to_owned(),
                    source,
                })?
                .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
                .collect();
            found.sort();
            let expected: Vec<String> = TableKind::ALL
                .iter()
                .map(|t| format!("{}.csv", t.name()))
                .collect();
            return Err(EngineError::input(
                Location {
                    file: Some(dir.to_owned()),
                    line: None,
                    column: None,
                },
                format!(
                    "none of the expected tables is here (found: {})",
                    if found.is_empty() {
                        "nothing".into()
                    } else {
                        found.join(", ")
                    }
                ),
                Some(format!(
                    "name the files by table ({} ...; .csv, .tsv, .txt or .parquet), or point to them with [tables.<name>] file = \"...\" in salesflow.toml",
                    expected[..4].join(", ")
                )),
            ));
        }
        Ok(dataset)
    }

    /// The loaded table of `kind`.
    pub fn table(&self, kind: TableKind) -> Option<&LoadedTable> {
        self.tables.get(&kind)
    }

    /// Every loaded table.
    pub fn tables(&self) -> impl Iterator<Item = &LoadedTable> {
        self.tables.values()
    }

    /// The cleaning reports of every loaded table.
    pub fn report(&self) -> CleaningReport {
        CleaningReport {
            tables: self.tables.values().map(|t| t.report.clone()).collect(),
        }
    }

    /// The DataFusion session the tables are registered in.
    pub fn context(&self) -> &SessionContext {
        &self.ctx
    }

    /// Runs a SQL query over the tables.
    pub async fn sql(&self, query: &str) -> Result<Vec<RecordBatch>> {
        let frame = self.ctx.sql(query).await?;
        Ok(frame.collect().await?)
    }

    /// Like [`Dataset::sql`], also returning the result's schema (known even with no rows).
    pub async fn sql_with_schema(
        &self,
        query: &str,
    ) -> Result<(datafusion::arrow::datatypes::SchemaRef, Vec<RecordBatch>)> {
        let frame = self.ctx.sql(query).await?;
        let schema = Arc::new(frame.schema().as_arrow().clone());
        Ok((schema, frame.collect().await?))
    }
}
