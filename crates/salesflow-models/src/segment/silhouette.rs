//! The silhouette (Rousseeuw 1987): how much closer each point is to its own cluster than to
//! the nearest other one, averaged over the points. Exact, O(n²) distances; k-means scores its
//! candidate k on a sample.
//!
//! For point i in cluster A: a(i) = mean distance to the other members of A, b(i) = the
//! smallest mean distance to the members of another cluster, s(i) = (b − a) / max(a, b).
//! As in scikit-learn's `silhouette_score`, s(i) = 0 for a point alone in its cluster and for
//! a = b = 0 (duplicates), and the score needs between 2 and n − 1 clusters.

use crate::ModelError;

use crate::parallel::{map_jobs, resolve_threads};

/// Rows per job: enough work per job to hide the hand-out, small enough to even out.
const ROWS_PER_JOB: usize = 64;

/// The mean silhouette of `labels` over `points` (row-major, `n_features` values per row),
/// with Euclidean distances, on every core. Labels may be any numbers; only which points share
/// one matters.
///
/// Errors: no points ([`ModelError::EmptyInput`]); `n_features` 0, a length that is not a
/// whole number of rows, one label per row missing, or fewer than 2 or more than n − 1
/// distinct labels ([`ModelError::InvalidParameter`]); NaN or infinite coordinates
/// ([`ModelError::InvalidFeature`]).
pub fn silhouette_score(
    points: &[f64],
    n_features: usize,
    labels: &[usize],
) -> Result<f64, ModelError> {
    let n = super::kmeans::check_points(points, n_features)?;
    if labels.len() != n {
        return Err(ModelError::InvalidParameter {
            name: "labels",
            value: labels.len() as f64,
            hint: "give one label per row of points",
        });
    }
    let labeling = Labeling::from_labels(labels);
    if labeling.clusters < 2 || labeling.clusters >= n {
        return Err(ModelError::InvalidParameter {
            name: "number of clusters",
            value: labeling.clusters as f64,
            hint: "the silhouette needs between 2 and n - 1 distinct labels",
        });
    }
    let scores = silhouettes(points, n_features, &[labeling], resolve_threads(0));
    Ok(scores.first().copied().unwrap_or(f64::NAN))
}

/// Labels renumbered 0..clusters.
pub(crate) struct Labeling {
    /// Dense label per point.
    pub(crate) labels: Vec<u32>,
    /// Number of distinct labels.
    pub(crate) clusters: usize,
}

impl Labeling {
    /// Renumbers arbitrary labels by their sorted distinct values.
    pub(crate) fn from_labels(labels: &[usize]) -> Labeling {
        let mut distinct = labels.to_vec();
        distinct.sort_unstable();
        distinct.dedup();
        let labels = labels
            .iter()
            .map(|l| distinct.binary_search(l).unwrap_or(0) as u32)
            .collect();
        Labeling {
            labels,
            clusters: distinct.len(),
        }
    }
}

/// The mean silhouette of each labeling of the same points (each with 2..=n-1 clusters).
///
/// The costly part is O(n²): each point's distances to all others, summed per cluster. Points
/// are grouped by their *joint label*, the tuple of their labels in every labeling: points of
/// one group fall in the same cluster of every labeling, so summing distances per group once
/// serves all labelings (candidate clusterings of one sample nest into far fewer groups than
/// points). With the points reordered group by group, each group is a contiguous range, and
/// its sum is a vectorised loop of distances with no scatter.
pub(crate) fn silhouettes(
    points: &[f64],
    d: usize,
    labelings: &[Labeling],
    threads: usize,
) -> Vec<f64> {
    let n = points.len() / d;
    if n == 0 || labelings.is_empty() {
        return vec![f64::NAN; labelings.len()];
    }
    let joint = JointLabels::new(labelings, n);
    // Column-major, in group order.
    let columns: Vec<Vec<f64>> = (0..d)
        .map(|f| joint.order.iter().map(|&i| points[i * d + f]).collect())
        .collect();
    let counts: Vec<Vec<usize>> = labelings
        .iter()
        .map(|l| {
            let mut counts = vec![0usize; l.clusters];
            for &label in &l.labels {
                counts[label as usize] += 1;
            }
            counts
        })
        .collect();
    let n_jobs = n.div_ceil(ROWS_PER_JOB);
    let partial = map_jobs(threads, n_jobs, |job| {
        let positions = job * ROWS_PER_JOB..((job + 1) * ROWS_PER_JOB).min(n);
        let mut block = [0.0f64; BLOCK];
        let groups = joint.bounds.len() - 1;
        let mut group_sums = vec![0.0f64; groups];
        let mut sums: Vec<f64> = Vec::new();
        let mut total = vec![0.0f64; labelings.len()];
        for position in positions {
            let i = joint.order[position];
            let xi = &points[i * d..(i + 1) * d];
            for (g, sum) in group_sums.iter_mut().enumerate() {
                let mut lanes = [0.0f64; 4];
                let (from, to) = (joint.bounds[g], joint.bounds[g + 1]);
                for start in (from..to).step_by(BLOCK) {
                    let block = &mut block[..BLOCK.min(to - start)];
                    distances(&columns, start, xi, block);
                    add_into_lanes(block, &mut lanes);
                }
                *sum = (lanes[0] + lanes[1]) + (lanes[2] + lanes[3]);
            }
            for (t, ((labeling, counts), total)) in
                labelings.iter().zip(&counts).zip(&mut total).enumerate()
            {
                sums.clear();
                sums.resize(labeling.clusters, 0.0);
                for (&cluster, &sum) in joint.cluster_of[t].iter().zip(&group_sums) {
                    sums[cluster as usize] += sum;
                }
                *total += point_silhouette(labeling.labels[i] as usize, &sums, counts);
            }
        }
        total
    });
    let mut means = vec![0.0f64; labelings.len()];
    // Summed in job order, so the score does not depend on the thread count.
    for block in &partial {
        for (m, s) in means.iter_mut().zip(block) {
            *m += s;
        }
    }
    means.iter().map(|s| s / n as f64).collect()
}

/// Points grouped by their labels in every labeling.
struct JointLabels {
    /// Point indices, group by group.
    order: Vec<usize>,
    /// Group g is `order[bounds[g]..bounds[g + 1]]`.
    bounds: Vec<usize>,
    /// `cluster_of[t][g]`: the cluster of group g in labeling t.
    cluster_of: Vec<Vec<u32>>,
}

impl JointLabels {
    fn new(labelings: &[Labeling], n: usize) -> JointLabels {
        let tuple = |i: usize| labelings.iter().map(move |l| l.labels[i]);
        let mut order: Vec<usize> = (0..n).collect();
        // Stable, so the order (and every sum) is the same on every run.
        order.sort_by(|&a, &b| tuple(a).cmp(tuple(b)));
        let mut bounds = Vec::new();
        let mut cluster_of: Vec<Vec<u32>> = vec![Vec::new(); labelings.len()];
        for (position, &i) in order.iter().enumerate() {
            if position == 0 || tuple(order[position - 1]).ne(tuple(i)) {
                bounds.push(position);
                for (t, l) in labelings.iter().enumerate() {
                    cluster_of[t].push(l.labels[i]);
                }
            }
        }
        bounds.push(n);
        JointLabels {
            order,
            bounds,
            cluster_of,
        }
    }
}

/// Distances per block of points: 4 KB, so a block stays in L1 while it is built and summed.
const BLOCK: usize = 512;

/// `out[j]` = distance from `xi` to point `start + j`, points given by columns.
fn distances(columns: &[Vec<f64>], start: usize, xi: &[f64], out: &mut [f64]) {
    // A fixed feature count lets the features be summed in registers, one vector of points
    // at a time (more than twice as fast as a pass per column for 4 features).
    match columns.len() {
        1 => distances_fixed::<1>(columns, start, xi, out),
        2 => distances_fixed::<2>(columns, start, xi, out),
        3 => distances_fixed::<3>(columns, start, xi, out),
        4 => distances_fixed::<4>(columns, start, xi, out),
        5 => distances_fixed::<5>(columns, start, xi, out),
        6 => distances_fixed::<6>(columns, start, xi, out),
        7 => distances_fixed::<7>(columns, start, xi, out),
        8 => distances_fixed::<8>(columns, start, xi, out),
        _ => {
            let len = out.len();
            out.fill(0.0);
            for (column, &x) in columns.iter().zip(xi) {
                for (o, &v) in out.iter_mut().zip(&column[start..start + len]) {
                    let t = v - x;
                    *o += t * t;
                }
            }
            for o in out.iter_mut() {
                *o = o.sqrt();
            }
        }
    }
}

fn distances_fixed<const D: usize>(
    columns: &[Vec<f64>],
    start: usize,
    xi: &[f64],
    out: &mut [f64],
) {
    let len = out.len();
    let cols: [&[f64]; D] = std::array::from_fn(|f| &columns[f][start..start + len]);
    let x: [f64; D] = std::array::from_fn(|f| xi[f]);
    for (j, o) in out.iter_mut().enumerate() {
        let mut sum = 0.0;
        for f in 0..D {
            let t = cols[f][j] - x[f];
            sum += t * t;
        }
        *o = sum.sqrt();
    }
}

/// Adds `values` into four running sums (independent, so the adds vectorise).
fn add_into_lanes(values: &[f64], lanes: &mut [f64; 4]) {
    let mut quads = values.chunks_exact(4);
    for quad in &mut quads {
        for lane in 0..4 {
            lanes[lane] += quad[lane];
        }
    }
    for (lane, v) in lanes.iter_mut().zip(quads.remainder()) {
        *lane += v;
    }
}

/// s(i) from the point's distance sums per cluster.
fn point_silhouette(own: usize, sums: &[f64], counts: &[usize]) -> f64 {
    if counts[own] <= 1 {
        return 0.0;
    }
    // The point's distance to itself is 0, so the own sum covers the other members.
    let a = sums[own] / (counts[own] - 1) as f64;
    let b = sums
        .iter()
        .zip(counts)
        .enumerate()
        .filter(|&(c, (_, &count))| c != own && count > 0)
        .map(|(_, (&sum, &count))| sum / count as f64)
        .fold(f64::INFINITY, f64::min);
    let scale = a.max(b);
    if scale > 0.0 && scale.is_finite() {
        (b - a) / scale
    } else {
        0.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_tight_pairs_by_hand() {
        // Points 0, 1 on a line and 10, 11: a = 1 for everyone; b = 10 - a.. : for 0 the mean
        // distance to {10, 11} is 10.5, for 1 it is 9.5 (and symmetrically).
        let points = [0.0, 1.0, 10.0, 11.0];
        let s = silhouette_score(&points, 1, &[7, 7, 3, 3]).unwrap();
        let want = ((10.5 - 1.0) / 10.5 + (9.5 - 1.0) / 9.5) / 2.0;
        assert!((s - want).abs() < 1e-15, "{s} vs {want}");
    }

    #[test]
    fn singletons_and_duplicates_score_zero() {
        // Cluster {0} is a singleton (s = 0); the duplicates at 5 have a = 0 and score 1.
        let points = [0.0, 5.0, 5.0];
        let s = silhouette_score(&points, 1, &[0, 1, 1]).unwrap();
        assert!((s - 2.0 / 3.0).abs() < 1e-15);
    }

    #[test]
    fn invalid_label_counts_are_errors() {
        let points = [0.0, 1.0, 2.0];
        assert!(silhouette_score(&points, 1, &[0, 0, 0]).is_err());
        assert!(silhouette_score(&points, 1, &[0, 1, 2]).is_err());
        assert!(silhouette_score(&points, 1, &[0, 1]).is_err());
        assert!(matches!(
            silhouette_score(&[0.0, f64::NAN], 1, &[0, 1]),
            Err(ModelError::InvalidFeature {
                row: 1,
                column: 0,
                ..
            })
        ));
    }

    #[test]
    fn thread_count_does_not_change_the_score() {
        let mut rng = crate::rng::SplitMix64::new(11);
        let points: Vec<f64> = (0..3 * 500).map(|_| rng.normal()).collect();
        let labels: Vec<usize> = (0..500).map(|i| i % 4).collect();
        let labeling = || vec![Labeling::from_labels(&labels)];
        let one = silhouettes(&points, 3, &labeling(), 1);
        let three = silhouettes(&points, 3, &labeling(), 3);
        assert_eq!(one[0].to_bits(), three[0].to_bits());
    }
}
