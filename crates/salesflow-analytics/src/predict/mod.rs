//! Supervised predictions on the customer table: churn risk (classification, validated on a
//! later cut-off) and spend (linear regression with its coefficient table).

mod churn;
mod columns;
mod json;
mod spend;

pub use churn::{
    ChurnModelKind, ChurnOptions, ChurnRisk, Driver, FEATURES as CHURN_FEATURES, Validation, churn,
};
pub use spend::{SpendModel, SpendOptions, spend};
