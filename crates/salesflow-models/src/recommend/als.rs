//! Implicit alternating least squares (Hu, Koren & Volinsky 2008) with a conjugate-gradient
//! solver (Takács, Pilászy & Tikk 2011), as `implicit`'s CPU model does it.
//!
//! A purchase weight `r` becomes a preference `p = 1` with confidence `c = 1 + alpha·r`;
//! everything not bought is `p = 0` with confidence 1. Each half-iteration minimises
//! `Σ c (p - x·y)² + λ(|x|² + |y|²)` over one side with the other fixed, taking a few
//! conjugate-gradient steps from the previous solution instead of solving exactly.

use super::kernels::{self, has_fma};
use super::{Interactions, Scorer};
use crate::ModelError;
use crate::parallel::for_row_chunks;
use crate::rng::SplitMix64;

/// ALS settings; the defaults are `implicit`'s except 64 factors (its default is 100).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AlsOptions {
    /// Latent factors per user and item.
    pub factors: usize,
    /// L2 penalty λ.
    pub regularization: f32,
    /// Confidence slope: `c = 1 + alpha × weight`.
    pub alpha: f32,
    /// Alternating sweeps (users then items).
    pub iterations: usize,
    /// Conjugate-gradient steps per row and sweep.
    pub cg_steps: usize,
    /// Seed of the initial factors (uniform in [0, 0.01)).
    pub seed: u64,
}

impl Default for AlsOptions {
    fn default() -> Self {
        AlsOptions {
            factors: 64,
            regularization: 0.01,
            alpha: 1.0,
            iterations: 15,
            cg_steps: 3,
            seed: 0,
        }
    }
}

/// A fitted ALS model: one factor vector per user and per item.
#[derive(Debug, Clone)]
pub struct Als {
    factors: usize,
    options: AlsOptions,
    user_factors: Vec<f32>,
    item_factors: Vec<f32>,
}

impl Als {
    /// Fits the factors; `progress` is called after each sweep with the sweeps done.
    pub fn fit(
        train: &Interactions,
        options: &AlsOptions,
        progress: &mut dyn FnMut(usize),
    ) -> Result<Als, ModelError> {
        check(options)?;
        if train.nnz() == 0 {
            return Err(ModelError::EmptyInput { what: "purchases" });
        }
        let f = options.factors;
        let mut rng = SplitMix64::new(options.seed);
        let mut user_factors: Vec<f32> = (0..train.users() * f)
            .map(|_| rng.uniform() as f32 * 0.01)
            .collect();
        let mut item_factors: Vec<f32> = (0..train.items() * f)
            .map(|_| rng.uniform() as f32 * 0.01)
            .collect();
        let by_item = train.transpose();
        for sweep in 0..options.iterations {
            sweep_rows(train, &mut user_factors, &item_factors, options);
            sweep_rows(&by_item, &mut item_factors, &user_factors, options);
            progress(sweep + 1);
        }
        Ok(Als {
            factors: f,
            options: *options,
            user_factors,
            item_factors,
        })
    }

    /// Factors per vector.
    pub fn factors(&self) -> usize {
        self.factors
    }

    /// User `u`'s factor vector.
    pub fn user_vector(&self, u: u32) -> &[f32] {
        &self.user_factors[u as usize * self.factors..(u as usize + 1) * self.factors]
    }

    /// Item `i`'s factor vector.
    pub fn item_vector(&self, i: u32) -> &[f32] {
        &self.item_factors[i as usize * self.factors..(i as usize + 1) * self.factors]
    }

    /// A factor vector for a purchase history the model was not fitted on (a new customer),
    /// by solving the user's least-squares problem with the item factors fixed.
    pub fn fold_in(&self, history: (&[u32], &[f32])) -> Vec<f32> {
        let f = self.factors;
        let gram = gram(&self.item_factors, f, self.options.regularization);
        let mut x = vec![0f32; f];
        let mut work = Work::new(f);
        // From zero, CG needs up to `f` steps to converge exactly.
        let options = AlsOptions {
            cg_steps: f,
            ..self.options
        };
        solve_row::<false>(
            &mut x,
            &gram,
            history,
            &self.item_factors,
            &options,
            &mut work,
        );
        x
    }
}

fn check(options: &AlsOptions) -> Result<(), ModelError> {
    let bad = |name, value: f64, hint| Err(ModelError::InvalidParameter { name, value, hint });
    if options.factors == 0 {
        return bad("factors", 0.0, "must be at least 1");
    }
    if !(options.regularization.is_finite() && options.regularization >= 0.0) {
        return bad(
            "regularization",
            f64::from(options.regularization),
            "must be a finite number >= 0",
        );
    }
    if !(options.alpha.is_finite() && options.alpha > 0.0) {
        return bad(
            "alpha",
            f64::from(options.alpha),
            "must be a finite number > 0",
        );
    }
    if options.cg_steps == 0 {
        return bad("cg_steps", 0.0, "must be at least 1");
    }
    Ok(())
}

/// Updates every row of `x` (rows of `m`) with the other side's factors `y` fixed.
fn sweep_rows(m: &Interactions, x: &mut [f32], y: &[f32], options: &AlsOptions) {
    let f = options.factors;
    let gram = gram(y, f, options.regularization);
    let fma = has_fma();
    for_row_chunks(x, f, |first, chunk| {
        if fma {
            // SAFETY: the processor has AVX2 and FMA (checked by `has_fma`).
            #[cfg(target_arch = "x86_64")]
            unsafe {
                solve_chunk_fma(first, chunk, &gram, m, y, options)
            };
        } else {
            solve_chunk::<false>(first, chunk, &gram, m, y, options);
        }
    });
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn solve_chunk_fma(
    first: usize,
    chunk: &mut [f32],
    gram: &[f32],
    m: &Interactions,
    y: &[f32],
    options: &AlsOptions,
) {
    solve_chunk::<true>(first, chunk, gram, m, y, options);
}

#[inline(always)]
fn solve_chunk<const FMA: bool>(
    first: usize,
    chunk: &mut [f32],
    gram: &[f32],
    m: &Interactions,
    y: &[f32],
    options: &AlsOptions,
) {
    let f = options.factors;
    let mut work = Work::new(f);
    for (offset, row) in chunk.chunks_exact_mut(f).enumerate() {
        solve_row::<FMA>(row, gram, m.row(first + offset), y, options, &mut work);
    }
}

/// `YᵀY + λI` (f × f, row-major), summed on every core.
fn gram(y: &[f32], f: usize, regularization: f32) -> Vec<f32> {
    let rows = y.len() / f;
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(rows.max(1));
    let per = rows.div_ceil(threads).max(1);
    let parts: Vec<Vec<f32>> = std::thread::scope(|scope| {
        let handles: Vec<_> = y
            .chunks(per * f)
            .map(|part| {
                scope.spawn(move || {
                    let mut g = vec![0f32; f * f];
                    for v in part.chunks_exact(f) {
                        for (a, &va) in v.iter().enumerate() {
                            axpy(&mut g[a * f..(a + 1) * f], va, v);
                        }
                    }
                    g
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect()
    });
    let mut g = vec![0f32; f * f];
    for part in parts {
        axpy(&mut g, 1.0, &part);
    }
    for a in 0..f {
        g[a * f + a] += regularization;
    }
    g
}

struct Work {
    r: Vec<f32>,
    p: Vec<f32>,
    ap: Vec<f32>,
}

impl Work {
    fn new(f: usize) -> Work {
        Work {
            r: vec![0.0; f],
            p: vec![0.0; f],
            ap: vec![0.0; f],
        }
    }
}

/// A few conjugate-gradient steps on `(YᵀY + λI + Σ (c-1) y yᵀ) x = Σ c y` from the current x.
#[inline(always)]
fn solve_row<const FMA: bool>(
    x: &mut [f32],
    gram: &[f32],
    row: (&[u32], &[f32]),
    y: &[f32],
    options: &AlsOptions,
    work: &mut Work,
) {
    let f = x.len();
    let Work { r, p, ap } = work;
    // r = b - A x
    kernels::symv::<FMA>(gram, x, r);
    r.iter_mut().for_each(|v| *v = -*v);
    for (&i, &w) in row.0.iter().zip(row.1) {
        let yi = &y[i as usize * f..(i as usize + 1) * f];
        let extra = options.alpha * w;
        kernels::axpy::<FMA>(r, extra + 1.0 - extra * kernels::dot::<FMA>(yi, x), yi);
    }
    p.copy_from_slice(r);
    let mut rs_old = kernels::dot::<FMA>(r, r);
    for _ in 0..options.cg_steps {
        if rs_old < 1e-20 {
            break;
        }
        kernels::symv::<FMA>(gram, p, ap);
        for (&i, &w) in row.0.iter().zip(row.1) {
            let yi = &y[i as usize * f..(i as usize + 1) * f];
            kernels::axpy::<FMA>(ap, options.alpha * w * kernels::dot::<FMA>(yi, p), yi);
        }
        let step = rs_old / kernels::dot::<FMA>(p, ap);
        if !step.is_finite() {
            break;
        }
        kernels::axpy::<FMA>(x, step, p);
        kernels::axpy::<FMA>(r, -step, ap);
        let rs_new = kernels::dot::<FMA>(r, r);
        if rs_new < 1e-20 {
            break;
        }
        let beta = rs_new / rs_old;
        for (pi, &ri) in p.iter_mut().zip(r.iter()) {
            *pi = ri + beta * *pi;
        }
        rs_old = rs_new;
    }
}

/// Portable dot product (for code outside the hot loops).
pub(crate) fn dot(a: &[f32], b: &[f32]) -> f32 {
    kernels::dot::<false>(a, b)
}

fn axpy(y: &mut [f32], a: f32, x: &[f32]) {
    kernels::axpy::<false>(y, a, x);
}

impl Scorer for Als {
    fn score(&self, user: Option<u32>, history: (&[u32], &[f32]), scores: &mut [f32]) {
        let folded;
        let x = match user {
            Some(u) if (u as usize) < self.user_factors.len() / self.factors => self.user_vector(u),
            _ => {
                folded = self.fold_in(history);
                &folded
            }
        };
        for (i, s) in scores.iter_mut().enumerate() {
            *s = dot(x, self.item_vector(i as u32));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// With many CG steps one half-sweep is the exact least-squares solution: check it against
    /// the normal equations solved directly.
    #[test]
    fn cg_solves_the_weighted_least_squares_problem() {
        let f = 3;
        let y: Vec<f32> = vec![0.5, 0.1, 0.3, 0.2, 0.7, 0.1, 0.9, 0.4, 0.6, 0.3, 0.3, 0.8];
        let options = AlsOptions {
            factors: f,
            regularization: 0.1,
            alpha: 2.0,
            cg_steps: 10,
            ..AlsOptions::default()
        };
        let row: (&[u32], &[f32]) = (&[0, 2], &[1.0, 3.0]);
        let gram = gram(&y, f, options.regularization);
        let mut x = vec![0f32; f];
        solve_row::<false>(&mut x, &gram, row, &y, &options, &mut Work::new(f));
        // A = YᵀY + λI + Σ alpha w y yᵀ ; b = Σ (1 + alpha w) y
        let mut a = gram.clone();
        let mut b = vec![0f32; f];
        for (&i, &w) in row.0.iter().zip(row.1) {
            let yi = &y[i as usize * f..(i as usize + 1) * f];
            for r in 0..f {
                b[r] += (1.0 + options.alpha * w) * yi[r];
                for c in 0..f {
                    a[r * f + c] += options.alpha * w * yi[r] * yi[c];
                }
            }
        }
        let mut ax = vec![0f32; f];
        kernels::symv::<false>(&a, &x, &mut ax);
        for r in 0..f {
            assert!((ax[r] - b[r]).abs() < 1e-4, "{ax:?} vs {b:?}");
        }
    }

    #[test]
    fn dot_handles_every_length() {
        for n in 0..20 {
            let a: Vec<f32> = (0..n).map(|i| i as f32).collect();
            let want: f32 = a.iter().map(|v| v * v).sum();
            assert_eq!(dot(&a, &a), want);
        }
    }

    #[test]
    fn bad_options_are_errors() {
        let train = Interactions::from_triples(1, 1, [(0, 0, 1.0)]);
        for options in [
            AlsOptions {
                factors: 0,
                ..Default::default()
            },
            AlsOptions {
                alpha: 0.0,
                ..Default::default()
            },
            AlsOptions {
                regularization: f32::NAN,
                ..Default::default()
            },
            AlsOptions {
                cg_steps: 0,
                ..Default::default()
            },
        ] {
            assert!(Als::fit(&train, &options, &mut |_| {}).is_err());
        }
        let empty = Interactions::from_triples(2, 2, []);
        assert!(Als::fit(&empty, &AlsOptions::default(), &mut |_| {}).is_err());
    }
}
