//! Shifted-beta-geometric (sBG) contractual retention model (Fader & Hardie 2007, "How to
//! project customer retention"; 2010, "Customer-base valuation in a contractual setting").
//!
//! Each subscriber renews at the end of every period with probability 1 − θ, θ ~ Beta(α, β).
//! Period 0 is acquisition; S(t) is the probability of still being a customer after t renewal
//! decisions.

use super::optim::{FitOptions, FitResult, Objective, ParamMap, fit_model};
use super::special::{ln_beta, ln_hyp2f1};
use super::summary::SbgCustomer;
use crate::error::{ModelError, non_negative, positive};

/// Model name used in [`FitResult::model`].
pub const MODEL: &str = "sbg";

/// Largest number of periods accepted in a fit or a projection.
pub const MAX_PERIODS: u32 = 1_000_000;

const MAP: ParamMap = ParamMap {
    names: &["alpha", "beta"],
    offsets: &[0.0; 2],
};

/// sBG parameters.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sbg {
    /// Beta parameter α of the churn probability.
    pub alpha: f64,
    /// Beta parameter β of the churn probability.
    pub beta: f64,
}

impl Sbg {
    /// Parameters, each finite and > 0.
    pub fn new(alpha: f64, beta: f64) -> Result<Self, ModelError> {
        Ok(Sbg {
            alpha: positive("alpha", alpha)?,
            beta: positive("beta", beta)?,
        })
    }

    /// The estimates of an sBG fit.
    pub fn from_fit(fit: &FitResult) -> Result<Self, ModelError> {
        let v = fit.expect(MODEL)?;
        Sbg::new(v[0], v[1])
    }

    /// Survival S(t) = B(α, β+t)/B(α, β): share of a cohort still active after t periods.
    pub fn survival(&self, t: u32) -> f64 {
        (ln_beta(self.alpha, self.beta + f64::from(t)) - ln_beta(self.alpha, self.beta)).exp()
    }

    /// P(T = t) = B(α+1, β+t−1)/B(α, β): probability of churning at the end of period t ≥ 1
    /// (0 for t = 0).
    pub fn churn_probability(&self, t: u32) -> f64 {
        if t == 0 {
            return 0.0;
        }
        (ln_beta(self.alpha + 1.0, self.beta + f64::from(t) - 1.0) - ln_beta(self.alpha, self.beta))
            .exp()
    }

    /// Retention rate r(t) = S(t)/S(t−1) = (β+t−1)/(α+β+t−1), for t ≥ 1 (NaN-free: 0 → r(1)).
    pub fn retention_rate(&self, t: u32) -> f64 {
        let t = f64::from(t.max(1));
        (self.beta + t - 1.0) / (self.alpha + self.beta + t - 1.0)
    }

    /// Survival curve S(0), S(1), ..., S(periods).
    pub fn project(&self, periods: u32) -> Result<Vec<f64>, ModelError> {
        if periods > MAX_PERIODS {
            return Err(ModelError::InvalidParameter {
                name: "periods",
                value: f64::from(periods),
                hint: "at most 1,000,000 periods",
            });
        }
        let mut out = Vec::with_capacity(periods as usize + 1);
        let mut s = 1.0;
        out.push(s);
        for t in 1..=periods {
            s *= self.retention_rate(t);
            out.push(s);
        }
        Ok(out)
    }

    /// Discounted expected residual lifetime, Fader & Hardie (2010) eq. (6), for a customer
    /// who has been active for `periods_alive` = n ≥ 1 periods (made n − 1 renewals), evaluated
    /// just before her next renewal decision:
    ///
    /// DERL(d | α, β, n−1 renewals) = Σ_{t=n}^∞ S(t)/S(n−1) / (1+d)^(t−n)
    ///                             = (β+n−1)/(α+β+n−1) · 2F1(1, β+n; α+β+n; 1/(1+d)).
    ///
    /// The unit is "payments": multiply by the per-period margin for a value; `discount_rate`
    /// is per period. With d = 0 it is the undiscounted expected residual lifetime, finite only
    /// for α > 1 (an error otherwise).
    pub fn discounted_expected_residual_lifetime(
        &self,
        periods_alive: u32,
        discount_rate: f64,
    ) -> Result<f64, ModelError> {
        let d = non_negative("discount_rate", discount_rate)?;
        if periods_alive == 0 {
            return Err(ModelError::InvalidParameter {
                name: "periods_alive",
                value: 0.0,
                hint: "a customer has been active for at least 1 period (n >= 1)",
            });
        }
        let n = f64::from(periods_alive);
        let Sbg { alpha, beta } = *self;
        let f = ln_hyp2f1(1.0, beta + n, alpha + beta + n, 1.0 / (1.0 + d))?;
        let v = (beta + n - 1.0) / (alpha + beta + n - 1.0) * f.value();
        if v.is_finite() {
            Ok(v)
        } else {
            Err(ModelError::InvalidParameter {
                name: "discount_rate",
                value: d,
                hint: "too small: the expected residual lifetime overflows",
            })
        }
    }

    /// Discounted expected lifetime of a newly acquired customer, counting the acquisition
    /// period's payment undiscounted: Σ_{t≥0} S(t)/(1+d)^t = 2F1(1, β; α+β; 1/(1+d)).
    pub fn discounted_expected_lifetime(&self, discount_rate: f64) -> Result<f64, ModelError> {
        let d = non_negative("discount_rate", discount_rate)?;
        let v = ln_hyp2f1(1.0, self.beta, self.alpha + self.beta, 1.0 / (1.0 + d))?.value();
        if v.is_finite() {
            Ok(v)
        } else {
            Err(ModelError::InvalidParameter {
                name: "discount_rate",
                value: d,
                hint: "too small: the expected lifetime overflows",
            })
        }
    }
}

/// Weighted counts: churned at the end of period t (t ≥ 1), still active after t periods.
struct Lik {
    churned: Vec<f64>,
    active: Vec<f64>,
    n: f64,
}

impl Objective for Lik {
    fn value(&self, v: &[f64]) -> f64 {
        let Ok(m) = Sbg::new(v[0].exp(), v[1].exp()) else {
            return f64::NAN;
        };
        let (alpha, beta) = (m.alpha, m.beta);
        // ln S(t) and ln P(T=t) by the recursions S(t) = S(t−1) r(t), P(t) = S(t−1)(1 − r(t)).
        let mut ln_s = 0.0;
        let mut ll = 0.0;
        for t in 0..self.active.len().max(self.churned.len()) {
            if t > 0 {
                let tf = t as f64;
                let denom = (alpha + beta + tf - 1.0).ln();
                let ln_p = ln_s + alpha.ln() - denom;
                ln_s += (beta + tf - 1.0).ln() - denom;
                if let Some(&c) = self.churned.get(t)
                    && c > 0.0
                {
                    ll += c * ln_p;
                }
            }
            if let Some(&a) = self.active.get(t)
                && a > 0.0
            {
                ll += a * ln_s;
            }
        }
        -ll / self.n
    }
}

fn fit_counts(
    churned: Vec<f64>,
    active: Vec<f64>,
    opts: &FitOptions,
) -> Result<FitResult, ModelError> {
    let n: f64 = churned.iter().sum::<f64>() + active.iter().sum::<f64>();
    if !(n > 0.0 && n.is_finite()) {
        return Err(ModelError::EmptyInput { what: "sBG data" });
    }
    let starts = vec![vec![0.0, 0.0], vec![(0.5f64).ln(), 1.0]];
    fit_model(
        MODEL,
        &MAP,
        &Lik { churned, active, n },
        n,
        &starts,
        opts,
        None,
    )
}

/// Fit the sBG on a cohort's survivor counts: `survivors[t]` customers still active after t
/// periods, `survivors[0]` the cohort size (e.g. [1000, 631, 468, 382, 326, 289, 262, 241]).
/// Counts must be finite, non-negative and non-increasing. n = `survivors[0]`.
pub fn fit_cohort(survivors: &[f64], opts: &FitOptions) -> Result<FitResult, ModelError> {
    if survivors.len() < 2 {
        return Err(ModelError::EmptyInput {
            what: "sBG survivor counts (need at least periods 0 and 1)",
        });
    }
    if survivors.len() > MAX_PERIODS as usize {
        return Err(ModelError::InvalidInput {
            row: MAX_PERIODS as usize,
            field: "survivors",
            value: survivors.len() as f64,
            hint: "at most 1,000,000 periods",
        });
    }
    for (i, &s) in survivors.iter().enumerate() {
        if !(s.is_finite() && s >= 0.0) || (i > 0 && s > survivors[i - 1]) {
            return Err(ModelError::InvalidInput {
                row: i,
                field: "survivors",
                value: s,
                hint: "survivor counts must be finite, >= 0 and non-increasing",
            });
        }
    }
    let last = survivors.len() - 1;
    let mut churned = vec![0.0; survivors.len()];
    for t in 1..=last {
        churned[t] = survivors[t - 1] - survivors[t];
    }
    let mut active = vec![0.0; survivors.len()];
    active[last] = survivors[last];
    fit_counts(churned, active, opts)
}

/// Fit the sBG on individual subscribers (each churned in a known period, or still active
/// after a known number of periods).
pub fn fit_customers(
    customers: &[SbgCustomer],
    opts: &FitOptions,
) -> Result<FitResult, ModelError> {
    let mut churned: Vec<f64> = Vec::new();
    let mut active: Vec<f64> = Vec::new();
    for (i, c) in customers.iter().enumerate() {
        if !(c.weight.is_finite() && c.weight >= 0.0) {
            return Err(ModelError::InvalidInput {
                row: i,
                field: "weight",
                value: c.weight,
                hint: "weights must be finite and >= 0",
            });
        }
        if c.periods > MAX_PERIODS || (c.churned && c.periods == 0) {
            return Err(ModelError::InvalidInput {
                row: i,
                field: "periods",
                value: f64::from(c.periods),
                hint: "a churned customer left in period 1 or later; at most 1,000,000 periods",
            });
        }
        let v = if c.churned { &mut churned } else { &mut active };
        let t = c.periods as usize;
        if v.len() <= t {
            v.resize(t + 1, 0.0);
        }
        v[t] += c.weight;
    }
    fit_counts(churned, active, opts)
}
