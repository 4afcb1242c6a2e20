//! Supervised predictions: churn risk per customer (validated on a later cut-off), lead
//! scores per open deal (validated on the deals that closed last) and spend (linear
//! regression with its coefficient table).

mod churn;
mod classifier;
mod columns;
mod json;
mod leads;
mod spend;

pub(crate) use churn::churn_with_history;
pub use churn::{
    ChurnModelKind, ChurnOptions, ChurnRisk, Driver, FEATURES as CHURN_FEATURES, Validation, churn,
};
pub use leads::{LeadOptions, LeadScores, LeadValidation, OpenDealScore, leads};
pub(crate) use spend::spend_from_features;
pub use spend::{SpendModel, SpendOptions, spend};
