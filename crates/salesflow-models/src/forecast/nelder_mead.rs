//! Nelder–Mead simplex minimisation, for objectives that are cheap, not smooth everywhere and
//! infinite outside their region (the ETS likelihood: R and statsforecast fit it the same way).
//! Written here because the crates that have it (argmin) bring a framework of traits and
//! dependencies for one forty-line loop.

/// When to stop.
#[derive(Debug, Clone, Copy)]
pub(crate) struct NelderMeadOptions {
    /// At most this many objective evaluations (R's `maxit` counts these too).
    pub max_evaluations: usize,
    /// Stop when the simplex's worst and best values differ by at most this, relative.
    pub relative_tolerance: f64,
}

/// The best point, its value, the evaluations used, and whether the tolerance was met.
pub(crate) struct Minimum {
    pub point: Vec<f64>,
    pub value: f64,
    pub evaluations: usize,
    pub converged: bool,
}

/// Minimises `objective` from `start`, with the first simplex spanned by `start + steps[i] eᵢ`.
/// Non-finite values count as +∞, so a region can be fenced off by returning infinity.
pub(crate) fn minimize(
    mut objective: impl FnMut(&[f64]) -> f64,
    start: &[f64],
    steps: &[f64],
    options: NelderMeadOptions,
) -> Minimum {
    let n = start.len();
    let mut evaluations = 0usize;
    let mut evaluate = |x: &[f64], evaluations: &mut usize| {
        *evaluations += 1;
        let v = objective(x);
        if v.is_nan() { f64::INFINITY } else { v }
    };
    // Vertices stored row after row: vertex i at points[i*n..(i+1)*n].
    let mut points = Vec::with_capacity((n + 1) * n);
    let mut values = Vec::with_capacity(n + 1);
    points.extend_from_slice(start);
    values.push(evaluate(start, &mut evaluations));
    for i in 0..n {
        let mut vertex = start.to_vec();
        vertex[i] += steps[i];
        values.push(evaluate(&vertex, &mut evaluations));
        points.extend_from_slice(&vertex);
    }
    let mut centroid = vec![0.0; n];
    let mut trial = vec![0.0; n];
    let mut second = vec![0.0; n];
    let mut worst_point = vec![0.0; n];
    // Column sums of the vertices, kept up to date as vertices are replaced, so the centroid
    // costs O(n) a step instead of O(n²) (perf put the simplex bookkeeping, this sum included, at a fifth of the ETS fit).
    let mut total = vec![0.0; n];
    let sum_columns = |points: &[f64], total: &mut [f64]| {
        total.iter_mut().for_each(|t| *t = 0.0);
        for vertex in points.chunks_exact(n) {
            for (t, p) in total.iter_mut().zip(vertex) {
                *t += p;
            }
        }
    };
    sum_columns(&points, &mut total);
    let mut steps_since_sum = 0usize;
    let mut converged = false;
    let mut best;
    loop {
        // Best, worst and second worst in one pass (a full sort each step cost a twentieth
        // of the ETS fitting time).
        let (mut b, mut w, mut sw) = (0, 0, 0);
        for i in 1..=n {
            if values[i] < values[b] {
                b = i;
            }
            if values[i] >= values[w] {
                w = i;
            }
        }
        if w == 0 {
            sw = 1;
        }
        for i in 0..=n {
            if i != w && values[i] >= values[sw] {
                sw = i;
            }
        }
        best = b;
        let (worst, second_worst) = (w, sw);
        let spread = values[worst] - values[best];
        if values[best].is_finite()
            && spread
                <= options.relative_tolerance * (values[best].abs() + options.relative_tolerance)
        {
            converged = true;
            break;
        }
        if evaluations >= options.max_evaluations {
            break;
        }
        // Re-add the sums now and then so rounding does not drift.
        steps_since_sum += 1;
        if steps_since_sum == 64 {
            sum_columns(&points, &mut total);
            steps_since_sum = 0;
        }
        worst_point.copy_from_slice(&points[worst * n..(worst + 1) * n]);
        for j in 0..n {
            centroid[j] = (total[j] - worst_point[j]) / n as f64;
        }
        // Replaces the worst vertex, keeping the sums.
        let mut replace_worst =
            |new: &[f64], value: f64, points: &mut [f64], values: &mut [f64]| {
                for j in 0..n {
                    total[j] += new[j] - worst_point[j];
                }
                points[worst * n..(worst + 1) * n].copy_from_slice(new);
                values[worst] = value;
            };
        // Reflection.
        for j in 0..n {
            trial[j] = 2.0 * centroid[j] - worst_point[j];
        }
        let reflected = evaluate(&trial, &mut evaluations);
        if reflected < values[best] {
            // Expansion.
            for j in 0..n {
                second[j] = 3.0 * centroid[j] - 2.0 * worst_point[j];
            }
            let expanded = evaluate(&second, &mut evaluations);
            if expanded < reflected {
                replace_worst(&second, expanded, &mut points, &mut values);
            } else {
                replace_worst(&trial, reflected, &mut points, &mut values);
            }
            continue;
        }
        if reflected < values[second_worst] {
            replace_worst(&trial, reflected, &mut points, &mut values);
            continue;
        }
        // Contraction, outside when the reflection improved on the worst, else inside.
        let outside = reflected < values[worst];
        for j in 0..n {
            second[j] = if outside {
                centroid[j] + 0.5 * (trial[j] - centroid[j])
            } else {
                centroid[j] + 0.5 * (worst_point[j] - centroid[j])
            };
        }
        let contracted = evaluate(&second, &mut evaluations);
        if contracted < values[worst].min(reflected) {
            replace_worst(&second, contracted, &mut points, &mut values);
            continue;
        }
        // Shrink towards the best vertex.
        second.copy_from_slice(&points[best * n..(best + 1) * n]);
        for v in (0..=n).filter(|&v| v != best) {
            for j in 0..n {
                trial[j] = second[j] + 0.5 * (points[v * n + j] - second[j]);
            }
            values[v] = evaluate(&trial, &mut evaluations);
            points[v * n..(v + 1) * n].copy_from_slice(&trial);
        }
        sum_columns(&points, &mut total);
    }
    Minimum {
        point: points[best * n..(best + 1) * n].to_vec(),
        value: values[best],
        evaluations,
        converged,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_rosenbrock_minimum_and_respects_a_fence() {
        let rosenbrock = |x: &[f64]| 100.0 * (x[1] - x[0] * x[0]).powi(2) + (1.0 - x[0]).powi(2);
        let options = NelderMeadOptions {
            max_evaluations: 5000,
            relative_tolerance: 1e-14,
        };
        let found = minimize(rosenbrock, &[-1.2, 1.0], &[0.1, 0.1], options);
        assert!(found.converged);
        assert!((found.point[0] - 1.0).abs() < 1e-4 && (found.point[1] - 1.0).abs() < 1e-4);
        // Minimum of (x − 2)² fenced to x ≤ 1: the fence.
        let fenced = |x: &[f64]| {
            if x[0] > 1.0 {
                f64::INFINITY
            } else {
                (x[0] - 2.0).powi(2)
            }
        };
        let found = minimize(fenced, &[0.0], &[0.3], options);
        assert!((found.point[0] - 1.0).abs() < 1e-5, "{:?}", found.point);
        // A NaN objective never wins.
        let found = minimize(
            |x: &[f64]| if x[0] > 0.5 { f64::NAN } else { -x[0] },
            &[0.0],
            &[0.1],
            options,
        );
        assert!(found.point[0] <= 0.5 && found.value.is_finite());
    }
}
