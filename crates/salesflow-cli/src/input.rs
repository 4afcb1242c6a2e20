//! The reading options every command that takes data shares: flags over `salesflow.toml`.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use clap::Args;
use salesflow_core::config::check_canonical;
use salesflow_core::{Config, Delimiter, Locale, ReadOptions, TableKind};

/// How to read input files (each flag overrides `salesflow.toml`).
#[derive(Debug, Clone, Default, Args)]
pub struct ReadFlags {
    /// Field separator: one character, `tab`, or `whitespace` (columns aligned by blanks).
    /// Sniffed from the first lines when not given.
    #[arg(long, value_name = "CHAR")]
    pub delimiter: Option<String>,
    /// Format of dates and times (chrono strftime, e.g. "%d/%m/%Y %H:%M"). Inferred when not
    /// given: ISO 8601, YYYYMMDD, day-first and month-first numeric dates are recognised.
    #[arg(long, value_name = "FORMAT")]
    pub date_format: Option<String>,
    /// How numbers are written: `en` for 1,234.50, `de` (or fr, es, ...) for 1.234,50.
    #[arg(long, value_name = "LOCALE")]
    pub locale: Option<String>,
    /// Names for the columns of a file without a header row, in order (comma-separated).
    #[arg(long, value_name = "NAMES", value_delimiter = ',')]
    pub columns: Option<Vec<String>>,
    /// Map a canonical column to your column: `amount=Total` or `orders.amount=Total`.
    /// Repeatable.
    #[arg(long = "map", value_name = "CANONICAL=YOURS")]
    pub mappings: Vec<String>,
}

/// Loads the configuration: `--config`, else `salesflow.toml` in the data folder, else in the
/// working directory, else defaults.
pub fn load_config(explicit: Option<&Path>, data_dir: Option<&Path>) -> Result<Config> {
    if let Some(path) = explicit {
        return Ok(Config::load(path)?);
    }
    let candidates = data_dir
        .map(|d| d.join("salesflow.toml"))
        .into_iter()
        .chain(std::iter::once(PathBuf::from("salesflow.toml")));
    for candidate in candidates {
        if candidate.is_file() {
            return Ok(Config::load(&candidate)?);
        }
    }
    Ok(Config::default())
}

/// A bad command-line value: exit code 2 like any other bad input.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

impl ReadFlags {
    /// The options for `table`: the configuration, then these flags on top.
    pub fn options(&self, config: &Config, table: TableKind) -> Result<ReadOptions> {
        let mut options = config.read_options(table);
        if let Some(d) = &self.delimiter {
            options.delimiter = Some(
                d.parse::<Delimiter>()
                    .map_err(|e| UsageError(format!("--delimiter: {e}")))?,
            );
        }
        if let Some(f) = &self.date_format {
            options.date_format = Some(f.clone());
        }
        if let Some(l) = &self.locale {
            options.locale = l
                .parse::<Locale>()
                .map_err(|e| UsageError(format!("--locale: {e}")))?;
        }
        if let Some(c) = &self.columns {
            options.columns = Some(c.iter().map(|s| s.trim().to_string()).collect());
        }
        for mapping in &self.mappings {
            let Some((canonical, source)) = mapping.split_once('=') else {
                bail!(UsageError(format!(
                    "--map {mapping}: expected CANONICAL=YOURS, e.g. --map amount=Total"
                )));
            };
            let (target_table, column) = match canonical.split_once('.') {
                Some((t, c)) => (Some(t.parse::<TableKind>().map_err(UsageError)?), c),
                None => (None, canonical),
            };
            match target_table {
                Some(t) if t != table => continue,
                Some(t) => check_canonical(t, column)
                    .map_err(|e| UsageError(format!("--map {mapping}: {e}")))?,
                None if table.column(column).is_none() => continue,
                None => {}
            }
            options
                .mapping
                .insert(column.trim().to_string(), source.trim().to_string());
        }
        Ok(options)
    }

    /// Loads every table of the folder `dir` with these flags (after [`ReadFlags::check`],
    /// which validates them, so per-table options cannot fail here).
    pub fn load_dir(
        &self,
        dir: &Path,
        config: &Config,
        progress: &dyn salesflow_core::progress::Progress,
    ) -> Result<salesflow_engine::Dataset> {
        Ok(salesflow_engine::Dataset::load_dir(
            dir,
            salesflow_engine::default_threads(),
            |t| self.options(config, t).unwrap_or_default(),
            progress,
        )?)
    }

    /// Checks every flag once, whatever tables exist, so typos fail early.
    pub fn check(&self, config: &Config) -> Result<()> {
        for table in TableKind::ALL {
            self.options(config, table)
                .with_context(|| "in the reading options")?;
        }
        for mapping in &self.mappings {
            let canonical = mapping.split_once('=').map_or(mapping.as_str(), |(c, _)| c);
            let column = canonical.rsplit('.').next().unwrap_or(canonical);
            if !canonical.contains('.') && TableKind::ALL.iter().all(|t| t.column(column).is_none())
            {
                bail!(UsageError(format!(
                    "--map {mapping}: `{column}` is not a column of any table"
                )));
            }
        }
        Ok(())
    }
}

/// A calendar day given on the command line, as YYYY-MM-DD.
pub fn parse_date(s: &str) -> Result<chrono::NaiveDate, String> {
    chrono::NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
        .map_err(|e| format!("`{s}` is not a date as YYYY-MM-DD: {e}"))
}
