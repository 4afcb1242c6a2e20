//! BG/NBD (Fader, Hardie & Lee 2005, "Counting your customers the easy way"): purchases
//! follow a Poisson process with rate λ ~ Gamma(r, α); after each repeat purchase the customer
//! drops out with probability p ~ Beta(a, b).

use super::RepeatPurchaseModel;
use super::beta_geo::{
    BetaGeoLik, beta_expectation, beta_expectation_many, check_purchases, nb_point_and_tail, starts,
};
use super::optim::{FitOptions, FitResult, ParamMap, fit_model};
use super::special::ln_beta;
use super::summary::{RfmRow, check_customer, prepare_rfm};
use crate::error::{ModelError, non_negative, positive};

/// Model name used in [`FitResult::model`].
pub const MODEL: &str = "bg_nbd";

const MAP: ParamMap = ParamMap {
    names: &["r", "alpha", "a", "b"],
    offsets: &[0.0; 4],
};

/// Fit BG/NBD by maximum likelihood on (compressed) RFM rows.
///
/// Log-likelihood per customer: Fader, Hardie & Lee (2005) eq. (6), evaluated with
/// log-sum-exp; the gradient is analytic.
pub fn fit(rows: &[RfmRow], opts: &FitOptions) -> Result<FitResult, ModelError> {
    let data = prepare_rfm(rows)?;
    let lik = BetaGeoLik {
        data: &data,
        modified: false,
    };
    fit_model(MODEL, &MAP, &lik, data.n, &starts(&data), opts)
}

/// BG/NBD parameters: λ ~ Gamma(shape r, rate α) (α in the data's time unit), p ~ Beta(a, b).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BgNbd {
    /// Shape of the purchase-rate distribution.
    pub r: f64,
    /// Rate (scale in time units) of the purchase-rate distribution.
    pub alpha: f64,
    /// Beta parameter a of the dropout probability.
    pub a: f64,
    /// Beta parameter b of the dropout probability.
    pub b: f64,
}

impl BgNbd {
    /// Parameters, each finite and > 0.
    pub fn new(r: f64, alpha: f64, a: f64, b: f64) -> Result<Self, ModelError> {
        Ok(BgNbd {
            r: positive("r", r)?,
            alpha: positive("alpha", alpha)?,
            a: positive("a", a)?,
            b: positive("b", b)?,
        })
    }

    /// The estimates of a BG/NBD fit.
    pub fn from_fit(fit: &FitResult) -> Result<Self, ModelError> {
        let p = fit.expect(MODEL)?;
        BgNbd::new(p[0], p[1], p[2], p[3])
    }

    /// Expected number of repeat purchases in (0, t] of a new customer (FHL 2005 eq. 7).
    pub fn expected_purchases_new_customer(&self, t: f64) -> Result<f64, ModelError> {
        let t = non_negative("t", t)?;
        beta_expectation(self.r, self.a, self.b, t / self.alpha)
    }

    /// P(X(t) = n): probability that a new customer makes exactly `n` repeat purchases in
    /// (0, t] (FHL 2005 eq. 8, as lifetimes' `probability_of_n_purchases_up_to_time`).
    pub fn probability_of_n_purchases(&self, n: u32, t: f64) -> Result<f64, ModelError> {
        let t = non_negative("t", t)?;
        check_purchases(n)?;
        if t == 0.0 {
            return Ok(if n == 0 { 1.0 } else { 0.0 });
        }
        let BgNbd { r, alpha, a, b } = *self;
        let nf = f64::from(n);
        let (ln_point, tail) = nb_point_and_tail(r, alpha, t, n);
        let first = (ln_beta(a, b + nf) - ln_beta(a, b) + ln_point).exp();
        let second = if n > 0 {
            (ln_beta(a + 1.0, b + nf - 1.0) - ln_beta(a, b)).exp() * tail
        } else {
            0.0
        };
        Ok(first + second)
    }

    /// ln of the odds factor (a/(b+x−1)) ((α+T)/(α+t_x))^(r+x) for x > 0.
    fn ln_dropout_odds(&self, x: f64, tx: f64, age: f64) -> f64 {
        (self.r + x) * ((self.alpha + age) / (self.alpha + tx)).ln()
            + (self.a / (self.b + x - 1.0)).ln()
    }
}

impl RepeatPurchaseModel for BgNbd {
    /// FHL 2005 eq. (10), with the 2F1 evaluated so that the cases where lifetimes returns
    /// NaN or a negative number (a + b + x − 1 ≤ 0, a = 1, t ≫ α + T) stay finite.
    fn expected_purchases(
        &self,
        t: f64,
        frequency: f64,
        recency: f64,
        age: f64,
    ) -> Result<f64, ModelError> {
        check_customer(frequency, recency, age)?;
        let t = non_negative("t", t)?;
        let x = frequency;
        let h = beta_expectation(self.r + x, self.a, self.b + x, t / (self.alpha + age))?;
        if x == 0.0 {
            return Ok(h);
        }
        Ok(h * probability_from_ln_odds(self.ln_dropout_odds(x, recency, age)))
    }

    fn expected_purchases_at(
        &self,
        ts: &[f64],
        frequency: f64,
        recency: f64,
        age: f64,
        out: &mut [f64],
    ) -> Result<(), ModelError> {
        check_customer(frequency, recency, age)?;
        let x = frequency;
        let us = horizons_over(ts, self.alpha + age)?;
        beta_expectation_many(self.r + x, self.a, self.b + x, &us, out)?;
        if x > 0.0 {
            let alive = probability_from_ln_odds(self.ln_dropout_odds(x, recency, age));
            out.iter_mut().for_each(|h| *h *= alive);
        }
        Ok(())
    }

    /// `P(alive | x, t_x, T) = 1/(1 + 1{x>0} (a/(b+x−1)) ((α+T)/(α+t_x))^(r+x))` (Fader, Hardie
    /// & Lee 2008 note 021).
    fn probability_alive(&self, frequency: f64, recency: f64, age: f64) -> Result<f64, ModelError> {
        check_customer(frequency, recency, age)?;
        if frequency == 0.0 {
            return Ok(1.0);
        }
        Ok(probability_from_ln_odds(
            self.ln_dropout_odds(frequency, recency, age),
        ))
    }
}

/// Each horizon of `ts` (checked, as `expected_purchases` checks one) over `scale`.
pub(crate) fn horizons_over(ts: &[f64], scale: f64) -> Result<Vec<f64>, ModelError> {
    ts.iter()
        .map(|t| Ok(non_negative("t", *t)? / scale))
        .collect()
}

/// 1/(1 + e^l), stable for any l.
pub(crate) fn probability_from_ln_odds(l: f64) -> f64 {
    if l > 0.0 {
        let e = (-l).exp();
        e / (1.0 + e)
    } else {
        1.0 / (1.0 + l.exp())
    }
}
