//! Marketing budget: response curves per channel from spend history and the split of a weekly
//! budget expected to bring the most; shared by `salesflow budget` and the report.

use std::collections::BTreeMap;

use chrono::Datelike;
use salesflow_core::SpendBound;
use salesflow_engine::Dataset;
use salesflow_engine::spend::{Outcome, SpendSeries, weekly_spend};
use salesflow_models::budget::fit::{ChannelFit, Series, fit_response};
use salesflow_models::budget::{Curve, Hill, allocate};
use serde_json::{Value, json};

use crate::error::Result;

/// What to plan.
#[derive(Debug, Clone, PartialEq)]
pub struct BudgetSettings {
    /// What the curves measure and the plan maximises.
    pub objective: Outcome,
    /// Budget per week; None re-splits the recent weekly total.
    pub total: Option<f64>,
    /// Weeks that count as "recent" for the current split and the default bounds.
    pub recent_weeks: usize,
    /// Each channel may move between this multiple of its recent spend ...
    pub min_ratio: f64,
    /// ... and this one.
    pub max_ratio: f64,
    /// `[budget.bounds.<channel>]` overrides of the ratio bounds.
    pub bounds: BTreeMap<String, SpendBound>,
}

impl Default for BudgetSettings {
    fn default() -> Self {
        BudgetSettings {
            objective: Outcome::Customers,
            total: None,
            recent_weeks: 13,
            min_ratio: 0.5,
            max_ratio: 2.0,
            bounds: BTreeMap::new(),
        }
    }
}

/// The name of an objective, as the JSON and the report write it.
pub fn objective_name(o: Outcome) -> &'static str {
    match o {
        Outcome::Customers => "customers",
        Outcome::Leads => "leads",
        Outcome::Revenue => "revenue",
    }
}

/// One channel's curve and its place in the plan.
#[derive(Debug, Clone)]
pub struct ChannelPlan {
    /// The channel.
    pub channel: String,
    /// The fitted response parameters with their standard errors.
    pub fit: ChannelFit,
    /// Recent weekly spend, and the plan's.
    pub current: f64,
    /// The plan's weekly spend.
    pub proposed: f64,
    /// The spend the plan could choose from.
    pub bounds: (f64, f64),
    /// Expected outcome per week at the recent spend and at the plan's.
    pub current_outcome: f64,
    /// Expected outcome per week at the plan's spend.
    pub proposed_outcome: f64,
    /// Outcome of the last unit of spend under the plan.
    pub marginal: f64,
    /// Whether the curve is pinned down well enough to move money (else the channel keeps
    /// its recent share).
    pub reliable: bool,
    /// The weekly (spend, outcome) observations.
    pub points: Vec<(f64, f64)>,
    /// The fitted curve, sampled from 0 to beyond the largest spend.
    pub curve: Vec<(f64, f64)>,
}

/// The plan.
#[derive(Debug, Clone)]
pub struct BudgetPlan {
    /// What was maximised.
    pub objective: Outcome,
    /// Weeks of spend history.
    pub weeks: usize,
    /// The weekly budget split.
    pub total: f64,
    /// Expected outcome per week under the plan, and its 95 % interval from the curves'
    /// uncertainty.
    pub expected_outcome: f64,
    /// 95 % interval of `expected_outcome`.
    pub interval: Option<(f64, f64)>,
    /// Expected outcome of the recent split.
    pub current_outcome: f64,
    /// Expected outcome of the recent split scaled to `total`.
    pub scaled_outcome: f64,
    /// Overdispersion of the fit.
    pub dispersion: f64,
    /// Whether the fit converged.
    pub converged: bool,
    /// One per paid channel.
    pub channels: Vec<ChannelPlan>,
}

impl BudgetPlan {
    /// Every number, under the keys `salesflow budget --json` prints.
    pub fn json(&self) -> Value {
        let rows: Vec<Value> = self
            .channels
            .iter()
            .map(|c| {
                let f = c.fit;
                json!({
                    "channel": c.channel,
                    "half_saturation": f.half_saturation, "half_saturation_se": finite(f.half_saturation_se),
                    "shape": f.shape, "shape_se": finite(f.shape_se),
                    "carryover": f.carryover, "carryover_se": finite(f.carryover_se),
                    "current_spend": c.current, "proposed_spend": c.proposed,
                    "bounds": [c.bounds.0, c.bounds.1],
                    "current_outcome": c.current_outcome, "proposed_outcome": c.proposed_outcome,
                    "marginal_return": c.marginal,
                    "curve_reliable": c.reliable,
                })
            })
            .collect();
        json!({
            "objective": objective_name(self.objective),
            "weeks": self.weeks,
            "total": self.total,
            "expected_outcome": self.expected_outcome,
            "expected_outcome_interval95": self.interval.map(|(lo, hi)| [lo, hi]),
            "current_outcome": self.current_outcome,
            "current_split_scaled_outcome": self.scaled_outcome,
            "dispersion": self.dispersion,
            "converged": self.converged,
            "channels": rows,
        })
    }
}

fn finite(x: f64) -> Value {
    if x.is_finite() { json!(x) } else { Value::Null }
}

/// One channel's steady-state weekly response: the sum over its segments of
/// `β_s · Hill(x · share_s)`, seasons averaged.
struct ChannelCurve {
    /// One unit-ceiling Hill curve per segment, with the segment's ceiling β and spend share.
    parts: Vec<(Hill, f64, f64)>,
    season: f64,
}

impl Curve for ChannelCurve {
    fn value(&self, x: f64) -> f64 {
        self.season
            * self
                .parts
                .iter()
                .map(|(hill, beta, share)| beta * hill.value(x * share))
                .sum::<f64>()
    }
    fn slope(&self, x: f64) -> f64 {
        self.season
            * self
                .parts
                .iter()
                .map(|(hill, beta, share)| beta * share * hill.slope(x * share))
                .sum::<f64>()
    }
}

/// Fits the response curves and splits the budget. The inner `Err` is what is wrong with the
/// data or the settings (too little history, bounds that cannot hold the total), for the user
/// to fix; the outer one a failure reading the data.
pub async fn plan_budget(
    dataset: &Dataset,
    settings: &BudgetSettings,
) -> Result<std::result::Result<BudgetPlan, String>> {
    let (weeks, series) = weekly_spend(dataset, settings.objective).await?;
    if weeks.len() < 8 {
        return Ok(Err(format!(
            "only {} weeks of marketing spend; response curves need at least 8 (a year or more is better)",
            weeks.len()
        )));
    }
    let mut channels: Vec<String> = series.iter().map(|s| s.channel.clone()).collect();
    channels.dedup();
    // Months as seasons when there is a year of data to tell them apart; otherwise none.
    let (season_of, seasons) = if weeks.len() >= 52 {
        let months = weeks
            .iter()
            .map(|&w| chrono::DateTime::from_timestamp(w, 0).map_or(0, |d| d.month0() as usize))
            .collect();
        (months, 12)
    } else {
        (vec![0; weeks.len()], 1)
    };
    let model_series: Vec<Series> = series
        .iter()
        .map(|s| Series {
            channel: channels.iter().position(|c| *c == s.channel).unwrap_or(0),
            spend: s.spend.clone(),
            outcome: s.outcome.clone(),
        })
        .collect();
    let fit = match fit_response(&model_series, channels.len(), &season_of, seasons, 4) {
        Ok(fit) => fit,
        Err(e) => return Ok(Err(e.to_string())),
    };

    let recent = settings.recent_weeks.clamp(1, weeks.len());
    let start = weeks.len() - recent;
    let recent_spend = |s: &SpendSeries| s.spend[start..].iter().sum::<f64>() / recent as f64;
    let mean_season = fit.season.iter().sum::<f64>() / fit.season.len() as f64;
    // Each channel's curve from one parameter set: segments weighted by their recent shares.
    // Each channel's segments (series index, share of the channel's recent spend): fixed, so
    // worked out once and reused for every parameter draw below.
    let members: Vec<Vec<(usize, f64)>> = channels
        .iter()
        .map(|name| {
            let own: Vec<(usize, &SpendSeries)> = series
                .iter()
                .enumerate()
                .filter(|(_, s)| &s.channel == name)
                .collect();
            let total: f64 = own.iter().map(|(_, s)| recent_spend(s)).sum();
            own.iter()
                .map(|(i, s)| {
                    let share = if total > 0.0 {
                        recent_spend(s) / total
                    } else {
                        1.0 / own.len() as f64
                    };
                    (*i, share)
                })
                .collect()
        })
        .collect();
    let build = |ceiling: &[f64],
                 half_saturation: &[f64],
                 shape: &[f64],
                 season: f64|
     -> Vec<ChannelCurve> {
        members
            .iter()
            .enumerate()
            .map(|(c, own)| {
                let hill = Hill {
                    beta: 1.0,
                    half_saturation: half_saturation[c],
                    shape: shape[c],
                };
                ChannelCurve {
                    parts: own
                        .iter()
                        .map(|&(i, share)| (hill, ceiling[i], share))
                        .collect(),
                    season,
                }
            })
            .collect()
    };
    let fitted_k: Vec<f64> = fit.channels.iter().map(|c| c.half_saturation).collect();
    let fitted_h: Vec<f64> = fit.channels.iter().map(|c| c.shape).collect();
    let curves = build(&fit.ceiling, &fitted_k, &fitted_h, mean_season);
    let current: Vec<f64> = channels
        .iter()
        .map(|name| {
            series
                .iter()
                .filter(|s| &s.channel == name)
                .map(recent_spend)
                .sum()
        })
        .collect();
    // A curve the data cannot pin down (no standard error, a shape at its limit, or a
    // half-saturation far beyond any spend seen) must not steer money: such a channel keeps
    // its recent share of the budget.
    let current_total: f64 = current.iter().sum();
    let reliable: Vec<bool> = channels
        .iter()
        .enumerate()
        .map(|(c, name)| {
            let f = fit.channels[c];
            let max_spend = series
                .iter()
                .filter(|s| &s.channel == name)
                .flat_map(|s| s.spend.iter())
                .fold(0.0f64, |a, &b| a.max(b));
            f.half_saturation_se.is_finite()
                && f.shape_se.is_finite()
                && f.shape > 0.21
                && f.shape < 9.9
                && f.half_saturation < 20.0 * max_spend.max(1e-9)
        })
        .collect();
    // `[budget.bounds.<channel>]` in salesflow.toml overrides the ratio bounds.
    if let Some(unknown) = settings.bounds.keys().find(|k| !channels.contains(k)) {
        return Ok(Err(format!(
            "salesflow.toml [budget.bounds.{unknown}]: no channel `{unknown}` has spend (channels: {})",
            channels.join(", ")
        )));
    }
    let total = settings.total.unwrap_or(current_total);
    if !(total.is_finite() && total > 0.0) {
        return Ok(Err(
            "the weekly total must be positive (no recent spend to re-split)".into(),
        ));
    }
    let bounds: Vec<(f64, f64)> = current
        .iter()
        .zip(&reliable)
        .zip(&channels)
        .map(|((&x, &ok), name)| {
            if ok {
                let set = settings.bounds.get(name).copied().unwrap_or_default();
                let lo = set.min.unwrap_or(settings.min_ratio * x);
                (lo, set.max.unwrap_or(settings.max_ratio * x).max(lo))
            } else {
                let kept = x * total / current_total;
                (kept, kept)
            }
        })
        .collect();
    let (lo, hi): (f64, f64) = bounds
        .iter()
        .fold((0.0, 0.0), |(a, b), r| (a + r.0, b + r.1));
    // With every channel fixed, lo = hi = total up to rounding.
    if total < lo * (1.0 - 1e-9) || total > hi * (1.0 + 1e-9) {
        return Ok(Err(format!(
            "--total {total:.2} is outside what the bounds allow ({lo:.2} to {hi:.2} a week: {}x to {}x of recent spend); change --total, --min-ratio or --max-ratio",
            settings.min_ratio, settings.max_ratio
        )));
    }
    let curve_refs: Vec<&dyn Curve> = curves.iter().map(|c| c as &dyn Curve).collect();
    let plan = match allocate(&curve_refs, &bounds, total) {
        Ok(plan) => plan,
        Err(e) => return Ok(Err(e.to_string())),
    };
    let current_outcome: f64 = curves.iter().zip(&current).map(|(c, &x)| c.value(x)).sum();
    // 95 % interval of the plan's expected outcome: the plan re-scored under 1,000 curve sets
    // drawn from the fit's uncertainty.
    let mut outcomes: Vec<f64> = fit
        .draws(1000, 11)
        .iter()
        .map(|d| {
            build(&d.ceiling, &d.half_saturation, &d.shape, d.season_mean)
                .iter()
                .zip(&plan.spend)
                .map(|(c, &x)| c.value(x))
                .sum::<f64>()
        })
        .filter(|v: &f64| v.is_finite())
        .collect();
    outcomes.sort_by(f64::total_cmp);
    let interval = (outcomes.len() >= 100).then(|| {
        let at = |q: f64| outcomes[((outcomes.len() - 1) as f64 * q).round() as usize];
        (at(0.025), at(0.975))
    });
    // The current split scaled to the new total, for a like-for-like comparison.
    let scaled_outcome: f64 = curves
        .iter()
        .zip(&current)
        .map(|(c, &x)| c.value(x * total / current_total))
        .sum();

    let channel_plans = channels
        .iter()
        .enumerate()
        .map(|(c, name)| {
            let own: Vec<&SpendSeries> = series.iter().filter(|s| &s.channel == name).collect();
            let points: Vec<(f64, f64)> = (0..weeks.len())
                .map(|t| {
                    (
                        own.iter().map(|s| s.spend[t]).sum(),
                        own.iter().map(|s| s.outcome[t]).sum(),
                    )
                })
                .collect();
            let reach = points.iter().map(|p| p.0).fold(bounds[c].1, f64::max) * 1.1;
            let curve = (0..=60)
                .map(|i| reach * f64::from(i) / 60.0)
                .map(|x| (x, curves[c].value(x)))
                .collect();
            ChannelPlan {
                channel: name.clone(),
                fit: fit.channels[c],
                current: current[c],
                proposed: plan.spend[c],
                bounds: bounds[c],
                current_outcome: curves[c].value(current[c]),
                proposed_outcome: curves[c].value(plan.spend[c]),
                marginal: plan.marginal[c],
                reliable: reliable[c],
                points,
                curve,
            }
        })
        .collect();
    Ok(Ok(BudgetPlan {
        objective: settings.objective,
        weeks: weeks.len(),
        total,
        expected_outcome: plan.outcome,
        interval,
        current_outcome,
        scaled_outcome,
        dispersion: fit.dispersion,
        converged: fit.converged,
        channels: channel_plans,
    }))
}
