//! Parameter recovery on data simulated from each model with known parameters.
//!
//! Customers are simulated in continuous time and their recency rounded to whole days (as real
//! transaction logs are), so identical summaries compress into weighted rows. Each estimate
//! must lie within 4 standard errors (from the fit's own Hessian) or 3 % of the truth.

use std::collections::HashMap;

use salesflow_models::clv::{
    FitOptions, FitResult, PeriodRow, RfmRow, SbgCustomer, SpendRow, bg_bb, bg_nbd, gamma_gamma,
    mbg_nbd, pareto_nbd, sbg,
};

use crate::sim::Rng;

fn assert_recovers(fit: &FitResult, truth: &[(&str, f64)], rel_floor: f64) {
    eprintln!(
        "{} n={} converged={} iters={} params={:?} se={:?}",
        fit.model, fit.n, fit.converged, fit.iterations, fit.params, fit.std_errors
    );
    assert!(fit.converged, "{} did not converge", fit.model);
    for &(name, want) in truth {
        let got = fit.param(name).unwrap();
        let se = fit.std_error(name).unwrap_or(0.0);
        let tol = (4.0 * se).max(rel_floor * want);
        assert!(
            (got - want).abs() <= tol,
            "{}: {name} = {got}, truth {want}, se {se}, tolerance {tol}",
            fit.model
        );
    }
}

/// Simulate BG/NBD (or MBG/NBD with `modified`) customers; time unit = `unit_days` days, ages
/// in days, recency rounded to whole days. Returns compressed rows in the time unit.
#[allow(clippy::too_many_arguments)]
fn simulate_beta_geo(
    rng: &mut Rng,
    n: usize,
    (r, alpha, a, b): (f64, f64, f64, f64),
    ages_days: &[u32],
    unit_days: f64,
    modified: bool,
) -> Vec<RfmRow> {
    let mut counts: HashMap<(u32, u32, u32), f64> = HashMap::new();
    for i in 0..n {
        let age = ages_days[i % ages_days.len()];
        let t_end = f64::from(age) / unit_days;
        let lambda = rng.gamma(r, alpha);
        let p = rng.beta(a, b);
        let (mut t, mut x, mut tx) = (0.0, 0u32, 0.0);
        let dead_at_start = modified && rng.uniform() < p;
        if !dead_at_start {
            loop {
                t += rng.exponential(lambda);
                if t > t_end || t.is_nan() {
                    break;
                }
                x += 1;
                tx = t;
                if rng.uniform() < p {
                    break;
                }
            }
        }
        let tx_days = ((tx * unit_days).round() as u32).min(age);
        *counts.entry((x, tx_days, age)).or_default() += 1.0;
    }
    to_rows(counts, unit_days)
}

fn to_rows(counts: HashMap<(u32, u32, u32), f64>, unit_days: f64) -> Vec<RfmRow> {
    let mut rows: Vec<RfmRow> = counts
        .into_iter()
        .map(|((x, tx, age), w)| RfmRow {
            frequency: f64::from(x),
            recency: f64::from(tx) / unit_days,
            t: f64::from(age) / unit_days,
            weight: w,
        })
        .collect();
    rows.sort_by(|p, q| {
        (p.frequency, p.recency, p.t)
            .partial_cmp(&(q.frequency, q.recency, q.t))
            .unwrap()
    });
    rows
}

const LIFETIMES_ISSUE: (f64, f64, f64, f64) = (0.10, 50.16, 0.40, 0.81);
const AGES: [u32; 4] = [120, 240, 365, 480];

fn bg_nbd_recovery(n: usize) {
    let mut rng = Rng::new(20_250_101);
    let t0 = std::time::Instant::now();
    let rows = simulate_beta_geo(&mut rng, n, LIFETIMES_ISSUE, &AGES, 1.0, false);
    let sim = t0.elapsed();
    let fit = bg_nbd::fit(&rows, &FitOptions::default()).unwrap();
    eprintln!(
        "{n} customers -> {} rows; simulate {sim:?}, fit {:?}",
        rows.len(),
        t0.elapsed() - sim
    );
    let (r, alpha, a, b) = LIFETIMES_ISSUE;
    assert_recovers(
        &fit,
        &[("r", r), ("alpha", alpha), ("a", a), ("b", b)],
        0.03,
    );
}

/// The data set size and parameters of the lifetimes report where its BG/NBD fit failed.
#[test]
fn bg_nbd_recovers_lifetimes_issue_params_on_2_5_million_customers() {
    bg_nbd_recovery(2_500_000);
}

#[test]
fn bg_nbd_recovers_params_on_200k_customers() {
    bg_nbd_recovery(200_000);
}

#[test]
fn mbg_nbd_recovers_params() {
    let mut rng = Rng::new(11);
    let truth = (0.525, 6.183, 0.891, 1.614);
    let rows = simulate_beta_geo(&mut rng, 30_000, truth, &[182, 273, 365], 7.0, true);
    let fit = mbg_nbd::fit(&rows, &FitOptions::default()).unwrap();
    assert_recovers(
        &fit,
        &[
            ("r", truth.0),
            ("alpha", truth.1),
            ("a", truth.2),
            ("b", truth.3),
        ],
        0.03,
    );
}

#[test]
fn pareto_nbd_recovers_params() {
    let mut rng = Rng::new(12);
    let (r, alpha, s, beta) = (0.553, 10.578, 0.606, 11.669);
    let ages = [182u32, 273, 365];
    let mut counts: HashMap<(u32, u32, u32), f64> = HashMap::new();
    for i in 0..10_000 {
        let age = ages[i % ages.len()];
        let t_end = f64::from(age) / 7.0;
        let lambda = rng.gamma(r, alpha);
        let mu = rng.gamma(s, beta);
        let death = rng.exponential(mu).min(t_end);
        let (mut t, mut x, mut tx) = (0.0, 0u32, 0.0);
        loop {
            t += rng.exponential(lambda);
            if t > death || t.is_nan() {
                break;
            }
            x += 1;
            tx = t;
        }
        let tx_days = ((tx * 7.0).round() as u32).min(age);
        *counts.entry((x, tx_days, age)).or_default() += 1.0;
    }
    let rows = to_rows(counts, 7.0);
    let t0 = std::time::Instant::now();
    let fit = pareto_nbd::fit(&rows, &FitOptions::default()).unwrap();
    eprintln!("pareto: {} rows, fit {:?}", rows.len(), t0.elapsed());
    assert_recovers(
        &fit,
        &[("r", r), ("alpha", alpha), ("s", s), ("beta", beta)],
        0.03,
    );
}

#[test]
fn bg_bb_recovers_params() {
    let mut rng = Rng::new(13);
    let (al, be, ga, de) = (1.204, 0.750, 0.657, 2.783);
    let n_periods = 6u32;
    let mut counts: HashMap<(u32, u32), f64> = HashMap::new();
    for _ in 0..20_000 {
        let p = rng.beta(al, be);
        let theta = rng.beta(ga, de);
        let (mut x, mut tx) = (0u32, 0u32);
        for j in 1..=n_periods {
            if rng.uniform() < theta {
                break;
            }
            if rng.uniform() < p {
                x += 1;
                tx = j;
            }
        }
        *counts.entry((x, tx)).or_default() += 1.0;
    }
    let rows: Vec<PeriodRow> = counts
        .into_iter()
        .map(|((x, tx), w)| PeriodRow {
            frequency: x,
            recency: tx,
            periods: n_periods,
            weight: w,
        })
        .collect();
    let fit = bg_bb::fit(&rows, &FitOptions::default()).unwrap();
    assert_recovers(
        &fit,
        &[("alpha", al), ("beta", be), ("gamma", ga), ("delta", de)],
        0.03,
    );
}

#[test]
fn gamma_gamma_recovers_params() {
    let mut rng = Rng::new(14);
    let (p, q, g) = (6.25, 3.74, 15.44);
    let rows: Vec<SpendRow> = (0..5_000)
        .map(|i| {
            let x = 1 + (i % 8) as u32;
            let nu = rng.gamma(q, g);
            // The mean of x Gamma(p, ν) values is Gamma(p x, ν)/x.
            let m = rng.gamma(p * f64::from(x), nu) / f64::from(x);
            SpendRow {
                frequency: f64::from(x),
                monetary_value: m,
                weight: 1.0,
            }
        })
        .collect();
    let fit = gamma_gamma::fit(&rows, &FitOptions::default()).unwrap();
    assert_recovers(&fit, &[("p", p), ("q", q), ("gamma", g)], 0.03);
    // Simulated spend is independent of frequency by construction.
    assert!(fit.warnings.is_empty(), "{:?}", fit.warnings);
}

#[test]
fn sbg_recovers_params_from_individuals_and_cohort() {
    let mut rng = Rng::new(15);
    let (alpha, beta) = (0.704, 1.182);
    let mut customers = Vec::new();
    let mut survivors = vec![0.0; 9];
    for i in 0..20_000u32 {
        let theta = rng.beta(alpha, beta);
        let window = 1 + i % 12;
        let mut life = 1u32;
        while rng.uniform() >= theta && life <= 12 {
            life += 1;
        }
        // `life` = the period at the end of which the customer churns.
        for (t, s) in survivors.iter_mut().enumerate() {
            if life > t as u32 {
                *s += 1.0;
            }
        }
        customers.push(if life <= window {
            SbgCustomer {
                periods: life,
                churned: true,
                weight: 1.0,
            }
        } else {
            SbgCustomer {
                periods: window,
                churned: false,
                weight: 1.0,
            }
        });
    }
    let fit = sbg::fit_customers(&customers, &FitOptions::default()).unwrap();
    assert_recovers(&fit, &[("alpha", alpha), ("beta", beta)], 0.03);
    let fit = sbg::fit_cohort(&survivors, &FitOptions::default()).unwrap();
    assert_recovers(&fit, &[("alpha", alpha), ("beta", beta)], 0.03);
}
