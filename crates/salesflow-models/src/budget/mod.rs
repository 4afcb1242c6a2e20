//! Marketing budget allocation: saturating response curves and the split of a budget that
//! earns the most, and the linear special case.
//!
//! - [`curves`]: logistic and Hill saturation, normalised geometric adstock.
//! - [`allocate`]: maximise the summed response of channels subject to the total and per-channel
//!   bounds — exactly, by equalising marginal returns, when every curve is concave; globally on
//!   a grid and then refined when one is S-shaped.
//! - [`linear`]: fixed return per unit of spend, a linear programme with one budget constraint.
//! - [`targeting`]: which customer segments the next unit of spend should reach, from their CLV,
//!   conversion probability and cost per prospect.
//! - [`fit`]: the response curves, fitted from weekly spend and outcomes.

pub mod allocate;
pub mod curves;
pub mod fit;
pub mod linear;
pub mod targeting;

pub use allocate::{Allocation, allocate};
pub use curves::{Curve, Hill, LogisticSaturation};
