//! A fitted curve over observed points on numeric axes (e.g. a channel's response to spend),
//! with marked positions (current and proposed spend).

use std::fmt::Write as _;

use crate::svg::{escape, number, open_chart};

/// A marked position on the curve.
#[derive(Debug, Clone, PartialEq)]
pub struct Marker<'a> {
    /// Legend name.
    pub name: &'a str,
    /// CSS colour.
    pub color: &'a str,
    /// Position.
    pub x: f64,
    /// Value there.
    pub y: f64,
}

/// What to draw.
#[derive(Debug, Clone, PartialEq)]
pub struct CurveChart<'a> {
    /// Chart title.
    pub title: &'a str,
    /// Label of the horizontal axis.
    pub x_label: &'a str,
    /// Label of the vertical axis.
    pub y_label: &'a str,
    /// Observed (x, y) points, drawn as dots.
    pub points: Vec<(f64, f64)>,
    /// The fitted curve, as (x, y) in increasing x.
    pub curve: Vec<(f64, f64)>,
    /// Marked positions.
    pub markers: Vec<Marker<'a>>,
}

/// Renders the chart as a standalone SVG document; both axes start at 0.
pub fn curve_chart(chart: &CurveChart<'_>) -> String {
    let (left, top, width, height) = (60.0, 40.0, 520.0, 300.0);
    let finite = |p: &&(f64, f64)| p.0.is_finite() && p.1.is_finite();
    let all = chart
        .points
        .iter()
        .chain(&chart.curve)
        .filter(finite)
        .copied()
        .chain(chart.markers.iter().map(|m| (m.x, m.y)));
    let (x_high, y_high) = all.fold((0.0f64, 0.0f64), |(a, b), (x, y)| (a.max(x), b.max(y)));
    let x_high = if x_high > 0.0 { x_high * 1.05 } else { 1.0 };
    let y_high = if y_high > 0.0 { y_high * 1.1 } else { 1.0 };
    let x = |v: f64| left + width * v / x_high;
    let y = |v: f64| top + height * (1.0 - v / y_high);
    let mut out = String::new();
    open_chart(&mut out, chart.title, (left, top, width, height), 150.0);
    for i in 0..=4 {
        let (vx, vy) = (x_high * f64::from(i) / 4.0, y_high * f64::from(i) / 4.0);
        let _ = write!(
            out,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="end">{}</text><text x="{:.1}" y="{:.1}" text-anchor="middle">{}</text>"#,
            left - 6.0,
            y(vy) + 4.0,
            number(vy),
            x(vx),
            top + height + 16.0,
            number(vx)
        );
    }
    let _ = write!(
        out,
        r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">{}</text><text transform="translate(14 {:.1}) rotate(-90)" text-anchor="middle">{}</text>"#,
        left + width / 2.0,
        top + height + 36.0,
        escape(chart.x_label),
        top + height / 2.0,
        escape(chart.y_label)
    );
    for p in chart.points.iter().filter(finite) {
        let _ = write!(
            out,
            r##"<circle cx="{:.1}" cy="{:.1}" r="2.5" fill="#9ab" fill-opacity="0.7"><title>{} {}, {} {}</title></circle>"##,
            x(p.0),
            y(p.1),
            escape(chart.x_label),
            number(p.0),
            escape(chart.y_label),
            number(p.1)
        );
    }
    let line: Vec<String> = chart
        .curve
        .iter()
        .filter(finite)
        .map(|p| format!("{:.1},{:.1}", x(p.0), y(p.1)))
        .collect();
    let _ = write!(
        out,
        r##"<polyline fill="none" stroke="#1f77b4" stroke-width="2" points="{}"/>"##,
        line.join(" ")
    );
    for (k, m) in chart.markers.iter().enumerate() {
        let _ = write!(
            out,
            r#"<circle cx="{:.1}" cy="{:.1}" r="6" fill="{c}"><title>{}: {} {}, {} {}</title></circle>"#,
            x(m.x),
            y(m.y),
            escape(m.name),
            escape(chart.x_label),
            number(m.x),
            escape(chart.y_label),
            number(m.y),
            c = escape(m.color)
        );
        let ly = top + 14.0 + 18.0 * k as f64;
        let _ = write!(
            out,
            r#"<circle cx="{:.1}" cy="{:.1}" r="6" fill="{}"/><text x="{:.1}" y="{:.1}">{}</text>"#,
            left + width + 22.0,
            ly - 4.0,
            escape(m.color),
            left + width + 34.0,
            ly,
            escape(m.name)
        );
    }
    out.push_str("</svg>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn points_curve_and_markers_are_drawn_with_their_values() {
        let chart = CurveChart {
            title: "search",
            x_label: "spend per week",
            y_label: "leads per week",
            points: vec![(1000.0, 20.0), (f64::NAN, 1.0), (3000.0, 41.0)],
            curve: vec![(0.0, 0.0), (2000.0, 30.0), (4000.0, 45.0)],
            markers: vec![
                Marker {
                    name: "now",
                    color: "#888",
                    x: 2500.0,
                    y: 36.0,
                },
                Marker {
                    name: "proposed",
                    color: "#d62728",
                    x: 3500.0,
                    y: 43.0,
                },
            ],
        };
        let svg = curve_chart(&chart);
        assert_eq!(svg.matches("<polyline").count(), 1);
        // Two finite points, two markers and their two legend dots.
        assert_eq!(svg.matches("<circle").count(), 6);
        assert!(svg.contains("proposed: spend per week 3500, leads per week 43"));
    }
}
