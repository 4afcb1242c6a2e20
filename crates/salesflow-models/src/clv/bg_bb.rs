//! BG/BB (Fader, Hardie & Shang 2010, "Customer-base analysis in a discrete-time
//! noncontractual setting"): in each of n discrete opportunities an alive customer transacts
//! with probability p ~ Beta(α, β) and, at the start of each later opportunity, dies with
//! probability θ ~ Beta(γ, δ).

use super::optim::{FitOptions, FitResult, Objective, ParamMap, Sum, fit_model};
use super::special::{ln_beta, ln_gamma};
use super::summary::PeriodRow;
use crate::error::{ModelError, positive};

/// Model name used in [`FitResult::model`].
pub const MODEL: &str = "bg_bb";

const MAP: ParamMap = ParamMap {
    names: &["alpha", "beta", "gamma", "delta"],
    offsets: &[0.0; 4],
};

/// BG/BB parameters.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BgBb {
    /// Beta parameter α of the transaction probability.
    pub alpha: f64,
    /// Beta parameter β of the transaction probability.
    pub beta: f64,
    /// Beta parameter γ of the dropout probability.
    pub gamma: f64,
    /// Beta parameter δ of the dropout probability.
    pub delta: f64,
}

impl BgBb {
    /// Parameters, each finite and > 0.
    pub fn new(alpha: f64, beta: f64, gamma: f64, delta: f64) -> Result<Self, ModelError> {
        Ok(BgBb {
            alpha: positive("alpha", alpha)?,
            beta: positive("beta", beta)?,
            gamma: positive("gamma", gamma)?,
            delta: positive("delta", delta)?,
        })
    }

    /// The estimates of a BG/BB fit.
    pub fn from_fit(fit: &FitResult) -> Result<Self, ModelError> {
        let v = fit.expect(MODEL)?;
        BgBb::new(v[0], v[1], v[2], v[3])
    }

    /// Log-likelihood of one customer (FHS 2010 eq. 5):
    /// L = B(α+x, β+n−x)/B(α,β) · B(γ, δ+n)/B(γ,δ)
    ///   + Σ_{i=0}^{n−t_x−1} B(α+x, β+t_x−x+i)/B(α,β) · B(γ+1, δ+t_x+i)/B(γ,δ).
    fn ln_lik(&self, x: f64, tx: f64, n: f64) -> f64 {
        let BgBb {
            alpha,
            beta,
            gamma,
            delta,
        } = *self;
        let (lb_ab, lb_gd) = (ln_beta(alpha, beta), ln_beta(gamma, delta));
        let first = ln_beta(alpha + x, beta + n - x) + ln_beta(gamma, delta + n);
        // The sum's terms decrease in i, so its first term bounds them all.
        let term =
            |i: f64| ln_beta(alpha + x, beta + tx - x + i) + ln_beta(gamma + 1.0, delta + tx + i);
        let m = if n > tx { first.max(term(0.0)) } else { first };
        let mut acc = (first - m).exp();
        let mut i = 0.0;
        while i < n - tx {
            acc += (term(i) - m).exp();
            i += 1.0;
        }
        m + acc.ln() - lb_ab - lb_gd
    }

    /// P(alive at the end of opportunity n + m | x, t_x, n) (lifetimes'
    /// `conditional_probability_alive(m, ...)`; m = 0 is "alive now").
    pub fn probability_alive(
        &self,
        m_periods_ahead: u32,
        frequency: u32,
        recency: u32,
        periods: u32,
    ) -> Result<f64, ModelError> {
        check_row(frequency, recency, periods)?;
        let (x, n, m) = (
            f64::from(frequency),
            f64::from(periods),
            f64::from(m_periods_ahead),
        );
        let BgBb {
            alpha,
            beta,
            gamma,
            delta,
        } = *self;
        let l = ln_beta(alpha + x, beta + n - x) - ln_beta(alpha, beta)
            + ln_beta(gamma, delta + n + m)
            - ln_beta(gamma, delta);
        Ok((l - self.ln_lik(x, f64::from(recency), n)).exp().min(1.0))
    }

    /// Expected number of transactions in the next `m_periods` opportunities (FHS 2010
    /// eq. 13; lifetimes' `conditional_expected_number_of_purchases_up_to_time`):
    ///
    /// E = (1/L) · B(α+x+1, β+n−x)/B(α,β) · δ/(γ−1) · Γ(γ+δ)/Γ(1+δ)
    ///     · [Γ(1+δ+n)/Γ(γ+δ+n) − Γ(1+δ+n+m)/Γ(γ+δ+n+m)].
    ///
    /// The bracket and δ/(γ−1) vanish together at γ = 1; within 1e-3 of it the value is
    /// interpolated in γ, which keeps the result finite and smooth.
    pub fn expected_purchases(
        &self,
        m_periods: u32,
        frequency: u32,
        recency: u32,
        periods: u32,
    ) -> Result<f64, ModelError> {
        check_row(frequency, recency, periods)?;
        let (x, tx, n, m) = (
            f64::from(frequency),
            f64::from(recency),
            f64::from(periods),
            f64::from(m_periods),
        );
        if m == 0.0 {
            return Ok(0.0);
        }
        let ln_l = self.ln_lik(x, tx, n);
        let front = ln_beta(self.alpha + x + 1.0, self.beta + n - x)
            - ln_beta(self.alpha, self.beta)
            - ln_l;
        let g = self.gamma;
        const H: f64 = 1e-3;
        let tail = if (g - 1.0).abs() < H {
            let nodes = [1.0 - 2.0 * H, 1.0 - H, 1.0 + H, 1.0 + 2.0 * H];
            let mut acc = 0.0;
            for (i, xi) in nodes.iter().enumerate() {
                let mut w = 1.0;
                for (j, xj) in nodes.iter().enumerate() {
                    if i != j {
                        w *= (g - xj) / (xi - xj);
                    }
                }
                acc += w * death_tail(*xi, self.delta, n, m);
            }
            acc
        } else {
            death_tail(g, self.delta, n, m)
        };
        Ok(front.exp() * tail)
    }
}

/// δ/(γ−1) Γ(γ+δ)/Γ(1+δ) [Γ(1+δ+n)/Γ(γ+δ+n) − Γ(1+δ+n+m)/Γ(γ+δ+n+m)], γ ≠ 1: the expected
/// number of the next m opportunities a customer alive at n survives, averaged over θ.
fn death_tail(g: f64, d: f64, n: f64, m: f64) -> f64 {
    let c = ln_gamma(g + d) - ln_gamma(1.0 + d);
    let l4 = ln_gamma(1.0 + d + n) - ln_gamma(g + d + n);
    let l5 = ln_gamma(1.0 + d + n + m) - ln_gamma(g + d + n + m);
    // p4 − p5 = e^{l4}(1 − e^{l5−l4})
    d / (g - 1.0) * (c + l4).exp() * -(l5 - l4).exp_m1()
}

/// Largest number of opportunities accepted (the likelihood sums over them).
pub const MAX_PERIODS: u32 = 1_000_000;

fn check_row(frequency: u32, recency: u32, periods: u32) -> Result<(), ModelError> {
    if periods > MAX_PERIODS {
        return Err(ModelError::InvalidParameter {
            name: "periods",
            value: f64::from(periods),
            hint: "at most 1,000,000 transaction opportunities",
        });
    }
    if frequency > recency || recency > periods || (frequency == 0 && recency != 0) {
        return Err(ModelError::InvalidParameter {
            name: "recency",
            value: f64::from(recency),
            hint: "need frequency <= recency <= periods, and recency 0 when frequency is 0",
        });
    }
    Ok(())
}

struct Lik {
    rows: Vec<(f64, f64, f64, f64)>,
    n: f64,
}

impl Objective for Lik {
    fn value(&self, v: &[f64]) -> f64 {
        let Ok(p) = BgBb::new(v[0].exp(), v[1].exp(), v[2].exp(), v[3].exp()) else {
            return f64::NAN;
        };
        let mut total = Sum::default();
        for &(x, tx, n, w) in &self.rows {
            total.add(w * p.ln_lik(x, tx, n));
        }
        -total.value() / self.n
    }
}

/// Fit BG/BB by maximum likelihood on compressed discrete-time rows (numerical gradients).
pub fn fit(rows: &[PeriodRow], opts: &FitOptions) -> Result<FitResult, ModelError> {
    let mut data = Vec::with_capacity(rows.len());
    for (i, r) in rows.iter().enumerate() {
        if !(r.weight.is_finite() && r.weight >= 0.0) {
            return Err(ModelError::InvalidInput {
                row: i,
                field: "weight",
                value: r.weight,
                hint: "weights must be finite and >= 0",
            });
        }
        if let Err(ModelError::InvalidParameter { name, value, hint }) =
            check_row(r.frequency, r.recency, r.periods)
        {
            return Err(ModelError::InvalidInput {
                row: i,
                field: name,
                value,
                hint,
            });
        }
        if r.weight > 0.0 {
            data.push((
                f64::from(r.frequency),
                f64::from(r.recency),
                f64::from(r.periods),
                r.weight,
            ));
        }
    }
    let n: f64 = data.iter().map(|r| r.3).sum();
    if data.is_empty() || !(n > 0.0 && n.is_finite()) {
        return Err(ModelError::EmptyInput { what: "BG/BB rows" });
    }
    let starts = vec![vec![0.0, 0.0, 0.0, 0.0], vec![0.0, 0.0, (0.5f64).ln(), 1.0]];
    fit_model(MODEL, &MAP, &Lik { rows: data, n }, n, &starts, opts, None)
}
