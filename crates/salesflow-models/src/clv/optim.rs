//! Maximum likelihood machinery shared by the CLV fitters: a small dense BFGS in
//! log-parameter space, a finite-difference Hessian at the optimum, and the `FitResult` that
//! carries estimates, delta-method standard errors and fit statistics.
//!
//! No optimisation crate is used: the models have two to four parameters, so a dense BFGS
//! with an Armijo backtracking line search and a Cholesky inverse of a ≤4×4 matrix are a
//! hundred lines, deterministic, and avoid pulling a linear-algebra stack into this crate.

use crate::error::ModelError;

/// Options for every CLV fitter.
#[derive(Debug, Clone, PartialEq)]
pub struct FitOptions {
    /// L2 penalty on the log-parameters: the fitter minimises
    /// `−LL/n + penalty · Σ ln(θ_i)²` (n = total weight), which shrinks parameters towards 1.
    /// For Gamma-Gamma's q the penalised coordinate is ln(q − 1). Default 0 (plain MLE).
    pub penalty: f64,
    /// Maximum BFGS iterations per starting point. Default 500.
    pub max_iter: usize,
    /// Convergence tolerance on the largest absolute gradient component of the per-unit-weight
    /// objective, in log-parameter space. Default 1e-8.
    pub tol: f64,
}

impl Default for FitOptions {
    fn default() -> Self {
        FitOptions {
            penalty: 0.0,
            max_iter: 500,
            tol: 1e-8,
        }
    }
}

/// The outcome of a fit.
///
/// A fit that stops before meeting `tol` is still returned, with `converged = false`, so the
/// caller can look at the diagnostics; only unusable input is an `Err`.
#[derive(Debug, Clone, PartialEq)]
pub struct FitResult {
    /// Model name: "bg_nbd", "mbg_nbd", "pareto_nbd", "bg_bb", "gamma_gamma" or "sbg".
    pub model: &'static str,
    /// Estimates on the natural scale, in the model's parameter order.
    pub params: Vec<(&'static str, f64)>,
    /// Delta-method standard errors on the natural scale, from the inverse of the
    /// finite-difference Hessian of the (penalised) negative log-likelihood in log-parameter
    /// space. `None` when that Hessian is not positive definite (a flat or saddle direction,
    /// e.g. a parameter running off to a bound): then no finite standard error exists.
    pub std_errors: Option<Vec<(&'static str, f64)>>,
    /// Maximised log-likelihood (without the penalty), summed over the weighted rows.
    pub log_likelihood: f64,
    /// Akaike information criterion, 2k − 2LL.
    pub aic: f64,
    /// Bayesian information criterion, k ln(n) − 2LL.
    pub bic: f64,
    /// Number of observations: the total weight.
    pub n: f64,
    /// Whether the gradient criterion `tol` was met.
    pub converged: bool,
    /// BFGS iterations used (for the best starting point; when the starts were screened on a
    /// sample of the rows, the iterations on the sample plus those on all rows).
    pub iterations: usize,
    /// Largest absolute gradient component of the per-unit-weight objective at the estimate.
    pub gradient_norm: f64,
    /// Model-specific numbers (e.g. Gamma-Gamma's frequency/spend correlation).
    pub diagnostics: Vec<(&'static str, f64)>,
    /// Human-readable warnings about the data or the fit.
    pub warnings: Vec<String>,
}

impl FitResult {
    /// The estimate of parameter `name`.
    pub fn param(&self, name: &str) -> Option<f64> {
        self.params.iter().find(|(n, _)| *n == name).map(|p| p.1)
    }

    /// The standard error of parameter `name`, if standard errors exist.
    pub fn std_error(&self, name: &str) -> Option<f64> {
        self.std_errors
            .as_ref()
            .and_then(|v| v.iter().find(|(n, _)| *n == name).map(|p| p.1))
    }

    /// Check the model name and return the estimates in order.
    pub(crate) fn expect(&self, model: &'static str) -> Result<Vec<f64>, ModelError> {
        if self.model != model {
            return Err(ModelError::ModelMismatch {
                expected: model,
                found: self.model,
            });
        }
        Ok(self.params.iter().map(|p| p.1).collect())
    }
}

/// A smooth objective over log-parameters: the mean negative log-likelihood per unit weight.
pub(crate) trait Objective {
    /// Objective at `x`; non-finite where the likelihood is undefined.
    fn value(&self, x: &[f64]) -> f64;

    /// Objective and gradient at `x`. The default is finite differences: forward (step
    /// 1e-7·max(1, |x_i|), k + 1 evaluations) while `central` is false, which is accurate to
    /// ~1e-6 and enough far from the optimum; central (step 1e-5·max(1, |x_i|), 2k + 1
    /// evaluations) otherwise: large enough that rounding noise in a likelihood summed over
    /// thousands of rows (~1e-14 relative) stays below 1e-9 in the gradient, small enough that
    /// the O(h²) truncation error is negligible.
    fn value_grad(&self, x: &[f64], g: &mut [f64], central: bool) -> f64 {
        let f = self.value(x);
        let mut xp = x.to_vec();
        for (i, gi) in g.iter_mut().enumerate() {
            *gi = fd_component(|v| self.value(v), x, f, &mut xp, i, central);
        }
        f
    }

    /// Whether [`Objective::value_grad`] is analytic (exact to rounding). The Hessian is then
    /// taken from differences of gradients: 2k evaluations instead of 2k² + 1.
    fn analytic_gradient(&self) -> bool {
        false
    }

    /// The Hessian at `x` (row-major k×k), when the objective has it analytically: one pass
    /// over the rows instead of 2k gradient passes.
    fn analytic_hessian(&self, _x: &[f64]) -> Option<Vec<f64>> {
        None
    }
}

/// Component `i` of the finite-difference gradient at `x` (value `f` there), as
/// [`Objective::value_grad`]'s default documents; `xp` is scratch equal to `x` on entry and
/// on return.
fn fd_component(
    value: impl Fn(&[f64]) -> f64,
    x: &[f64],
    f: f64,
    xp: &mut [f64],
    i: usize,
    central: bool,
) -> f64 {
    let gi = if central {
        let h = 1e-5 * x[i].abs().max(1.0);
        xp[i] = x[i] + h;
        let fp = value(xp);
        xp[i] = x[i] - h;
        let fm = value(xp);
        (fp - fm) / (2.0 * h)
    } else {
        let h = 1e-7 * x[i].abs().max(1.0);
        xp[i] = x[i] + h;
        (value(xp) - f) / h
    };
    xp[i] = x[i];
    gi
}

/// An objective plus `penalty · Σ x_i²`.
struct Penalized<'a, O: Objective + ?Sized> {
    inner: &'a O,
    penalty: f64,
}

impl<O: Objective + ?Sized> Objective for Penalized<'_, O> {
    fn value(&self, x: &[f64]) -> f64 {
        self.inner.value(x) + self.penalty * x.iter().map(|v| v * v).sum::<f64>()
    }
    fn value_grad(&self, x: &[f64], g: &mut [f64], central: bool) -> f64 {
        let f = self.inner.value_grad(x, g, central);
        for (gi, xi) in g.iter_mut().zip(x) {
            *gi += 2.0 * self.penalty * xi;
        }
        f + self.penalty * x.iter().map(|v| v * v).sum::<f64>()
    }
    fn analytic_gradient(&self) -> bool {
        self.inner.analytic_gradient()
    }
    fn analytic_hessian(&self, x: &[f64]) -> Option<Vec<f64>> {
        let mut h = self.inner.analytic_hessian(x)?;
        let k = x.len();
        for i in 0..k {
            h[i * k + i] += 2.0 * self.penalty;
        }
        Some(h)
    }
}

/// Result of one BFGS run.
#[derive(Debug, Clone)]
pub(crate) struct Minimum {
    pub x: Vec<f64>,
    /// BFGS state at the end, so that a run can be continued: inverse-Hessian estimate and
    /// whether it is still the initial multiple of the identity.
    hinv: Vec<f64>,
    fresh: bool,
    pub f: f64,
    pub grad_norm: f64,
    pub iterations: usize,
    pub converged: bool,
}

/// Neumaier's compensated sum: likelihoods add up thousands of terms, and the optimiser's
/// end game depends on differences near the rounding level of that sum.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Sum {
    sum: f64,
    comp: f64,
}

impl Sum {
    pub(crate) fn add(&mut self, v: f64) {
        let t = self.sum + v;
        if self.sum.abs() >= v.abs() {
            self.comp += (self.sum - t) + v;
        } else {
            self.comp += (v - t) + self.sum;
        }
        self.sum = t;
    }

    pub(crate) fn value(self) -> f64 {
        self.sum + self.comp
    }
}

/// `acc += w · v`, element by element: the running sums of the analytic Hessians.
pub(crate) fn add_scaled(acc: &mut [f64], w: f64, v: &[f64]) {
    for (a, x) in acc.iter_mut().zip(v) {
        *a += w * x;
    }
}

/// The Hessian of f = −ℓ/n in θ where each parameter is φᵢ = cᵢ + e^θᵢ, from ℓ's gradient
/// and the packed upper triangle of its Hessian (row by row) in φ; `scale` = e^θ = dφ/dθ =
/// d²φ/dθ². ∂²f/∂θᵢ∂θⱼ = −(sᵢsⱼ ∂²ℓ/∂φᵢ∂φⱼ + δᵢⱼ sᵢ ∂ℓ/∂φᵢ)/n. `None` if not finite.
pub(crate) fn log_space_hessian(
    gradient: &[f64],
    upper: &[f64],
    scale: &[f64],
    n: f64,
) -> Option<Vec<f64>> {
    let k = scale.len();
    let packed = |i: usize, j: usize| {
        let (i, j) = (i.min(j), i.max(j));
        i * k - i * i.saturating_sub(1) / 2 + (j - i)
    };
    let mut out = vec![0.0; k * k];
    for i in 0..k {
        for j in 0..k {
            let mut h = scale[i] * scale[j] * upper[packed(i, j)];
            if i == j {
                h += scale[i] * gradient[i];
            }
            out[i * k + j] = -h / n;
        }
    }
    out.iter().all(|h| h.is_finite()).then_some(out)
}

/// Rows per block of a likelihood's row sum.
pub(crate) const ROW_BLOCK: usize = 16_384;

/// `f` applied to fixed blocks of [`ROW_BLOCK`] rows, on every core when there are enough
/// blocks, results in block order: summing them in that order gives the same value on any
/// number of cores (the blocks never depend on the thread count).
pub(crate) fn by_blocks<T: Sync, R: Send + Default + Clone>(
    rows: &[T],
    f: impl Fn(&[T]) -> R + Sync,
) -> Vec<R> {
    let blocks: Vec<&[T]> = rows.chunks(ROW_BLOCK).collect();
    if blocks.len() < 4 {
        return blocks.into_iter().map(f).collect();
    }
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(blocks.len());
    let per = blocks.len().div_ceil(threads);
    let mut out = vec![R::default(); blocks.len()];
    std::thread::scope(|scope| {
        for (t, slots) in out.chunks_mut(per).enumerate() {
            let (blocks, f) = (&blocks, &f);
            scope.spawn(move || {
                for (k, slot) in slots.iter_mut().enumerate() {
                    *slot = f(blocks[t * per + k]);
                }
            });
        }
    });
    out
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

fn inf_norm(a: &[f64]) -> f64 {
    a.iter().fold(0.0, |m, v| m.max(v.abs()))
}

/// Largest step (in log-parameter units) a single line search may take: e^4 ≈ 55-fold.
const MAX_STEP: f64 = 4.0;

/// BFGS with Armijo backtracking from `x0`. `None` if the objective is not finite at `x0`.
/// `state` continues an earlier run (its inverse-Hessian estimate).
pub(crate) fn bfgs<O: Objective + ?Sized>(
    obj: &O,
    x0: &[f64],
    state: Option<(&[f64], bool)>,
    max_iter: usize,
    tol: f64,
) -> Option<Minimum> {
    let k = x0.len();
    let mut x = x0.to_vec();
    let mut g = vec![0.0; k];
    // Forward-difference gradients until the gradient is small, central ones from then on
    // (analytic objectives ignore the flag).
    const CENTRAL_BELOW: f64 = 1e-4;
    // An analytic gradient has no such choice: asking again would repeat a pass over the rows.
    let analytic = obj.analytic_gradient();
    let mut central = analytic;
    let mut f = obj.value_grad(&x, &mut g, central);
    if !central && inf_norm(&g) < CENTRAL_BELOW {
        central = true;
        f = obj.value_grad(&x, &mut g, central);
    }
    if !f.is_finite() || g.iter().any(|v| !v.is_finite()) {
        return None;
    }
    let identity = |h: &mut Vec<f64>, scale: f64| {
        h.iter_mut().for_each(|v| *v = 0.0);
        for i in 0..k {
            h[i * k + i] = scale;
        }
    };
    let mut hinv = vec![0.0; k * k];
    identity(&mut hinv, 1.0);
    let mut fresh = true; // hinv is a multiple of the identity
    if let Some((h, f)) = state
        && h.len() == k * k
    {
        hinv.copy_from_slice(h);
        fresh = f;
    }
    let mut iterations = 0;
    let mut d = vec![0.0; k];
    let mut x_new = vec![0.0; k];
    let mut g_new = vec![0.0; k];
    let mut small_steps = 0;
    while iterations < max_iter {
        if inf_norm(&g) <= tol {
            break;
        }
        iterations += 1;
        for i in 0..k {
            d[i] = -(0..k).map(|j| hinv[i * k + j] * g[j]).sum::<f64>();
        }
        let mut slope = dot(&g, &d);
        if slope.is_nan() || slope >= 0.0 || d.iter().any(|v| !v.is_finite()) {
            identity(&mut hinv, 1.0);
            fresh = true;
            d.iter_mut().zip(&g).for_each(|(di, gi)| *di = -gi);
            slope = dot(&g, &d);
        }
        let dmax = inf_norm(&d);
        let mut step = if dmax > MAX_STEP {
            MAX_STEP / dmax
        } else {
            1.0
        };
        let mut accepted = None;
        // Whether g_new holds the gradient at the accepted point.
        let mut gradient_at_trial = false;
        // Rounding noise of a likelihood summed over many rows: when the predicted decrease
        // of the full step is below it, function values cannot judge the step, so a full step
        // that does not increase f beyond the noise is taken on the gradient's word.
        let noise = 1e-14 * f.abs().max(1.0);
        for trial in 0..60 {
            for i in 0..k {
                x_new[i] = x[i] + step * d[i];
            }
            // An analytic gradient costs little more than the value in the same pass over the
            // rows, and the first trial is usually taken: evaluated together, the pass that
            // would follow for the gradient is saved (`salesflow clv fit --model bgnbd` on
            // bench/clv's summary, 447 k distinct rows: 0.86 -> 0.67 s, same optimum).
            gradient_at_trial = trial == 0 && analytic;
            let f_try = if gradient_at_trial {
                obj.value_grad(&x_new, &mut g_new, central)
            } else {
                obj.value(&x_new)
            };
            let armijo = f_try <= f + 1e-4 * step * slope;
            let in_noise = trial == 0 && -slope * step <= 100.0 * noise && f_try <= f + noise;
            if f_try.is_finite() && (armijo || in_noise) {
                accepted = Some(f_try);
                break;
            }
            step *= if f_try.is_finite() {
                // minimiser of the quadratic through f, slope and f_try, kept in [0.1, 0.5]
                let q = -slope * step / (2.0 * (f_try - f - slope * step));
                q.clamp(0.1, 0.5)
            } else {
                0.1
            };
        }
        if accepted.is_none() {
            if fresh {
                break; // steepest descent cannot make progress: numerically at the minimum
            }
            identity(&mut hinv, 1.0);
            fresh = true;
            continue;
        }
        let mut f_next = match accepted {
            Some(f_try) if gradient_at_trial => f_try,
            _ => obj.value_grad(&x_new, &mut g_new, central),
        };
        if !central && inf_norm(&g_new) < CENTRAL_BELOW {
            central = true;
            f_next = obj.value_grad(&x_new, &mut g_new, central);
        }
        if !f_next.is_finite() || g_new.iter().any(|v| !v.is_finite()) {
            identity(&mut hinv, 1.0);
            fresh = true;
            continue;
        }
        let s: Vec<f64> = (0..k).map(|i| x_new[i] - x[i]).collect();
        let y: Vec<f64> = (0..k).map(|i| g_new[i] - g[i]).collect();
        let sy = dot(&s, &y);
        let yy = dot(&y, &y);
        if sy > 1e-12 * dot(&s, &s).sqrt() * yy.sqrt() {
            if fresh {
                identity(&mut hinv, sy / yy);
            }
            // H ← (I − ρ s yᵀ) H (I − ρ y sᵀ) + ρ s sᵀ
            let rho = 1.0 / sy;
            let hy: Vec<f64> = (0..k)
                .map(|i| (0..k).map(|j| hinv[i * k + j] * y[j]).sum())
                .collect();
            let yhy = dot(&y, &hy);
            for i in 0..k {
                for j in 0..k {
                    hinv[i * k + j] += -rho * (hy[i] * s[j] + s[i] * hy[j])
                        + (rho * rho * yhy + rho) * s[i] * s[j];
                }
            }
            fresh = false;
        }
        let progress = f - f_next;
        let gradient_shrank = inf_norm(&g_new) < 0.9 * inf_norm(&g);
        x.copy_from_slice(&x_new);
        g.copy_from_slice(&g_new);
        f = f_next;
        if progress <= 1e-15 * f.abs().max(1.0) && !gradient_shrank {
            small_steps += 1;
            if small_steps >= 5 {
                break;
            }
        } else {
            small_steps = 0;
        }
    }
    let grad_norm = inf_norm(&g);
    Some(Minimum {
        x,
        hinv,
        fresh,
        f,
        grad_norm,
        iterations,
        converged: grad_norm <= tol,
    })
}

/// Iterations each starting point gets before the best one is refined.
const SCREEN_ITERS: usize = 15;

/// Is `a` a better minimum than `b`? Objectives within 1e-12 relative are a tie (rounding
/// noise), broken in favour of the converged run, then the smaller gradient.
fn better(a: &Minimum, b: &Minimum) -> bool {
    let tie = (a.f - b.f).abs() <= 1e-12 * a.f.abs().max(b.f.abs()).max(1.0);
    if tie {
        (a.converged && !b.converged) || (a.converged == b.converged && a.grad_norm < b.grad_norm)
    } else {
        a.f < b.f
    }
}

/// Rows a screening sample holds at most (see [`screen_stride`]).
const SCREEN_SAMPLE_ROWS: usize = 40_000;

/// Every how many rows a screening sample of `rows` rows takes one; `None` when the rows are
/// too few for a sample to pay.
///
/// With many rows, most of a fit's time went into trying the starting points on all of them
/// (a 1 M-customer BG/NBD fit: three starts of 15 iterations, then 6 iterations of the
/// best). The starts are tried on a systematic sample instead, and only the sample's optimum
/// is carried on to convergence on all rows, so the estimate is still the full-data maximum.
pub(crate) fn screen_stride(rows: usize) -> Option<usize> {
    (rows > 2 * SCREEN_SAMPLE_ROWS).then(|| rows.div_ceil(SCREEN_SAMPLE_ROWS))
}

/// Run BFGS (with the penalty) from each start for a few iterations, then refine the best
/// to convergence (or `max_iter` iterations in total). With a `sample` objective (the same
/// likelihood over a sample of the rows), that is done on the sample, and its optimum is
/// carried on to convergence on `obj`.
pub(crate) fn minimize_multistart<O: Objective + Sync + ?Sized>(
    model: &'static str,
    obj: &O,
    starts: &[Vec<f64>],
    opts: &FitOptions,
    sample: Option<&(dyn Objective + Sync)>,
) -> Result<Minimum, ModelError> {
    let pen = Penalized {
        inner: obj,
        penalty: if opts.penalty.is_finite() && opts.penalty > 0.0 {
            opts.penalty
        } else {
            0.0
        },
    };
    let tol = if opts.tol.is_finite() && opts.tol > 0.0 {
        opts.tol
    } else {
        FitOptions::default().tol
    };
    // From the sample's optimum, if it leads to convergence on all rows.
    let mut from_sample: Option<Minimum> = None;
    if let Some(sample) = sample
        && let Ok(on_sample) = minimize_multistart(model, sample, starts, opts, None)
        && on_sample.iterations < opts.max_iter
    {
        // The sample's curvature is a good first guess for all rows': both objectives are
        // means per unit of weight. The iterations on the sample count against `max_iter`.
        let state = Some((on_sample.hinv.as_slice(), on_sample.fresh));
        let budget = opts.max_iter - on_sample.iterations;
        if let Some(mut m) = bfgs(&pen, &on_sample.x, state, budget, tol) {
            m.iterations += on_sample.iterations;
            if m.converged {
                return Ok(m);
            }
            from_sample = Some(m);
        }
        // Not converged (or not finite) on all rows from there: the starts are tried on all
        // rows as without a sample, and the better of the two kept.
    }
    let mut best: Option<Minimum> = from_sample;
    // The starts are independent: tried side by side (on a screening sample the rows are too
    // few for `by_blocks` to share one evaluation out), then compared in their order, so the
    // choice is the same on any number of cores.
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let tried = crate::parallel::map_jobs(threads, starts.len(), |i| {
        bfgs(&pen, &starts[i], None, opts.max_iter.min(SCREEN_ITERS), tol)
    });
    for m in tried.into_iter().flatten() {
        if best.as_ref().is_none_or(|b| better(&m, b)) {
            best = Some(m);
        }
    }
    let mut best = best.ok_or(ModelError::NoFiniteStart { model })?;
    if !best.converged && best.iterations < opts.max_iter {
        let state = Some((best.hinv.as_slice(), best.fresh));
        if let Some(mut m) = bfgs(&pen, &best.x, state, opts.max_iter - best.iterations, tol) {
            m.iterations += best.iterations;
            if !better(&best, &m) {
                best = m;
            }
        }
    }
    Ok(best)
}

/// Hessian of the penalised objective at `x` by central second differences (step 1e-4).
pub(crate) fn hessian<O: Objective + Sync + ?Sized>(obj: &O, penalty: f64, x: &[f64]) -> Vec<f64> {
    let k = x.len();
    let pen = Penalized {
        inner: obj,
        penalty,
    };
    if let Some(h) = pen.analytic_hessian(x) {
        return h;
    }
    if pen.analytic_gradient() {
        return hessian_from_gradients(&pen, x);
    }
    let h = 1e-4;
    let f0 = pen.value(x);
    // Row i: H[i][i] and H[i][j] for j < i. Rows are independent, so they are spread over
    // the cores (row i to thread i mod threads: rows grow with i, so this balances them);
    // each entry is computed the same way on any number of cores.
    let row = |i: usize, xp: &mut Vec<f64>| -> Vec<f64> {
        let mut eval = |di: (usize, f64), dj: Option<(usize, f64)>| {
            xp[di.0] += di.1;
            if let Some(dj) = dj {
                xp[dj.0] += dj.1;
            }
            let v = pen.value(xp);
            xp.copy_from_slice(x);
            v
        };
        let fp = eval((i, h), None);
        let fm = eval((i, -h), None);
        let mut out = Vec::with_capacity(i + 1);
        for j in 0..i {
            let fpp = eval((i, h), Some((j, h)));
            let fpm = eval((i, h), Some((j, -h)));
            let fmp = eval((i, -h), Some((j, h)));
            let fmm = eval((i, -h), Some((j, -h)));
            out.push((fpp - fpm - fmp + fmm) / (4.0 * h * h));
        }
        out.push((fp - 2.0 * f0 + fm) / (h * h));
        out
    };
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .clamp(1, k.max(1));
    let rows: Vec<Vec<f64>> = if threads == 1 || k < 8 {
        let mut xp = x.to_vec();
        (0..k).map(|i| row(i, &mut xp)).collect()
    } else {
        let mut rows = vec![Vec::new(); k];
        let parts: Vec<Vec<(usize, Vec<f64>)>> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..threads)
                .map(|t| {
                    let row = &row;
                    scope.spawn(move || {
                        let mut xp = x.to_vec();
                        (t..k)
                            .step_by(threads)
                            .map(|i| (i, row(i, &mut xp)))
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
                .collect()
        });
        for (i, r) in parts.into_iter().flatten() {
            rows[i] = r;
        }
        rows
    };
    let mut hm = vec![f64::NAN; k * k];
    for (i, r) in rows.iter().enumerate() {
        for (j, &v) in r.iter().enumerate() {
            hm[i * k + j] = v;
            hm[j * k + i] = v;
        }
    }
    hm
}

/// Hessian by central differences of an analytic gradient, symmetrised. The step 1e-5 keeps
/// the O(h²) truncation near 1e-10 and the rounding noise of a gradient summed over many rows
/// (~1e-14 relative) near 1e-9 of the curvature.
pub(crate) fn hessian_from_gradients<O: Objective + ?Sized>(obj: &O, x: &[f64]) -> Vec<f64> {
    let k = x.len();
    let mut hm = vec![0.0; k * k];
    let (mut xp, mut g_plus, mut g_minus) = (x.to_vec(), vec![0.0; k], vec![0.0; k]);
    for i in 0..k {
        let h = 1e-5 * x[i].abs().max(1.0);
        xp[i] = x[i] + h;
        obj.value_grad(&xp, &mut g_plus, true);
        xp[i] = x[i] - h;
        obj.value_grad(&xp, &mut g_minus, true);
        xp[i] = x[i];
        for j in 0..k {
            hm[i * k + j] = (g_plus[j] - g_minus[j]) / (2.0 * h);
        }
    }
    for i in 0..k {
        for j in 0..i {
            let mean = 0.5 * (hm[i * k + j] + hm[j * k + i]);
            hm[i * k + j] = mean;
            hm[j * k + i] = mean;
        }
    }
    hm
}

/// The lower-triangular L with A = L Lᵀ of a symmetric k×k matrix; `None` when A is not
/// positive definite (a pivot not finite and > 0).
pub(crate) fn cholesky(a: &[f64], k: usize) -> Option<Vec<f64>> {
    let mut l = vec![0.0; k * k];
    for i in 0..k {
        for j in 0..=i {
            let s: f64 = a[i * k + j] - (0..j).map(|p| l[i * k + p] * l[j * k + p]).sum::<f64>();
            if i == j {
                if !(s > 0.0 && s.is_finite()) {
                    return None;
                }
                l[i * k + i] = s.sqrt();
            } else {
                l[i * k + j] = s / l[j * k + j];
            }
        }
    }
    Some(l)
}

/// Inverse of a symmetric positive definite k×k matrix via Cholesky; `None` if it is not
/// positive definite (or not finite).
pub(crate) fn spd_inverse(a: &[f64], k: usize) -> Option<Vec<f64>> {
    if a.len() != k * k || a.iter().any(|v| !v.is_finite()) {
        return None;
    }
    let l = cholesky(a, k)?;
    // Solve L Lᵀ X = I column by column.
    let mut inv = vec![0.0; k * k];
    for col in 0..k {
        let mut y = vec![0.0; k];
        for i in 0..k {
            let rhs = if i == col { 1.0 } else { 0.0 };
            y[i] = (rhs - (0..i).map(|p| l[i * k + p] * y[p]).sum::<f64>()) / l[i * k + i];
        }
        let mut xcol = vec![0.0; k];
        for i in (0..k).rev() {
            xcol[i] =
                (y[i] - (i + 1..k).map(|p| l[p * k + i] * xcol[p]).sum::<f64>()) / l[i * k + i];
        }
        for i in 0..k {
            inv[i * k + col] = xcol[i];
        }
    }
    if inv.iter().all(|v| v.is_finite()) {
        Some(inv)
    } else {
        None
    }
}

/// How a model maps log-parameters (the optimiser's coordinates) to its natural parameters.
pub(crate) struct ParamMap {
    /// Parameter names in order.
    pub names: &'static [&'static str],
    /// Offsets: natural_i = offset_i + exp(x_i) (0 for plain positive parameters, 1 for q > 1).
    pub offsets: &'static [f64],
}

impl ParamMap {
    pub(crate) fn natural(&self, x: &[f64]) -> Vec<f64> {
        x.iter()
            .zip(self.offsets)
            .map(|(v, o)| o + v.exp())
            .collect()
    }
}

/// Fit `obj` from `starts` and assemble the `FitResult`.
///
/// `log_lik` is the unpenalised total log-likelihood at natural parameters.
pub(crate) fn fit_model<O: Objective + Sync + ?Sized>(
    model: &'static str,
    map: &ParamMap,
    obj: &O,
    n: f64,
    starts: &[Vec<f64>],
    opts: &FitOptions,
    sample: Option<&(dyn Objective + Sync)>,
) -> Result<FitResult, ModelError> {
    let min = minimize_multistart(model, obj, starts, opts, sample)?;
    let k = min.x.len();
    let penalty = if opts.penalty.is_finite() && opts.penalty > 0.0 {
        opts.penalty
    } else {
        0.0
    };
    let natural = map.natural(&min.x);
    // Without a penalty the optimiser's own value is the likelihood's: no pass over the rows.
    let log_likelihood = -(if penalty == 0.0 {
        min.f
    } else {
        obj.value(&min.x)
    }) * n;
    let hm: Vec<f64> = hessian(obj, penalty, &min.x)
        .into_iter()
        .map(|v| v * n)
        .collect();
    let std_errors = spd_inverse(&hm, k).and_then(|cov| {
        let se: Vec<(&'static str, f64)> = (0..k)
            .map(|i| (map.names[i], min.x[i].exp() * cov[i * k + i].sqrt()))
            .collect();
        se.iter().all(|s| s.1.is_finite()).then_some(se)
    });
    let kf = k as f64;
    let mut warnings = Vec::new();
    if !min.converged {
        warnings.push(format!(
            "{model}: the optimiser stopped after {} iterations with gradient norm {:.3e} > tol {:.1e}; \
             the estimates may be imprecise (try a small penalty, e.g. 0.01)",
            min.iterations, min.grad_norm, opts.tol
        ));
    }
    Ok(FitResult {
        model,
        params: map.names.iter().copied().zip(natural).collect(),
        std_errors,
        log_likelihood,
        aic: 2.0 * kf - 2.0 * log_likelihood,
        bic: kf * n.ln() - 2.0 * log_likelihood,
        n,
        converged: min.converged,
        iterations: min.iterations,
        gradient_norm: min.grad_norm,
        diagnostics: Vec::new(),
        warnings,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Rosen;
    impl Objective for Rosen {
        fn value(&self, x: &[f64]) -> f64 {
            (1.0 - x[0]).powi(2) + 100.0 * (x[1] - x[0] * x[0]).powi(2)
        }
    }

    #[test]
    fn bfgs_solves_rosenbrock() {
        let m = bfgs(&Rosen, &[-1.2, 1.0], None, 500, 1e-7).unwrap();
        assert!(m.converged, "{m:?}");
        assert!((m.x[0] - 1.0).abs() < 1e-5 && (m.x[1] - 1.0).abs() < 1e-5);
    }

    #[test]
    fn spd_inverse_works_and_rejects_indefinite() {
        let a = [4.0, 2.0, 0.6, 2.0, 2.0, 0.5, 0.6, 0.5, 3.0];
        let inv = spd_inverse(&a, 3).unwrap();
        for i in 0..3 {
            for j in 0..3 {
                let v: f64 = (0..3).map(|p| a[i * 3 + p] * inv[p * 3 + j]).sum();
                assert!((v - if i == j { 1.0 } else { 0.0 }).abs() < 1e-12);
            }
        }
        assert!(spd_inverse(&[1.0, 2.0, 2.0, 1.0], 2).is_none());
        assert!(spd_inverse(&[f64::NAN], 1).is_none());
    }
}
