//! Customer lifetime value: the fitted models, the distribution of predicted value, and the
//! most valuable customers.

use salesflow_analytics::Analysis;
use salesflow_analytics::findings::{money, percent, thousands};

use super::GREEN;
use crate::bars::{Bar, BarChart, bar_chart};
use crate::html::Section;

pub(crate) fn render(a: &Analysis) -> Option<Section> {
    let clv = a.clv.as_ref()?;
    let mut s = Section::new("clv", "Customer lifetime value");
    let (months, rate) = clv.horizon;
    s.cards(&[
        ("predicted value, all customers", money(clv.total())),
        (
            "expected purchases, next 90 days",
            thousands(clv.expected_purchases()),
        ),
        (
            "customers probably still active",
            thousands(clv.expected_alive()),
        ),
    ]);
    let params = |fit: &salesflow_models::clv::FitResult| {
        fit.params
            .iter()
            .map(|(n, v)| format!("{n} = {v:.4}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    s.paragraph(&format!(
        "BG/NBD (purchases, in days): {}; log-likelihood {:.1}{}. Gamma-Gamma (spend per order): {}{}. \
         Value = expected spend over the next {months} months, discounted {} a month.",
        params(&clv.purchase_fit),
        clv.purchase_fit.log_likelihood,
        if clv.purchase_fit.converged { "" } else { " (did not converge)" },
        params(&clv.spend_fit),
        if clv.spend_fit.converged { "" } else { " (did not converge)" },
        percent(rate)
    ));
    if clv.frequency_spend_correlation.abs() > 0.3 {
        s.note(&format!(
            "Repeat frequency and spend per order correlate ({:.2}); Gamma-Gamma assumes they \
             do not, so spend predictions are less reliable.",
            clv.frequency_spend_correlation
        ));
    }
    let mut values: Vec<f64> = clv.predictions.clv.iter().flatten().copied().collect();
    values.sort_by(f64::total_cmp);
    if let Some(&top) = values.last() {
        // Bins by quantile edges rounded for people: equal-width bins would put nearly
        // everyone in the first one.
        let edges = [0.0, 0.25, 0.5, 0.75, 0.9, 0.99, 1.0];
        let at = |q: f64| values[((values.len() - 1) as f64 * q).round() as usize];
        let bars: Vec<Bar> = edges
            .windows(2)
            .map(|w| {
                let (lo, hi) = (at(w[0]), if w[1] >= 1.0 { top } else { at(w[1]) });
                let count = values
                    .iter()
                    .filter(|v| **v >= lo && (**v < hi || (w[1] >= 1.0 && **v <= hi)))
                    .count();
                let sum: f64 = values
                    .iter()
                    .filter(|v| **v >= lo && (**v < hi || (w[1] >= 1.0 && **v <= hi)))
                    .sum();
                Bar {
                    label: format!("{} to {}", money(lo), money(hi)),
                    value: sum,
                    text: format!(
                        "{} customers, {} in total",
                        thousands(count as f64),
                        money(sum)
                    ),
                }
            })
            .collect();
        s.chart(&bar_chart(&BarChart {
            title: "Predicted value by customer band (percentiles 0-25-50-75-90-99-100)",
            value_label: "total predicted value",
            bars,
            color: GREEN,
        }));
    }
    let ids = salesflow_analytics::scored::customer_ids(a);
    let mut ranked: Vec<(usize, f64)> = clv
        .predictions
        .clv
        .iter()
        .enumerate()
        .filter_map(|(i, v)| Some((i, (*v)?)))
        .collect();
    ranked.sort_by(|x, y| y.1.total_cmp(&x.1));
    let rows: Vec<Vec<String>> = ranked
        .iter()
        .take(10)
        .map(|&(i, v)| {
            vec![
                ids.get(i).cloned().unwrap_or_default(),
                money(v),
                percent(clv.predictions.p_alive[i]),
                format!("{:.2}", clv.predictions.expected_purchases[i]),
                a.segments.rfm[i].segment.name().to_owned(),
            ]
        })
        .collect();
    s.heading("Most valuable customers");
    s.table(
        &[
            "customer",
            "predicted value",
            "probability active",
            "purchases next 90 days",
            "RFM segment",
        ],
        &rows,
    );
    Some(s)
}
