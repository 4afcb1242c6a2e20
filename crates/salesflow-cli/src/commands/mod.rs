//! One module per subcommand.

pub mod abtest;
pub mod analyze;
pub mod basket;
pub mod budget;
mod budget_targeting;
pub mod clv;
mod clv_run;
pub mod crm;
pub mod demo;
pub mod forecast;
pub mod predict;
pub mod recommend;
pub mod sql;
pub mod summary;
pub mod validate;

use std::path::PathBuf;

use salesflow_core::ConfigError;
use salesflow_engine::EngineError;

use crate::input::UsageError;

/// Options every command shares.
pub struct Global {
    pub config: Option<PathBuf>,
    pub quiet: bool,
}

/// 2 when the user's input is at fault, 1 otherwise.
pub fn exit_code(error: &anyhow::Error) -> u8 {
    for cause in error.chain() {
        if let Some(e) = cause.downcast_ref::<EngineError>() {
            return if e.is_bad_input() { 2 } else { 1 };
        }
        if let Some(e) = cause.downcast_ref::<salesflow_store::StoreError>() {
            return if e.code().is_client_error() { 2 } else { 1 };
        }
        if let Some(e) = cause.downcast_ref::<salesflow_analytics::AnalyticsError>() {
            return if e.is_bad_input() { 2 } else { 1 };
        }
        if cause.downcast_ref::<ConfigError>().is_some()
            || cause.downcast_ref::<UsageError>().is_some()
        {
            return 2;
        }
        // A path the user gave that does not exist or may not be read (an import file, a
        // --map), as the engine counts its inputs.
        if let Some(e) = cause.downcast_ref::<std::io::Error>()
            && matches!(
                e.kind(),
                std::io::ErrorKind::NotFound | std::io::ErrorKind::PermissionDenied
            )
        {
            return 2;
        }
    }
    1
}

/// Writes `text` and a newline to stdout; a reader that went away (`salesflow ... | head`)
/// is not an error.
pub fn print_stdout(text: &str) -> anyhow::Result<()> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match writeln!(out, "{text}").and_then(|()| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e.into()),
        _ => Ok(()),
    }
}

/// A tokio runtime for DataFusion.
pub fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?)
}

/// Writes named columns of equal length as a CSV or Parquet file (by extension).
pub fn write_table(
    path: &std::path::Path,
    columns: Vec<(&str, datafusion::arrow::array::ArrayRef)>,
) -> anyhow::Result<()> {
    use datafusion::arrow::datatypes::{Field, Schema};
    let schema = std::sync::Arc::new(Schema::new(
        columns
            .iter()
            .map(|(name, array)| Field::new(*name, array.data_type().clone(), false))
            .collect::<Vec<_>>(),
    ));
    let batch = datafusion::arrow::record_batch::RecordBatch::try_new(
        schema.clone(),
        columns.into_iter().map(|(_, a)| a).collect(),
    )?;
    salesflow_engine::output::write_file(path, &schema, &[batch])?;
    Ok(())
}
