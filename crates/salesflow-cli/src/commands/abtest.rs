//! `salesflow abtest`: did the variant really win, and `abtest plan`: how many customers to
//! find out.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Result, bail};
use salesflow_core::TableKind;
use salesflow_engine::Dataset;
use salesflow_engine::experiments::{Arm, experiment_arms};
use salesflow_models::experiments::Alternative;
use salesflow_models::experiments::bayes::beta_binomial;
use salesflow_models::experiments::checks::{Correction, correct, sample_ratio};
use salesflow_models::experiments::means::{bootstrap_mean_difference, welch_t};
use salesflow_models::experiments::power::sample_size;
use salesflow_models::experiments::proportions::{Conversions, fisher_exact, two_proportions};
use serde_json::{Value, json};

use super::Global;
use crate::input::{ReadFlags, UsageError, load_config};
use crate::progress::Bars;

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Customers needed per arm to detect a change in conversion rate.
    Plan(PlanArgs),
}

#[derive(Debug, clap::Args)]
pub struct PlanArgs {
    /// Current conversion rate, e.g. 0.05 for 5 %.
    #[arg(long)]
    baseline: f64,
    /// Smallest change worth detecting, in rate points: 0.01 = one percentage point.
    #[arg(long)]
    mde: f64,
    /// Significance level.
    #[arg(long, default_value_t = 0.05)]
    alpha: f64,
    /// Chance of detecting the change when it is real.
    #[arg(long, default_value_t = 0.8)]
    power: f64,
    /// Control size over variant size.
    #[arg(long, default_value_t = 1.0)]
    ratio: f64,
    /// Only a change in the MDE's direction counts (one-sided test).
    #[arg(long)]
    one_sided: bool,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, clap::Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct Args {
    #[command(subcommand)]
    command: Option<Command>,
    /// The experiments table (experiment, variant, customer_id, converted[, revenue]) as a
    /// file, or a data folder holding experiments.csv.
    #[arg(long, value_name = "FILE|DIR", conflicts_with = "counts")]
    data: Option<PathBuf>,
    /// Or just the counts, one arm each: `--counts control=41/1000 --counts discount=50/1000`
    /// (converted / customers).
    #[arg(long, value_name = "ARM=CONVERTED/CUSTOMERS")]
    counts: Vec<String>,
    /// The name of the control arm.
    #[arg(long, default_value = "control")]
    control: String,
    /// Only this experiment.
    #[arg(long)]
    experiment: Option<String>,
    /// Confidence level of the intervals (significance = 1 - confidence).
    #[arg(long, default_value_t = 0.95)]
    confidence: f64,
    /// Planned split of the arms in name order, e.g. 50,50 (default: equal).
    #[arg(long, value_delimiter = ',', value_name = "SHARES")]
    split: Option<Vec<f64>>,
    /// Print JSON.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    read: ReadFlags,
}

pub fn run(global: &Global, args: Args) -> Result<ExitCode> {
    if let Some(Command::Plan(plan)) = args.command {
        return run_plan(plan);
    }
    let usage = |e: salesflow_models::ModelError| UsageError(e.to_string());
    if !args.counts.is_empty() {
        let arms = args
            .counts
            .iter()
            .map(|text| parse_counts(text))
            .collect::<Result<Vec<Arm>>>()?;
        let group: Vec<&Arm> = arms.iter().collect();
        let report = analyse("experiment", &group, &args).map_err(usage)??;
        return print_reports(&[report], args.json);
    }
    let Some(path) = &args.data else {
        bail!(UsageError(
            "give --data FILE|DIR with the experiments table, --counts ARM=CONVERTED/CUSTOMERS for each arm, or use `abtest plan`".into()
        ));
    };
    let config = load_config(
        global.config.as_deref(),
        path.is_dir().then_some(path.as_path()),
    )?;
    args.read.check(&config)?;
    let bars = Bars::new(global.quiet || args.json);
    let dataset = if path.is_dir() {
        args.read.load_dir(path, &config, &bars)?
    } else {
        let mut dataset = Dataset::new(salesflow_engine::default_threads());
        let options = args.read.options(&config, TableKind::Experiments)?;
        dataset.load(TableKind::Experiments, path, &options, &bars)?;
        dataset
    };
    let rt = super::runtime()?;
    let mut arms = rt.block_on(experiment_arms(&dataset))?;
    if let Some(name) = &args.experiment {
        arms.retain(|a| &a.experiment == name);
        if arms.is_empty() {
            bail!(UsageError(format!(
                "no experiment named `{name}` in the data"
            )));
        }
    }
    let mut reports = Vec::new();
    let mut names: Vec<&str> = arms.iter().map(|a| a.experiment.as_str()).collect();
    names.dedup();
    for name in names {
        let group: Vec<&Arm> = arms.iter().filter(|a| a.experiment == name).collect();
        reports.push(analyse(name, &group, &args).map_err(usage)??);
    }
    print_reports(&reports, args.json)
}

fn print_reports(reports: &[Report], json: bool) -> Result<ExitCode> {
    if json {
        let all = Value::Array(reports.iter().map(|r| r.json.clone()).collect());
        super::print_stdout(&serde_json::to_string_pretty(&all)?)?;
    } else {
        let text: Vec<&str> = reports.iter().map(|r| r.text.as_str()).collect();
        super::print_stdout(&text.join("\n"))?;
    }
    Ok(ExitCode::SUCCESS)
}

/// `name=converted/customers` as an arm without revenue.
fn parse_counts(text: &str) -> Result<Arm> {
    let bad = || {
        UsageError(format!(
            "--counts `{text}`: write ARM=CONVERTED/CUSTOMERS, e.g. control=41/1000"
        ))
    };
    let (name, numbers) = text.split_once('=').ok_or_else(bad)?;
    let (converted, customers) = numbers.split_once('/').ok_or_else(bad)?;
    let converted: u64 = converted.trim().parse().map_err(|_| bad())?;
    let customers: u64 = customers.trim().parse().map_err(|_| bad())?;
    if name.trim().is_empty() || customers == 0 || converted > customers {
        return Err(UsageError(format!(
            "--counts `{text}`: an arm needs a name, at least one customer and no more conversions than customers"
        ))
        .into());
    }
    Ok(Arm {
        experiment: "experiment".into(),
        variant: name.trim().to_owned(),
        customers,
        converted,
        revenue: None,
    })
}

struct Report {
    text: String,
    json: Value,
}

fn percent(x: f64) -> String {
    format!("{:.1} %", 100.0 * x)
}

/// A p-value for people: four decimals, or an upper bound when smaller.
fn p_text(p: f64) -> String {
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

/// A probability as a share, without claiming exactly 0 % or 100 %.
fn chance(p: f64) -> String {
    if p < 1e-4 {
        "below 0.01 %".into()
    } else if p > 1.0 - 1e-4 {
        "above 99.99 %".into()
    } else {
        percent(p)
    }
}

fn points(x: f64) -> String {
    format!("{:+.1}", 100.0 * x)
}

/// Every variant of one experiment against its control.
fn analyse(
    name: &str,
    group: &[&Arm],
    args: &Args,
) -> Result<Result<Report>, salesflow_models::ModelError> {
    let Some(control) = group
        .iter()
        .find(|a| a.variant.eq_ignore_ascii_case(&args.control))
    else {
        let arms: Vec<&str> = group.iter().map(|a| a.variant.as_str()).collect();
        return Ok(Err(UsageError(format!(
            "experiment `{name}` has no arm named `{}` (arms: {}); name the control with --control",
            args.control,
            arms.join(", ")
        ))
        .into()));
    };
    if group.len() < 2 {
        return Ok(Err(UsageError(format!(
            "experiment `{name}` has only one arm"
        ))
        .into()));
    }
    let alpha = 1.0 - args.confidence;
    let shares = match &args.split {
        Some(s) if s.len() == group.len() => s.clone(),
        Some(s) => {
            return Ok(Err(UsageError(format!(
                "--split has {} shares but `{name}` has {} arms",
                s.len(),
                group.len()
            ))
            .into()));
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
    Ok(Ok(Report { text, json }))
}

fn run_plan(plan: PlanArgs) -> Result<ExitCode> {
    let alternative = match (plan.one_sided, plan.mde > 0.0) {
        (false, _) => Alternative::TwoSided,
        (true, true) => Alternative::Larger,
        (true, false) => Alternative::Smaller,
    };
    let target = plan.baseline + plan.mde;
    let n = sample_size(
        plan.baseline,
        target,
        plan.alpha,
        plan.power,
        plan.ratio,
        alternative,
    )
    .map_err(|e| UsageError(e.to_string()))?;
    let variant = n.ceil();
    let control = (n * plan.ratio).ceil();
    if plan.json {
        super::print_stdout(&serde_json::to_string_pretty(&json!({
            "baseline": plan.baseline, "target": target, "alpha": plan.alpha, "power": plan.power,
            "ratio": plan.ratio, "one_sided": plan.one_sided,
            "customers_variant": variant, "customers_control": control,
            "customers_variant_exact": n,
        }))?)?;
    } else {
        super::print_stdout(&format!(
            "to detect {} -> {} ({} points) with {} power at {} significance{}: {} customers in the variant and {} in control ({} in all)",
            percent(plan.baseline),
            percent(target),
            points(plan.mde),
            percent(plan.power),
            percent(plan.alpha),
            if plan.one_sided { ", one-sided" } else { "" },
            variant,
            control,
            variant + control
        ))?;
    }
    Ok(ExitCode::SUCCESS)
}
