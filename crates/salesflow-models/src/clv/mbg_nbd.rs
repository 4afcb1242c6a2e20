//! MBG/NBD (Batislam, Denizel & Filiztekin 2007; lifetimes' `ModifiedBetaGeoFitter`): the
//! BG/NBD with an additional chance p of dropping out right after the first purchase, so that
//! customers without repeat purchases can be inactive too.

use super::beta_geo::{
    Conditional, beta_expectation, check_purchases, fit_family, nb_point_and_tail,
    repeat_purchase_model_via_conditional,
};
use super::bg_nbd::probability_from_ln_odds;
use super::optim::{FitOptions, FitResult, ParamMap};
use super::special::ln_beta;
use super::summary::RfmRow;
use crate::error::{ModelError, non_negative, positive};

/// Model name used in [`FitResult::model`].
pub const MODEL: &str = "mbg_nbd";

const MAP: ParamMap = ParamMap {
    names: &["r", "alpha", "a", "b"],
    offsets: &[0.0; 4],
};

/// Fit MBG/NBD by maximum likelihood on (compressed) RFM rows (analytic gradient).
pub fn fit(rows: &[RfmRow], opts: &FitOptions) -> Result<FitResult, ModelError> {
    fit_family(MODEL, &MAP, rows, true, opts)
}

/// MBG/NBD parameters: λ ~ Gamma(r, α), p ~ Beta(a, b).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MbgNbd {
    /// Shape of the purchase-rate distribution.
    pub r: f64,
    /// Rate of the purchase-rate distribution (data time unit).
    pub alpha: f64,
    /// Beta parameter a of the dropout probability.
    pub a: f64,
    /// Beta parameter b of the dropout probability.
    pub b: f64,
}

impl MbgNbd {
    /// Parameters, each finite and > 0.
    pub fn new(r: f64, alpha: f64, a: f64, b: f64) -> Result<Self, ModelError> {
        Ok(MbgNbd {
            r: positive("r", r)?,
            alpha: positive("alpha", alpha)?,
            a: positive("a", a)?,
            b: positive("b", b)?,
        })
    }

    /// The estimates of an MBG/NBD fit.
    pub fn from_fit(fit: &FitResult) -> Result<Self, ModelError> {
        let p = fit.expect(MODEL)?;
        MbgNbd::new(p[0], p[1], p[2], p[3])
    }

    /// Expected repeat purchases in (0, t] of a new customer:
    /// b/(a−1) · (1 − (α/(α+t))^r 2F1(r, b+1; a+b; t/(α+t))).
    pub fn expected_purchases_new_customer(&self, t: f64) -> Result<f64, ModelError> {
        let t = non_negative("t", t)?;
        let MbgNbd { r, alpha, a, b } = *self;
        Ok(b / (a + b) * beta_expectation(r, a, b + 1.0, t / alpha)?)
    }

    /// P(X(t) = n) for a new customer (lifetimes' `probability_of_n_purchases_up_to_time`).
    pub fn probability_of_n_purchases(&self, n: u32, t: f64) -> Result<f64, ModelError> {
        let t = non_negative("t", t)?;
        check_purchases(n)?;
        let MbgNbd { r, alpha, a, b } = *self;
        let nf = f64::from(n);
        let drop_now = (ln_beta(a + 1.0, b + nf) - ln_beta(a, b)).exp();
        if t == 0.0 {
            return Ok(if n == 0 { 1.0 } else { 0.0 });
        }
        let (ln_point, tail) = nb_point_and_tail(r, alpha, t, n);
        let first = (ln_beta(a, b + nf + 1.0) - ln_beta(a, b) + ln_point).exp();
        Ok(first + drop_now * tail)
    }

    /// The customer's conditional expectation: H(r+x, a, b+x+1, t/(α+T)) · P(alive), that is
    /// (a+b+x)/(a−1) · (1 − ((α+T)/(α+T+t))^(r+x) 2F1(r+x, b+x+1; a+b+x; t/(α+T+t))) · P(alive)
    /// with P(alive) = 1/(1 + (a/(b+x)) ((α+T)/(α+t_x))^(r+x)).
    fn conditional(&self, x: f64, recency: f64, age: f64) -> Conditional {
        Conditional {
            s: self.r + x,
            a: self.a,
            bp: self.b + x + 1.0,
            scale: self.alpha + age,
            alive: probability_from_ln_odds(self.ln_dropout_odds(x, recency, age)),
        }
    }

    fn ln_dropout_odds(&self, x: f64, tx: f64, age: f64) -> f64 {
        (self.r + x) * ((self.alpha + age) / (self.alpha + tx)).ln() + (self.a / (self.b + x)).ln()
    }
}

repeat_purchase_model_via_conditional!(MbgNbd);
