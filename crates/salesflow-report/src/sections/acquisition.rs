//! Acquisition economics: CAC, ROI, payback and CLV:CAC per channel.

use salesflow_analytics::Analysis;
use salesflow_analytics::findings::{money, percent, thousands};

use super::{BLUE, GREEN};
use crate::bars::{Bar, BarChart, bar_chart};
use crate::html::Section;

pub(crate) fn render(a: &Analysis) -> Option<Section> {
    let acq = a.acquisition.as_ref()?;
    let mut s = Section::new("acquisition", "Acquisition economics");
    s.paragraph(&format!(
        "CAC = a channel's marketing spend / the customers it acquired while the spend ran \
         (their first purchase in the spend window). ROI = (those customers' revenue to date - \
         spend) / spend. CLV per customer = revenue to date + {}.",
        if acq.clv_source == "model" {
            "the predicted value of the next months (BG/NBD and Gamma-Gamma)"
        } else {
            "nothing more: without the CLV models this is historical value"
        }
    ));
    let paid: Vec<_> = acq.channels.iter().filter(|c| c.spend > 0.0).collect();
    s.chart(&bar_chart(&BarChart {
        title: "Customer acquisition cost by channel",
        value_label: "CAC",
        bars: paid
            .iter()
            .map(|c| Bar {
                label: c.channel.clone(),
                value: c.cac().unwrap_or(f64::NAN),
                text: c.cac().map_or("no customers".into(), money),
            })
            .collect(),
        color: BLUE,
    }));
    s.chart(&bar_chart(&BarChart {
        title: "Return on marketing spend by channel",
        value_label: "ROI (revenue to date over spend, minus 1)",
        bars: paid
            .iter()
            .map(|c| Bar {
                label: c.channel.clone(),
                value: c.roi().unwrap_or(f64::NAN),
                text: c.roi().map_or("–".into(), percent),
            })
            .collect(),
        color: GREEN,
    }));
    let rows: Vec<Vec<String>> = acq
        .channels
        .iter()
        .map(|c| {
            vec![
                c.channel.clone(),
                money(c.spend),
                thousands(c.new_customers as f64),
                c.cac().map_or("–".into(), money),
                money(c.revenue),
                c.roi().map_or("–".into(), percent),
                c.payback_months().map_or("–".into(), |m| format!("{m:.1}")),
                acq.clv_per_customer
                    .get(&c.channel)
                    .map_or("–".into(), |v| money(*v)),
                acq.clv_to_cac(c).map_or("–".into(), |r| format!("{r:.2}")),
                c.attributed_revenue.map_or("–".into(), money),
            ]
        })
        .collect();
    s.table(
        &[
            "channel",
            "spend",
            "new customers",
            "CAC",
            "their revenue",
            "ROI",
            "payback months",
            "CLV per customer",
            "CLV:CAC",
            "attributed revenue",
        ],
        &rows,
    );
    Some(s)
}
