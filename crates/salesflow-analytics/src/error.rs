//! The one error type of the crate.

use salesflow_engine::EngineError;
use salesflow_models::ModelError;

/// Why an analysis failed.
#[derive(Debug, thiserror::Error)]
pub enum AnalyticsError {
    /// Reading or querying the data failed (bad input or an engine failure).
    #[error(transparent)]
    Engine(#[from] EngineError),
    /// A model could not be fitted or evaluated; `context` says on what.
    #[error("{context}: {source}")]
    Model {
        /// What was being computed (a model, a customer).
        context: String,
        /// The model's error.
        source: ModelError,
    },
    /// The data are too few or too short for an analysis that was asked for.
    #[error("{what}: not enough data: {detail}; {hint}")]
    NotEnoughData {
        /// The analysis.
        what: &'static str,
        /// What the data lack.
        detail: String,
        /// What to do about it.
        hint: &'static str,
    },
    /// A worker thread stopped unexpectedly.
    #[error("a worker thread stopped unexpectedly")]
    Thread,
}

impl AnalyticsError {
    /// Whether the user's input is at fault (exit code 2) rather than salesflow (exit 1).
    pub fn is_bad_input(&self) -> bool {
        match self {
            AnalyticsError::Engine(e) => e.is_bad_input(),
            AnalyticsError::NotEnoughData { .. } => true,
            AnalyticsError::Model { .. } | AnalyticsError::Thread => false,
        }
    }

    pub(crate) fn model(context: impl Into<String>) -> impl FnOnce(ModelError) -> AnalyticsError {
        let context = context.into();
        move |source| AnalyticsError::Model { context, source }
    }
}

/// The crate's result type.
pub type Result<T, E = AnalyticsError> = std::result::Result<T, E>;
