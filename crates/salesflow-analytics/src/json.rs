//! `metrics.json`: every number of the report under stable keys.
//!
//! Keys are snake_case and only ever added to; a section that did not run is `null` and
//! listed under `skipped` with its reason. Rates are fractions (0.25 = 25 %), money is in
//! the data's currency, durations in days unless the key says otherwise.

use salesflow_engine::pipeline::{PipelineMetrics, PipelineSlice};
use salesflow_engine::sales::GroupValue;
use serde_json::{Value, json};

use crate::Analysis;
use crate::segments::SegmentStats;

/// The whole document.
pub fn metrics(analysis: &Analysis) -> Value {
    let o = &analysis.orders;
    json!({
        "schema_version": 1,
        "currencies": analysis.currencies,
        "period": {
            "first_purchase": analysis.period.0.to_string(),
            "last_purchase": analysis.period.1.to_string(),
        },
        "data_quality": analysis.quality.tables.iter().map(|t| json!({
            "table": t.table,
            "rows_read": t.rows_read,
            "rows_kept": t.rows_kept,
            "rows_rejected": t.rows_rejected,
            "duplicates_removed": t.duplicates_removed,
            "rows_repaired": t.rows_repaired,
            "rows_flagged": t.rows_flagged,
        })).collect::<Vec<_>>(),
        "orders": {
            "orders": o.total.orders,
            "customers": o.total.customers,
            "revenue": o.total.revenue,
            "average_order_value": o.total.aov(),
            "orders_per_customer": o.orders_per_customer(),
            "repeat_customers": o.repeat_customers,
            "repeat_purchase_rate": o.repeat_rate(),
            "refunded_orders": o.refunds.0,
            "refunded_amount": o.refunds.1,
            "cancelled_orders": o.cancelled,
            "aov_trend_per_month": o.aov_trend.map(|t| t.per_month),
            "aov_trend_relative_per_month": o.aov_trend.map(|t| t.relative_per_month),
            "by_channel": o.by_channel.iter().map(group).collect::<Vec<_>>(),
            "by_month": o.by_month.iter().map(|m| {
                let mut v = group(&m.value);
                v["month"] = json!(m.month);
                v["new_customers"] = json!(m.new_customers);
                v
            }).collect::<Vec<_>>(),
            "by_segment": analysis.segments.rfm_segments.iter().map(|s| json!({
                "key": s.key,
                "average_order_value": if s.mean_orders > 0.0 { s.mean_revenue / s.mean_orders } else { 0.0 },
                "orders": s.mean_orders * s.customers as f64,
                "revenue": s.revenue,
            })).collect::<Vec<_>>(),
        },
        "funnel": analysis.funnel.as_ref().map(|f| json!({
            "visitors": f.visitors,
            "customers": f.converted,
            "conversion_rate": f.conversion_rate(),
            "steps": f.steps.iter().map(|s| json!({"step": s.step, "customers": s.customers})).collect::<Vec<_>>(),
        })),
        "cohorts": {
            "months": analysis.cohorts.months,
            "sizes": analysis.cohorts.sizes,
            "active_customers": analysis.cohorts.active,
            "revenue": analysis.cohorts.revenue,
        },
        "pipeline": analysis.pipeline.as_ref().map(pipeline),
        "pipeline_slices": analysis.pipeline_slices.iter().map(|p| json!({
            "by": p.dimension.map(|d| d.column()),
            "slices": p.slices.iter().map(slice).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
        "subscriptions": analysis.mrr.as_ref().map(|mrr| json!({
            "months": mrr.months.iter().enumerate().map(|(i, m)| json!({
                "month": m.month,
                "mrr": m.mrr,
                "customers": m.customers,
                "new": m.new,
                "expansion": m.expansion,
                "contraction": m.contraction,
                "churn": m.churn,
                "reactivation": m.reactivation,
                "new_customers": m.new_customers,
                "churned_customers": m.churned_customers,
                "logo_churn": mrr.logo_churn(i),
                "revenue_churn": mrr.revenue_churn(i),
                "net_revenue_retention": mrr.net_revenue_retention(i),
            })).collect::<Vec<_>>(),
            "logo_churn_last_3_months": mrr.mean_over_last(3, |m, i| m.logo_churn(i)),
            "revenue_churn_last_3_months": mrr.mean_over_last(3, |m, i| m.revenue_churn(i)),
            "net_revenue_retention_last_3_months": mrr.mean_over_last(3, |m, i| m.net_revenue_retention(i)),
        })),
        "acquisition": analysis.acquisition.as_ref().map(|a| json!({
            "clv_source": a.clv_source,
            "channels": a.channels.iter().map(|c| json!({
                "channel": c.channel,
                "spend": c.spend,
                "new_customers": c.new_customers,
                "revenue": c.revenue,
                "attributed_revenue": c.attributed_revenue,
                "cac": c.cac(),
                "roi": c.roi(),
                "payback_months": c.payback_months(),
                "clv_per_customer": a.clv_per_customer.get(&c.channel),
                "clv_to_cac": a.clv_to_cac(c),
            })).collect::<Vec<_>>(),
        })),
        "clv": analysis.clv.as_ref().map(|c| json!({
            "purchase_model": "bg_nbd",
            "purchase_params": params(&c.purchase_fit.params),
            "purchase_log_likelihood": c.purchase_fit.log_likelihood,
            "purchase_converged": c.purchase_fit.converged,
            "spend_model": "gamma_gamma",
            "spend_params": params(&c.spend_fit.params),
            "spend_converged": c.spend_fit.converged,
            "frequency_spend_correlation": c.frequency_spend_correlation,
            "horizon_months": c.horizon.0,
            "monthly_discount_rate": c.horizon.1,
            "total_clv": c.total(),
            "expected_purchases_90_days": c.expected_purchases(),
            "expected_alive_customers": c.expected_alive(),
        })),
        "segments": {
            "rfm": analysis.segments.rfm_segments.iter().map(segment).collect::<Vec<_>>(),
            "clusters": analysis.segments.clusters.as_ref().map(|c| json!({
                "k": c.k,
                "silhouette": c.silhouette,
                "silhouette_by_k": c.silhouette_by_k.iter().map(|(k, s)| json!({"k": k, "silhouette": s})).collect::<Vec<_>>(),
                "clusters": c.stats.iter().map(segment).collect::<Vec<_>>(),
            })),
            "rules": analysis.segments.rules.iter().map(segment).collect::<Vec<_>>(),
            "playbook": analysis.segments.actions.iter().zip(analysis.segments.action_counts()).map(|(a, n)| json!({
                "action": a,
                "customers": n,
            })).collect::<Vec<_>>(),
        },
        "budget": analysis.budget.as_ref().map(|b| b.json()),
        "churn": analysis.churn.as_ref().map(|c| c.json(false)),
        "spend": analysis.spend.as_ref().map(|s| s.json()),
        "leads": analysis.leads.as_ref().map(|l| l.json(false)),
        "forecast": analysis.forecast.as_ref().map(|f| crate::forecast::forecast_json(f, true)),
        "experiments": analysis.experiments.iter().map(|e| e.json.clone()).collect::<Vec<_>>(),
        "skipped": analysis.skipped.iter().map(|s| json!({"section": s.section, "reason": s.reason})).collect::<Vec<_>>(),
    })
}

fn group(g: &GroupValue) -> Value {
    json!({
        "key": g.key,
        "orders": g.orders,
        "customers": g.customers,
        "revenue": g.revenue,
        "average_order_value": g.aov(),
    })
}

fn params(p: &[(&'static str, f64)]) -> Value {
    Value::Object(p.iter().map(|(k, v)| ((*k).to_owned(), json!(v))).collect())
}

fn segment(s: &SegmentStats) -> Value {
    json!({
        "key": s.key,
        "name": s.name,
        "customers": s.customers,
        "revenue": s.revenue,
        "mean_recency_days": s.mean_recency_days,
        "mean_orders": s.mean_orders,
        "mean_revenue": s.mean_revenue,
        "action": s.action,
    })
}

fn pipeline(p: &PipelineMetrics) -> Value {
    json!({
        "stages": p.stages,
        "as_of": p.as_of.to_string(),
        "learned": p.learned.iter().map(|l| json!({
            "stage": l.stage,
            "win_probability": l.win_probability,
            "stall_days": l.stall_days,
            "days_to_close": l.days_to_close,
        })).collect::<Vec<_>>(),
        "overall": slice(&p.overall),
    })
}

fn slice(s: &PipelineSlice) -> Value {
    json!({
        "value": s.value,
        "deals": s.deals,
        "open": s.open,
        "won": s.won,
        "lost": s.lost,
        "won_amount": s.won_amount,
        "open_amount": s.open_amount,
        "weighted_amount": s.weighted_amount,
        "win_rate": s.win_rate,
        "average_deal_size": s.average_deal_size,
        "cycle_days_mean": s.cycle_days_mean,
        "cycle_days_median": s.cycle_days_median,
        "velocity_per_30_days": s.velocity_per_30_days,
        "stalled_deals": s.stalled.len(),
        "stalled_amount": s.stalled.iter().map(|d| d.amount).sum::<f64>(),
        "coverage": s.coverage.map(|c| json!({"target": c.target, "weighted": c.weighted, "unweighted": c.unweighted})),
        "stages": s.stages.iter().map(|st| json!({
            "stage": st.stage,
            "reached": st.reached,
            "open": st.open,
            "to_next": st.to_next,
            "to_next_resolved": st.to_next_resolved,
            "to_won": st.to_won,
            "win_probability": st.win_probability,
            "days_mean": st.days_mean,
            "days_median": st.days_median,
        })).collect::<Vec<_>>(),
        "by_close_month": s.by_close_month.iter().map(|m| json!({
            "month": m.month, "deals": m.deals, "amount": m.amount, "weighted": m.weighted,
        })).collect::<Vec<_>>(),
    })
}
