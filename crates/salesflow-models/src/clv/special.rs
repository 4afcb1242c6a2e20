//! Special functions the CLV models need: log-gamma, digamma, log-beta, log-sum-exp, the Gauss
//! hypergeometric function 2F1 and Tricomi's U(a, a, z).
//!
//! Log-gamma comes from `libm` (a dependency-free port of musl, accurate to about an ulp and
//! with the sign of Γ for negative arguments). Digamma, 2F1 and U are written here: no small
//! crate offers a real 2F1 that stays finite near z = 1 and on the negative axis, and the
//! formulas below are short. Every function returns an error or a finite number, never panics.

use crate::error::ModelError;

/// Natural log of |Γ(x)|. `+inf` at the poles (0, -1, -2, ...).
pub fn ln_gamma(x: f64) -> f64 {
    libm::lgamma_r(x).0
}

/// `(ln|Γ(x)|, sign of Γ(x))`; the sign is 0 at the poles, where 1/Γ(x) = 0.
pub fn ln_gamma_signed(x: f64) -> (f64, f64) {
    if is_non_positive_integer(x) {
        return (f64::INFINITY, 0.0);
    }
    let (v, s) = libm::lgamma_r(x);
    (v, if s < 0 { -1.0 } else { 1.0 })
}

/// ln B(a, b) = ln Γ(a) + ln Γ(b) − ln Γ(a + b), for a, b > 0.
pub fn ln_beta(a: f64, b: f64) -> f64 {
    ln_gamma(a) + ln_gamma(b) - ln_gamma(a + b)
}

/// Digamma ψ(x) = d ln Γ(x)/dx. NaN at the poles and for NaN input.
///
/// Recurrence up to x ≥ 10, then the asymptotic series through x^-14 (error < 1e-16);
/// reflection for negative x.
pub fn digamma(x: f64) -> f64 {
    if x.is_nan() || x == f64::NEG_INFINITY || is_non_positive_integer(x) {
        return f64::NAN;
    }
    if x == f64::INFINITY {
        return f64::INFINITY;
    }
    if x < 0.0 {
        // ψ(1 − x) − ψ(x) = π cot(πx); reduce the argument first so tan stays accurate.
        let frac = x - x.floor();
        let cot = 1.0 / (std::f64::consts::PI * frac).tan();
        return digamma(1.0 - x) - std::f64::consts::PI * cot;
    }
    let mut x = x;
    let mut acc = 0.0;
    while x < 10.0 {
        acc -= 1.0 / x;
        x += 1.0;
    }
    let inv = 1.0 / x;
    let inv2 = inv * inv;
    // Bernoulli-number coefficients B_2k / (2k).
    let series = inv2
        * (1.0 / 12.0
            - inv2
                * (1.0 / 120.0
                    - inv2
                        * (1.0 / 252.0
                            - inv2
                                * (1.0 / 240.0
                                    - inv2
                                        * (1.0 / 132.0
                                            - inv2 * (691.0 / 32760.0 - inv2 / 12.0))))));
    acc + x.ln() - 0.5 * inv - series
}

/// Trigamma ψ₁(x) = d²ln Γ(x)/dx², for x > 0 (NaN otherwise): the analytic Hessians of the
/// likelihoods need it.
///
/// Recurrence ψ₁(x) = ψ₁(x + 1) + 1/x² up to x ≥ 10, then the asymptotic series
/// 1/x + 1/(2x²) + Σ B₂ₖ/x^(2k+1) through x^-13 (error < 1e-16 there).
pub fn trigamma(x: f64) -> f64 {
    if x.is_nan() || x <= 0.0 {
        return f64::NAN;
    }
    if x == f64::INFINITY {
        return 0.0;
    }
    let mut x = x;
    let mut acc = 0.0;
    while x < 10.0 {
        acc += 1.0 / (x * x);
        x += 1.0;
    }
    let inv = 1.0 / x;
    let inv2 = inv * inv;
    // Bernoulli numbers B₂ … B₁₂.
    let series = inv
        * inv2
        * (1.0 / 6.0
            - inv2
                * (1.0 / 30.0
                    - inv2
                        * (1.0 / 42.0
                            - inv2 * (1.0 / 30.0 - inv2 * (5.0 / 66.0 - inv2 * 691.0 / 2730.0)))));
    acc + inv + 0.5 * inv2 + series
}

/// ln(e^x + e^y) without overflow; handles −∞ operands.
pub fn log_add_exp(x: f64, y: f64) -> f64 {
    if x == f64::NEG_INFINITY {
        return y;
    }
    if y == f64::NEG_INFINITY {
        return x;
    }
    let m = x.max(y);
    m + (-(x - y).abs()).exp().ln_1p()
}

/// ln Σ e^{x_i} without overflow; −∞ for an empty slice.
pub fn log_sum_exp(xs: &[f64]) -> f64 {
    let m = xs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if !m.is_finite() {
        return m;
    }
    m + xs.iter().map(|x| (x - m).exp()).sum::<f64>().ln()
}

/// A real number kept as its sign and the log of its magnitude: `sign * exp(ln_abs)`.
///
/// Hypergeometric values overflow f64 long before their logs do, so 2F1 reports this form.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SignedLn {
    /// ln |value| (−∞ for zero).
    pub ln_abs: f64,
    /// −1, 0 or +1.
    pub sign: f64,
}

impl SignedLn {
    /// The number one.
    pub const ONE: SignedLn = SignedLn {
        ln_abs: 0.0,
        sign: 1.0,
    };
    /// The number zero.
    pub const ZERO: SignedLn = SignedLn {
        ln_abs: f64::NEG_INFINITY,
        sign: 0.0,
    };

    /// From an ordinary number.
    pub fn from_value(v: f64) -> SignedLn {
        if v == 0.0 {
            SignedLn::ZERO
        } else {
            SignedLn {
                ln_abs: v.abs().ln(),
                sign: v.signum(),
            }
        }
    }

    /// The value as f64 (may overflow to ±∞ or underflow to 0).
    pub fn value(self) -> f64 {
        if self.sign == 0.0 {
            0.0
        } else {
            self.sign * self.ln_abs.exp()
        }
    }

    /// Multiply by e^l.
    fn scale_ln(self, l: f64) -> SignedLn {
        SignedLn {
            ln_abs: self.ln_abs + l,
            sign: self.sign,
        }
    }

    /// Sum of two signed logs.
    fn add(self, o: SignedLn) -> SignedLn {
        if self.sign == 0.0 {
            return o;
        }
        if o.sign == 0.0 {
            return self;
        }
        let m = self.ln_abs.max(o.ln_abs);
        let v = self.sign * (self.ln_abs - m).exp() + o.sign * (o.ln_abs - m).exp();
        SignedLn::from_value(v).scale_ln(m)
    }
}

fn is_non_positive_integer(x: f64) -> bool {
    x <= 0.0 && x == x.floor()
}

fn domain(detail: String) -> ModelError {
    ModelError::Domain {
        function: "hyp2f1",
        detail,
    }
}

/// Gauss hypergeometric function 2F1(a, b; c; z) for real arguments and z ≤ 1.
///
/// Returns an error where the function is not a finite real number (z > 1, c a pole, z = 1
/// with c − a − b ≤ 0) or the value overflows f64. Use [`ln_hyp2f1`] to stay on the log scale.
pub fn hyp2f1(a: f64, b: f64, c: f64, z: f64) -> Result<f64, ModelError> {
    let v = ln_hyp2f1(a, b, c, z)?.value();
    if v.is_finite() {
        Ok(v)
    } else {
        Err(domain(format!(
            "2F1({a}, {b}; {c}; {z}) overflows f64; use ln_hyp2f1"
        )))
    }
}

/// 2F1(a, b; c; z) as a [`SignedLn`], for real a, b, c and z ≤ 1.
///
/// Method (all on a rescaled/log scale, so large parameters do not overflow):
/// - a or b a non-positive integer: the terminating polynomial, summed directly;
/// - z < 0: Pfaff's transformation to w = z/(z − 1) ∈ (0, 1),
///   `2F1(a,b;c;z) = (1−z)^(−a) 2F1(a, c−b; c; w)` (or the a↔b variant, whichever keeps the
///   series terms positive);
/// - 0 < z ≤ 0.9: the Maclaurin series;
/// - 0.9 < z < 1: the z → 1 − z connection formula (Abramowitz & Stegun 15.3.6), whose two
///   gamma-function coefficients have poles when c − a − b is an integer m. Within 2e-3 of an
///   integer the value is interpolated (degree-5 Lagrange in c through c − a − b = m ± 2e-3,
///   m ± 4e-3, m ± 6e-3), which keeps ~1e-10 relative accuracy where the raw formula would
///   lose all digits (elsewhere the accuracy is ~1e-13);
/// - z = 1: Gauss's sum Γ(c)Γ(c−a−b)/(Γ(c−a)Γ(c−b)) when c − a − b > 0.
pub fn ln_hyp2f1(a: f64, b: f64, c: f64, z: f64) -> Result<SignedLn, ModelError> {
    if !(a.is_finite() && b.is_finite() && c.is_finite() && z.is_finite()) {
        return Err(domain(format!(
            "arguments must be finite, got 2F1({a}, {b}; {c}; {z})"
        )));
    }
    if z > 1.0 {
        return Err(domain(format!(
            "z = {z} > 1: the function is complex there"
        )));
    }
    if z == 0.0 || a == 0.0 || b == 0.0 {
        return Ok(SignedLn::ONE);
    }
    // Terminating series: degree = the smaller |a| or |b| among non-positive integers.
    let degree = [a, b]
        .into_iter()
        .filter(|v| is_non_positive_integer(*v))
        .map(|v| -v)
        .fold(f64::INFINITY, f64::min);
    if degree.is_finite() {
        if is_non_positive_integer(c) && -c < degree {
            return Err(domain(format!(
                "c = {c} is a pole of 2F1 (a non-positive integer above the polynomial degree)"
            )));
        }
        return series(a, b, c, z);
    }
    if is_non_positive_integer(c) {
        return Err(domain(format!(
            "c = {c} is a non-positive integer: 2F1 has a pole there"
        )));
    }
    if z == 1.0 {
        let m = c - a - b;
        if m <= 0.0 {
            return Err(domain(format!(
                "z = 1 with c - a - b = {m} <= 0: the series diverges"
            )));
        }
        return Ok(gamma_ratio(&[c, m], &[c - a, c - b]));
    }
    if z < 0.0 {
        // w = z/(z−1) ∈ (0, 1) and 1 − w = 1/(1 − z), computed without cancellation.
        let one_minus_w = 1.0 / (1.0 - z);
        let w = -z * one_minus_w;
        let ln_1mz = (-z).ln_1p();
        let (p, q) = pfaff_variant(a, b, c);
        let inner = unit_interval(p, q, c, w, one_minus_w)?;
        return Ok(inner.scale_ln(-p * ln_1mz));
    }
    unit_interval(a, b, c, z, 1.0 - z)
}

/// Which Pfaff transformation maps 2F1(a, b; c; z) with z < 0 to w = z/(z−1) ∈ (0, 1): the
/// (p, q) of (1−z)^(−p) F(p, q; c; w), variant A (a, c−b) or B (b, c−a), whichever has fewer
/// negative parameters (a terminating q first).
fn pfaff_variant(a: f64, b: f64, c: f64) -> (f64, f64) {
    let score = |p: f64, q: f64| {
        if is_non_positive_integer(q) {
            -1
        } else {
            i32::from(p < 0.0) + i32::from(q < 0.0)
        }
    };
    if score(a, c - b) <= score(b, c - a) {
        (a, c - b)
    } else {
        (b, c - a)
    }
}

/// ln 2F1(a, b; c; z) at several negative z with the same a, b and c (CLV needs one per
/// month of its horizon): the series' coefficients are computed once for all of them.
///
/// `Some` for each z that takes [`ln_hyp2f1`]'s plain-series route (after the Pfaff
/// transformation, w ≤ 0.9), with the same value up to the last bits (the stopping test is
/// written without a division); `None` where the caller must call [`ln_hyp2f1`] itself:
/// parameters at its special cases, a z outside (−9, 0), or a series that needs rescaling.
pub(crate) fn ln_hyp2f1_negative_many(a: f64, b: f64, c: f64, zs: &[f64]) -> Vec<Option<SignedLn>> {
    let mut out = vec![None; zs.len()];
    let special = |v: f64| !v.is_finite() || v == 0.0 || is_non_positive_integer(v);
    if special(a) || special(b) || special(c) {
        return out;
    }
    let (p, q) = pfaff_variant(a, b, c);
    if special(q) {
        return out;
    }
    // w = z/(z−1), computed as `ln_hyp2f1` does; w ≤ 0.9 is `unit_interval`'s series route.
    let w_of = |z: f64| -z * (1.0 / (1.0 - z));
    let lanes: Vec<usize> = (0..zs.len())
        .filter(|&i| zs[i] < 0.0 && w_of(zs[i]) <= 0.9)
        .collect();
    let ws: Vec<f64> = lanes.iter().map(|&i| w_of(zs[i])).collect();
    for (lane, sum) in lanes.iter().zip(series_many(p, q, c, &ws)) {
        if let Some(sum) = sum {
            let z = zs[*lane];
            out[*lane] = Some(sum.scale_ln(-p * (-z).ln_1p()));
        }
    }
    out
}

/// [`series`] at several z ∈ (0, 0.9] with the same a, b, c; `None` for a lane whose terms
/// grow past the range where [`series`] would rescale them.
fn series_many(a: f64, b: f64, c: f64, zs: &[f64]) -> Vec<Option<SignedLn>> {
    struct Lane {
        z: f64,
        term: f64,
        sum: f64,
        max_abs: f64,
        done: bool,
        failed: bool,
    }
    let mut lanes: Vec<Lane> = zs
        .iter()
        .map(|&z| Lane {
            z,
            term: 1.0,
            sum: 1.0,
            max_abs: 1.0,
            done: false,
            failed: false,
        })
        .collect();
    let k_safe = [0.0, -a, -b, -c].into_iter().fold(0.0, f64::max).ceil() + 2.0;
    // Terms are added four at a time between the checks (a check is several times the
    // arithmetic of a term):
    // a lane may take up to three terms more than `series` would, each below its 1e-17 bound.
    const STRIDE: usize = 4;
    let mut k = 0.0f64;
    let mut open = lanes.len();
    for _ in 0..MAX_TERMS / STRIDE {
        if open == 0 {
            break;
        }
        let mut coefficients = [0.0; STRIDE];
        for coefficient in &mut coefficients {
            *coefficient = (a + k) * (b + k) / ((c + k) * (k + 1.0));
            k += 1.0;
        }
        for lane in lanes.iter_mut().filter(|l| !l.done) {
            let mut ratio = 0.0;
            for coefficient in coefficients {
                ratio = coefficient * lane.z;
                lane.term *= ratio;
                lane.sum += lane.term;
            }
            lane.max_abs = lane.max_abs.max(lane.sum.abs());
            let overflow = lane.term.abs() > 1e250 || lane.max_abs > 1e250;
            if overflow || !lane.term.is_finite() || !lane.sum.is_finite() {
                (lane.failed, lane.done) = (true, true);
                open -= 1;
                continue;
            }
            let r_eff = ratio.abs().max(lane.z);
            // The tail after this term is below term · r_eff/(1 − r_eff) (as in `series`).
            let converged = lane.term == 0.0
                || (k >= k_safe
                    && r_eff < 1.0
                    && lane.term.abs() * r_eff <= 1e-17 * lane.max_abs * (1.0 - r_eff));
            if converged {
                lane.done = true;
                open -= 1;
            }
        }
    }
    lanes
        .into_iter()
        .map(|l| (l.done && !l.failed).then(|| SignedLn::from_value(l.sum)))
        .collect()
}

/// 2F1 for z ∈ (0, 1); `w` is 1 − z computed accurately by the caller.
fn unit_interval(a: f64, b: f64, c: f64, z: f64, w: f64) -> Result<SignedLn, ModelError> {
    if a == 0.0 || b == 0.0 || is_non_positive_integer(a) || is_non_positive_integer(b) {
        return series(a, b, c, z);
    }
    if z <= 0.9 {
        return series(a, b, c, z);
    }
    let m = c - a - b;
    let e = m - m.round();
    // Within BAND of an integer the two terms of the connection formula nearly cancel (each
    // is ~1/|e| times the result, and their log-gamma coefficients carry ~1e-14 absolute
    // error), so the value is interpolated in c from six points at distance ≥ BAND.
    const BAND: f64 = 2e-3;
    if e.abs() > BAND {
        return connection(a, b, c, w);
    }
    let nodes = [
        -3.0 * BAND,
        -2.0 * BAND,
        -BAND,
        BAND,
        2.0 * BAND,
        3.0 * BAND,
    ];
    let base = c - e;
    let mut vals = [SignedLn::ZERO; 6];
    for (v, d) in vals.iter_mut().zip(nodes) {
        *v = match connection(a, b, base + d, w) {
            Ok(v) => v,
            // A pole of the shifted function: only reachable for pathological inputs; the
            // plain series is exact (if slow) as long as z is not too close to 1.
            Err(_) if z <= 0.9999 => return series(a, b, c, z),
            Err(err) => return Err(err),
        };
    }
    let scale = vals
        .iter()
        .map(|v| v.ln_abs)
        .fold(f64::NEG_INFINITY, f64::max);
    if !scale.is_finite() {
        return series(a, b, c, z);
    }
    let mut acc = 0.0;
    for (i, xi) in nodes.iter().enumerate() {
        let mut weight = 1.0;
        for (j, xj) in nodes.iter().enumerate() {
            if i != j {
                weight *= (e - xj) / (xi - xj);
            }
        }
        acc += weight * vals[i].sign * (vals[i].ln_abs - scale).exp();
    }
    Ok(SignedLn::from_value(acc).scale_ln(scale))
}

/// Γ(n_0)Γ(n_1).../(Γ(d_0)Γ(d_1)...) as a signed log; zero when a denominator is at a pole.
fn gamma_ratio(num: &[f64], den: &[f64]) -> SignedLn {
    let mut ln = 0.0;
    let mut sign = 1.0;
    for &x in num {
        let (l, s) = ln_gamma_signed(x);
        ln += l;
        sign *= s;
    }
    for &x in den {
        let (l, s) = ln_gamma_signed(x);
        if s == 0.0 {
            return SignedLn::ZERO;
        }
        ln -= l;
        sign *= s;
    }
    SignedLn { ln_abs: ln, sign }
}

/// A&S 15.3.6 with w = 1 − z small:
/// F = Γ(c)Γ(m)/(Γ(c−a)Γ(c−b)) F(a,b;1−m;w) + w^m Γ(c)Γ(−m)/(Γ(a)Γ(b)) F(c−a,c−b;1+m;w),
/// m = c − a − b (not an integer).
fn connection(a: f64, b: f64, c: f64, w: f64) -> Result<SignedLn, ModelError> {
    let m = c - a - b;
    if is_non_positive_integer(c) || m == m.round() {
        return Err(domain(format!(
            "connection formula undefined at c = {c}, c - a - b = {m}"
        )));
    }
    let g1 = gamma_ratio(&[c, m], &[c - a, c - b]);
    let t1 = if g1.sign == 0.0 {
        SignedLn::ZERO
    } else {
        let f = series(a, b, 1.0 - m, w)?;
        SignedLn {
            ln_abs: g1.ln_abs + f.ln_abs,
            sign: g1.sign * f.sign,
        }
    };
    let g2 = gamma_ratio(&[c, -m], &[a, b]);
    let t2 = if g2.sign == 0.0 {
        SignedLn::ZERO
    } else {
        let f = series(c - a, c - b, 1.0 + m, w)?;
        SignedLn {
            ln_abs: g2.ln_abs + f.ln_abs + m * w.ln(),
            sign: g2.sign * f.sign,
        }
    };
    Ok(t1.add(t2))
}

/// Upper bound on series terms; reached only for |parameters| in the millions.
const MAX_TERMS: usize = 5_000_000;

/// The Maclaurin series Σ (a)_k (b)_k / ((c)_k k!) z^k for |z| < 1 (or terminating),
/// summed with a running rescale so that huge terms do not overflow.
fn series(a: f64, b: f64, c: f64, z: f64) -> Result<SignedLn, ModelError> {
    // Past this index every Pochhammer factor is positive and the term ratio is monotone.
    let k_safe = [0.0, -a, -b, -c].into_iter().fold(0.0, f64::max).ceil() + 2.0;
    const RESCALE: f64 = 1e250;
    let ln_rescale = RESCALE.ln();
    let mut sum = 1.0f64;
    let mut term = 1.0f64;
    let mut max_abs = 1.0f64;
    let mut ln_scale = 0.0f64;
    let mut k = 0.0f64;
    for _ in 0..MAX_TERMS {
        let ratio = (a + k) * (b + k) / ((c + k) * (k + 1.0)) * z;
        term *= ratio;
        sum += term;
        k += 1.0;
        if term == 0.0 {
            return Ok(SignedLn::from_value(sum).scale_ln(ln_scale));
        }
        if !term.is_finite() || !sum.is_finite() {
            return Err(domain(format!(
                "series for 2F1({a}, {b}; {c}; {z}) overflowed"
            )));
        }
        max_abs = max_abs.max(sum.abs());
        if term.abs() > RESCALE || max_abs > RESCALE {
            term /= RESCALE;
            sum /= RESCALE;
            max_abs /= RESCALE;
            ln_scale += ln_rescale;
        }
        let r_eff = ratio.abs().max(z.abs());
        if k >= k_safe && r_eff < 1.0 {
            let tail = term.abs() * r_eff / (1.0 - r_eff);
            if tail <= 1e-17 * max_abs {
                return Ok(SignedLn::from_value(sum).scale_ln(ln_scale));
            }
        }
    }
    Err(domain(format!(
        "series for 2F1({a}, {b}; {c}; {z}) did not converge in {MAX_TERMS} terms"
    )))
}

/// Tricomi's confluent hypergeometric function U(a, a, z) for a > 0, z > 0, on the log scale.
///
/// Uses U(a, a, z) = (1/Γ(a)) ∫_0^∞ e^{−zt} t^{a−1} / (1 + t) dt with t = e^v, integrated by
/// the trapezoidal rule on the real line (exponentially convergent for this analytic,
/// double-exponentially decaying integrand) plus the closed-form left tail.
pub fn ln_hyperu_aa(a: f64, z: f64) -> Result<f64, ModelError> {
    if !(a.is_finite() && a > 0.0 && z.is_finite() && z > 0.0) {
        return Err(ModelError::Domain {
            function: "hyperu",
            detail: format!("U(a, a, z) needs a > 0 and z > 0, got a = {a}, z = {z}"),
        });
    }
    // ln integrand in v: a v − z e^v − ln(1 + e^v). Its maximum is near e^v = a/z (or where the
    // 1/(1+t) factor takes over); integrate from far left of both scales to where it is
    // negligible on the right.
    let f = |v: f64| a * v - z * v.exp() - v.exp().ln_1p();
    let h = 0.1f64.min(0.5 / a.sqrt());
    let v_lo = (a / z).ln().min(0.0) - 40.0 / a.min(1.0) - 5.0;
    let v_peak = (a / z).ln();
    let mut v_hi = v_peak.max(0.0) + 1.0;
    let f_peak = f(v_peak).max(f(0.0)).max(f(v_lo));
    while f(v_hi) > f_peak - 50.0 {
        v_hi += 1.0;
    }
    let span = (v_hi - v_lo) / h;
    if !(span.is_finite() && span < 1e7) {
        return Err(ModelError::Domain {
            function: "hyperu",
            detail: format!("U({a}, {a}, {z}) needs too many quadrature points"),
        });
    }
    let n = span.ceil() as usize + 1;
    let vals: Vec<f64> = (0..n).map(|i| f(v_lo + i as f64 * h)).collect();
    let m = vals.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let mut s = 0.0;
    for (i, v) in vals.iter().enumerate() {
        let w = if i == 0 || i == n - 1 { 0.5 } else { 1.0 };
        s += w * (v - m).exp();
    }
    let body = m + (s * h).ln();
    // Left tail ∫_{−∞}^{v_lo} e^{a v} (e^{−z e^v}/(1+e^v)) dv ≈ e^{a v_lo}/a (the bracket is 1
    // to within e^{v_lo}).
    let tail = a * v_lo - a.ln();
    Ok(log_add_exp(body, tail) - ln_gamma(a))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rel(a: f64, b: f64) -> f64 {
        ((a - b) / b).abs()
    }

    #[test]
    fn trigamma_known_values() {
        let pi2 = std::f64::consts::PI * std::f64::consts::PI;
        assert!(rel(trigamma(1.0), pi2 / 6.0) < 1e-15);
        assert!(rel(trigamma(0.5), pi2 / 2.0) < 1e-15);
        assert!(rel(trigamma(2.0), pi2 / 6.0 - 1.0) < 1e-14);
        // ψ₁(x) ≈ 1/x² for small x, ≈ 1/x for large x.
        assert!(rel(trigamma(1e-8), 1e16) < 1e-7);
        assert!(rel(trigamma(1e8), 1e-8) < 1e-7);
        // ψ₁(10.5) = π²/2 − 4 Σ_{k=1..10} 1/(2k − 1)².
        let sum: f64 = (1..=10).map(|k| 1.0 / f64::from(2 * k - 1).powi(2)).sum();
        assert!(rel(trigamma(10.5), pi2 / 2.0 - 4.0 * sum) < 1e-13);
        assert!(trigamma(0.0).is_nan() && trigamma(-1.5).is_nan() && trigamma(f64::NAN).is_nan());
        assert_eq!(trigamma(f64::INFINITY), 0.0);
    }

    #[test]
    fn digamma_known_values() {
        let euler = 0.577_215_664_901_532_9;
        assert!((digamma(1.0) + euler).abs() < 1e-15);
        assert!((digamma(0.5) + euler + 2.0 * 2f64.ln()).abs() < 1e-14);
        assert!(rel(digamma(100.0), 4.600_161_852_738_087) < 1e-15);
        assert!(rel(digamma(-0.5), 0.036_489_973_978_576_52) < 1e-13);
        assert!(digamma(0.0).is_nan() && digamma(-2.0).is_nan());
    }

    #[test]
    fn hyp2f1_elementary_identities() {
        // 2F1(1,1;2;z) = −ln(1−z)/z; c − a − b = 0 is the degenerate (interpolated) case
        // for z > 0.9 and z < −9.
        for z in [-50.0f64, -0.7, 0.3, 0.95, 0.999999] {
            let want = -(-z).ln_1p() / z;
            let got = hyp2f1(1.0, 1.0, 2.0, z).unwrap();
            assert!(rel(got, want) < 1e-10, "z={z}: {got} vs {want}");
        }
        // 2F1(a,b;b;z) = (1−z)^(−a)
        for z in [-3.0, 0.5, 0.97] {
            let got = hyp2f1(0.7, 2.3, 2.3, z).unwrap();
            assert!(rel(got, (1.0 - z).powf(-0.7)) < 1e-12);
        }
        // polynomial
        assert!(rel(hyp2f1(-2.0, 3.0, 4.0, 0.5).unwrap(), 1.0 - 0.75 + 0.15) < 1e-15);
        // Gauss sum at z = 1
        let g = hyp2f1(0.5, 0.5, 2.0, 1.0).unwrap();
        let want = (ln_gamma(2.0) + ln_gamma(1.0) - 2.0 * ln_gamma(1.5)).exp();
        assert!(rel(g, want) < 1e-13);
        assert!(hyp2f1(1.0, 1.0, 0.0, 0.5).is_err());
        assert!(hyp2f1(1.0, 1.0, 1.0, 1.5).is_err());
        assert!(hyp2f1(f64::NAN, 1.0, 1.0, 0.5).is_err());
    }

    #[test]
    fn hyperu_against_closed_form() {
        // U(1, 1, z) = e^z E1(z); E1(1) = 0.219383934395520...
        let v = ln_hyperu_aa(1.0, 1.0).unwrap().exp();
        assert!(rel(v, 1f64.exp() * 0.219_383_934_395_520_3) < 1e-12, "{v}");
    }
}
