//! The crate's error type.

use thiserror::Error;

/// Everything that can go wrong in `salesflow-models`.
///
/// Messages say what was wrong, where (row index or parameter name) and what to do about it.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum ModelError {
    /// No usable rows (empty input, or every weight is zero).
    #[error(
        "{what}: no data to fit (empty input or all weights zero); pass at least one row with a positive weight"
    )]
    EmptyInput {
        /// Which input was empty.
        what: &'static str,
    },
    /// A data row breaks the model's input contract.
    #[error("row {row}: {field} = {value} is invalid: {hint}")]
    InvalidInput {
        /// Index of the offending row in the slice that was passed.
        row: usize,
        /// The field that is wrong.
        field: &'static str,
        /// Its value.
        value: f64,
        /// What a valid value looks like.
        hint: &'static str,
    },
    /// A value of a feature matrix (one row per point, one column per feature) is invalid.
    #[error("row {row}, column {column}: {value} is invalid: {hint}")]
    InvalidFeature {
        /// Index of the offending row (point).
        row: usize,
        /// Index of the offending column (feature).
        column: usize,
        /// Its value.
        value: f64,
        /// What a valid value looks like.
        hint: &'static str,
    },
    /// A model parameter or prediction argument is out of its domain.
    #[error("{name} = {value} is invalid: {hint}")]
    InvalidParameter {
        /// Parameter or argument name.
        name: &'static str,
        /// Its value.
        value: f64,
        /// What a valid value looks like.
        hint: &'static str,
    },
    /// A special function was asked for a value outside the domain where it is real and finite.
    #[error("{function}: {detail}")]
    Domain {
        /// The special function.
        function: &'static str,
        /// What went wrong.
        detail: String,
    },
    /// The likelihood was not finite at any starting point, so there was nothing to optimise.
    #[error(
        "{model}: the log-likelihood is not finite at any starting point; check the data for extreme values"
    )]
    NoFiniteStart {
        /// The model being fitted.
        model: &'static str,
    },
    /// A feature column is a linear combination of the intercept and earlier columns, so its
    /// coefficient is not identified.
    #[error(
        "feature `{column}` is collinear with the intercept and the features before it (a constant column, a duplicate, or a dummy for every level); drop it or merge it"
    )]
    Collinear {
        /// The column's name.
        column: String,
    },
    /// A forecasting model that cannot be built as asked.
    #[error("model {model}: {hint}")]
    InvalidModel {
        /// The model's code, e.g. `MAM`.
        model: String,
        /// What to do instead.
        hint: &'static str,
    },
    /// A series too short for the model's parameters and initial states.
    #[error(
        "{model} needs at least {needed} observations for its parameters and initial states, the series has {length}; choose a simpler model (no season, no trend) or a longer history"
    )]
    SeriesTooShort {
        /// The model, e.g. `ETS(M,Ad,M)`.
        model: String,
        /// Observations in the series.
        length: usize,
        /// Observations the model needs.
        needed: usize,
    },
    /// A `FitResult` of one model was used to build another model.
    #[error("expected a fit of {expected}, got a fit of {found}")]
    ModelMismatch {
        /// The model wanted.
        expected: &'static str,
        /// The model found in the fit result.
        found: &'static str,
    },
}

/// Check that `value` is finite and `> 0`.
pub(crate) fn positive(name: &'static str, value: f64) -> Result<f64, ModelError> {
    if value.is_finite() && value > 0.0 {
        Ok(value)
    } else {
        Err(ModelError::InvalidParameter {
            name,
            value,
            hint: "must be a finite number greater than zero",
        })
    }
}

/// Check that `value` is finite and `>= 0`.
pub(crate) fn non_negative(name: &'static str, value: f64) -> Result<f64, ModelError> {
    if value.is_finite() && value >= 0.0 {
        Ok(value)
    } else {
        Err(ModelError::InvalidParameter {
            name,
            value,
            hint: "must be a finite number >= 0",
        })
    }
}
