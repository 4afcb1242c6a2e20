//! Fits on the published data sets, compared with the published estimates.
//!
//! Tolerance for a parameter published to k decimals: |ours − published| ≤ 0.5·10^−k +
//! 1e-3·|published| (the rounding of the published number plus 1e-3 relative). Log-likelihoods
//! published to 2 decimals must match to 0.01 (+ the rounding 0.005); BG/NBD's, given to 1
//! decimal, to 0.05 + 0.01.

use salesflow_models::clv::{
    FitOptions, FitResult, PeriodRow, SpendRow, bg_bb, bg_nbd, gamma_gamma, mbg_nbd, pareto_nbd,
    sbg,
};

use crate::common::{assert_published, cdnow_rows, read_csv};

fn show(fit: &FitResult, elapsed: std::time::Duration) {
    eprintln!(
        "{}: {:?} LL={:.4} converged={} iters={} |g|={:.2e} se={:?} in {elapsed:?}",
        fit.model,
        fit.params,
        fit.log_likelihood,
        fit.converged,
        fit.iterations,
        fit.gradient_norm,
        fit.std_errors
    );
}

fn timed<T>(f: impl FnOnce() -> T) -> (T, std::time::Duration) {
    let t0 = std::time::Instant::now();
    let v = f();
    (v, t0.elapsed())
}

#[test]
fn bg_nbd_cdnow_matches_fader_hardie_lee_2005() {
    let rows = cdnow_rows();
    let (fit, el) = timed(|| bg_nbd::fit(&rows, &FitOptions::default()).unwrap());
    show(&fit, el);
    assert!(fit.converged);
    for (name, published) in [("r", 0.243), ("alpha", 4.414), ("a", 0.793), ("b", 2.426)] {
        assert_published(name, fit.param(name).unwrap(), published, 3);
    }
    assert!(
        (fit.log_likelihood - -9582.4).abs() <= 0.06,
        "{}",
        fit.log_likelihood
    );
    assert_eq!(fit.n, 2357.0);
    // lifetimes' standard errors for this fit: 0.0126, 0.378, 0.186, 0.705
    for (name, se) in [("r", 0.0126), ("alpha", 0.378), ("a", 0.186), ("b", 0.705)] {
        let got = fit.std_error(name).unwrap();
        assert!(
            (got - se).abs() <= 0.01 * se + 0.0005,
            "{name}: se {got} vs {se}"
        );
    }
    assert!((fit.aic - (8.0 - 2.0 * fit.log_likelihood)).abs() < 1e-9);
}

#[test]
fn pareto_nbd_cdnow_matches_fader_hardie_lee_2005() {
    let rows = cdnow_rows();
    let (fit, el) = timed(|| pareto_nbd::fit(&rows, &FitOptions::default()).unwrap());
    show(&fit, el);
    assert!(fit.converged);
    for (name, published) in [("r", 0.553), ("alpha", 10.578), ("s", 0.606)] {
        assert_published(name, fit.param(name).unwrap(), published, 3);
    }
    // beta is weakly identified (flat likelihood): 2e-3 relative.
    let beta = fit.param("beta").unwrap();
    assert!(
        (beta - 11.669).abs() <= 0.0005 + 2e-3 * 11.669,
        "beta {beta}"
    );
    assert!(
        (fit.log_likelihood - -9595.0).abs() <= 0.06,
        "{}",
        fit.log_likelihood
    );
}

#[test]
fn mbg_nbd_cdnow_matches_lifetimes() {
    let rows = cdnow_rows();
    let (fit, el) = timed(|| mbg_nbd::fit(&rows, &FitOptions::default()).unwrap());
    show(&fit, el);
    assert!(fit.converged);
    for (name, published) in [("r", 0.525), ("alpha", 6.183), ("a", 0.891), ("b", 1.614)] {
        assert_published(name, fit.param(name).unwrap(), published, 3);
    }
}

#[test]
fn gamma_gamma_cdnow_matches_fader_hardie() {
    let t = read_csv("cdnow_customers_summary_with_transactions.csv");
    let (x, z) = (t.col("x"), t.col("zbar"));
    let rows: Vec<SpendRow> = t
        .rows
        .iter()
        .map(|r| SpendRow {
            frequency: r[x],
            monetary_value: r[z],
            weight: 1.0,
        })
        .collect();
    let (fit, el) = timed(|| gamma_gamma::fit(&rows, &FitOptions::default()).unwrap());
    show(&fit, el);
    assert!(fit.converged);
    assert_eq!(fit.n, 946.0);
    for (name, published) in [("p", 6.25), ("q", 3.74), ("gamma", 15.44)] {
        assert_published(name, fit.param(name).unwrap(), published, 2);
    }
    assert!(
        (fit.log_likelihood - -4055.92).abs() <= 0.015,
        "{}",
        fit.log_likelihood
    );
    let corr = fit
        .diagnostics
        .iter()
        .find(|d| d.0 == "frequency_monetary_correlation")
        .unwrap()
        .1;
    // CDNOW: frequency and spend are nearly uncorrelated (lifetimes docs: 0.11).
    assert!(corr.abs() < 0.3, "{corr}");
    assert!(fit.warnings.is_empty());
    assert_eq!(
        fit.diagnostics
            .iter()
            .find(|d| d.0 == "excluded_weight")
            .unwrap()
            .1,
        1411.0
    );
}

#[test]
fn bg_bb_donations_match_fader_hardie_shang_2010() {
    let t = read_csv("donations.csv");
    let (f, r, n, w) = (
        t.col("frequency"),
        t.col("recency"),
        t.col("periods"),
        t.col("weights"),
    );
    let rows: Vec<PeriodRow> = t
        .rows
        .iter()
        .map(|row| PeriodRow {
            frequency: row[f] as u32,
            recency: row[r] as u32,
            periods: row[n] as u32,
            weight: row[w],
        })
        .collect();
    let (fit, el) = timed(|| bg_bb::fit(&rows, &FitOptions::default()).unwrap());
    show(&fit, el);
    assert!(fit.converged);
    assert_eq!(fit.n, 11104.0);
    for (name, published) in [
        ("alpha", 1.204),
        ("beta", 0.750),
        ("gamma", 0.657),
        ("delta", 2.783),
    ] {
        assert_published(name, fit.param(name).unwrap(), published, 3);
    }
    assert!(
        (fit.log_likelihood - -33225.58).abs() <= 0.015,
        "{}",
        fit.log_likelihood
    );
}

#[test]
fn sbg_cohorts_match_fader_hardie_2007() {
    let t = read_csv("sbg_fader_hardie_2007.csv");
    for (col, alpha, beta) in [("high_end", 0.668, 3.806), ("regular", 0.704, 1.182)] {
        let c = t.col(col);
        let survivors: Vec<f64> = t.rows.iter().take(8).map(|r| r[c]).collect();
        let (fit, el) = timed(|| sbg::fit_cohort(&survivors, &FitOptions::default()).unwrap());
        show(&fit, el);
        assert!(fit.converged);
        assert_published("alpha", fit.param("alpha").unwrap(), alpha, 3);
        assert_published("beta", fit.param("beta").unwrap(), beta, 3);
    }
}
