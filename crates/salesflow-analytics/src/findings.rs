//! The executive summary: plain sentences about what matters, most important first.
//!
//! Each candidate finding gets a weight: the share of revenue (or pipeline, or customers) it
//! concerns, times how far it is from healthy. The weights only order the findings; they are
//! not shown.

use crate::Analysis;

/// One sentence for the summary.
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    /// The report section it comes from (`orders`, `pipeline`, ...).
    pub section: &'static str,
    /// The sentence.
    pub text: String,
    /// How much it matters, for ordering.
    pub weight: f64,
}

/// A number with thousands separators and no decimals (`12,345`).
pub fn thousands(v: f64) -> String {
    if !v.is_finite() {
        return "–".into();
    }
    let rounded = v.round().abs() as u128;
    let digits = rounded.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if v.round() < 0.0 {
        format!("-{out}")
    } else {
        out
    }
}

/// Money: thousands separators, two decimals under 1,000.
pub fn money(v: f64) -> String {
    if v.is_finite() && v.abs() < 1000.0 {
        format!("{v:.2}")
    } else {
        thousands(v)
    }
}

/// A fraction as a percentage with one decimal.
pub fn percent(v: f64) -> String {
    if v.is_finite() {
        format!("{:.1}%", 100.0 * v)
    } else {
        "–".into()
    }
}

/// `text` with its first letter upper-case (a sentence that starts with a channel name).
fn capitalised(text: &str) -> String {
    let mut chars = text.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

/// Every finding, most important first.
pub fn findings(a: &Analysis) -> Vec<Finding> {
    let mut out = Vec::new();
    let o = &a.orders;
    if let Some(trend) = o.aov_trend {
        let yearly = trend.relative_per_month * 12.0;
        let direction = if trend.per_month >= 0.0 {
            "rising"
        } else {
            "falling"
        };
        out.push(Finding {
            section: "orders",
            text: format!(
                "Average order value is {} ({} overall): {direction} by {} a month over {} months.",
                money(o.total.aov()),
                thousands(o.total.orders as f64) + " orders",
                money(trend.per_month.abs()),
                trend.months
            ),
            weight: yearly.abs().min(1.0),
        });
    }
    out.push(Finding {
        section: "orders",
        text: format!(
            "{} of {} customers bought more than once (repeat-purchase rate); the average customer ordered {:.2} times.",
            percent(o.repeat_rate()),
            thousands(o.total.customers as f64),
            o.orders_per_customer()
        ),
        weight: (1.0 - o.repeat_rate()) * 0.5,
    });
    if let Some(revenue) = a
        .forecast
        .as_ref()
        .and_then(|f| f.series.iter().find(|s| s.series.id == "revenue"))
        && let (Some(forecast), Some(model)) = (&revenue.forecast, &revenue.model)
    {
        let ahead = forecast.mean.len();
        let history = &revenue.series.values;
        let ahead_total: f64 = forecast.mean.iter().sum();
        let last_total: f64 = history[history.len().saturating_sub(ahead)..].iter().sum();
        if last_total > 0.0 {
            let change = ahead_total / last_total - 1.0;
            let trust = revenue
                .backtest
                .as_ref()
                .and_then(|b| b.mase)
                .map_or(String::new(), |mase| format!(" (backtest MASE {mase:.2})"));
            out.push(Finding {
                section: "forecasts",
                text: format!(
                    "Revenue over the next {ahead} months is forecast at {}, {} {} than the last {ahead} ({model}{trust}).",
                    money(ahead_total),
                    percent(change.abs()),
                    if change >= 0.0 { "more" } else { "less" },
                ),
                weight: change.abs().min(1.0) * 0.8 + 0.1,
            });
        }
    }
    let month_one: Vec<f64> = (0..a.cohorts.months.len())
        .filter_map(|c| a.cohorts.retention(c, 1))
        .collect();
    if !month_one.is_empty() {
        let mean = month_one.iter().sum::<f64>() / month_one.len() as f64;
        out.push(Finding {
            section: "cohorts",
            text: format!(
                "On average {} of a month's new customers buy again the following month.",
                percent(mean)
            ),
            weight: (1.0 - mean) * 0.4,
        });
    }
    let revenue = o.total.revenue.max(f64::MIN_POSITIVE);
    let slipping: Vec<_> = a
        .segments
        .rfm_segments
        .iter()
        .filter(|s| matches!(s.key.as_str(), "at_risk" | "cant_lose_them"))
        .collect();
    let (slipping_customers, slipping_revenue) = slipping
        .iter()
        .fold((0u64, 0.0), |(n, r), s| (n + s.customers, r + s.revenue));
    if slipping_customers > 0 {
        out.push(Finding {
            section: "segments",
            text: format!(
                "{} once-valuable customers are slipping away (At risk, Can't lose them): they brought {} of revenue ({}). A win-back campaign targets them.",
                thousands(slipping_customers as f64),
                money(slipping_revenue),
                percent(slipping_revenue / revenue)
            ),
            weight: 2.0 * slipping_revenue / revenue,
        });
    }
    if let Some(champions) = a
        .segments
        .rfm_segments
        .iter()
        .find(|s| s.key == "champions")
    {
        out.push(Finding {
            section: "segments",
            text: format!(
                "Your {} Champions ({} of customers) brought {} of revenue.",
                thousands(champions.customers as f64),
                percent(champions.customers as f64 / o.total.customers.max(1) as f64),
                percent(champions.revenue / revenue)
            ),
            weight: 0.5 * champions.revenue / revenue,
        });
    }
    if let Some(p) = &a.pipeline {
        let leak = p
            .overall
            .stages
            .iter()
            .enumerate()
            .filter_map(|(i, s)| Some((i, s, s.to_next_resolved.or(s.to_next)?)))
            .min_by(|x, y| x.2.total_cmp(&y.2));
        if let Some((i, stage, rate)) = leak {
            let next = p.stages.get(i + 1).map_or("won", String::as_str);
            out.push(Finding {
                section: "pipeline",
                text: format!(
                    "The pipeline leaks most between {} and {next}: {} of deals move on. Win rate on closed deals is {}.",
                    stage.stage,
                    percent(rate),
                    p.overall.win_rate.map_or("–".into(), percent)
                ),
                weight: (1.0 - rate) * 0.8,
            });
        }
        let stalled: f64 = p.overall.stalled.iter().map(|d| d.amount).sum();
        if !p.overall.stalled.is_empty() && p.overall.open_amount > 0.0 {
            out.push(Finding {
                section: "pipeline",
                text: format!(
                    "{} open deals worth {} are stalled ({} of the open pipeline).",
                    p.overall.stalled.len(),
                    money(stalled),
                    percent(stalled / p.overall.open_amount)
                ),
                weight: stalled / p.overall.open_amount,
            });
        }
    }
    if let Some(acq) = &a.acquisition {
        let with_roi: Vec<_> = acq
            .channels
            .iter()
            .filter_map(|c| Some((c, c.roi()?)))
            .collect();
        if let (Some(best), Some(worst)) = (
            with_roi.iter().max_by(|x, y| x.1.total_cmp(&y.1)),
            with_roi.iter().min_by(|x, y| x.1.total_cmp(&y.1)),
        ) && best.0.channel != worst.0.channel
        {
            let total_spend: f64 = acq.channels.iter().map(|c| c.spend).sum();
            out.push(Finding {
                section: "acquisition",
                text: format!(
                    "{} returns the most on marketing spend (ROI {}, CAC {}); {} the least (ROI {}, CAC {}).",
                    capitalised(&best.0.channel),
                    percent(best.1),
                    best.0.cac().map_or("–".into(), money),
                    worst.0.channel,
                    percent(worst.1),
                    worst.0.cac().map_or("–".into(), money)
                ),
                weight: worst.0.spend / total_spend.max(f64::MIN_POSITIVE) * (best.1 - worst.1).abs().min(2.0),
            });
        }
    }
    if let Some(mrr) = &a.mrr
        && let Some(nrr) = mrr.mean_over_last(3, |m, i| m.net_revenue_retention(i))
    {
        let churn = mrr.mean_over_last(3, |m, i| m.logo_churn(i)).unwrap_or(0.0);
        out.push(Finding {
            section: "subscriptions",
            text: format!(
                "Subscriptions: net revenue retention {} a month and logo churn {} a month over the last three months; MRR is {}.",
                percent(nrr),
                percent(churn),
                money(mrr.months.last().map_or(0.0, |m| m.mrr))
            ),
            weight: (1.0 - nrr).abs() * 3.0 + churn,
        });
    }
    if let Some(clv) = &a.clv {
        let mut values: Vec<f64> = clv.predictions.clv.iter().flatten().copied().collect();
        values.sort_by(|x, y| y.total_cmp(x));
        let total: f64 = values.iter().sum();
        let top = values.len().div_ceil(10);
        if total > 0.0 {
            let share = values[..top].iter().sum::<f64>() / total;
            out.push(Finding {
                section: "clv",
                text: format!(
                    "Customers are expected to spend {} over the next {} months; the top 10% of customers hold {} of it.",
                    money(total),
                    clv.horizon.0,
                    percent(share)
                ),
                weight: share * 0.6,
            });
        }
    }
    for experiment in &a.experiments {
        for variant in experiment.json["variants"].as_array().into_iter().flatten() {
            if variant["significant"].as_bool() == Some(true)
                && let Some(verdict) = variant["verdict"].as_str()
            {
                out.push(Finding {
                    section: "experiments",
                    text: format!("Experiment {}: {verdict}", experiment.name),
                    weight: 0.5,
                });
            }
        }
    }
    out.sort_by(|x, y| y.weight.total_cmp(&x.weight));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_for_people() {
        assert_eq!(thousands(1234567.4), "1,234,567");
        assert_eq!(thousands(-1234.0), "-1,234");
        assert_eq!(thousands(999.0), "999");
        assert_eq!(money(12.5), "12.50");
        assert_eq!(money(12345.0), "12,345");
        assert_eq!(percent(0.1234), "12.3%");
        assert_eq!(percent(f64::NAN), "–");
    }
}
