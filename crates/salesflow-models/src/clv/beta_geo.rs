//! Pieces shared by BG/NBD and MBG/NBD: the likelihood kernel with its analytic gradient,
//! the expectation E_p[(1 − (1 + p u)^−s)/p] under a beta prior, and negative-binomial sums.

use super::optim::{
    FitOptions, FitResult, Objective, ParamMap, Sum, add_scaled, by_blocks, fit_model,
    log_space_hessian, screen_stride,
};
use super::special::{digamma, ln_gamma, ln_hyp2f1, ln_hyp2f1_negative_many, trigamma};
use super::summary::{PreparedRfm, PreparedRow, RfmRow, prepare_rfm};
use crate::error::{ModelError, non_negative};

/// The BG/NBD-family log-likelihood over prepared rows, as a mean negative log-likelihood in
/// log-parameters (ln r, ln α, ln a, ln b).
///
/// Per customer: ℓ = A1 + A2 + ln(e^{A3} + 1{active} e^{A4}) with
/// A1 = lnΓ(r+x) − lnΓ(r) + r ln α, A2 = lnΓ(a+b) + lnΓ(b+x') − lnΓ(b) − lnΓ(a+b+x'),
/// A3 = −(r+x) ln(α+T), A4 = ln a − ln(b+x'−1) − (r+x) ln(α+t_x),
/// where BG/NBD has x' = x and A4 only for x > 0, and MBG/NBD has x' = x + 1 and A4 always.
pub(crate) struct BetaGeoLik<'a> {
    pub data: &'a PreparedRfm,
    pub modified: bool,
}

impl BetaGeoLik<'_> {
    fn eval(&self, x: &[f64], grad: Option<&mut [f64]>) -> f64 {
        let [lr, la, lpa, lpb] = [x[0], x[1], x[2], x[3]];
        let (r, alpha, a, b) = (lr.exp(), la.exp(), lpa.exp(), lpb.exp());
        if !(r.is_finite() && alpha.is_finite() && a.is_finite() && b.is_finite())
            || r == 0.0
            || alpha == 0.0
            || a == 0.0
            || b == 0.0
        {
            return f64::NAN;
        }
        let shift = if self.modified { 1.0 } else { 0.0 };
        let d = self.data;
        let want_grad = grad.is_some();
        let (lg_r, lg_b, lg_ab) = (ln_gamma(r), ln_gamma(b), ln_gamma(a + b));
        let ln_alpha = alpha.ln();
        let ln_a = a.ln();
        let (dg_r, dg_b, dg_ab) = if want_grad {
            (digamma(r), digamma(b), digamma(a + b))
        } else {
            (0.0, 0.0, 0.0)
        };
        // Per distinct frequency: A1 + A2, ln(b + x' − 1) and the gradient of A1 + A2.
        let mut per_x: Vec<(f64, f64, [f64; 4])> = Vec::with_capacity(d.xs.len());
        let mut total = Sum::default();
        let mut g = [Sum::default(); 4];
        for (xi, &xv) in d.xs.iter().enumerate() {
            let xp = xv + shift;
            let a12 = ln_gamma(r + xv) - lg_r + r * ln_alpha + lg_ab + ln_gamma(b + xp)
                - lg_b
                - ln_gamma(a + b + xp);
            let w = d.x_weight[xi];
            total.add(w * a12);
            let mut gx = [0.0; 4];
            if want_grad {
                let dg_abx = digamma(a + b + xp);
                gx = [
                    digamma(r + xv) - dg_r + ln_alpha,
                    r / alpha,
                    dg_ab - dg_abx,
                    dg_ab + digamma(b + xp) - dg_b - dg_abx,
                ];
                for k in 0..4 {
                    g[k].add(w * gx[k]);
                }
            }
            per_x.push((xv, (b + xp - 1.0).ln(), gx));
        }
        let params = RowParams {
            r,
            alpha,
            a,
            b,
            ln_a,
            shift,
            modified: self.modified,
            want_grad,
        };
        // ln(α + τ) once per distinct time, not twice per row.
        let ln_alpha_times: Vec<f64> = d.times.iter().map(|t| (alpha + t).ln()).collect();
        let partials = by_blocks(&d.rows, |block| params.rows(block, &per_x, &ln_alpha_times));
        for (part_total, part_g) in partials {
            total.add(part_total.value());
            for k in 0..4 {
                g[k].add(part_g[k].value());
            }
        }
        if let Some(out) = grad {
            // d/d ln θ = θ d/dθ, and the objective is −ℓ/n.
            for (k, theta) in [r, alpha, a, b].into_iter().enumerate() {
                out[k] = -g[k].value() * theta / d.n;
            }
        }
        -total.value() / d.n
    }
}

/// What one block of rows needs to add its terms of the log-likelihood and its gradient.
struct RowParams {
    r: f64,
    alpha: f64,
    a: f64,
    b: f64,
    ln_a: f64,
    shift: f64,
    modified: bool,
    want_grad: bool,
}

impl RowParams {
    /// A3 (and A4 for active customers) of `rows`, and their gradient when wanted.
    fn rows(
        &self,
        rows: &[PreparedRow],
        per_x: &[(f64, f64, [f64; 4])],
        ln_alpha_times: &[f64],
    ) -> (Sum, [Sum; 4]) {
        let RowParams {
            r,
            alpha,
            a,
            b,
            ln_a,
            shift,
            modified,
            want_grad,
        } = *self;
        let mut total = Sum::default();
        let mut g = [Sum::default(); 4];
        for row in rows {
            let PreparedRow { xi, tx, t, w, .. } = *row;
            let (xv, ln_bx, _) = per_x[xi];
            let rx = r + xv;
            let ln_at = ln_alpha_times[row.t_time as usize];
            let a3 = -rx * ln_at;
            let active = modified || xv > 0.0;
            if !active {
                total.add(w * a3);
                if want_grad {
                    g[0].add(w * -ln_at);
                    g[1].add(w * -rx / (alpha + t));
                }
                continue;
            }
            let ln_atx = ln_alpha_times[row.tx_time as usize];
            let a4 = ln_a - ln_bx - rx * ln_atx;
            // ln(e^A3 + e^A4) from the larger term: its exponential is e^0 = 1, so only the
            // other one is computed (the same numbers as two calls, one call fewer a row; a
            // NaN still makes the row NaN).
            let smaller = (-(a3 - a4).abs()).exp();
            let m = a3.max(a4);
            let (e3, e4) = if a3 >= a4 {
                (1.0, smaller)
            } else {
                (smaller, 1.0)
            };
            total.add(w * (m + (e3 + e4).ln()));
            if want_grad {
                let p3 = e3 / (e3 + e4);
                let p4 = 1.0 - p3;
                g[0].add(w * (p3 * -ln_at + p4 * -ln_atx));
                g[1].add(w * (p3 * -rx / (alpha + t) + p4 * -rx / (alpha + tx)));
                g[2].add(w * p4 / a);
                g[3].add(-(w * p4) / (b + xv + shift - 1.0));
            }
        }
        (total, g)
    }
}

impl BetaGeoLik<'_> {
    /// The Hessian of the objective in log-parameters, in one pass over the rows (differences
    /// of gradients took eight). With φ = (r, α, a, b) and θ = ln φ:
    /// ∂²f/∂θᵢ∂θⱼ = −(φᵢφⱼ ∂²ℓ/∂φᵢ∂φⱼ + δᵢⱼ φᵢ ∂ℓ/∂φᵢ)/n, where each customer adds the
    /// second derivatives of A1 + A2 (trigamma terms, per distinct frequency) and of the
    /// log-sum-exp of A3 and A4: p₃∇²A3 + p₄∇²A4 + p₃p₄(∇A3 − ∇A4)(∇A3 − ∇A4)ᵀ.
    fn hessian(&self, x: &[f64]) -> Option<Vec<f64>> {
        let phi = [x[0].exp(), x[1].exp(), x[2].exp(), x[3].exp()];
        let [r, alpha, a, b] = phi;
        if phi.iter().any(|v| !(v.is_finite() && *v > 0.0)) {
            return None;
        }
        let shift = if self.modified { 1.0 } else { 0.0 };
        let d = self.data;
        // Gradient (4) and upper triangle of the Hessian (10: rr, rα, ra, rb, αα, αa, αb, aa,
        // ab, bb) of ℓ in φ.
        type Parts = ([f64; 4], [f64; 10]);
        let add = |acc: &mut Parts, w: f64, g: [f64; 4], h: [f64; 10]| {
            add_scaled(&mut acc.0, w, &g);
            add_scaled(&mut acc.1, w, &h);
        };
        let mut total: Parts = ([0.0; 4], [0.0; 10]);
        let (dg_r, dg_b, dg_ab) = (digamma(r), digamma(b), digamma(a + b));
        let (tg_r, tg_b, tg_ab) = (trigamma(r), trigamma(b), trigamma(a + b));
        for (xi, &xv) in d.xs.iter().enumerate() {
            let xp = xv + shift;
            let (dg_abx, tg_abx) = (digamma(a + b + xp), trigamma(a + b + xp));
            let g = [
                digamma(r + xv) - dg_r + alpha.ln(),
                r / alpha,
                dg_ab - dg_abx,
                dg_ab + digamma(b + xp) - dg_b - dg_abx,
            ];
            let h = [
                trigamma(r + xv) - tg_r,
                1.0 / alpha,
                0.0,
                0.0,
                -r / (alpha * alpha),
                0.0,
                0.0,
                tg_ab - tg_abx,
                tg_ab - tg_abx,
                tg_ab + trigamma(b + xp) - tg_b - tg_abx,
            ];
            add(&mut total, d.x_weight[xi], g, h);
        }
        let rows = |rows: &[PreparedRow]| -> Parts {
            let mut acc: Parts = ([0.0; 4], [0.0; 10]);
            for row in rows {
                let PreparedRow { xi, tx, t, w, .. } = *row;
                let xv = d.xs[xi];
                let rx = r + xv;
                let (at, atx) = (alpha + t, alpha + tx);
                // ∇A3 and ∇²A3 (only rα and αα are not zero).
                let g3 = [-at.ln(), -rx / at, 0.0, 0.0];
                let (h3_ra, h3_aa) = (-1.0 / at, rx / (at * at));
                if !(self.modified || xv > 0.0) {
                    let h = [0.0, h3_ra, 0.0, 0.0, h3_aa, 0.0, 0.0, 0.0, 0.0, 0.0];
                    add(&mut acc, w, g3, h);
                    continue;
                }
                let bx = b + xv + shift - 1.0;
                let a3 = rx * g3[0];
                let a4 = a.ln() - bx.ln() - rx * atx.ln();
                let g4 = [-atx.ln(), -rx / atx, 1.0 / a, -1.0 / bx];
                let m = a3.max(a4);
                let (e3, e4) = ((a3 - m).exp(), (a4 - m).exp());
                let p3 = e3 / (e3 + e4);
                let p4 = 1.0 - p3;
                let g: [f64; 4] = std::array::from_fn(|k| p3 * g3[k] + p4 * g4[k]);
                let diff: [f64; 4] = std::array::from_fn(|k| g3[k] - g4[k]);
                let cross = p3 * p4;
                let outer = |i: usize, j: usize| cross * diff[i] * diff[j];
                let h = [
                    outer(0, 0),
                    p3 * h3_ra + p4 * (-1.0 / atx) + outer(0, 1),
                    outer(0, 2),
                    outer(0, 3),
                    p3 * h3_aa + p4 * rx / (atx * atx) + outer(1, 1),
                    outer(1, 2),
                    outer(1, 3),
                    p4 * (-1.0 / (a * a)) + outer(2, 2),
                    outer(2, 3),
                    p4 / (bx * bx) + outer(3, 3),
                ];
                add(&mut acc, w, g, h);
            }
            acc
        };
        for (g, h) in by_blocks(&d.rows, rows) {
            add(&mut total, 1.0, g, h);
        }
        log_space_hessian(&total.0, &total.1, &phi, d.n)
    }
}

impl Objective for BetaGeoLik<'_> {
    fn value(&self, x: &[f64]) -> f64 {
        self.eval(x, None)
    }
    fn value_grad(&self, x: &[f64], g: &mut [f64], _central: bool) -> f64 {
        self.eval(x, Some(g))
    }
    fn analytic_gradient(&self) -> bool {
        true
    }
    fn analytic_hessian(&self, x: &[f64]) -> Option<Vec<f64>> {
        self.hessian(x)
    }
}

/// Fit BG/NBD (`modified` false) or MBG/NBD by maximum likelihood, screening the starting
/// points on a sample of the rows when there are many.
pub(crate) fn fit_family(
    model: &'static str,
    map: &ParamMap,
    rows: &[RfmRow],
    modified: bool,
    opts: &FitOptions,
) -> Result<FitResult, ModelError> {
    let data = prepare_rfm(rows)?;
    let sample = screen_stride(data.rows.len())
        .map(|every| data.sample(every))
        .transpose()?;
    let lik = |data| BetaGeoLik { data, modified };
    let sample_lik = sample.as_ref().map(lik);
    let screen = sample_lik.as_ref().map(|l| l as &(dyn Objective + Sync));
    fit_model(
        model,
        map,
        &lik(&data),
        data.n,
        &starts(&data),
        opts,
        screen,
    )
}

/// The [`super::RepeatPurchaseModel`] of a model of the BG/NBD family, from its inherent
/// `conditional(x, t_x, T) -> Conditional`: the two models differ only there.
macro_rules! repeat_purchase_model_via_conditional {
    ($model:ty) => {
        impl $crate::clv::RepeatPurchaseModel for $model {
            fn expected_purchases(
                &self,
                t: f64,
                frequency: f64,
                recency: f64,
                age: f64,
            ) -> Result<f64, $crate::error::ModelError> {
                $crate::clv::summary::check_customer(frequency, recency, age)?;
                self.conditional(frequency, recency, age).at(t)
            }

            fn expected_purchases_at(
                &self,
                ts: &[f64],
                frequency: f64,
                recency: f64,
                age: f64,
                out: &mut [f64],
            ) -> Result<(), $crate::error::ModelError> {
                $crate::clv::summary::check_customer(frequency, recency, age)?;
                self.conditional(frequency, recency, age).at_each(ts, out)
            }

            fn expected_purchases_if_alive_at(
                &self,
                ts: &[f64],
                frequency: f64,
                age: f64,
                out: &mut [f64],
            ) -> Option<Result<(), $crate::error::ModelError>> {
                // Recency enters only P(alive): any value within [0, T] gives the same g.
                Some(
                    $crate::clv::summary::check_customer(frequency, 0.0, age).and_then(|()| {
                        self.conditional(frequency, 0.0, age)
                            .if_alive_at_each(ts, out)
                    }),
                )
            }

            fn probability_alive(
                &self,
                frequency: f64,
                recency: f64,
                age: f64,
            ) -> Result<f64, $crate::error::ModelError> {
                $crate::clv::summary::check_customer(frequency, recency, age)?;
                Ok(self.conditional(frequency, recency, age).alive)
            }
        }
    };
}
pub(crate) use repeat_purchase_model_via_conditional;

/// One customer's conditional expectation in the BG/NBD family:
/// E[X(t) | x, t_x, T] = H(r + x, a, b', t/(α + T)) · P(alive), with b' = b + x (BG/NBD) or
/// b + x + 1 (MBG/NBD) and P(alive) = 1 for a BG/NBD customer without repeat purchases.
pub(crate) struct Conditional {
    pub s: f64,
    pub a: f64,
    pub bp: f64,
    /// α + T: horizons are divided by it.
    pub scale: f64,
    pub alive: f64,
}

impl Conditional {
    /// Expected purchases in (T, T + t].
    pub(crate) fn at(&self, t: f64) -> Result<f64, ModelError> {
        let u = non_negative("t", t)? / self.scale;
        Ok(beta_expectation(self.s, self.a, self.bp, u)? * self.alive)
    }

    /// Expected purchases at every horizon of `ts`, into `out`, the series summed together.
    pub(crate) fn at_each(&self, ts: &[f64], out: &mut [f64]) -> Result<(), ModelError> {
        self.if_alive_at_each(ts, out)?;
        out.iter_mut().for_each(|h| *h *= self.alive);
        Ok(())
    }

    /// [`Conditional::at_each`] for a customer known to be alive (without the P(alive)
    /// factor, the only part that depends on recency).
    pub(crate) fn if_alive_at_each(&self, ts: &[f64], out: &mut [f64]) -> Result<(), ModelError> {
        super::check_output_len(ts, out)?;
        let us = ts
            .iter()
            .map(|t| Ok(non_negative("t", *t)? / self.scale))
            .collect::<Result<Vec<f64>, ModelError>>()?;
        beta_expectation_many(self.s, self.a, self.bp, &us, out)
    }
}

/// Deterministic starting points for (ln r, ln α, ln a, ln b): α is scaled to the data's
/// time unit through the mean purchase rate.
pub(crate) fn starts(data: &PreparedRfm) -> Vec<Vec<f64>> {
    let (mut sx, mut st) = (0.0, 0.0);
    for row in &data.rows {
        sx += row.w * data.xs[row.xi];
        st += row.w * row.t;
    }
    let alpha0 = if sx > 0.0 { st / sx } else { st / data.n };
    let la = alpha0.max(1e-8).ln();
    vec![
        vec![0.0, la, 0.0, 0.0],
        vec![(0.3f64).ln(), la + (0.3f64).ln(), 0.0, 1.0],
        vec![0.0, 0.0, 0.0, 0.0],
    ]
}

/// H(s, a, b', u) = E_{p ~ Beta(a, b')}[(1 − (1 + p u)^−s) / p]
///               = c/(a−1) · (1 − 2F1(s, a−1; c; −u)),  c = a + b' − 1.
///
/// This is the part of the BG/NBD and MBG/NBD expected-purchase formulas that lifetimes writes
/// as `(a+b+x−1)/(a−1) · (1 − hyp2f1(r+x, b+x; a+b+x−1; z) · (1−z)^(r+x))`. The expression has
/// removable singularities at a = 1 and c = 0, handled by interpolation/averaging across them;
/// for small u it is summed as the alternating series s·u·Σ (s+1)_j (a)_j/((a+b')_j (j+1)!) (−u)^j.
pub(crate) fn beta_expectation(s: f64, a: f64, bp: f64, u: f64) -> Result<f64, ModelError> {
    if u == 0.0 {
        return Ok(0.0);
    }
    if u * ((s + 1.0) / 2.0).max(1.0) <= 0.5 {
        // Alternating series whose terms at least halve: no cancellation to speak of.
        let mut term = s * u;
        let mut sum = term;
        let mut j = 0.0;
        loop {
            term *= -(s + 1.0 + j) * (a + j) / ((a + bp + j) * (j + 2.0)) * u;
            sum += term;
            j += 1.0;
            if term.abs() <= 1e-17 * sum.abs() || j > 10_000.0 {
                break;
            }
        }
        return Ok(sum);
    }
    const H_A: f64 = 1e-3;
    if (a - 1.0).abs() < H_A {
        // Cubic interpolation in a through 1 ± H_A, 1 ± 2 H_A.
        let nodes = [1.0 - 2.0 * H_A, 1.0 - H_A, 1.0 + H_A, 1.0 + 2.0 * H_A];
        let mut acc = 0.0;
        for (i, xi) in nodes.iter().enumerate() {
            let mut w = 1.0;
            for (j, xj) in nodes.iter().enumerate() {
                if i != j {
                    w *= (a - xj) / (xi - xj);
                }
            }
            acc += w * beta_expectation_direct(s, *xi, bp, u)?;
        }
        return Ok(acc);
    }
    let c = a + bp - 1.0;
    if c.abs() < 1e-7 {
        const H_B: f64 = 1e-6;
        let lo = beta_expectation_direct(s, a, bp - H_B, u)?;
        let hi = beta_expectation_direct(s, a, bp + H_B, u)?;
        return Ok(0.5 * (lo + hi));
    }
    beta_expectation_direct(s, a, bp, u)
}

/// [`beta_expectation`] at several u with the same s, a, b': the 2F1 series of all of them
/// are summed together where they take the plain-series route, and each other u is computed
/// on its own. Equal to the one-at-a-time values up to the last bits.
pub(crate) fn beta_expectation_many(
    s: f64,
    a: f64,
    bp: f64,
    us: &[f64],
    out: &mut [f64],
) -> Result<(), ModelError> {
    let c = a + bp - 1.0;
    // The removable singularities are handled one u at a time, as are small u (short series).
    let regular = (a - 1.0).abs() >= 1e-3 && c.abs() >= 1e-7;
    let small = |u: f64| u == 0.0 || u * ((s + 1.0) / 2.0).max(1.0) <= 0.5;
    let together: Vec<usize> = (0..us.len())
        .filter(|&i| regular && !small(us[i]))
        .collect();
    let zs: Vec<f64> = together.iter().map(|&i| -us[i]).collect();
    let mut done = vec![false; us.len()];
    for (&i, f) in together
        .iter()
        .zip(ln_hyp2f1_negative_many(s, a - 1.0, c, &zs))
    {
        if let Some(f) = f {
            out[i] = c / (a - 1.0) * (1.0 - f.value());
            done[i] = true;
        }
    }
    for i in 0..us.len() {
        if !done[i] {
            out[i] = beta_expectation(s, a, bp, us[i])?;
        }
    }
    Ok(())
}

fn beta_expectation_direct(s: f64, a: f64, bp: f64, u: f64) -> Result<f64, ModelError> {
    let c = a + bp - 1.0;
    let f = ln_hyp2f1(s, a - 1.0, c, -u)?;
    Ok(c / (a - 1.0) * (1.0 - f.value()))
}

/// ln of the negative-binomial probability Γ(r+j)/(Γ(r) j!) p^r q^j with ln p, ln q given.
fn ln_nb_pmf(r: f64, j: f64, ln_p: f64, ln_q: f64) -> f64 {
    ln_gamma(r + j) - ln_gamma(r) - ln_gamma(j + 1.0) + r * ln_p + j * ln_q
}

/// Largest purchase count accepted by `probability_of_n_purchases` (its cost is linear in n).
pub const MAX_PURCHASES: u32 = 1_000_000;

/// Reject purchase counts above [`MAX_PURCHASES`].
pub(crate) fn check_purchases(n: u32) -> Result<(), ModelError> {
    if n > MAX_PURCHASES {
        return Err(ModelError::InvalidParameter {
            name: "n",
            value: f64::from(n),
            hint: "at most 1,000,000 purchases",
        });
    }
    Ok(())
}

/// (ln P(N = n), P(N ≥ n)) for N ~ NegBin(r, p = α/(α+t)), the purchase count of a customer
/// who never drops out; the tail is summed directly when the head is close to 1.
pub(crate) fn nb_point_and_tail(r: f64, alpha: f64, t: f64, n: u32) -> (f64, f64) {
    let ln_p = -(t / alpha).ln_1p();
    let ln_q = (t / (alpha + t)).ln();
    let nf = f64::from(n);
    let ln_point = ln_nb_pmf(r, nf, ln_p, ln_q);
    let mut head = 0.0;
    for j in 0..n {
        head += ln_nb_pmf(r, f64::from(j), ln_p, ln_q).exp();
    }
    if head <= 0.5 {
        return (ln_point, (1.0 - head).max(0.0));
    }
    // Direct tail sum: terms ratio (r+j) q/(j+1) decreases to q < 1 past the mode.
    let q = ln_q.exp();
    let mut term = ln_point.exp();
    let mut tail = 0.0;
    let mut j = nf;
    for _ in 0..10_000_000u32 {
        tail += term;
        term *= (r + j) * q / (j + 1.0);
        j += 1.0;
        if term <= 1e-17 * tail && (r + j) * q / (j + 1.0) < 1.0 {
            break;
        }
    }
    (ln_point, tail.min(1.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The one-pass Hessian of both models of the family equals central differences of the
    /// analytic gradient (what the fits used before), away from and at the optimum.
    #[test]
    fn analytic_hessian_is_the_derivative_of_the_gradient() {
        use super::super::optim::hessian_from_gradients;
        let mut rows = Vec::new();
        // Every third row a one-time buyer; weights vary; times cover (0, 60].
        for i in 0..600u32 {
            let f = f64::from(i);
            let frequency = if i % 3 == 0 {
                0.0
            } else {
                f64::from(i % 7 + 1)
            };
            let t = 5.0 + (f * 0.37) % 55.0;
            let recency = if frequency == 0.0 {
                0.0
            } else {
                t * ((f * 0.61) % 1.0)
            };
            rows.push(RfmRow {
                frequency,
                recency,
                t,
                weight: 1.0 + f64::from(i % 4),
            });
        }
        let data = prepare_rfm(&rows).unwrap();
        for modified in [false, true] {
            let lik = BetaGeoLik {
                data: &data,
                modified,
            };
            for x in [[-1.2, 1.5, -0.7, 0.9], [0.3, 2.8, 0.2, -0.4]] {
                let analytic = lik.analytic_hessian(&x).unwrap();
                let numeric = hessian_from_gradients(&lik, &x);
                for (a, n) in analytic.iter().zip(&numeric) {
                    assert!(
                        (a - n).abs() <= 1e-6 * n.abs().max(1e-3),
                        "modified {modified} at {x:?}: {a} vs {n}"
                    );
                }
            }
        }
    }

    /// Brute-force E_p[g(p)] by midpoint quadrature, substituting v = p^a on (0, 1/2] and
    /// w = (1−p)^b' on [1/2, 1) so that both endpoint singularities of the beta density vanish.
    fn brute(s: f64, a: f64, bp: f64, u: f64) -> f64 {
        let g = |p: f64| (1.0 - (1.0 + p * u).powf(-s)) / p;
        let n = 200_000;
        let mut acc = 0.0;
        let v_max = 0.5f64.powf(a);
        let w_max = 0.5f64.powf(bp);
        for i in 0..n {
            let f = (i as f64 + 0.5) / n as f64;
            let p = (f * v_max).powf(1.0 / a);
            acc += g(p) * (1.0 - p).powf(bp - 1.0) * v_max / a / n as f64;
            let q = 1.0 - (f * w_max).powf(1.0 / bp);
            acc += g(q) * q.powf(a - 1.0) * w_max / bp / n as f64;
        }
        acc / super::super::special::ln_beta(a, bp).exp()
    }

    #[test]
    fn beta_expectation_many_equals_one_at_a_time() {
        let us: Vec<f64> = [
            0.0, 1e-3, 0.05, 0.3, 1.0, 2.5, 8.0, 8.999, 9.0, 9.5, 40.0, 500.0,
        ]
        .to_vec();
        for &(s, a, bp) in &[
            (0.243, 0.793, 2.426),
            (2.0, 1.0004, 3.0),
            (1.0, 1.0, 3.0),
            (0.5, 0.4, 0.6 + 1e-9),
            (0.11, 0.31, 0.5),
            (3.0, 2.0, 4.0),
            (12.8, 0.51, 14.7),
            (1.0, 3.0, 2.0),
            (250.0, 0.9, 260.0),
        ] {
            let mut many = vec![f64::NAN; us.len()];
            beta_expectation_many(s, a, bp, &us, &mut many).unwrap();
            for (u, got) in us.iter().zip(&many) {
                let want = beta_expectation(s, a, bp, *u).unwrap();
                assert!(
                    (got - want).abs() <= 1e-13 * want.abs().max(1e-300),
                    "H({s},{a},{bp},{u}) = {got} together, {want} alone"
                );
            }
        }
    }

    #[test]
    fn beta_expectation_matches_quadrature_on_all_branches() {
        for &(s, a, bp, u) in &[
            (0.243, 0.793, 2.426, 1.5),   // generic
            (2.0, 1.0004, 3.0, 2.0),      // a ≈ 1 (interpolated)
            (1.0, 1.0, 3.0, 2.0),         // a = 1 exactly
            (0.5, 0.4, 0.6 + 1e-9, 5.0),  // c ≈ 0
            (0.11, 0.31, 0.5, 9.259_259), // c < 0 (the lifetimes failure case)
            (3.0, 2.0, 4.0, 0.01),        // small-u series
            (0.5, 0.8, 2.0, 500.0),       // z close to 1
        ] {
            let got = beta_expectation(s, a, bp, u).unwrap();
            let want = brute(s, a, bp, u);
            assert!(
                ((got - want) / want).abs() < 2e-4,
                "H({s},{a},{bp},{u}) = {got}, quadrature {want}"
            );
        }
    }
}
