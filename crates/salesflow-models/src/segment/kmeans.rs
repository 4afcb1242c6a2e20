//! k-means clustering of customers on standardised features, with k chosen by the silhouette.
//!
//! [`kmeans`] does, in order:
//!
//! 1. **Standardise** every column to z-scores (mean 0, population standard deviation 1, as
//!    scikit-learn's `StandardScaler`); a constant column gets scale 1 and becomes all zeros,
//!    so it pulls no cluster apart. Clustering, inertia and silhouettes are in these units.
//! 2. **Sample**: when there are more than `sample_size` points, a seeded sample of
//!    `sample_size` of them (without replacement); otherwise every point.
//! 3. **Fit on the sample**, for the given k or every k of `k_range`: `restarts` runs, each
//!    started by greedy k-means++ (as scikit-learn's: the first centre uniform, then for each
//!    next centre `2 + ln k` candidates drawn with probability proportional to the squared
//!    distance to the nearest centre so far, keeping the candidate that lowers the total most)
//!    and run by Lloyd's iterations; the run with the lowest inertia wins. Restart r draws from
//!    `SplitMix64::new(seed + r)` (wrapping), so a one-restart fit with seed `seed + r` starts
//!    the same way; the sample comes from a separate stream of `seed`.
//! 4. **Choose k** (when `k` is `None`): the k of the highest mean silhouette on the sample
//!    (exact silhouette is O(n²), hence the sample); the smaller k on a tie.
//! 5. **Fit on all points**: when the data were sampled, Lloyd's iterations on every point from
//!    the winning sample centroids (assignment split over `threads` by row chunks). The
//!    silhouette reported stays the sample fit's (see [`KMeansFit::silhouette`]).
//!
//! Results are deterministic for a seed and identical for any thread count: chunks are fixed
//! and their sums combined in chunk order.
//!
//! Labels are renumbered by descending cluster size, ties by the standardised centroid
//! (first feature first, ascending); clusters left empty are dropped.
//!
//! [`lloyd`] exposes step 3's iterations on raw points from given centroids (what
//! scikit-learn's `KMeans(init=centres, n_init=1, algorithm="lloyd")` does), and the tests
//! hold it to scikit-learn's answers.

use std::borrow::Cow;
use std::ops::RangeInclusive;

use crate::ModelError;
use crate::rng::SplitMix64;

use super::silhouette::{Labeling, silhouettes};
use crate::parallel::{map_chunks_mut, map_jobs, resolve_threads};

/// Rows per assignment chunk (fixed, so sums do not depend on the thread count).
const CHUNK_ROWS: usize = 4096;

/// Mixed into the seed for the sample's stream, apart from the restarts' `seed + r`.
const SAMPLE_STREAM: u64 = 0x5EED_5A3B_1E5E_ED00;

/// Settings of [`kmeans`].
#[derive(Debug, Clone, PartialEq)]
pub struct KMeansOptions {
    /// The number of clusters; `None` chooses it from `k_range` by the silhouette.
    pub k: Option<usize>,
    /// The k tried when `k` is `None` (default 2..=8). k below 2 cannot be scored and is
    /// skipped, as is k >= the number of sampled points; when nothing is left (fewer than 3
    /// distinct points) the fit has one cluster.
    pub k_range: RangeInclusive<usize>,
    /// k-means++ starts per k; the lowest inertia wins (default 4, at least 1).
    pub restarts: usize,
    /// Most Lloyd iterations per run (default 100, at least 1).
    pub max_iter: usize,
    /// A run stops when the labels stop changing or when the centroids' total squared move in
    /// one iteration is at most this, in standardised units (default 1e-4; 0 waits for stable
    /// labels).
    pub tolerance: f64,
    /// Seed of the sample and of the k-means++ draws.
    pub seed: u64,
    /// Points used to fit and score each candidate k (default 20,000; at least 2, and at least
    /// `k` when given); the final fit uses every point.
    pub sample_size: usize,
    /// Threads (0 = every core).
    pub threads: usize,
}

impl Default for KMeansOptions {
    fn default() -> Self {
        KMeansOptions {
            k: None,
            k_range: 2..=8,
            restarts: 4,
            max_iter: 100,
            tolerance: 1e-4,
            seed: 0,
            sample_size: 20_000,
            threads: 0,
        }
    }
}

/// A k-means fit. Matrices are row-major, `n_features` values per row.
#[derive(Debug, Clone, PartialEq)]
pub struct KMeansFit {
    /// Number of clusters (can be below the k asked for when the data have fewer distinct
    /// points).
    pub k: usize,
    /// Cluster of every point, `0..k`, 0 the largest cluster.
    pub labels: Vec<usize>,
    /// Centroids in standardised units (`k × n_features`).
    pub centroids_standardised: Vec<f64>,
    /// Centroids in the input's units (`k × n_features`).
    pub centroids: Vec<f64>,
    /// Points per cluster.
    pub sizes: Vec<usize>,
    /// Sum of squared standardised distances of every point to its centroid.
    pub inertia: f64,
    /// Mean silhouette, on the sample, of the sample fit of the final k: the score k was chosen
    /// by. Without sampling that is the final fit's silhouette on every point; with sampling,
    /// the final fit on all points can differ from the sample fit only where refining on all
    /// points moved a boundary (scoring it again would cost another O(sample²) pass). `None`
    /// with one cluster.
    pub silhouette: Option<f64>,
    /// (k, mean silhouette on the sample) for every k scored when choosing k; empty when `k`
    /// was given. A k whose fit has fewer non-empty clusters than k is left out.
    pub silhouette_by_k: Vec<(usize, f64)>,
    /// Lloyd iterations of the final fit.
    pub iterations: usize,
    /// Whether the final fit stopped on stable labels or the tolerance (not on `max_iter`).
    pub converged: bool,
    /// Column means used to standardise.
    pub feature_mean: Vec<f64>,
    /// Column scales used to standardise (population standard deviation; 1 for a constant
    /// column).
    pub feature_scale: Vec<f64>,
}

/// The outcome of [`lloyd`].
#[derive(Debug, Clone, PartialEq)]
pub struct LloydRun {
    /// Final centroids (`k × n_features`), in the order of the initial ones.
    pub centroids: Vec<f64>,
    /// Index of the nearest final centroid of every point (the first on an exact tie).
    pub labels: Vec<usize>,
    /// Sum of squared distances of the points to their final centroids.
    pub inertia: f64,
    /// Iterations run, each an assignment and a centroid update (scikit-learn's `n_iter_`).
    pub iterations: usize,
    /// Whether the run stopped on stable labels or the tolerance.
    pub converged: bool,
}

/// Clusters `points` (row-major, `n_features` values per row) as the [module docs](self)
/// describe.
///
/// Errors: no points ([`ModelError::EmptyInput`]); a NaN or infinite value
/// ([`ModelError::InvalidFeature`], naming its row and column); `n_features` 0, a length that
/// is not a whole number of rows, or an option out of range, such as `k` of 0 or above the
/// number of points ([`ModelError::InvalidParameter`]).
pub fn kmeans(
    points: &[f64],
    n_features: usize,
    options: &KMeansOptions,
) -> Result<KMeansFit, ModelError> {
    let n = check_points(points, n_features)?;
    check_options(options, n)?;
    let d = n_features;
    let threads = resolve_threads(options.threads);
    let (feature_mean, feature_scale) = scaling(points, d);
    let z = standardise(points, d, &feature_mean, &feature_scale);

    let sample_rows = (n > options.sample_size).then(|| sample_rows(n, options));
    let sample: Cow<'_, [f64]> = match &sample_rows {
        Some(rows) => Cow::Owned(rows.iter().flat_map(|&i| row(&z, d, i)).copied().collect()),
        None => Cow::Borrowed(&z),
    };
    let sample_n = sample.len() / d;

    let candidates: Vec<usize> = match options.k {
        Some(k) => vec![k],
        None => options
            .k_range
            .clone()
            .filter(|&k| k >= 2 && k < sample_n)
            .collect(),
    };
    let mut best = fit_on(&sample, d, &candidates, options, threads);

    let mut silhouette_by_k = Vec::new();
    let mut chosen = 0;
    let mut chosen_silhouette = None;
    if options.k.is_none() {
        let scored: Vec<usize> = (0..best.len())
            .filter(|&i| non_empty(&best[i], d) == candidates[i])
            .collect();
        let labelings: Vec<Labeling> = scored
            .iter()
            .map(|&i| Labeling::from_labels(&best[i].labels))
            .collect();
        let scores = silhouettes(&sample, d, &labelings, threads);
        for (&i, &score) in scored.iter().zip(&scores) {
            silhouette_by_k.push((candidates[i], score));
            if chosen_silhouette.is_none_or(|s| score > s) {
                chosen = i;
                chosen_silhouette = Some(score);
            }
        }
        if chosen_silhouette.is_none() {
            // Nothing could be scored: too few (distinct) points for two clusters.
            best = fit_on(&sample, d, &[1], options, threads);
            chosen = 0;
        }
    }
    let sample_fit = best.swap_remove(chosen);
    let silhouette = match chosen_silhouette {
        Some(s) => Some(s),
        None => silhouette_of(&sample, d, &sample_fit.labels, threads),
    };

    let run = match &sample_rows {
        None => sample_fit,
        // Every point, from the sample's centroids.
        Some(_) => run_lloyd(
            &z,
            d,
            sample_fit.centroids,
            options.max_iter,
            options.tolerance,
            threads,
        ),
    };
    Ok(finish(
        run,
        d,
        silhouette,
        silhouette_by_k,
        feature_mean,
        feature_scale,
    ))
}

/// Lloyd's iterations on `points` (row-major, `n_features` per row, no standardising) from
/// `initial_centroids` (`k × n_features`), until the labels stop changing, the centroids'
/// total squared move is at most `tolerance`, or `max_iter` iterations; `threads` 0 = every
/// core. A cluster that empties is moved to the point farthest from its centroid, as
/// scikit-learn does. After a stop on the tolerance or `max_iter`, points are assigned once
/// more to the final centroids for the labels and inertia.
///
/// Errors as [`kmeans`]; initial centroids must be finite and whole rows, `max_iter` at least
/// 1 and `tolerance` finite and `>= 0`.
pub fn lloyd(
    points: &[f64],
    n_features: usize,
    initial_centroids: &[f64],
    max_iter: usize,
    tolerance: f64,
    threads: usize,
) -> Result<LloydRun, ModelError> {
    check_points(points, n_features)?;
    if initial_centroids.is_empty()
        || !initial_centroids.len().is_multiple_of(n_features)
        || initial_centroids.iter().any(|v| !v.is_finite())
    {
        return Err(ModelError::InvalidParameter {
            name: "initial_centroids",
            value: initial_centroids.len() as f64,
            hint: "give at least one centroid of n_features finite values",
        });
    }
    check_iterations(max_iter, tolerance)?;
    let run = run_lloyd(
        points,
        n_features,
        initial_centroids.to_vec(),
        max_iter,
        tolerance,
        resolve_threads(threads),
    );
    Ok(LloydRun {
        centroids: run.centroids,
        labels: run.labels,
        inertia: run.inertia,
        iterations: run.iterations,
        converged: run.converged,
    })
}

/// Checks a point matrix; returns the number of rows.
pub(crate) fn check_points(points: &[f64], n_features: usize) -> Result<usize, ModelError> {
    if n_features == 0 || !points.len().is_multiple_of(n_features) {
        return Err(ModelError::InvalidParameter {
            name: "n_features",
            value: n_features as f64,
            hint: "must be at least 1 and divide the number of values (row-major rows)",
        });
    }
    if points.is_empty() {
        return Err(ModelError::EmptyInput { what: "points" });
    }
    if let Some(i) = points.iter().position(|v| !v.is_finite()) {
        return Err(ModelError::InvalidFeature {
            row: i / n_features,
            column: i % n_features,
            value: points[i],
            hint: "must be a finite number; drop or impute missing values before clustering",
        });
    }
    Ok(points.len() / n_features)
}

fn check_iterations(max_iter: usize, tolerance: f64) -> Result<(), ModelError> {
    if max_iter == 0 {
        return Err(ModelError::InvalidParameter {
            name: "max_iter",
            value: 0.0,
            hint: "must be at least 1",
        });
    }
    crate::error::non_negative("tolerance", tolerance)?;
    Ok(())
}

fn check_options(options: &KMeansOptions, n: usize) -> Result<(), ModelError> {
    let invalid = |name, value: usize, hint| {
        Err(ModelError::InvalidParameter {
            name,
            value: value as f64,
            hint,
        })
    };
    match options.k {
        Some(0) => return invalid("k", 0, "must be at least 1"),
        Some(k) if k > n => {
            return invalid("k", k, "must not exceed the number of points");
        }
        Some(k) if k > options.sample_size && n > options.sample_size => {
            return invalid(
                "sample_size",
                options.sample_size,
                "must be at least k: the clusters are first fitted on the sample",
            );
        }
        None if options.k_range.is_empty() => {
            return invalid(
                "k_range",
                *options.k_range.start(),
                "must not be empty, e.g. 2..=8",
            );
        }
        _ => {}
    }
    if options.restarts == 0 {
        return invalid("restarts", 0, "must be at least 1");
    }
    if options.sample_size < 2 {
        return invalid("sample_size", options.sample_size, "must be at least 2");
    }
    check_iterations(options.max_iter, options.tolerance)
}

/// Row `i` of a row-major matrix.
fn row(x: &[f64], d: usize, i: usize) -> &[f64] {
    &x[i * d..(i + 1) * d]
}

fn squared_distance(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(p, q)| (p - q) * (p - q)).sum()
}

/// Column means and scales (population standard deviation, 1 for a constant column).
fn scaling(points: &[f64], d: usize) -> (Vec<f64>, Vec<f64>) {
    let n = (points.len() / d) as f64;
    let mut mean = vec![0.0; d];
    let mut scale = vec![1.0; d];
    for f in 0..d {
        let column = || points.iter().skip(f).step_by(d);
        let (low, high) = column().fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &v| {
            (lo.min(v), hi.max(v))
        });
        if low == high {
            // Exactly the value, so x - mean is exactly 0 (a computed mean can be an ulp off).
            mean[f] = low;
            continue;
        }
        let m = column().sum::<f64>() / n;
        let variance = column().map(|v| (v - m) * (v - m)).sum::<f64>() / n;
        mean[f] = m;
        if variance > 0.0 {
            scale[f] = variance.sqrt();
        }
    }
    (mean, scale)
}

fn standardise(points: &[f64], d: usize, mean: &[f64], scale: &[f64]) -> Vec<f64> {
    points
        .chunks_exact(d)
        .flat_map(|p| p.iter().zip(mean).zip(scale).map(|((v, m), s)| (v - m) / s))
        .collect()
}

/// `options.sample_size` distinct rows of `0..n`, ascending (partial Fisher-Yates).
fn sample_rows(n: usize, options: &KMeansOptions) -> Vec<usize> {
    let mut rng = SplitMix64::new(options.seed ^ SAMPLE_STREAM);
    let mut rows: Vec<usize> = (0..n).collect();
    for i in 0..options.sample_size {
        let j = i + rng.below(n - i);
        rows.swap(i, j);
    }
    rows.truncate(options.sample_size);
    rows.sort_unstable();
    rows
}

/// The best of `restarts` runs for every k in `ks`, the (k, restart) runs spread over threads.
fn fit_on(
    x: &[f64],
    d: usize,
    ks: &[usize],
    options: &KMeansOptions,
    threads: usize,
) -> Vec<Lloyd> {
    let restarts = options.restarts;
    let runs = map_jobs(threads, ks.len() * restarts, |job| {
        let (k, restart) = (ks[job / restarts], job % restarts);
        let mut rng = SplitMix64::new(options.seed.wrapping_add(restart as u64));
        let initial = kmeans_plus_plus(x, d, k, &mut rng);
        run_lloyd(x, d, initial, options.max_iter, options.tolerance, 1)
    });
    let mut best = Vec::with_capacity(ks.len());
    let mut runs = runs.into_iter();
    for _ in ks {
        let winner = runs
            .by_ref()
            .take(restarts)
            // The first of equal inertias: `min_by` would keep the last.
            .reduce(|a, b| if b.inertia < a.inertia { b } else { a });
        if let Some(winner) = winner {
            best.push(winner);
        }
    }
    best
}

/// Greedy k-means++ centres (fewer than k when the points have fewer distinct values).
fn kmeans_plus_plus(x: &[f64], d: usize, k: usize, rng: &mut SplitMix64) -> Vec<f64> {
    let n = x.len() / d;
    let first = rng.below(n);
    let mut centres = row(x, d, first).to_vec();
    let mut closest: Vec<f64> = (0..n)
        .map(|i| squared_distance(row(x, d, i), row(x, d, first)))
        .collect();
    // scikit-learn's number of candidates per centre: 2 + int(ln k).
    let trials = 2 + (k as f64).ln().floor() as usize;
    let mut cumulative = vec![0.0; n];
    let mut candidate = vec![0.0; n];
    let mut chosen = vec![0.0; n];
    for _ in 1..k {
        let mut total = 0.0;
        for (c, &v) in cumulative.iter_mut().zip(&closest) {
            total += v;
            *c = total;
        }
        if total <= 0.0 {
            // Every point sits on a centre: there is no distinct point left.
            break;
        }
        let mut best: Option<(f64, usize)> = None;
        for _ in 0..trials {
            let target = rng.uniform() * total;
            // The first point whose cumulative weight passes the target has a positive weight.
            let mut pick = cumulative.partition_point(|&c| c <= target);
            if pick >= n {
                pick = closest.iter().rposition(|&v| v > 0.0).unwrap_or(0);
            }
            let centre = row(x, d, pick);
            let mut potential = 0.0;
            for (i, (c, &old)) in candidate.iter_mut().zip(&closest).enumerate() {
                *c = old.min(squared_distance(row(x, d, i), centre));
                potential += *c;
            }
            if best.is_none_or(|(p, _)| potential < p) {
                best = Some((potential, pick));
                std::mem::swap(&mut chosen, &mut candidate);
            }
        }
        if let Some((_, pick)) = best {
            centres.extend_from_slice(row(x, d, pick));
            std::mem::swap(&mut closest, &mut chosen);
        }
    }
    centres
}

/// One Lloyd run's outcome.
#[derive(Debug, Clone)]
struct Lloyd {
    centroids: Vec<f64>,
    labels: Vec<usize>,
    inertia: f64,
    iterations: usize,
    converged: bool,
}

/// One assignment pass: labels written, sums per cluster of the points assigned.
struct Pass {
    sums: Vec<f64>,
    counts: Vec<usize>,
    inertia: f64,
    changed: usize,
}

fn run_lloyd(
    x: &[f64],
    d: usize,
    mut centroids: Vec<f64>,
    max_iter: usize,
    tolerance: f64,
    threads: usize,
) -> Lloyd {
    let n = x.len() / d;
    let k = centroids.len() / d;
    // No label yet, so the first pass counts every point as changed.
    let mut labels = vec![usize::MAX; n];
    let mut iterations = 0;
    let mut stable = false;
    let mut converged = false;
    let mut inertia = 0.0;
    while iterations < max_iter {
        iterations += 1;
        let mut pass = assign(x, d, &centroids, &mut labels, threads);
        if pass.changed == 0 {
            // The centroids are the means of these very labels: a fixed point.
            stable = true;
            converged = true;
            inertia = pass.inertia;
            break;
        }
        let mut next = centroids.clone();
        for c in 0..k {
            if pass.counts[c] > 0 {
                let count = pass.counts[c] as f64;
                for (v, s) in next[c * d..(c + 1) * d]
                    .iter_mut()
                    .zip(&pass.sums[c * d..(c + 1) * d])
                {
                    *v = s / count;
                }
            }
        }
        if pass.counts.contains(&0) {
            relocate_empty(x, d, &centroids, &labels, &mut pass, &mut next);
        }
        let shift = squared_distance(&next, &centroids);
        centroids = next;
        if shift <= tolerance {
            converged = true;
            break;
        }
    }
    if !stable {
        // Labels and inertia that match the final centroids.
        inertia = assign(x, d, &centroids, &mut labels, threads).inertia;
    }
    Lloyd {
        centroids,
        labels,
        inertia,
        iterations,
        converged,
    }
}

/// Assigns every point to its nearest centroid (the first on an exact tie).
fn assign(x: &[f64], d: usize, centroids: &[f64], labels: &mut [usize], threads: usize) -> Pass {
    let k = centroids.len() / d;
    let parts = map_chunks_mut(labels, CHUNK_ROWS, threads, |chunk, labels| {
        let rows = &x[chunk * CHUNK_ROWS * d..(chunk * CHUNK_ROWS + labels.len()) * d];
        // A fixed feature count unrolls the distance loop (4 features: the common case).
        match d {
            1 => assign_rows::<1>(rows, d, centroids, labels),
            2 => assign_rows::<2>(rows, d, centroids, labels),
            3 => assign_rows::<3>(rows, d, centroids, labels),
            4 => assign_rows::<4>(rows, d, centroids, labels),
            5 => assign_rows::<5>(rows, d, centroids, labels),
            6 => assign_rows::<6>(rows, d, centroids, labels),
            _ => assign_rows::<0>(rows, d, centroids, labels),
        }
    });
    let mut total = Pass {
        sums: vec![0.0; k * d],
        counts: vec![0; k],
        inertia: 0.0,
        changed: 0,
    };
    for part in parts {
        for (t, s) in total.sums.iter_mut().zip(&part.sums) {
            *t += s;
        }
        for (t, c) in total.counts.iter_mut().zip(&part.counts) {
            *t += c;
        }
        total.inertia += part.inertia;
        total.changed += part.changed;
    }
    total
}

/// One chunk of [`assign`]; `D` is the feature count, or 0 to use `d`.
fn assign_rows<const D: usize>(
    rows: &[f64],
    d: usize,
    centroids: &[f64],
    labels: &mut [usize],
) -> Pass {
    let d = if D > 0 { D } else { d };
    let k = centroids.len() / d;
    let mut pass = Pass {
        sums: vec![0.0; k * d],
        counts: vec![0; k],
        inertia: 0.0,
        changed: 0,
    };
    for (point, label) in rows.chunks_exact(d).zip(labels.iter_mut()) {
        let mut best = 0;
        let mut best_d2 = f64::INFINITY;
        for (c, centre) in centroids.chunks_exact(d).enumerate() {
            let mut d2 = 0.0;
            for f in 0..d {
                let t = point[f] - centre[f];
                d2 += t * t;
            }
            if d2 < best_d2 {
                best = c;
                best_d2 = d2;
            }
        }
        if *label != best {
            *label = best;
            pass.changed += 1;
        }
        pass.counts[best] += 1;
        pass.inertia += best_d2;
        for (s, v) in pass.sums[best * d..(best + 1) * d].iter_mut().zip(point) {
            *s += v;
        }
    }
    pass
}

/// Moves each empty cluster to one of the points farthest from their (old) centroids, taking
/// the point out of its old cluster's mean, as scikit-learn does.
fn relocate_empty(
    x: &[f64],
    d: usize,
    old: &[f64],
    labels: &[usize],
    pass: &mut Pass,
    next: &mut [f64],
) {
    let empty: Vec<usize> = (0..pass.counts.len())
        .filter(|&c| pass.counts[c] == 0)
        .collect();
    let mut far: Vec<(f64, usize)> = labels
        .iter()
        .enumerate()
        .map(|(i, &c)| (squared_distance(row(x, d, i), row(old, d, c)), i))
        .collect();
    far.sort_unstable_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    for (&e, &(d2, i)) in empty.iter().zip(&far) {
        if d2 <= 0.0 {
            // Every remaining point sits on its centroid; the cluster stays empty.
            break;
        }
        let point = row(x, d, i);
        let from = labels[i];
        next[e * d..(e + 1) * d].copy_from_slice(point);
        if pass.counts[from] > 1 {
            pass.counts[from] -= 1;
            let count = pass.counts[from] as f64;
            for f in 0..d {
                pass.sums[from * d + f] -= point[f];
                next[from * d + f] = pass.sums[from * d + f] / count;
            }
        }
    }
}

/// Number of clusters with at least one point.
fn non_empty(run: &Lloyd, d: usize) -> usize {
    let mut seen = vec![false; run.centroids.len() / d];
    for &l in &run.labels {
        seen[l] = true;
    }
    seen.iter().filter(|&&s| s).count()
}

/// The silhouette of `labels` on `x`, when it is defined (2..=n-1 clusters).
fn silhouette_of(x: &[f64], d: usize, labels: &[usize], threads: usize) -> Option<f64> {
    let labeling = Labeling::from_labels(labels);
    let n = labels.len();
    (labeling.clusters >= 2 && labeling.clusters < n)
        .then(|| silhouettes(x, d, &[labeling], threads).first().copied())
        .flatten()
}

/// Drops empty clusters, renumbers by size and builds the fit.
fn finish(
    run: Lloyd,
    d: usize,
    silhouette: Option<f64>,
    silhouette_by_k: Vec<(usize, f64)>,
    feature_mean: Vec<f64>,
    feature_scale: Vec<f64>,
) -> KMeansFit {
    let k = run.centroids.len() / d;
    let mut counts = vec![0usize; k];
    for &l in &run.labels {
        counts[l] += 1;
    }
    let mut order: Vec<usize> = (0..k).filter(|&c| counts[c] > 0).collect();
    order.sort_by(|&a, &b| {
        counts[b].cmp(&counts[a]).then_with(|| {
            row(&run.centroids, d, a)
                .iter()
                .zip(row(&run.centroids, d, b))
                .map(|(p, q)| p.total_cmp(q))
                .find(|o| o.is_ne())
                .unwrap_or(std::cmp::Ordering::Equal)
        })
    });
    let mut new_label = vec![0usize; k];
    for (new, &old) in order.iter().enumerate() {
        new_label[old] = new;
    }
    let labels = run.labels.iter().map(|&l| new_label[l]).collect();
    let centroids_standardised: Vec<f64> = order
        .iter()
        .flat_map(|&c| row(&run.centroids, d, c))
        .copied()
        .collect();
    let centroids = centroids_standardised
        .chunks_exact(d)
        .flat_map(|c| {
            c.iter()
                .zip(&feature_mean)
                .zip(&feature_scale)
                .map(|((v, m), s)| v * s + m)
        })
        .collect();
    KMeansFit {
        k: order.len(),
        labels,
        centroids_standardised,
        centroids,
        sizes: order.iter().map(|&c| counts[c]).collect(),
        inertia: run.inertia,
        silhouette,
        silhouette_by_k,
        iterations: run.iterations,
        converged: run.converged,
        feature_mean,
        feature_scale,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `per` points around each centre (row-major), seeded.
    fn blobs(centres: &[[f64; 2]], per: usize, spread: f64, seed: u64) -> Vec<f64> {
        let mut rng = SplitMix64::new(seed);
        let mut points = Vec::new();
        for c in centres {
            for _ in 0..per {
                points.push(c[0] + spread * rng.normal());
                points.push(c[1] + spread * rng.normal());
            }
        }
        points
    }

    #[test]
    fn errors_name_the_problem() {
        let opts = KMeansOptions::default();
        assert!(matches!(
            kmeans(&[], 2, &opts),
            Err(ModelError::EmptyInput { .. })
        ));
        assert!(matches!(
            kmeans(&[1.0, 2.0, 3.0], 2, &opts),
            Err(ModelError::InvalidParameter {
                name: "n_features",
                ..
            })
        ));
        assert!(matches!(
            kmeans(&[1.0, 2.0, 3.0, f64::INFINITY], 2, &opts),
            Err(ModelError::InvalidFeature {
                row: 1,
                column: 1,
                ..
            })
        ));
        let err = kmeans(&[1.0, 2.0, f64::NAN, 4.0], 2, &opts).unwrap_err();
        assert!(err.to_string().starts_with("row 1, column 0: NaN"), "{err}");
        let three = [0.0, 1.0, 2.0];
        let with_k = |k| KMeansOptions {
            k: Some(k),
            ..KMeansOptions::default()
        };
        assert!(matches!(
            kmeans(&three, 1, &with_k(4)),
            Err(ModelError::InvalidParameter { name: "k", .. })
        ));
        assert!(kmeans(&three, 1, &with_k(0)).is_err());
        for bad in [
            KMeansOptions {
                restarts: 0,
                ..KMeansOptions::default()
            },
            KMeansOptions {
                max_iter: 0,
                ..KMeansOptions::default()
            },
            KMeansOptions {
                tolerance: f64::NAN,
                ..KMeansOptions::default()
            },
            KMeansOptions {
                sample_size: 1,
                ..KMeansOptions::default()
            },
            KMeansOptions {
                k: Some(3),
                sample_size: 2,
                ..KMeansOptions::default()
            },
            KMeansOptions {
                #[allow(clippy::reversed_empty_ranges)]
                k_range: 5..=2,
                ..KMeansOptions::default()
            },
        ] {
            assert!(kmeans(&three, 1, &bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn one_point_and_identical_points_make_one_cluster() {
        let one = kmeans(&[3.0, 4.0], 2, &KMeansOptions::default()).unwrap();
        assert_eq!(
            (one.k, one.labels.clone(), one.sizes.clone()),
            (1, vec![0], vec![1])
        );
        assert_eq!(one.centroids, vec![3.0, 4.0]);
        assert_eq!(one.inertia, 0.0);
        assert_eq!(one.silhouette, None);

        let same = [2.5, -1.0].repeat(50);
        for k in [None, Some(3)] {
            let fit = kmeans(
                &same,
                2,
                &KMeansOptions {
                    k,
                    ..KMeansOptions::default()
                },
            )
            .unwrap();
            assert_eq!(fit.k, 1);
            assert_eq!(fit.sizes, vec![50]);
            assert_eq!(fit.centroids, vec![2.5, -1.0]);
            assert_eq!(fit.centroids_standardised, vec![0.0, 0.0]);
            assert_eq!(fit.inertia, 0.0);
            assert_eq!(fit.feature_scale, vec![1.0, 1.0]);
            assert!(fit.silhouette_by_k.is_empty());
            assert!(fit.converged);
        }
    }

    #[test]
    fn few_distinct_points_reduce_k() {
        // Two distinct values: k = 3 asked, two clusters found; no k of 2..=8 can be scored
        // (k = 2 would need 3 or more points), so the automatic choice is one cluster.
        let points = [0.0, 0.0, 0.0, 5.0, 5.0];
        let fit = kmeans(
            &points,
            1,
            &KMeansOptions {
                k: Some(3),
                ..KMeansOptions::default()
            },
        )
        .unwrap();
        assert_eq!((fit.k, fit.sizes.clone()), (2, vec![3, 2]));
        assert_eq!(fit.labels, vec![0, 0, 0, 1, 1]);
        assert_eq!(fit.silhouette, Some(1.0));
        let auto = kmeans(&points, 1, &KMeansOptions::default()).unwrap();
        // k = 2..=4 are tried (k < 5 points); k = 3 and 4 find only two clusters.
        assert_eq!(auto.silhouette_by_k, vec![(2, 1.0)]);
        assert_eq!(auto.k, 2);
        let two = kmeans(&[0.0, 1.0], 1, &KMeansOptions::default()).unwrap();
        assert_eq!((two.k, two.silhouette), (1, None));
    }

    #[test]
    fn constant_column_contributes_nothing() {
        let mut points = blobs(&[[0.0, 0.0], [10.0, 10.0]], 40, 0.5, 3);
        // Add a constant third column.
        points = points
            .chunks_exact(2)
            .flat_map(|p| [p[0], p[1], 7.0])
            .collect();
        let fit = kmeans(&points, 3, &KMeansOptions::default()).unwrap();
        assert_eq!(fit.k, 2);
        assert_eq!(fit.feature_mean[2], 7.0);
        assert_eq!(fit.feature_scale[2], 1.0);
        assert!(fit.centroids_standardised.chunks(3).all(|c| c[2] == 0.0));
        assert!(fit.centroids.chunks(3).all(|c| c[2] == 7.0));
    }

    #[test]
    fn labels_are_ordered_by_size() {
        let mut points = blobs(&[[0.0, 0.0]], 30, 0.3, 1);
        points.extend(blobs(&[[8.0, 0.0]], 70, 0.3, 2));
        points.extend(blobs(&[[0.0, 8.0]], 50, 0.3, 3));
        let fit = kmeans(
            &points,
            2,
            &KMeansOptions {
                k: Some(3),
                ..KMeansOptions::default()
            },
        )
        .unwrap();
        assert_eq!(fit.sizes, vec![70, 50, 30]);
        assert!(fit.labels[..30].iter().all(|&l| l == 2));
        assert!(fit.labels[30..100].iter().all(|&l| l == 0));
        assert!(fit.labels[100..].iter().all(|&l| l == 1));
        assert!((fit.centroids[0] - 8.0).abs() < 0.2 && fit.centroids[1].abs() < 0.2);
    }

    #[test]
    fn sampled_fit_assigns_every_point_and_ignores_thread_count() {
        let points = blobs(&[[0.0, 0.0], [6.0, 0.0], [0.0, 6.0]], 3000, 0.7, 9);
        let options = KMeansOptions {
            sample_size: 500,
            seed: 5,
            ..KMeansOptions::default()
        };
        let one = kmeans(
            &points,
            2,
            &KMeansOptions {
                threads: 1,
                ..options.clone()
            },
        )
        .unwrap();
        let three = kmeans(
            &points,
            2,
            &KMeansOptions {
                threads: 3,
                ..options
            },
        )
        .unwrap();
        assert_eq!(one, three);
        assert_eq!(one.k, 3);
        assert_eq!(one.labels.len(), 9000);
        assert_eq!(one.sizes.iter().sum::<usize>(), 9000);
        // Every blob's points share one label.
        for b in 0..3 {
            let first = one.labels[b * 3000];
            let agree = one.labels[b * 3000..(b + 1) * 3000]
                .iter()
                .filter(|&&l| l == first)
                .count();
            assert!(agree >= 2990, "blob {b}: {agree}");
        }
        assert!(one.converged);
        assert!(one.silhouette.is_some_and(|s| s > 0.6));
    }

    #[test]
    fn kmeans_plus_plus_finds_distinct_centres() {
        let points = [0.0, 0.0, 0.0, 1.0, 1.0, 2.0];
        let mut rng = SplitMix64::new(1);
        let mut centres = kmeans_plus_plus(&points, 1, 5, &mut rng);
        centres.sort_by(f64::total_cmp);
        assert_eq!(centres, vec![0.0, 1.0, 2.0]);
    }

    #[test]
    fn empty_cluster_moves_to_the_farthest_point() {
        // The third centre starts far from everything and is never nearest. After the first
        // pass ({0, 1} at 0.5, {2, 10} at 6) it moves to the point farthest from its centroid,
        // 10 (8.5 from 1.5), which leaves the second cluster's mean: centroids 0.5, 2, 10.
        let points = [0.0, 1.0, 2.0, 10.0];
        let run = lloyd(&points, 1, &[0.5, 1.5, 100.0], 10, 0.0, 1).unwrap();
        assert_eq!(run.labels, vec![0, 0, 1, 2]);
        assert_eq!(run.centroids, vec![0.5, 2.0, 10.0]);
        // The second pass moves no centroid (shift 0 <= tolerance 0): stop, as scikit-learn.
        assert_eq!(run.iterations, 2);
        assert!(run.converged);
        assert_eq!(run.inertia, 0.5);
    }
}
