//! The executive summary: headline numbers, the findings (three most important first), and
//! what was skipped.

use salesflow_analytics::Analysis;
use salesflow_analytics::findings::{findings, money, percent, thousands};

use crate::html::Section;
use crate::svg::escape;

pub(crate) fn render(a: &Analysis) -> Option<Section> {
    let mut s = Section::new("summary", "Executive summary");
    let o = &a.orders;
    let mut cards = vec![
        ("revenue", money(o.total.revenue)),
        ("orders", thousands(o.total.orders as f64)),
        ("customers", thousands(o.total.customers as f64)),
        ("average order value", money(o.total.aov())),
        ("repeat-purchase rate", percent(o.repeat_rate())),
    ];
    if let Some(clv) = &a.clv {
        cards.push(("predicted 12-month value", money(clv.total())));
    }
    if let Some(p) = &a.pipeline
        && let Some(rate) = p.overall.win_rate
    {
        cards.push(("deal win rate", percent(rate)));
    }
    if let Some(mrr) = a.mrr.as_ref().and_then(|m| m.months.last()) {
        cards.push(("MRR", money(mrr.mrr)));
    }
    s.cards(&cards);
    if a.currencies.len() > 1 {
        s.paragraph(&format!(
            "Warning: orders are in several currencies ({}); amounts are added as they are. \
             Convert them to one currency before reading any total.",
            a.currencies.join(", ")
        ));
    }
    s.heading("What matters most");
    let list = findings(a);
    s.raw(r#"<ol class="findings">"#);
    for (i, f) in list.iter().enumerate() {
        let class = if i < 3 { r#" class="top""# } else { "" };
        s.raw(&format!(
            r##"<li{class}>{} <a href="#{}">more</a></li>"##,
            escape(&f.text),
            f.section
        ));
    }
    s.raw("</ol>");
    if !a.skipped.is_empty() {
        s.heading("Not in this report");
        let items: Vec<String> = a
            .skipped
            .iter()
            .map(|k| format!("{}: {}", k.section, k.reason))
            .collect();
        s.list(&items);
    }
    Some(s)
}
