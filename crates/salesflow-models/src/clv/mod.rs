//! Customer-lifetime-value models: who will buy again, how often, for how much, and for how
//! long a subscriber stays.
//!
//! | module | model | data | predictions |
//! |---|---|---|---|
//! | [`bg_nbd`] | BG/NBD (Fader, Hardie & Lee 2005) | [`RfmRow`] | expected purchases, P(alive), P(X(t)=n) |
//! | [`mbg_nbd`] | MBG/NBD (lifetimes' `ModifiedBetaGeoFitter`) | [`RfmRow`] | same |
//! | [`pareto_nbd`] | Pareto/NBD (Schmittlein et al. 1987) | [`RfmRow`] | expected purchases, P(alive), DERT |
//! | [`bg_bb`] | BG/BB, discrete time (Fader, Hardie & Shang 2010) | [`PeriodRow`] | expected purchases, P(alive) |
//! | [`gamma_gamma`] | Gamma-Gamma spend | [`SpendRow`] | expected spend, lifetimes-style CLV |
//! | [`sbg`] | shifted-beta-geometric retention | survivor counts or [`SbgCustomer`] | S(t), r(t), DERL |
//! | [`value`] | discounted value over CAC | revenue per year | ratio |
//!
//! Every fitter has the same shape, `fit(rows, &FitOptions) -> Result<FitResult, ModelError>`:
//! maximum likelihood by BFGS in log-parameter space from a few deterministic starting
//! points ([`optim`]), with delta-method standard errors from a finite-difference Hessian.
//! A fit that does not meet the tolerance is still returned, flagged `converged = false`.
//! Typed parameter structs ([`BgNbd`], [`ParetoNbd`], ...) are built from a `FitResult` with
//! `from_fit` or directly with `new`, and carry the per-customer predictions. Time is in the
//! data's unit throughout (CDNOW: weeks), and predictions are in that unit.
//!
//! Input is compressed: customers with identical summaries become one row with a weight
//! ([`compress`]), so fitting millions of customers costs as much as their distinct rows.
//! Log-likelihoods are evaluated on the log scale (log-sum-exp) and the Gauss hypergeometric
//! function is evaluated with transformations that keep it finite where the textbook series
//! diverges ([`special`]); where lifetimes' formulas return NaN or negative numbers (e.g.
//! BG/NBD with a + b + x − 1 < 0) these return finite, positive values.

mod beta_geo;
pub mod bg_bb;
pub mod bg_nbd;
pub mod gamma_gamma;
pub mod mbg_nbd;
pub mod optim;
pub mod pareto_nbd;
pub mod sbg;
pub mod special;
pub mod summary;
pub mod value;

pub use beta_geo::MAX_PURCHASES;
pub use bg_bb::BgBb;
pub use bg_nbd::BgNbd;
pub use gamma_gamma::{GammaGamma, TimeUnit};
pub use mbg_nbd::MbgNbd;
pub use optim::{FitOptions, FitResult};
pub use pareto_nbd::ParetoNbd;
pub use sbg::Sbg;
pub use summary::{PeriodRow, RfmRow, SbgCustomer, SpendRow, compress, compress_weighted};
pub use value::discounted_value_over_cac;

use crate::error::ModelError;

/// A continuous-time repeat-purchase model that scores a customer from (frequency, recency,
/// T): implemented by [`BgNbd`], [`MbgNbd`] and [`ParetoNbd`], and consumed by
/// [`GammaGamma::customer_lifetime_value`].
pub trait RepeatPurchaseModel {
    /// Conditional expected number of repeat purchases in (T, T + t] for a customer with
    /// `frequency` repeat purchases, the last at `recency`, observed for `age` = T (all in the
    /// data's time unit). lifetimes: `conditional_expected_number_of_purchases_up_to_time`.
    fn expected_purchases(
        &self,
        t: f64,
        frequency: f64,
        recency: f64,
        age: f64,
    ) -> Result<f64, ModelError>;

    /// Probability that the customer is still alive at T. lifetimes:
    /// `conditional_probability_alive`.
    fn probability_alive(&self, frequency: f64, recency: f64, age: f64) -> Result<f64, ModelError>;

    /// [`RepeatPurchaseModel::expected_purchases`] of one customer at every horizon of `ts`,
    /// into `out`, which must be as long as `ts`. Models whose formula shares work between
    /// horizons (the BG/NBD family: one 2F1 series for all of them) override this.
    fn expected_purchases_at(
        &self,
        ts: &[f64],
        frequency: f64,
        recency: f64,
        age: f64,
        out: &mut [f64],
    ) -> Result<(), ModelError> {
        check_output_len(ts, out)?;
        for (t, value) in ts.iter().zip(out) {
            *value = self.expected_purchases(*t, frequency, recency, age)?;
        }
        Ok(())
    }

    /// For models whose expectation factors as `P(alive | x, t_x, T) · g(t; x, T)` — the
    /// BG/NBD family, where `g` does not depend on recency — `g` at every horizon of `ts` into
    /// `out`; `None` for the others. Customers who share (frequency, T) share `g`, so a scorer
    /// computes it once per pair instead of once per customer.
    fn expected_purchases_if_alive_at(
        &self,
        _ts: &[f64],
        _frequency: f64,
        _age: f64,
        _out: &mut [f64],
    ) -> Option<Result<(), ModelError>> {
        None
    }
}

/// `out` is as long as `ts` (the contract of [`RepeatPurchaseModel::expected_purchases_at`]).
pub(crate) fn check_output_len(ts: &[f64], out: &[f64]) -> Result<(), ModelError> {
    if out.len() == ts.len() {
        Ok(())
    } else {
        Err(ModelError::InvalidParameter {
            name: "out",
            value: out.len() as f64,
            hint: "give one output slot per horizon",
        })
    }
}
