//! The engine's error type: bad input the user can fix (exit 2), or a failure of ours (exit 1).

use std::fmt;
use std::path::PathBuf;

use datafusion::error::DataFusionError;

/// Where in the input a problem is.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Location {
    /// The file.
    pub file: Option<PathBuf>,
    /// 1-based line of a text file, or 1-based row of a Parquet file.
    pub line: Option<u64>,
    /// The column, by name as the file calls it.
    pub column: Option<String>,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts = Vec::new();
        if let Some(file) = &self.file {
            parts.push(file.display().to_string());
        }
        if let Some(line) = self.line {
            parts.push(format!("line {line}"));
        }
        if let Some(column) = &self.column {
            parts.push(format!("column `{column}`"));
        }
        f.write_str(&parts.join(", "))
    }
}

/// Input that cannot be used as it is, with what to do about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputError {
    /// Where.
    pub location: Location,
    /// What is wrong.
    pub message: String,
    /// How to fix it, when we know.
    pub hint: Option<String>,
}

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let location = self.location.to_string();
        if location.is_empty() {
            write!(f, "{}", self.message)?;
        } else {
            write!(f, "{location}: {}", self.message)?;
        }
        if let Some(hint) = &self.hint {
            write!(f, "\n  hint: {hint}")?;
        }
        Ok(())
    }
}

/// Everything that can go wrong in the engine.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The user's input (files, options, SQL) is at fault; they can fix it.
    #[error("{0}")]
    Input(Box<InputError>),
    /// Reading or writing a file failed for a reason outside the data itself.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What the operating system said.
        source: std::io::Error,
    },
    /// The query engine failed on valid input: a bug or a resource limit.
    #[error("query engine: {0}")]
    DataFusion(#[from] DataFusionError),
    /// A bug in salesflow, reported rather than crashing.
    #[error("internal error: {0}")]
    Internal(String),
    /// Arrow failed to build or convert data.
    #[error("arrow: {0}")]
    Arrow(#[from] datafusion::arrow::error::ArrowError),
}

impl EngineError {
    /// A bad-input error at `location`.
    pub fn input(location: Location, message: impl Into<String>, hint: Option<String>) -> Self {
        EngineError::Input(Box::new(InputError {
            location,
            message: message.into(),
            hint,
        }))
    }

    /// A worker thread of `what` panicked (a bug): the error it becomes.
    pub(crate) fn worker_panicked(what: &str) -> Self {
        EngineError::Internal(format!("a {what} thread stopped unexpectedly"))
    }

    /// Whether the user's input is at fault (exit code 2) rather than salesflow (exit 1).
    pub fn is_bad_input(&self) -> bool {
        match self {
            EngineError::Input(_) => true,
            EngineError::Io { source, .. } => matches!(
                source.kind(),
                std::io::ErrorKind::NotFound
                    | std::io::ErrorKind::PermissionDenied
                    | std::io::ErrorKind::InvalidData
                    | std::io::ErrorKind::IsADirectory
                    | std::io::ErrorKind::NotADirectory
            ),
            // SQL that does not plan is the user's to fix.
            EngineError::DataFusion(e) => matches!(
                e.find_root(),
                DataFusionError::SQL(..)
                    | DataFusionError::Plan(_)
                    | DataFusionError::SchemaError(..)
            ),
            EngineError::Arrow(_) | EngineError::Internal(_) => false,
        }
    }
}

/// The engine's result type.
pub type Result<T, E = EngineError> = std::result::Result<T, E>;
