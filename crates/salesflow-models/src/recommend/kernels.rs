//! The dense inner loops of ALS, compiled twice: portable, and with AVX2 + FMA for x86-64
//! processors that have them (chosen at run time, so one binary runs everywhere).
//!
//! Rust never fuses `a * b + c` into one instruction on its own (it would change rounding),
//! so the FMA variant says `mul_add` explicitly; the portable variant must not, since without
//! the FMA instruction `mul_add` is a slow library call.

/// `a·b + c`, fused when `FMA`.
#[inline(always)]
fn madd<const FMA: bool>(a: f32, b: f32, c: f32) -> f32 {
    if FMA { a.mul_add(b, c) } else { a * b + c }
}

/// Dot product over 16 independent partial sums (two AVX registers, so consecutive
/// multiply-adds do not wait on each other).
#[inline(always)]
pub(crate) fn dot<const FMA: bool>(a: &[f32], b: &[f32]) -> f32 {
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    let mut acc = [0f32; 16];
    let split = n - n % 16;
    for (ca, cb) in a[..split].chunks_exact(16).zip(b[..split].chunks_exact(16)) {
        for k in 0..16 {
            acc[k] = madd::<FMA>(ca[k], cb[k], acc[k]);
        }
    }
    // Pairwise, so the reduction is three vector adds rather than sixteen dependent ones.
    for width in [8, 4, 2, 1] {
        for k in 0..width {
            acc[k] += acc[k + width];
        }
    }
    let mut sum = acc[0];
    for (x, y) in a[split..].iter().zip(&b[split..]) {
        sum = madd::<FMA>(*x, *y, sum);
    }
    sum
}

/// `y += a·x`.
#[inline(always)]
pub(crate) fn axpy<const FMA: bool>(y: &mut [f32], a: f32, x: &[f32]) {
    for (yi, &xi) in y.iter_mut().zip(x) {
        *yi = madd::<FMA>(a, xi, *yi);
    }
}

/// `out = M v` for a symmetric row-major `M`, as a sum of rows scaled by `v` (no horizontal
/// sums), a block of columns at a time so the partial sums stay in registers; 32 columns give
/// four independent multiply-add chains, enough to hide the instruction's latency.
#[inline(always)]
pub(crate) fn symv<const FMA: bool>(m: &[f32], v: &[f32], out: &mut [f32]) {
    let f = v.len();
    let mut start = 0;
    while start + 32 <= f {
        symv_block::<32, FMA>(m, v, out, start);
        start += 32;
    }
    while start + 16 <= f {
        symv_block::<16, FMA>(m, v, out, start);
        start += 16;
    }
    if start < f {
        out[start..].iter_mut().for_each(|o| *o = 0.0);
        for (&vj, row) in v.iter().zip(m.chunks_exact(f)) {
            axpy::<FMA>(&mut out[start..], vj, &row[start..]);
        }
    }
}

#[inline(always)]
fn symv_block<const B: usize, const FMA: bool>(
    m: &[f32],
    v: &[f32],
    out: &mut [f32],
    start: usize,
) {
    let f = v.len();
    let mut acc = [0f32; B];
    for (&vj, row) in v.iter().zip(m.chunks_exact(f)) {
        let block = &row[start..start + B];
        for k in 0..B {
            acc[k] = madd::<FMA>(vj, block[k], acc[k]);
        }
    }
    out[start..start + B].copy_from_slice(&acc);
}

/// Whether this processor has AVX2 and FMA.
pub(crate) fn has_fma() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_variants_agree() {
        for n in [0usize, 1, 7, 16, 17, 33, 48, 64, 100] {
            let a: Vec<f32> = (0..n).map(|i| (i as f32 * 0.37).sin()).collect();
            let b: Vec<f32> = (0..n).map(|i| (i as f32 * 0.11).cos()).collect();
            let want: f64 = a
                .iter()
                .zip(&b)
                .map(|(x, y)| f64::from(*x) * f64::from(*y))
                .sum();
            for got in [dot::<false>(&a, &b), dot::<true>(&a, &b)] {
                assert!((f64::from(got) - want).abs() < 1e-4, "{n}: {got} vs {want}");
            }
            // A symmetric matrix times a vector, against the row-by-row definition.
            let m: Vec<f32> = (0..n * n)
                .map(|k| ((k / n + 1) * (k % n + 1)) as f32 * 0.01)
                .collect();
            let mut out = vec![0f32; n];
            symv::<true>(&m, &a, &mut out);
            for (r, o) in out.iter().enumerate() {
                let want: f32 = (0..n).map(|c| m[r * n + c] * a[c]).sum();
                assert!(
                    (o - want).abs() < 1e-3 * want.abs().max(1.0),
                    "{n}: {o} vs {want}"
                );
            }
        }
    }
}
