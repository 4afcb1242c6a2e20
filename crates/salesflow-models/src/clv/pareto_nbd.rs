//! Pareto/NBD (Schmittlein, Morrison & Colombo 1987): purchases follow a Poisson process
//! with rate λ ~ Gamma(r, α) while the customer is alive; lifetimes are exponential with rate
//! μ ~ Gamma(s, β). The likelihood follows Fader & Hardie's note 008 in lifetimes' arrangement
//! (`_log_A_0`), on the log scale, with the 2F1 of [`super::special`].

use super::RepeatPurchaseModel;
use super::bg_nbd::probability_from_ln_odds;
use super::optim::{
    FitOptions, FitResult, Objective, ParamMap, Sum, by_blocks, fit_model, screen_stride,
};
use super::special::{ln_gamma, ln_hyp2f1, ln_hyperu_aa, log_add_exp};
use super::summary::{PreparedRfm, PreparedRow, RfmRow, check_customer, prepare_rfm};
use crate::error::{ModelError, non_negative, positive};

/// Model name used in [`FitResult::model`].
pub const MODEL: &str = "pareto_nbd";

const MAP: ParamMap = ParamMap {
    names: &["r", "alpha", "s", "beta"],
    offsets: &[0.0; 4],
};

/// Pareto/NBD parameters: λ ~ Gamma(r, α), μ ~ Gamma(s, β) (α, β in the data's time unit).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ParetoNbd {
    /// Shape of the purchase-rate distribution.
    pub r: f64,
    /// Rate of the purchase-rate distribution.
    pub alpha: f64,
    /// Shape of the dropout-rate distribution.
    pub s: f64,
    /// Rate of the dropout-rate distribution.
    pub beta: f64,
}

/// ln A0 = ln ∫_{t_x}^{T} (α+τ)^−(r+x) (β+τ)^−(s+1) dτ · (r+s+x)/s, i.e. lifetimes'
/// `_log_A_0`: ln[F1/(m+t_x)^(r+s+x) − F2/(m+T)^(r+s+x)] with m = max(α, β) and
/// F = 2F1(r+s+x, t; r+s+x+1; |α−β|/(m+·)), t = s+1 if α ≥ β else r+x.
/// −∞ when the difference vanishes (t_x = T).
fn ln_a0(p: &ParetoNbd, x: f64, tx: f64, age: f64) -> Result<f64, ModelError> {
    let (min_ab, max_ab, alpha_smaller) = branch(p);
    let tp = if alpha_smaller { p.r + x } else { p.s + 1.0 };
    let (r, s) = (p.r, p.s);
    let d = max_ab - min_ab;
    let rsx = r + s + x;
    let (q1, q2) = (max_ab + tx, max_ab + age);
    let f1 = ln_hyp2f1(rsx, tp, rsx + 1.0, d / q1)?;
    let f2 = ln_hyp2f1(rsx, tp, rsx + 1.0, d / q2)?;
    if f1.sign <= 0.0 || f2.sign <= 0.0 {
        return Ok(f64::NEG_INFINITY);
    }
    Ok(ln_difference(
        f1.ln_abs - rsx * q1.ln(),
        f2.ln_abs - rsx * q2.ln(),
    ))
}

/// ln(e^l1 − e^l2), −∞ when l2 ≥ l1.
fn ln_difference(l1: f64, l2: f64) -> f64 {
    if l2 >= l1 {
        f64::NEG_INFINITY
    } else {
        l1 + (-(l2 - l1).exp_m1()).ln()
    }
}

/// Which 2F1 the likelihood needs for these parameters: (min(α,β), max(α,β), whether α < β).
fn branch(p: &ParetoNbd) -> (f64, f64, bool) {
    if p.alpha < p.beta {
        (p.alpha, p.beta, true)
    } else {
        (p.beta, p.alpha, false)
    }
}

impl ParetoNbd {
    /// Parameters, each finite and > 0.
    pub fn new(r: f64, alpha: f64, s: f64, beta: f64) -> Result<Self, ModelError> {
        Ok(ParetoNbd {
            r: positive("r", r)?,
            alpha: positive("alpha", alpha)?,
            s: positive("s", s)?,
            beta: positive("beta", beta)?,
        })
    }

    /// The estimates of a Pareto/NBD fit.
    pub fn from_fit(fit: &FitResult) -> Result<Self, ModelError> {
        let v = fit.expect(MODEL)?;
        ParetoNbd::new(v[0], v[1], v[2], v[3])
    }

    /// ln of P(dead)/P(alive) for a customer.
    fn ln_dead_odds(&self, x: f64, tx: f64, age: f64) -> Result<f64, ModelError> {
        let ParetoNbd { r, alpha, s, beta } = *self;
        let a0 = ln_a0(self, x, tx, age)?;
        Ok(s.ln() - (r + s + x).ln() + (r + x) * (alpha + age).ln() + s * (beta + age).ln() + a0)
    }

    /// Expected number of purchases in (0, t] of a new customer:
    /// (rβ/α) · (1 − (β/(β+t))^(s−1))/(s − 1) (the s = 1 limit is (rβ/α) ln(1 + t/β)).
    pub fn expected_purchases_new_customer(&self, t: f64) -> Result<f64, ModelError> {
        let t = non_negative("t", t)?;
        Ok(self.r * self.beta / self.alpha * survival_integral(self.s, self.beta, t))
    }

    /// Discounted expected residual transactions (Fader, Hardie & Lee 2005, "RFM and CLV",
    /// eq. 2) with continuous discounting at `continuous_rate` per time unit of the data
    /// (for weekly data and an annual rate d: ln(1 + d)/52):
    ///
    /// DERT = P(alive) · (r+x)/(α+T) · (β+T)^s δ^(s−1) U(s, s; δ(β+T)),
    ///
    /// the present value, at T, of the customer's future transaction count. Multiply by the
    /// expected spend per transaction for a monetary value.
    pub fn discounted_expected_residual_transactions(
        &self,
        frequency: f64,
        recency: f64,
        age: f64,
        continuous_rate: f64,
    ) -> Result<f64, ModelError> {
        check_customer(frequency, recency, age)?;
        let delta = positive("continuous_rate", continuous_rate)?;
        let ParetoNbd { r, alpha, s, beta } = *self;
        let x = frequency;
        let p_alive = self.probability_alive(x, recency, age)?;
        let bt = beta + age;
        let ln_u = ln_hyperu_aa(s, delta * bt)?;
        let ln_rest =
            (r + x).ln() - (alpha + age).ln() + s * bt.ln() + (s - 1.0) * delta.ln() + ln_u;
        Ok(p_alive * ln_rest.exp())
    }
}

/// (1 − (β/(β+t))^(s−1))/(s − 1), written with expm1 so that s = 1 is not special.
fn survival_integral(s: f64, beta: f64, t: f64) -> f64 {
    let ln_y = -(t / beta).ln_1p();
    if s == 1.0 {
        -ln_y
    } else {
        -((s - 1.0) * ln_y).exp_m1() / (s - 1.0)
    }
}

impl RepeatPurchaseModel for ParetoNbd {
    /// E[Y(t) | x, t_x, T] = P(alive) · (r+x)(β+T)/(α+T) · (1 − ((β+T)/(β+T+t))^(s−1))/(s−1).
    fn expected_purchases(
        &self,
        t: f64,
        frequency: f64,
        recency: f64,
        age: f64,
    ) -> Result<f64, ModelError> {
        let t = non_negative("t", t)?;
        let p_alive = self.probability_alive(frequency, recency, age)?;
        let ParetoNbd { r, alpha, s, beta } = *self;
        Ok(p_alive * (r + frequency) * (beta + age) / (alpha + age)
            * survival_integral(s, beta + age, t))
    }

    /// P(alive | x, t_x, T) = 1/(1 + s/(r+s+x) (α+T)^(r+x) (β+T)^s A0).
    fn probability_alive(&self, frequency: f64, recency: f64, age: f64) -> Result<f64, ModelError> {
        check_customer(frequency, recency, age)?;
        Ok(probability_from_ln_odds(
            self.ln_dead_odds(frequency, recency, age)?,
        ))
    }
}

struct Lik<'a> {
    data: &'a PreparedRfm,
}

/// Coefficients e_k of 2F1(a, b; a+1; z) = (1−z)^(1−b) Σ e_k z^k (Euler's transformation:
/// the series is 2F1(1, a+1−b; a+1; z), whose term ratio (a+1−b+k)/(a+1+k)·z stays below z
/// because here a+1−b is r+x or s+1 > 0), enough for every z ≤ `z_max` < 1: all terms are
/// positive, so the truncation error is below 1e-16 relative.
fn series_coefficients(a: f64, b: f64, z_max: f64, out: &mut Vec<f64>) {
    out.clear();
    out.push(1.0);
    let (mut c, mut sum, mut zk) = (1.0f64, 1.0f64, 1.0f64);
    let a1b = a + 1.0 - b;
    let mut k = 0.0;
    while out.len() < 100_000 {
        c *= (a1b + k) / (a + 1.0 + k);
        zk *= z_max;
        out.push(c);
        sum += c * zk;
        k += 1.0;
        if c * zk * z_max / (1.0 - z_max) <= 1e-16 * sum {
            break;
        }
    }
}

/// Σ c_k z^k by Horner's rule.
fn horner(c: &[f64], z: f64) -> f64 {
    c.iter().rev().fold(0.0, |acc, &ck| acc * z + ck)
}

impl Lik<'_> {
    /// ln 2F1(r+s+x, t'; r+s+x+1; |α−β|/(max(α,β)+τ)) for every (frequency, time) pair of the
    /// data (see [`ln_a0`]); NaN where the function is not positive (A0 is then −∞), `None`
    /// where it cannot be evaluated.
    fn ln_hyp2f1_pairs(&self, p: &ParetoNbd, ln_min: &[f64], ln_max: &[f64]) -> Option<Vec<f64>> {
        let d = self.data;
        let (min_ab, max_ab, alpha_smaller) = branch(p);
        let diff = max_ab - min_ab;
        // With z ≤ 0.9 the Euler-transformed series is short: its coefficients are computed
        // once per frequency and summed by Horner's rule at each time.
        let z_max = diff / max_ab;
        let fast = z_max <= 0.9;
        let mut coefficients = Vec::new();
        let mut current: Option<u32> = None;
        let mut one_minus_b = 0.0;
        let mut out = Vec::with_capacity(d.pairs.len());
        for &(xi, ti) in &d.pairs {
            let x = d.xs[xi as usize];
            let (a, b) = (
                p.r + p.s + x,
                if alpha_smaller { p.r + x } else { p.s + 1.0 },
            );
            let tau = d.times[ti as usize];
            let z = diff / (max_ab + tau);
            if !fast {
                let f = ln_hyp2f1(a, b, a + 1.0, z).ok()?;
                out.push(if f.sign > 0.0 { f.ln_abs } else { f64::NAN });
                continue;
            }
            if current != Some(xi) {
                series_coefficients(a, b, z_max, &mut coefficients);
                one_minus_b = 1.0 - b;
                current = Some(xi);
            }
            // ln F(z) = (1 − b) ln(1 − z) + ln Σ e_k z^k with 1 − z = (min + τ)/(max + τ).
            let (ln_m, ln_q) = (ln_min[ti as usize], ln_max[ti as usize]);
            out.push(one_minus_b * (ln_m - ln_q) + horner(&coefficients, z).ln());
        }
        Some(out)
    }
}

impl Objective for Lik<'_> {
    fn value(&self, v: &[f64]) -> f64 {
        let Ok(p) = ParetoNbd::new(v[0].exp(), v[1].exp(), v[2].exp(), v[3].exp()) else {
            return f64::NAN;
        };
        let d = self.data;
        let (min_ab, max_ab, alpha_smaller) = branch(&p);
        let lg_r = ln_gamma(p.r);
        let mut total = Sum::default();
        for (xi, &x) in d.xs.iter().enumerate() {
            total.add(d.x_weight[xi] * (ln_gamma(p.r + x) - lg_r));
        }
        // Logarithms of times once per distinct time, the 2F1 once per (frequency, time).
        let ln_plus = |c: f64| d.times.iter().map(|t| (c + t).ln()).collect::<Vec<f64>>();
        let (ln_min, ln_max) = (ln_plus(min_ab), ln_plus(max_ab));
        let (ln_alpha, ln_beta) = if alpha_smaller {
            (&ln_min, &ln_max)
        } else {
            (&ln_max, &ln_min)
        };
        let Some(ln_f) = self.ln_hyp2f1_pairs(&p, &ln_min, &ln_max) else {
            return f64::NAN;
        };
        let (ln_s, ln_base) = (p.s.ln(), p.r * p.alpha.ln() + p.s * p.beta.ln());
        let block_sum = |rows: &[PreparedRow]| -> Sum {
            let mut sum = Sum::default();
            for row in rows {
                let x = d.xs[row.xi];
                let rsx = p.r + p.s + x;
                let (tx_time, t_time) = (row.tx_time as usize, row.t_time as usize);
                let (f1, f2) = (ln_f[row.tx_pair as usize], ln_f[row.t_pair as usize]);
                // ln A0 = ln[F1/(max+t_x)^(r+s+x) − F2/(max+T)^(r+s+x)].
                let a0 = if f1.is_nan() || f2.is_nan() {
                    f64::NEG_INFINITY
                } else {
                    ln_difference(f1 - rsx * ln_max[tx_time], f2 - rsx * ln_max[t_time])
                };
                let (ln_at, ln_bt) = (ln_alpha[t_time], ln_beta[t_time]);
                sum.add(
                    row.w
                        * (ln_base
                            + log_add_exp(-(p.r + x) * ln_at - p.s * ln_bt, ln_s + a0 - rsx.ln())),
                );
            }
            sum
        };
        for part in by_blocks(&d.rows, block_sum) {
            total.add(part.value());
        }
        -total.value() / d.n
    }
}

/// Fit Pareto/NBD by maximum likelihood on (compressed) RFM rows (numerical gradients).
pub fn fit(rows: &[RfmRow], opts: &FitOptions) -> Result<FitResult, ModelError> {
    let data = prepare_rfm(rows)?;
    let (mut sx, mut st) = (0.0, 0.0);
    for row in &data.rows {
        sx += row.w * data.xs[row.xi];
        st += row.w * row.t;
    }
    let scale = if sx > 0.0 { st / sx } else { st / data.n };
    let ls = scale.max(1e-8).ln();
    let starts = vec![
        vec![0.0, ls, 0.0, ls],
        vec![(0.5f64).ln(), ls, (0.5f64).ln(), ls + 1.0],
    ];
    let sample = screen_stride(data.rows.len())
        .map(|every| data.sample(every))
        .transpose()?;
    let sample_lik = sample.as_ref().map(|data| Lik { data });
    let screen = sample_lik.as_ref().map(|l| l as &(dyn Objective + Sync));
    fit_model(
        MODEL,
        &MAP,
        &Lik { data: &data },
        data.n,
        &starts,
        opts,
        screen,
    )
}
