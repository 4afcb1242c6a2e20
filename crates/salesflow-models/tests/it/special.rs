//! Special functions against mpmath (30 digits) and scipy.

use salesflow_models::clv::special::hyp2f1;

use crate::common::fixture;

#[test]
fn hyp2f1_matches_mpmath_on_the_grid() {
    let text = std::fs::read_to_string(fixture("hyp2f1_grid.csv")).unwrap();
    let mut worst = (0.0f64, String::new());
    let mut worst_scipy = (0.0f64, String::new());
    let mut n = 0;
    for line in text.lines().skip(1) {
        let v: Vec<f64> = line.split(',').map(|s| s.parse().unwrap()).collect();
        let (a, b, c, z, exact, scipy) = (v[0], v[1], v[2], v[3], v[4], v[5]);
        let got = hyp2f1(a, b, c, z).unwrap_or_else(|e| panic!("{line}: {e}"));
        let rel = ((got - exact) / exact).abs();
        if rel > worst.0 {
            worst = (rel, line.to_string());
        }
        let rs = ((scipy - exact) / exact).abs();
        if rs > worst_scipy.0 || rs.is_nan() {
            worst_scipy = (rs, line.to_string());
        }
        n += 1;
    }
    eprintln!(
        "hyp2f1: {n} points, max relative error {:.3e} at {}",
        worst.0, worst.1
    );
    eprintln!(
        "scipy 1.10 on the same grid: {:.3e} at {}",
        worst_scipy.0, worst_scipy.1
    );
    assert!(
        worst.0 < 1e-10,
        "max relative error {:.3e} at {}",
        worst.0,
        worst.1
    );
}
