//! Experiments: each A/B test's arms, the tests, and the verdict (the same evaluation as
//! `salesflow abtest`).

use salesflow_analytics::Analysis;
use salesflow_analytics::experiments::{p_text, points};
use salesflow_analytics::findings::{money, percent, thousands};
use serde_json::Value;

use super::BLUE;
use crate::bars::{Bar, BarChart, bar_chart};
use crate::html::Section;

fn number(v: &Value, key: &str) -> Option<f64> {
    v.get(key).and_then(Value::as_f64)
}

pub(crate) fn render(a: &Analysis) -> Option<Section> {
    if a.experiments.is_empty() {
        return None;
    }
    let mut s = Section::new("experiments", "Experiments");
    s.note(
        "Each variant against the control: two-proportion z-test (p-values Holm-adjusted when \
         there are several variants), Fisher's exact test, the Bayesian chance the variant is \
         better (uniform priors), revenue per customer by Welch's t-test, and a sample-ratio \
         check of the split. salesflow abtest prints the same with every interval.",
    );
    for experiment in &a.experiments {
        let j = &experiment.json;
        s.heading(&experiment.name);
        let control = &j["control"];
        let variants = j["variants"].as_array().cloned().unwrap_or_default();
        if let Some(ok) = j["sample_ratio"]["ok"].as_bool()
            && !ok
        {
            s.paragraph(&format!(
                "The arms are not split as planned (sample-ratio p = {}): fix the assignment \
                 before trusting the results.",
                p_text(number(&j["sample_ratio"], "p_value").unwrap_or(0.0))
            ));
        }
        let verdicts: Vec<String> = variants
            .iter()
            .filter_map(|v| v["verdict"].as_str().map(str::to_owned))
            .collect();
        s.list(&verdicts);
        let mut bars = vec![Bar {
            label: control["variant"].as_str().unwrap_or("control").to_owned(),
            value: number(control, "conversion_rate").unwrap_or(f64::NAN),
            text: number(control, "conversion_rate").map_or("–".into(), percent),
        }];
        let mut rows = vec![vec![
            control["variant"].as_str().unwrap_or("control").to_owned(),
            thousands(number(control, "customers").unwrap_or(0.0)),
            thousands(number(control, "converted").unwrap_or(0.0)),
            number(control, "conversion_rate").map_or("–".into(), percent),
            "–".into(),
            "–".into(),
            "–".into(),
            "–".into(),
            "–".into(),
        ]];
        for v in &variants {
            let name = v["variant"].as_str().unwrap_or("variant").to_owned();
            let rate = number(v, "conversion_rate").unwrap_or(f64::NAN);
            bars.push(Bar {
                label: name.clone(),
                value: rate,
                text: percent(rate),
            });
            let ci = v["ci_difference"].as_array();
            let interval = ci
                .and_then(|c| {
                    Some(format!(
                        "{} to {}",
                        points(c[0].as_f64()?),
                        points(c[1].as_f64()?)
                    ))
                })
                .unwrap_or_else(|| "–".into());
            let revenue = v["revenue"]
                .get("difference")
                .and_then(Value::as_f64)
                .map_or("–".into(), |d| {
                    format!("{}{}", if d >= 0.0 { "+" } else { "-" }, money(d.abs()))
                });
            rows.push(vec![
                name,
                thousands(number(v, "customers").unwrap_or(0.0)),
                thousands(number(v, "converted").unwrap_or(0.0)),
                percent(rate),
                number(v, "difference").map_or("–".into(), points),
                interval,
                number(v, "p_value_adjusted_holm").map_or("–".into(), p_text),
                number(v, "prob_better").map_or("–".into(), percent),
                revenue,
            ]);
        }
        s.chart(&bar_chart(&BarChart {
            title: &format!("{}: conversion by arm", experiment.name),
            value_label: "conversion rate",
            bars,
            color: BLUE,
        }));
        s.table(
            &[
                "arm",
                "customers",
                "converted",
                "conversion",
                "difference, points",
                "95% interval, points",
                "p-value",
                "chance better",
                "revenue per customer vs control",
            ],
            &rows,
        );
    }
    Some(s)
}
