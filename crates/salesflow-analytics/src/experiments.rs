//! A/B test evaluation, shared by `salesflow abtest` and the report: every variant of an
//! experiment against its control with the two-proportion z-test, Fisher's exact test, the
//! Bayesian chance of being better, revenue per customer (Welch's t and a bootstrap), a
//! sample-ratio check, Holm's correction across variants, and a verdict in a sentence.

use salesflow_engine::experiments::Arm;
use salesflow_models::ModelError;
use salesflow_models::experiments::Alternative;
use salesflow_models::experiments::bayes::beta_binomial;
use salesflow_models::experiments::checks::{Correction, correct, sample_ratio};
use salesflow_models::experiments::means::{bootstrap_mean_difference, welch_t};
use salesflow_models::experiments::power::sample_size;
use salesflow_models::experiments::proportions::{Conversions, fisher_exact, two_proportions};
use salesflow_models::experiments::sequential::log_likelihood_ratio;
use serde_json::{Value, json};

/// How to evaluate.
#[derive(Debug, Clone, PartialEq)]
pub struct TestSettings {
    /// The control arm's name.
    pub control: String,
    /// Confidence level of the intervals (significance = 1 - confidence).
    pub confidence: f64,
    /// Planned split of the arms in name order (default: equal).
    pub split: Option<Vec<f64>>,
    /// The smallest difference in conversion rate worth detecting (0.01 = one point), fixed
    /// before the test ran: when given, each variant also gets the mSPRT's always-valid
    /// p-value with mixing standard deviation τ = this difference.
    pub sequential_mde: Option<f64>,
}

impl Default for TestSettings {
    fn default() -> Self {
        TestSettings {
            control: "control".into(),
            confidence: 0.95,
            split: None,
            sequential_mde: None,
        }
    }
}

/// One experiment's evaluation: the text `salesflow abtest` prints and its JSON.
#[derive(Debug, Clone)]
pub struct ExperimentReport {
    /// The experiment's name.
    pub name: String,
    /// For people: arms, the sample-ratio check, each variant's tests and a verdict.
    pub text: String,
    /// Every number, under the keys `salesflow abtest --json` documents.
    pub json: Value,
}

/// A share as a percentage with one decimal and a space (`12.3 %`).
pub fn percent(x: f64) -> String {
    format!("{:.1} %", 100.0 * x)
}

/// A p-value for people: four decimals, or an upper bound when smaller.
pub fn p_text(p: f64) -> String {
    if p < 1e-4 {
        "< 0.0001".into()
    } else {
        format!("{p:.4}")
    }
}

/// `= 0.0123` or `< 0.0001`.
fn eq(p: f64) -> String {
    let text = p_text(p);
    if text.starts_with('<') {
        text
    } else {
        format!("= {text}")
    }
}

/// A probability as a share, without claiming exactly 0 % or 100 %: two decimals near the
/// ends, where one would print 0.0 % for a chance of 0.04 %.
fn chance(p: f64) -> String {
    if p < 1e-4 {
        "below 0.01 %".into()
    } else if p > 1.0 - 1e-4 {
        "above 99.99 %".into()
    } else if !(0.01..=0.99).contains(&p) {
        format!("{:.2} %", 100.0 * p)
    } else {
        percent(p)
    }
}

/// A difference of rates in percentage points, signed (`+1.5`).
pub fn points(x: f64) -> String {
    format!("{:+.1}", 100.0 * x)
}

/// The mSPRT's always-valid p-value (Johari et al. 2017) for a difference in conversion at
/// the last look: pairs = the smaller arm, per-pair variance `p_c(1−p_c) + p_v(1−p_v)`,
/// normal mixing with standard deviation `mde` around 0. Only the last look is known (the
/// table has no times), and `1/Λ` there is at least the running minimum over looks, so the
/// p-value stays valid whenever and however often the test was watched. `None` without
/// variance (both rates 0 or 1).
pub fn always_valid_p_value(variant: Conversions, control: Conversions, mde: f64) -> Option<f64> {
    let (pv, pc) = (variant.rate(), control.rate());
    let v = pc * (1.0 - pc) + pv * (1.0 - pv);
    let pairs = variant.n.min(control.n) as f64;
    (v > 0.0 && pairs > 0.0 && mde > 0.0).then(|| {
        let log_lambda = log_likelihood_ratio(pairs, pv - pc, v, mde * mde, 0.0);
        (-log_lambda).exp().min(1.0)
    })
}

/// Every variant of one experiment against its control. The outer error is a model failure;
/// the inner one says what is wrong with the experiment or the settings (the user's to fix).
pub fn evaluate(
    name: &str,
    group: &[&Arm],
    args: &TestSettings,
) -> Result<Result<ExperimentReport, String>, ModelError> {
    let Some(control) = group
        .iter()
        .find(|a| a.variant.eq_ignore_ascii_case(&args.control))
    else {
        let arms: Vec<&str> = group.iter().map(|a| a.variant.as_str()).collect();
        return Ok(Err(format!(
            "experiment `{name}` has no arm named `{}` (arms: {}); name the control with --control",
            args.control,
            arms.join(", ")
        )));
    };
    if group.len() < 2 {
        return Ok(Err(format!("experiment `{name}` has only one arm")));
    }
    let alpha = 1.0 - args.confidence;
    let shares = match &args.split {
        Some(s) if s.len() == group.len() => s.clone(),
        Some(s) => {
            return Ok(Err(format!(
                "--split has {} shares but `{name}` has {} arms",
                s.len(),
                group.len()
            )));
        }
        None => vec![1.0; group.len()],
    };
    let sizes: Vec<u64> = group.iter().map(|a| a.customers).collect();
    let srm = sample_ratio(&sizes, &shares)?;
    let c = Conversions {
        converted: control.converted,
        n: control.customers,
    };
    let variants: Vec<&&Arm> = group
        .iter()
        .filter(|a| !std::ptr::eq(**a, *control))
        .collect();

    let mut rows = Vec::new();
    for v in &variants {
        let vc = Conversions {
            converted: v.converted,
            n: v.customers,
        };
        let test = two_proportions(vc, c, args.confidence)?;
        let fisher = fisher_exact(vc, c)?;
        let bayes = beta_binomial(vc, c, (1.0, 1.0))?;
        let revenue = match (&v.revenue, &control.revenue) {
            (Some(rv), Some(rc)) if rv.len() >= 2 && rc.len() >= 2 => {
                let t = welch_t(rv, rc, args.confidence)?;
                let boot = bootstrap_mean_difference(rv, rc, 2000, args.confidence, 7)?;
                let mean = |x: &[f64]| x.iter().sum::<f64>() / x.len() as f64;
                Some((mean(rv), mean(rc), t, boot))
            }
            _ => None,
        };
        rows.push((v, vc, test, fisher, bayes, revenue));
    }
    let raw: Vec<f64> = rows.iter().map(|r| r.2.p_pooled).collect();
    let adjusted = correct(&raw, Correction::Holm);

    let mut text = format!(
        "{name}: {}",
        group
            .iter()
            .map(|a| format!(
                "{} {} customers ({} converted)",
                a.variant,
                a.customers,
                percent(a.converted as f64 / a.customers as f64)
            ))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let srm_ok = srm.p_value >= 0.001;
    text.push_str(&format!(
        "\n  sample ratio: chi-square {:.2}, p = {:.3} — {}",
        srm.statistic,
        srm.p_value,
        if srm_ok {
            "the split matches the plan"
        } else {
            "the split is off: fix the assignment before trusting anything below"
        }
    ));
    let mut json_rows = Vec::new();
    for ((v, vc, test, fisher, bayes, revenue), p_adj) in rows.iter().zip(&adjusted) {
        let (pv, pc) = (vc.rate(), c.rate());
        text.push_str(&format!(
            "\n  {} vs {}:\n    conversion {} -> {}: {} points ({:.0} % CI {} to {}); z = {:.2}, p {}{}; Fisher's exact p {}",
            v.variant,
            control.variant,
            percent(pc),
            percent(pv),
            points(test.difference),
            100.0 * args.confidence,
            points(test.ci_difference.0),
            points(test.ci_difference.1),
            test.z_pooled,
            eq(test.p_pooled),
            if variants.len() > 1 { format!(" (Holm-adjusted {})", p_text(*p_adj)) } else { String::new() },
            eq(fisher.p_two_sided),
        ));
        if let Some((lo, hi)) = test.ci_ratio {
            text.push_str(&format!(
                "\n    lift {:+.1} % ({:.0} % CI {:+.1} % to {:+.1} %)",
                100.0 * (test.ratio - 1.0),
                100.0 * args.confidence,
                100.0 * (lo - 1.0),
                100.0 * (hi - 1.0)
            ));
        }
        let sequential = args
            .sequential_mde
            .and_then(|mde| always_valid_p_value(*vc, c, mde));
        if let (Some(p), Some(mde)) = (sequential, args.sequential_mde) {
            text.push_str(&format!(
                "\n    always-valid p (mSPRT, τ = {} points) {}: safe however often the test was looked at",
                format_args!("{:.1}", 100.0 * mde),
                eq(p)
            ));
        }
        text.push_str(&format!(
            "\n    P({} better) = {}; expected loss if shipped {} points, if not {} points",
            v.variant,
            chance(bayes.prob_variant_better),
            format_args!("{:.3}", 100.0 * bayes.expected_loss_variant),
            format_args!("{:.3}", 100.0 * bayes.expected_loss_control),
        ));
        if let Some((mv, mc, t, boot)) = revenue {
            text.push_str(&format!(
                "\n    revenue per customer {mc:.2} -> {mv:.2}: {:+.2} ({:.0} % CI {:+.2} to {:+.2}; Welch t p {}; bootstrap CI {:+.2} to {:+.2})",
                t.difference,
                100.0 * args.confidence,
                t.ci.0,
                t.ci.1,
                eq(t.p_two_sided),
                boot.0,
                boot.1
            ));
        }
        let significant = *p_adj < alpha;
        let verdict = if !srm_ok {
            format!(
                "no verdict: the arms are not split as planned (p = {:.2e})",
                srm.p_value
            )
        } else if significant {
            format!(
                "{} {} conversion from {} to {} ({:.0} % CI {} to {} points); the chance this is noise is {}.",
                v.variant,
                if test.difference > 0.0 {
                    "raised"
                } else {
                    "lowered"
                },
                percent(pc),
                percent(pv),
                100.0 * args.confidence,
                points(test.ci_difference.0),
                points(test.ci_difference.1),
                chance(*p_adj)
            )
        } else {
            let needed = sample_size(
                pc.clamp(1e-6, 1.0 - 1e-6),
                pv.clamp(1e-6, 1.0 - 1e-6),
                alpha,
                0.8,
                1.0,
                Alternative::TwoSided,
            )
            .map(|n| {
                format!(
                    "; to detect a difference this size reliably, plan about {} customers per arm",
                    n.ceil()
                )
            })
            .unwrap_or_default();
            format!(
                "no clear difference: {} converted at {} against {} ({:.0} % CI {} to {} points includes zero; p = {:.2}){needed}.",
                v.variant,
                percent(pv),
                percent(pc),
                100.0 * args.confidence,
                points(test.ci_difference.0),
                points(test.ci_difference.1),
                p_adj
            )
        };
        text.push_str(&format!("\n    verdict: {verdict}"));
        json_rows.push(json!({
            "variant": v.variant,
            "customers": v.customers,
            "converted": v.converted,
            "conversion_rate": pv,
            "difference": test.difference,
            "ci_difference": [test.ci_difference.0, test.ci_difference.1],
            "ci_difference_newcomb": [test.ci_difference_newcomb.0, test.ci_difference_newcomb.1],
            "lift": test.ratio - 1.0,
            "ci_lift": test.ci_ratio.map(|(lo, hi)| [lo - 1.0, hi - 1.0]),
            "z": test.z_pooled,
            "p_value": test.p_pooled,
            "p_value_adjusted_holm": p_adj,
            "p_value_fisher": fisher.p_two_sided,
            "p_value_always_valid": args
                .sequential_mde
                .and_then(|mde| always_valid_p_value(*vc, c, mde)),
            "prob_better": bayes.prob_variant_better,
            "expected_loss_if_shipped": bayes.expected_loss_variant,
            "expected_loss_if_not": bayes.expected_loss_control,
            "revenue": revenue.as_ref().map(|(mv, mc, t, boot)| json!({
                "mean_variant": mv, "mean_control": mc, "difference": t.difference,
                "ci": [t.ci.0, t.ci.1], "welch_t": t.statistic, "df": t.df, "p_value": t.p_two_sided,
                "bootstrap_ci": [boot.0, boot.1],
            })),
            "significant": significant && srm_ok,
            "verdict": verdict,
        }));
    }
    let json = json!({
        "experiment": name,
        "control": {"variant": control.variant, "customers": control.customers, "converted": control.converted, "conversion_rate": c.rate()},
        "sample_ratio": {"chi_square": srm.statistic, "dof": srm.dof, "p_value": srm.p_value, "ok": srm_ok},
        "confidence": args.confidence,
        "variants": json_rows,
    });
    Ok(Ok(ExperimentReport {
        name: name.to_owned(),
        text,
        json,
    }))
}

/// Every experiment of the `experiments` table evaluated with `settings`; an experiment that
/// cannot be evaluated (no control arm, one arm) is returned as `Err` with the reason.
pub(crate) fn evaluate_all(
    arms: &[Arm],
    settings: &TestSettings,
) -> Vec<Result<ExperimentReport, String>> {
    let mut names: Vec<&str> = arms.iter().map(|a| a.experiment.as_str()).collect();
    names.dedup();
    names
        .into_iter()
        .map(|name| {
            let group: Vec<&Arm> = arms.iter().filter(|a| a.experiment == name).collect();
            match evaluate(name, &group, settings) {
                Ok(report) => report,
                Err(e) => Err(format!("experiment `{name}`: {e}")),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chances_never_read_as_zero_or_certain() {
        assert_eq!(chance(0.00004), "below 0.01 %");
        assert_eq!(chance(0.0004), "0.04 %");
        assert_eq!(chance(0.003), "0.30 %");
        assert_eq!(chance(0.25), "25.0 %");
        assert_eq!(chance(0.9996), "99.96 %");
        assert_eq!(chance(0.99995), "above 99.99 %");
    }
}
