//! Horizontal bar chart: one labelled bar per category (funnel stages, segments, channels,
//! value ranges), negative values drawn left of a zero line.

use std::fmt::Write as _;

use crate::svg::{escape, number};

/// One bar.
#[derive(Debug, Clone)]
pub struct Bar {
    /// The category, drawn left of the bar.
    pub label: String,
    /// The value (non-finite values draw no bar).
    pub value: f64,
    /// Text drawn at the bar's end and in its hover title (the exact value, formatted).
    pub text: String,
}

/// A bar chart.
#[derive(Debug, Clone)]
pub struct BarChart<'a> {
    /// Bold title.
    pub title: &'a str,
    /// What the values are.
    pub value_label: &'a str,
    /// The bars, top to bottom.
    pub bars: Vec<Bar>,
    /// Fill colour.
    pub color: &'a str,
}

/// Renders the chart as a standalone SVG document.
pub fn bar_chart(chart: &BarChart<'_>) -> String {
    let label_width = chart
        .bars
        .iter()
        .map(|b| b.label.chars().count())
        .max()
        .unwrap_or(0)
        .clamp(4, 28) as f64
        * 6.5
        + 12.0;
    let text_width = chart
        .bars
        .iter()
        .map(|b| b.text.chars().count())
        .max()
        .unwrap_or(0) as f64
        * 6.2
        + 12.0;
    let (left, top, width, row) = (label_width, 36.0, 420.0, 22.0);
    let height = row * chart.bars.len().max(1) as f64;
    let finite = || chart.bars.iter().map(|b| b.value).filter(|v| v.is_finite());
    let high = finite().fold(0.0_f64, f64::max);
    let low = finite().fold(0.0_f64, f64::min);
    let span = if high - low > 0.0 { high - low } else { 1.0 };
    let x = |v: f64| left + width * (v - low) / span;
    let mut out = String::new();
    let _ = write!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w:.0}" height="{h:.0}" viewBox="0 0 {w:.0} {h:.0}" font-family="sans-serif" font-size="11" role="img">"#,
        w = left + width + text_width,
        h = top + height + 34.0
    );
    let _ = write!(
        out,
        r#"<text x="4" y="20" font-size="14" font-weight="bold">{}</text>"#,
        escape(chart.title)
    );
    for (i, bar) in chart.bars.iter().enumerate() {
        let y = top + row * i as f64;
        let _ = write!(
            out,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="end">{}</text>"#,
            left - 6.0,
            y + row * 0.65,
            escape(&truncate(&bar.label, 28))
        );
        if !bar.value.is_finite() {
            continue;
        }
        let (a, b) = (x(0.0).min(x(bar.value)), x(0.0).max(x(bar.value)));
        let _ = write!(
            out,
            r#"<rect x="{a:.1}" y="{:.1}" width="{:.1}" height="{:.1}" fill="{}"><title>{}: {}</title></rect>"#,
            y + 3.0,
            (b - a).max(0.5),
            row - 6.0,
            escape(if bar.value < 0.0 {
                "#c0392b"
            } else {
                chart.color
            }),
            escape(&bar.label),
            escape(&bar.text)
        );
        let _ = write!(
            out,
            r#"<text x="{:.1}" y="{:.1}">{}</text>"#,
            b + 4.0,
            y + row * 0.65,
            escape(&bar.text)
        );
    }
    let _ = write!(
        out,
        r##"<line x1="{z:.1}" y1="{top}" x2="{z:.1}" y2="{b:.1}" stroke="#444"/>"##,
        z = x(0.0),
        b = top + height
    );
    let _ = write!(
        out,
        r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">{} (axis {} to {})</text>"#,
        left + width / 2.0,
        top + height + 22.0,
        escape(chart.value_label),
        number(low),
        number(high)
    );
    out.push_str("</svg>\n");
    out
}

fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_owned()
    } else {
        let mut t: String = text.chars().take(max - 1).collect();
        t.push('…');
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_bar_has_its_value_and_negatives_go_left() {
        let chart = BarChart {
            title: "ROI by channel",
            value_label: "ROI",
            color: "#2b6cb0",
            bars: vec![
                Bar {
                    label: "search".into(),
                    value: 1.5,
                    text: "150%".into(),
                },
                Bar {
                    label: "display".into(),
                    value: -0.5,
                    text: "-50%".into(),
                },
                Bar {
                    label: "none".into(),
                    value: f64::NAN,
                    text: "–".into(),
                },
            ],
        };
        let svg = bar_chart(&chart);
        assert_eq!(svg.matches("<rect").count(), 2, "no bar for NaN");
        assert!(svg.contains("<title>search: 150%</title>"));
        assert!(svg.contains("<title>display: -50%</title>"));
        assert!(svg.contains("#c0392b"), "negative bars are red");
        // Zero sits a quarter of the way in: the span is -0.5 to 1.5.
        let zero = chart_zero(&svg);
        let left = 7.0 * 6.5 + 12.0;
        assert!((zero - (left + 420.0 * 0.25)).abs() < 0.1, "{zero}");
    }

    fn chart_zero(svg: &str) -> f64 {
        let at = svg.find("<line x1=\"").unwrap() + 10;
        svg[at..].split('"').next().unwrap().parse().unwrap()
    }
}
