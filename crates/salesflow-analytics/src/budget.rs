//! Marketing budget: response curves per channel from spend history and the split of a weekly
//! budget expected to bring the most; shared by `salesflow budget` and the report.

use std::collections::BTreeMap;

use chrono::Datelike;
use salesflow_core::SpendBound;
use salesflow_engine::Dataset;
use salesflow_engine::spend::{Outcome, SpendSeries, weekly_spend};
use salesflow_models::budget::fit::{ChannelFit, Priors, ResponseData, Series, fit_response};
use salesflow_models::budget::{Curve, Hill, allocate};
use serde_json::{Value, json};

use crate::error::Result;

/// What a budget plan maximises.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Objective {
    /// New customers per week (by acquisition channel and sign-up week).
    Customers,
    /// `marketing_spend.leads`.
    Leads,
    /// `marketing_spend.attributed_revenue`.
    Revenue,
    /// New customers weighted by their channel's customer value (see
    /// [`crate::customer_value_by_channel`]): customers are not worth the same everywhere.
    Clv,
}

impl Objective {
    /// Every objective, in the order the command line lists them.
    pub const ALL: [Objective; 4] = [
        Objective::Customers,
        Objective::Leads,
        Objective::Revenue,
        Objective::Clv,
    ];

    /// The objective named `name` (as [`Objective::name`] writes it).
    pub fn from_name(name: &str) -> Option<Objective> {
        Objective::ALL.into_iter().find(|o| o.name() == name)
    }

    /// What the response curves are fitted to (CLV: new customers, weighted afterwards).
    pub fn outcome(self) -> Outcome {
        match self {
            Objective::Customers | Objective::Clv => Outcome::Customers,
            Objective::Leads => Outcome::Leads,
            Objective::Revenue => Outcome::Revenue,
        }
    }

    /// The name the JSON and the report write.
    pub fn name(self) -> &'static str {
        match self {
            Objective::Customers => "customers",
            Objective::Leads => "leads",
            Objective::Revenue => "revenue",
            Objective::Clv => "clv",
        }
    }

    /// The unit of the outcome, in words.
    pub fn unit(self) -> &'static str {
        match self {
            Objective::Clv => "customer value",
            other => other.name(),
        }
    }
}

/// What to plan.
#[derive(Debug, Clone, PartialEq)]
pub struct BudgetSettings {
    /// What the curves measure and the plan maximises.
    pub objective: Objective,
    /// With [`Objective::Clv`]: the value of a new customer per channel and where it comes
    /// from; `None` has [`plan_budget`] compute it from the orders.
    pub customer_value: Option<(BTreeMap<String, f64>, &'static str)>,
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
            objective: Objective::Customers,
            customer_value: None,
            total: None,
            recent_weeks: 13,
            min_ratio: 0.5,
            max_ratio: 2.0,
            bounds: BTreeMap::new(),
        }
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
    /// With [`Objective::Clv`]: the value of one of the channel's new customers.
    pub customer_value: Option<f64>,
    /// The weekly (spend, outcome) observations.
    pub points: Vec<(f64, f64)>,
    /// The fitted curve, sampled from 0 to beyond the largest spend.
    pub curve: Vec<(f64, f64)>,
}

/// The plan.
#[derive(Debug, Clone)]
pub struct BudgetPlan {
    /// What was maximised.
    pub objective: Objective,
    /// With [`Objective::Clv`]: where the customer values come from (`model` or
    /// `historical`).
    pub value_source: Option<&'static str>,
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
    /// With [`Objective::Clv`]: the channels valued at 0 for want of a usable customer value.
    pub fn unvalued(&self) -> Vec<&str> {
        self.channels
            .iter()
            .filter(|c| c.customer_value == Some(0.0))
            .map(|c| c.channel.as_str())
            .collect()
    }

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
                    "half_saturation_interval95": [f.half_saturation_interval.0, f.half_saturation_interval.1],
                    "shape": f.shape, "shape_se": finite(f.shape_se),
                    "carryover": f.carryover, "carryover_se": finite(f.carryover_se),
                    "current_spend": c.current, "proposed_spend": c.proposed,
                    "bounds": [c.bounds.0, c.bounds.1],
                    "current_outcome": c.current_outcome, "proposed_outcome": c.proposed_outcome,
                    "marginal_return": c.marginal,
                    "customer_value": c.customer_value,
                    "curve_reliable": c.reliable,
                })
            })
            .collect();
        json!({
            "objective": self.objective.name(),
            "customer_value_source": self.value_source,
            "channels_without_customer_value": self.unvalued(),
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

/// Weeks of adstock: spend acts in its week and the three after.
const MAX_LAG: usize = 4;

/// The spend history as the response fit reads it.
#[derive(Debug, Clone)]
pub struct ResponseInputs {
    /// Mondays of the weeks (Unix seconds).
    pub weeks: Vec<i64>,
    /// The paid channels, in curve order.
    pub channels: Vec<String>,
    /// One per (channel, segment), as read.
    pub series: Vec<SpendSeries>,
    /// The same for the model, with channel indices.
    pub model_series: Vec<Series>,
    /// Season of each week: its month with a year of data or more, else one season.
    pub season_of: Vec<usize>,
    /// 12 or 1.
    pub seasons: usize,
}

impl ResponseInputs {
    /// What [`fit_response`] reads.
    pub fn data(&self) -> ResponseData<'_> {
        ResponseData {
            series: &self.model_series,
            channels: self.channels.len(),
            season_of: &self.season_of,
            seasons: self.seasons,
            max_lag: MAX_LAG,
        }
    }
}

/// The weekly spend and `objective` per (channel, segment), ready to fit. The inner `Err` says
/// what the data lack (too few weeks).
pub async fn response_inputs(
    dataset: &Dataset,
    objective: Outcome,
) -> Result<std::result::Result<ResponseInputs, String>> {
    let (weeks, series) = weekly_spend(dataset, objective).await?;
    if weeks.len() < 8 {
        return Ok(Err(format!(
            "only {} weeks of marketing spend; response curves need at least 8 (a year or more is better)",
            weeks.len()
        )));
    }
    let mut channels: Vec<String> = series.iter().map(|s| s.channel.clone()).collect();
    channels.dedup();
    // Months as seasons when there is a year of data to tell them apart; otherwise none. A
    // week's month is its Thursday's (the month holding most of its days, as ISO weeks do).
    let (season_of, seasons) = if weeks.len() >= 52 {
        const THREE_DAYS: i64 = 3 * 86_400;
        let months = weeks
            .iter()
            .map(|&w| {
                chrono::DateTime::from_timestamp(w + THREE_DAYS, 0)
                    .map_or(0, |d| d.month0() as usize)
            })
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
    Ok(Ok(ResponseInputs {
        weeks,
        channels,
        series,
        model_series,
        season_of,
        seasons,
    }))
}

/// Fits the response curves and splits the budget. The inner `Err` is what is wrong with the
/// data or the settings (too little history, bounds that cannot hold the total), for the user
/// to fix; the outer one a failure reading the data.
pub async fn plan_budget(
    dataset: &Dataset,
    settings: &BudgetSettings,
) -> Result<std::result::Result<BudgetPlan, String>> {
    let inputs = match response_inputs(dataset, settings.objective.outcome()).await? {
        Ok(inputs) => inputs,
        Err(reason) => return Ok(Err(reason)),
    };
    let fit = match fit_response(&inputs.data(), &Priors::default()) {
        Ok(fit) => fit,
        Err(e) => return Ok(Err(e.to_string())),
    };
    let ResponseInputs {
        weeks,
        channels,
        series,
        ..
    } = inputs;

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
    // With the CLV objective each channel's customers count for their mean value: the curves
    // (and the points) are the customer curves scaled by it. A channel without a usable value
    // (no customer names it as their acquisition channel, or refunds outweigh its revenue) is
    // valued at 0 and listed by `BudgetPlan::unvalued`.
    let (value, value_source): (Vec<f64>, Option<&'static str>) = match settings.objective {
        Objective::Clv => {
            let (by_channel, source) = match &settings.customer_value {
                Some(given) => given.clone(),
                None => {
                    crate::customer_value_by_channel(dataset, &crate::AnalyzeOptions::default())
                        .await?
                }
            };
            let value = channels
                .iter()
                .map(|c| {
                    by_channel
                        .get(c)
                        .copied()
                        .filter(|v| v.is_finite() && *v >= 0.0)
                        .unwrap_or(0.0)
                })
                .collect();
            (value, Some(source))
        }
        _ => (vec![1.0; channels.len()], None),
    };
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
                        .map(|&(i, share)| (hill, ceiling[i] * value[c], share))
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
                        own.iter().map(|s| s.outcome[t]).sum::<f64>() * value[c],
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
                customer_value: value_source.map(|_| value[c]),
                points,
                curve,
            }
        })
        .collect();
    Ok(Ok(BudgetPlan {
        objective: settings.objective,
        value_source,
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
