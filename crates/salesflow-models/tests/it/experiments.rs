//! A/B-test statistics against scipy 1.17 and statsmodels 0.15 (fixtures/experiments, made by
//! its generate.py): every statistic, p-value and interval to 1e-8 relative.

use salesflow_models::experiments::Alternative;
use salesflow_models::experiments::bayes::beta_binomial;
use salesflow_models::experiments::checks::{Correction, correct, sample_ratio};
use salesflow_models::experiments::means::{bootstrap_mean_difference, student_t, welch_t};
use salesflow_models::experiments::power::{effect_size_h, power, sample_size};
use salesflow_models::experiments::proportions::{Conversions, fisher_exact, two_proportions};
use salesflow_models::experiments::sequential::{Msprt, log_likelihood_ratio};
use serde_json::Value;

use crate::common::fixture;

fn json(name: &str) -> Value {
    let text = std::fs::read_to_string(fixture(&format!("experiments/{name}"))).expect("fixture");
    serde_json::from_str(&text).expect("valid JSON")
}

#[track_caller]
fn close(got: f64, want: &Value, what: &str) {
    let want = want
        .as_f64()
        .unwrap_or_else(|| panic!("{what}: {want} is not a number"));
    let tolerance = 1e-8 * want.abs().max(1e-300);
    assert!(
        (got - want).abs() <= tolerance || (got == want),
        "{what}: {got} vs {want} (relative {:.2e})",
        ((got - want) / want).abs()
    );
}

#[track_caller]
fn close_pair(got: (f64, f64), want: &Value, what: &str) {
    close(got.0, &want[0], what);
    close(got.1, &want[1], what);
}

fn arm(v: &Value) -> Conversions {
    Conversions {
        converted: v["conversions"].as_u64().unwrap(),
        n: v["n"].as_u64().unwrap(),
    }
}

fn numbers(v: &Value) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}

#[test]
fn two_proportions_match_statsmodels_and_scipy() {
    for case in json("two_proportion.json")["cases"].as_array().unwrap() {
        let (variant, control) = (arm(&case["variant"]), arm(&case["control"]));
        let name = format!("{variant:?} vs {control:?}");
        let t = two_proportions(variant, control, 0.95).unwrap();
        close(t.z_pooled, &case["z_pooled"], &name);
        close(t.p_pooled, &case["pvalue_pooled_two_sided"], &name);
        close(t.p_pooled_larger, &case["pvalue_pooled_larger"], &name);
        close(t.z_unpooled, &case["z_unpooled"], &name);
        close(t.p_unpooled, &case["pvalue_unpooled_two_sided"], &name);
        close_pair(t.ci_difference, &case["ci95_diff_wald"], &name);
        close_pair(t.ci_difference_newcomb, &case["ci95_diff_newcomb"], &name);
        match &case["ci95_ratio_log"] {
            Value::Array(_) => close_pair(t.ci_ratio.unwrap(), &case["ci95_ratio_log"], &name),
            _ => assert!(
                t.ci_ratio.is_none(),
                "{name}: no ratio interval with zero conversions"
            ),
        }
        close(
            t.chi_square,
            &case["chi2_no_correction"]["statistic"],
            &name,
        );
        close(t.p_chi_square, &case["chi2_no_correction"]["pvalue"], &name);
        let f = fisher_exact(variant, control).unwrap();
        close(f.p_two_sided, &case["fisher_pvalue_two_sided"], &name);
        close(f.p_greater, &case["fisher_pvalue_greater"], &name);
        close(f.p_less, &case["fisher_pvalue_less"], &name);
        if let Some(or) = case["fisher_odds_ratio"].as_f64() {
            close(f.odds_ratio, &Value::from(or), &name);
        }
    }
}

#[test]
fn t_tests_match_scipy() {
    for case in json("welch.json")["cases"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let (v, c) = (numbers(&case["variant"]), numbers(&case["control"]));
        let w = welch_t(&v, &c, 0.95).unwrap();
        let want = &case["welch"];
        close(w.statistic, &want["statistic"], name);
        close(w.p_two_sided, &want["pvalue"], name);
        close(w.df, &want["df_welch_satterthwaite"], name);
        close(w.p_larger, &want["pvalue_greater"], name);
        close_pair(w.ci, &want["ci95"], name);
        let s = student_t(&v, &c, 0.95).unwrap();
        let want = &case["student"];
        close(s.statistic, &want["statistic"], name);
        close(s.p_two_sided, &want["pvalue"], name);
        close_pair(s.ci, &want["ci95"], name);
        // The bootstrap interval brackets the difference and roughly matches Welch's.
        let (lo, hi) = bootstrap_mean_difference(&v, &c, 4000, 0.95, 1).unwrap();
        assert!(lo < w.difference && w.difference < hi, "{name}: {lo} {hi}");
        let width = w.ci.1 - w.ci.0;
        assert!(
            ((hi - lo) / width - 1.0).abs() < 0.25,
            "{name}: bootstrap {lo}..{hi} vs {:?}",
            w.ci
        );
    }
}

#[test]
fn sample_size_and_power_match_normal_ind_power() {
    let reference = json("power.json");
    for case in reference["sample_size"].as_array().unwrap() {
        let alternative = match case["alternative"].as_str().unwrap() {
            "two-sided" => Alternative::TwoSided,
            _ => Alternative::Larger,
        };
        let n = sample_size(
            case["p1"].as_f64().unwrap(),
            case["p2"].as_f64().unwrap(),
            case["alpha"].as_f64().unwrap(),
            case["power"].as_f64().unwrap(),
            case["ratio"].as_f64().unwrap(),
            alternative,
        )
        .unwrap();
        close(n, &case["nobs1_exact_root"], &format!("{case}"));
        // statsmodels' own solver stops at 1e-5; its rounded-up plan is the same.
        assert_eq!(
            n.ceil() as u64,
            case["ceil_nobs1_statsmodels"].as_u64().unwrap()
        );
    }
    for case in reference["power_given_n"].as_array().unwrap() {
        let alternative = match case["alternative"].as_str().unwrap() {
            "two-sided" => Alternative::TwoSided,
            _ => Alternative::Larger,
        };
        let h = effect_size_h(case["p1"].as_f64().unwrap(), case["p2"].as_f64().unwrap());
        close(h, &case["effect_size_h"], "h");
        let got = power(
            h,
            case["nobs1"].as_f64().unwrap(),
            case["alpha"].as_f64().unwrap(),
            case["ratio"].as_f64().unwrap(),
            alternative,
        );
        close(got, &case["power_statsmodels"], &format!("{case}"));
    }
}

#[test]
fn multiple_comparisons_and_sample_ratio_match_statsmodels_and_scipy() {
    let reference = json("multiple.json");
    let p = numbers(&reference["pvals"]);
    for (method, name) in [
        (Correction::Bonferroni, "bonferroni"),
        (Correction::Holm, "holm"),
        (Correction::BenjaminiHochberg, "fdr_bh"),
    ] {
        let want = &reference["methods"][name];
        let got = correct(&p, method);
        for (i, g) in got.iter().enumerate() {
            close(*g, &want["pvals_corrected"][i], name);
            // Reject flags with the same <= rule (the inputs sit on the thresholds).
            assert_eq!(
                *g <= 0.05 + 1e-12,
                want["reject"][i].as_bool().unwrap(),
                "{name} {i}"
            );
        }
    }
    for case in json("srm.json")["cases"].as_array().unwrap() {
        let observed: Vec<u64> = case["observed"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_u64().unwrap())
            .collect();
        let shares = numbers(&case["expected_shares"]);
        let s = sample_ratio(&observed, &shares).unwrap();
        close(s.statistic, &case["statistic"], "srm");
        close(s.p_value, &case["pvalue"], "srm");
    }
}

#[test]
fn bayesian_comparison_matches_quadrature() {
    for case in json("beta_binomial.json")["cases"].as_array().unwrap() {
        let b = beta_binomial(arm(&case["variant"]), arm(&case["control"]), (1.0, 1.0)).unwrap();
        close(
            b.prob_variant_better,
            &case["prob_variant_beats_control"],
            "P(V > C)",
        );
        close(
            b.expected_loss_variant,
            &case["expected_loss_choose_variant"],
            "loss V",
        );
        close(
            b.expected_loss_control,
            &case["expected_loss_choose_control"],
            "loss C",
        );
    }
}

#[test]
fn msprt_matches_the_published_formula() {
    let reference = json("sequential.json");
    for case in reference["fixed"].as_array().unwrap() {
        let f = |k: &str| case[k].as_f64().unwrap();
        let log_lambda = log_likelihood_ratio(
            f("n"),
            f("ybar_variant") - f("xbar_control"),
            f("V"),
            f("tau2"),
            f("theta0"),
        );
        close(log_lambda.exp(), &case["lambda"], "lambda");
    }
    let running = &reference["running"];
    let mut test = Msprt::new(
        running["V"].as_f64().unwrap(),
        running["tau2"].as_f64().unwrap(),
        0.0,
    );
    for step in running["steps"].as_array().unwrap() {
        let p = test.observe(step["n"].as_f64().unwrap(), step["diff"].as_f64().unwrap());
        close(p, &step["p_always_valid"], "always-valid p");
    }
}

/// Under no effect, peeking at a fixed-n z-test after every 100 customers rejects far more
/// often than its 5 %; the mSPRT's always-valid p-value stays under 5 % however often it is read.
#[test]
fn sequential_test_keeps_its_error_rate_under_peeking() {
    let mut rng = crate::sim::Rng::new(2024);
    let (experiments, looks, per_look) = (400, 20, 50);
    let (mut naive_rejections, mut msprt_rejections) = (0, 0);
    for _ in 0..experiments {
        let mut test = Msprt::new(2.0, 1.0, 0.0);
        let (mut sum, mut n) = (0.0, 0.0);
        let (mut naive, mut sequential) = (false, false);
        for _ in 0..looks {
            for _ in 0..per_look {
                // Paired differences of two unit-variance arms with no effect: N(0, 2).
                sum += rng.normal() * 2f64.sqrt();
                n += 1.0;
            }
            let z = (sum / n) / (2.0 / n).sqrt();
            naive |= z.abs() > 1.959963984540054;
            sequential |= test.observe(n, sum / n) <= 0.05;
        }
        naive_rejections += usize::from(naive);
        msprt_rejections += usize::from(sequential);
    }
    let naive_rate = naive_rejections as f64 / experiments as f64;
    let msprt_rate = msprt_rejections as f64 / experiments as f64;
    assert!(naive_rate > 0.12, "naive peeking rejected {naive_rate}");
    assert!(msprt_rate <= 0.05, "mSPRT rejected {msprt_rate}");
}
