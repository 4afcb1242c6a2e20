//! Predictions against lifetimes 0.11.3 (and scipy/mpmath) at fixed published parameters.
//! The reference CSVs come from `tests/fixtures/make_lifetimes_fixtures.py`.

use salesflow_models::clv::{
    BgBb, BgNbd, GammaGamma, MbgNbd, ParetoNbd, RepeatPurchaseModel, TimeUnit,
};

use crate::common::read_csv;

/// Largest relative error seen, and where.
struct MaxRel {
    what: &'static str,
    worst: f64,
    at: String,
}

impl MaxRel {
    fn new(what: &'static str) -> Self {
        MaxRel {
            what,
            worst: 0.0,
            at: String::new(),
        }
    }
    fn check(&mut self, got: f64, want: f64, at: impl FnOnce() -> String) {
        assert!(
            got.is_finite(),
            "{}: non-finite {got} at {}",
            self.what,
            at()
        );
        let rel = if want == 0.0 {
            got.abs()
        } else {
            ((got - want) / want).abs()
        };
        if rel > self.worst {
            self.worst = rel;
            self.at = at();
        }
    }
    fn assert_below(&self, tol: f64) {
        eprintln!(
            "{}: max relative error {:.3e} at {}",
            self.what, self.worst, self.at
        );
        assert!(
            self.worst <= tol,
            "{}: max relative error {:.3e} > {tol:e} at {}",
            self.what,
            self.worst,
            self.at
        );
    }
}

fn check_model(file: &str, model: &dyn RepeatPurchaseModel, what: &'static str) {
    let t = read_csv(file);
    let (f, r, tt) = (t.col("frequency"), t.col("recency"), t.col("T"));
    let (e10, e52, pa) = (t.col("expected_10"), t.col("expected_52"), t.col("p_alive"));
    let mut m = MaxRel::new(what);
    for row in &t.rows {
        let (x, tx, age) = (row[f], row[r], row[tt]);
        let at = || format!("x={x} t_x={tx} T={age}");
        m.check(
            model.expected_purchases(10.0, x, tx, age).unwrap(),
            row[e10],
            at,
        );
        m.check(
            model.expected_purchases(52.0, x, tx, age).unwrap(),
            row[e52],
            at,
        );
        m.check(model.probability_alive(x, tx, age).unwrap(), row[pa], at);
    }
    m.assert_below(1e-6);
}

#[test]
fn bg_nbd_predictions_match_lifetimes() {
    let m = BgNbd::new(0.243, 4.414, 0.793, 2.426).unwrap();
    check_model("lifetimes_bg_nbd.csv", &m, "BG/NBD conditional");
}

#[test]
fn mbg_nbd_predictions_match_lifetimes() {
    let m = MbgNbd::new(0.525, 6.183, 0.891, 1.614).unwrap();
    check_model("lifetimes_mbg_nbd.csv", &m, "MBG/NBD conditional");
}

#[test]
fn pareto_nbd_predictions_match_lifetimes() {
    let m = ParetoNbd::new(0.553, 10.578, 0.606, 11.669).unwrap();
    check_model("lifetimes_pareto_nbd.csv", &m, "Pareto/NBD conditional");
}

#[test]
fn pareto_nbd_dert_matches_scipy_hyperu() {
    let m = ParetoNbd::new(0.553, 10.578, 0.606, 11.669).unwrap();
    let rate = 1.15f64.ln() / 52.0;
    let t = read_csv("lifetimes_pareto_nbd.csv");
    let (f, r, tt, d) = (
        t.col("frequency"),
        t.col("recency"),
        t.col("T"),
        t.col("dert_15pct"),
    );
    let mut mr = MaxRel::new("Pareto/NBD DERT");
    for row in &t.rows {
        let got = m
            .discounted_expected_residual_transactions(row[f], row[r], row[tt], rate)
            .unwrap();
        mr.check(got, row[d], || format!("{row:?}"));
    }
    mr.assert_below(1e-6);
}

#[test]
fn unconditional_predictions_match_lifetimes() {
    let bg = BgNbd::new(0.243, 4.414, 0.793, 2.426).unwrap();
    let mbg = MbgNbd::new(0.525, 6.183, 0.891, 1.614).unwrap();
    let pn = ParetoNbd::new(0.553, 10.578, 0.606, 11.669).unwrap();
    let t = read_csv("lifetimes_unconditional.csv");
    let c = |n| t.col(n);
    let mut m = MaxRel::new("unconditional P(X(t)=n), E[X(t)]");
    for row in &t.rows {
        let (time, n) = (row[c("t")], row[c("n")] as u32);
        let at = || format!("t={time} n={n}");
        m.check(
            bg.probability_of_n_purchases(n, time).unwrap(),
            row[c("bg_p_n")],
            at,
        );
        m.check(
            mbg.probability_of_n_purchases(n, time).unwrap(),
            row[c("mbg_p_n")],
            at,
        );
        m.check(
            bg.expected_purchases_new_customer(time).unwrap(),
            row[c("bg_expected")],
            at,
        );
        m.check(
            mbg.expected_purchases_new_customer(time).unwrap(),
            row[c("mbg_expected")],
            at,
        );
        m.check(
            pn.expected_purchases_new_customer(time).unwrap(),
            row[c("pareto_expected")],
            at,
        );
    }
    m.assert_below(1e-6);
    // P(X(t)=n) sums to one over n.
    let total: f64 = (0..2000)
        .map(|n| bg.probability_of_n_purchases(n, 52.0).unwrap())
        .sum();
    assert!((total - 1.0).abs() < 1e-9, "{total}");
}

#[test]
fn gamma_gamma_spend_and_clv_match_lifetimes() {
    let gg = GammaGamma::new(6.25, 3.74, 15.44).unwrap();
    let bg = BgNbd::new(0.243, 4.414, 0.793, 2.426).unwrap();
    let t = read_csv("lifetimes_gamma_gamma.csv");
    let c = |n| t.col(n);
    let mut spend = MaxRel::new("Gamma-Gamma expected spend");
    let mut clv = MaxRel::new("Gamma-Gamma CLV (BG/NBD, 12 months, 1%/month)");
    for row in &t.rows {
        let (x, tx, age, m) = (
            row[c("frequency")],
            row[c("recency")],
            row[c("T")],
            row[c("monetary_value")],
        );
        let at = || format!("x={x} t_x={tx} T={age} m={m}");
        spend.check(
            gg.expected_average_spend(x, m).unwrap(),
            row[c("expected_spend")],
            at,
        );
        let v = gg
            .customer_lifetime_value(&bg, x, tx, age, m, 12, 0.01, TimeUnit::Weeks)
            .unwrap();
        clv.check(v, row[c("clv_12m_1pct_weekly")], at);
    }
    spend.assert_below(1e-6);
    clv.assert_below(1e-6);
}

#[test]
fn bg_bb_predictions_match_lifetimes() {
    let m = BgBb::new(1.204, 0.750, 0.657, 2.783).unwrap();
    let t = read_csv("lifetimes_bg_bb.csv");
    let c = |n| t.col(n);
    let mut mr = MaxRel::new("BG/BB");
    for row in &t.rows {
        let (x, tx, n) = (
            row[c("frequency")] as u32,
            row[c("recency")] as u32,
            row[c("periods")] as u32,
        );
        let at = || format!("x={x} t_x={tx} n={n}");
        for (mm, col) in [(1, "expected_1"), (5, "expected_5"), (10, "expected_10")] {
            mr.check(m.expected_purchases(mm, x, tx, n).unwrap(), row[c(col)], at);
        }
        for (mm, col) in [(0, "p_alive_0"), (3, "p_alive_3")] {
            mr.check(m.probability_alive(mm, x, tx, n).unwrap(), row[c(col)], at);
        }
    }
    // lifetimes adds 1e-15 inside its BG/BB likelihood; that shifts its values by ~1e-13.
    mr.assert_below(1e-6);
}
