//! Householder QR least squares on a small number of columns, with column equilibration.
//!
//! Written here rather than taken from faer or nalgebra: the models need one decomposition of
//! a tall matrix with a handful of columns (plus the inverse of its triangular factor and the
//! singular values of that factor for the condition number), about 150 lines, where either
//! crate would add minutes to every clean build on two cores.
//!
//! Columns are scaled to unit 2-norm before the factorisation, so the triangular factor's
//! inverse (which gives the coefficient covariance) does not lose digits to columns of very
//! different magnitudes, such as Longley's GNP (~10^5) beside its constant.

use crate::parallel::{map_chunks_mut, resolve_threads};

/// Matrix cells from which the column updates run on every core.
const PARALLEL_CELLS: usize = 1 << 20;

/// The QR factorisation of an `n × p` matrix (`n >= p`) with equilibrated columns.
#[derive(Debug, Clone)]
pub(crate) struct Qr {
    rows: usize,
    cols: usize,
    /// Householder vectors below the diagonal, column-major, `rows × cols`.
    reflectors: Vec<f64>,
    /// The upper-triangular factor of the scaled matrix, row-major `cols × cols`.
    r: Vec<f64>,
    /// Each original column's scale: scaled column = original / scale.
    scales: Vec<f64>,
}

/// Why a factorisation failed: the column (index) that is a linear combination of earlier ones.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Collinear(pub(crate) usize);

impl Qr {
    /// Factorises the column-major `rows × cols` matrix `columns` (taken, and overwritten by
    /// the reflectors: on a million rows a copy would cost as much as a column update).
    ///
    /// Fails with the first column whose part orthogonal to the earlier columns is at most
    /// `1e-10` of its own norm (rank deficiency: a constant feature beside the intercept, a
    /// dummy for every level, a column that duplicates others).
    pub(crate) fn new(columns: Vec<f64>, rows: usize, cols: usize) -> Result<Qr, Collinear> {
        assert_eq!(columns.len(), rows * cols, "matrix shape");
        let mut a = columns;
        let mut scales = Vec::with_capacity(cols);
        for j in 0..cols {
            let column = &mut a[j * rows..(j + 1) * rows];
            let norm = column.iter().map(|v| v * v).sum::<f64>().sqrt();
            if norm == 0.0 || rows < cols {
                return Err(Collinear(j));
            }
            column.iter_mut().for_each(|v| *v /= norm);
            scales.push(norm);
        }
        let mut r = vec![0.0; cols * cols];
        for k in 0..cols {
            let (done, rest) = a.split_at_mut((k + 1) * rows);
            let column = &mut done[k * rows..];
            let below = &mut column[k..];
            let norm = below.iter().map(|v| v * v).sum::<f64>().sqrt();
            // All columns have unit norm, so this is relative to the column's size.
            if norm <= 1e-10 {
                return Err(Collinear(k));
            }
            let alpha = if below[0] > 0.0 { -norm } else { norm };
            below[0] -= alpha;
            let v_norm = below.iter().map(|v| v * v).sum::<f64>().sqrt();
            below.iter_mut().for_each(|v| *v /= v_norm);
            r[k * cols + k] = alpha;
            // Each later column takes the reflection independently: on a tall matrix they
            // are split over the cores (the sums per column do not depend on the split).
            let below = &*below;
            let threads = if rows * (cols - k) >= PARALLEL_CELLS {
                resolve_threads(0)
            } else {
                1
            };
            let tops = map_chunks_mut(rest, rows, threads, |_, other| {
                let other = &mut other[k..];
                let dot: f64 = below.iter().zip(other.iter()).map(|(v, x)| v * x).sum();
                other
                    .iter_mut()
                    .zip(below.iter())
                    .for_each(|(x, v)| *x -= 2.0 * dot * v);
                other[0]
            });
            for (offset, top) in tops.into_iter().enumerate() {
                r[k * cols + k + 1 + offset] = top;
            }
        }
        Ok(Qr {
            rows,
            cols,
            reflectors: a,
            r,
            scales,
        })
    }

    /// The least-squares solution of `A b = y` in the original column units.
    pub(crate) fn solve(&self, y: &[f64]) -> Vec<f64> {
        let mut qty = y.to_vec();
        for k in 0..self.cols {
            let v = &self.reflectors[k * self.rows + k..(k + 1) * self.rows];
            let target = &mut qty[k..];
            let dot: f64 = v.iter().zip(target.iter()).map(|(v, x)| v * x).sum();
            target
                .iter_mut()
                .zip(v)
                .for_each(|(x, v)| *x -= 2.0 * dot * v);
        }
        let p = self.cols;
        let mut b = vec![0.0; p];
        for i in (0..p).rev() {
            let tail: f64 = (i + 1..p).map(|j| self.r[i * p + j] * b[j]).sum();
            b[i] = (qty[i] - tail) / self.r[i * p + i];
        }
        b.iter().zip(&self.scales).map(|(c, s)| c / s).collect()
    }

    /// `(AᵀA)⁻¹` in the original units (row-major `cols × cols`): `S⁻¹ R⁻¹ R⁻ᵀ S⁻¹`.
    pub(crate) fn gram_inverse(&self) -> Vec<f64> {
        let p = self.cols;
        // R⁻¹ by back substitution, column by column (upper triangular).
        let mut r_inv = vec![0.0; p * p];
        for j in 0..p {
            for i in (0..=j).rev() {
                let identity = if i == j { 1.0 } else { 0.0 };
                let tail: f64 = (i + 1..=j)
                    .map(|k| self.r[i * p + k] * r_inv[k * p + j])
                    .sum();
                r_inv[i * p + j] = (identity - tail) / self.r[i * p + i];
            }
        }
        let mut out = vec![0.0; p * p];
        for i in 0..p {
            for j in 0..p {
                let dot: f64 = (i.max(j)..p)
                    .map(|k| r_inv[i * p + k] * r_inv[j * p + k])
                    .sum();
                out[i * p + j] = dot / (self.scales[i] * self.scales[j]);
            }
        }
        out
    }

    /// The 2-norm condition number of the original matrix: the ratio of the largest to the
    /// smallest singular value of `R S` (one-sided Jacobi on its columns).
    pub(crate) fn condition_number(&self) -> f64 {
        let p = self.cols;
        // Columns of R·S (R is of the scaled matrix; undo the scaling).
        let mut columns: Vec<Vec<f64>> = (0..p)
            .map(|j| (0..p).map(|i| self.r[i * p + j] * self.scales[j]).collect())
            .collect();
        for _sweep in 0..60 {
            let mut rotated = false;
            for i in 0..p {
                for j in i + 1..p {
                    let alpha: f64 = columns[i].iter().map(|v| v * v).sum();
                    let beta: f64 = columns[j].iter().map(|v| v * v).sum();
                    let gamma: f64 = columns[i].iter().zip(&columns[j]).map(|(a, b)| a * b).sum();
                    if gamma.abs() <= 1e-15 * (alpha * beta).sqrt() {
                        continue;
                    }
                    rotated = true;
                    let zeta = (beta - alpha) / (2.0 * gamma);
                    let t = zeta.signum() / (zeta.abs() + (1.0 + zeta * zeta).sqrt());
                    let c = 1.0 / (1.0 + t * t).sqrt();
                    let s = c * t;
                    let (head, tail) = columns.split_at_mut(j);
                    for (a, b) in head[i].iter_mut().zip(tail[0].iter_mut()) {
                        (*a, *b) = (c * *a - s * *b, s * *a + c * *b);
                    }
                }
            }
            if !rotated {
                break;
            }
        }
        let norms: Vec<f64> = columns
            .iter()
            .map(|c| c.iter().map(|v| v * v).sum::<f64>().sqrt())
            .collect();
        let max = norms.iter().copied().fold(0.0, f64::max);
        let min = norms.iter().copied().fold(f64::INFINITY, f64::min);
        max / min
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn solves_an_exact_system_and_inverts_the_gram_matrix() {
        // y = 1 + 2x on x = 0, 1, 2, 3.
        let columns = [1.0, 1.0, 1.0, 1.0, 0.0, 1.0, 2.0, 3.0];
        let qr = Qr::new(columns.to_vec(), 4, 2).unwrap();
        let b = qr.solve(&[1.0, 3.0, 5.0, 7.0]);
        assert!((b[0] - 1.0).abs() < 1e-14 && (b[1] - 2.0).abs() < 1e-14);
        // AᵀA = [[4, 6], [6, 14]], inverse = [[0.7, -0.3], [-0.3, 0.2]].
        let inv = qr.gram_inverse();
        for (got, want) in inv.iter().zip([0.7, -0.3, -0.3, 0.2]) {
            assert!((got - want).abs() < 1e-14, "{inv:?}");
        }
        // Singular values of A: sqrt of the eigenvalues of AᵀA, 9 ± sqrt(61).
        let want = ((9.0 + 61f64.sqrt()) / (9.0 - 61f64.sqrt())).sqrt();
        assert!((qr.condition_number() - want).abs() < 1e-10 * want);
    }

    #[test]
    fn a_column_that_repeats_another_is_reported() {
        let columns = [1.0, 1.0, 1.0, 2.0, 2.0, 2.0];
        assert_eq!(Qr::new(columns.to_vec(), 3, 2).unwrap_err(), Collinear(1));
        assert_eq!(Qr::new(vec![0.0, 0.0], 2, 1).unwrap_err(), Collinear(0));
    }
}
