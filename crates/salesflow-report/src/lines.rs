//! Lines over a shared x axis (e.g. predicted vs actual holdout purchases by frequency).

use std::fmt::Write as _;

use crate::svg::{escape, number, open_chart};

/// One line.
#[derive(Debug, Clone, PartialEq)]
pub struct Series<'a> {
    /// Legend name.
    pub name: &'a str,
    /// CSS colour.
    pub color: &'a str,
    /// One value per x tick (NaN leaves a gap).
    pub values: Vec<f64>,
}

/// A shaded range between two value rows (a prediction interval).
#[derive(Debug, Clone, PartialEq)]
pub struct Band<'a> {
    /// Legend name.
    pub name: &'a str,
    /// CSS colour (drawn translucent).
    pub color: &'a str,
    /// Lower edge per x tick (NaN: no band there).
    pub lower: Vec<f64>,
    /// Upper edge per x tick.
    pub upper: Vec<f64>,
}

/// What to draw.
#[derive(Debug, Clone, PartialEq)]
pub struct LineChart<'a> {
    /// Chart title.
    pub title: &'a str,
    /// Label of the horizontal axis.
    pub x_label: &'a str,
    /// Label of the vertical axis.
    pub y_label: &'a str,
    /// The x positions' labels, evenly spaced.
    pub x_ticks: Vec<String>,
    /// The lines.
    pub series: Vec<Series<'a>>,
    /// A shaded band under the lines.
    pub band: Option<Band<'a>>,
}

/// Renders the chart as a standalone SVG document; the y axis starts at 0.
pub fn line_chart(chart: &LineChart<'_>) -> String {
    let (left, top, width, height) = (60.0, 40.0, 520.0, 300.0);
    let n = chart.x_ticks.len().max(2);
    let band_values = chart.band.iter().flat_map(|b| b.upper.iter().copied());
    let high = chart
        .series
        .iter()
        .flat_map(|s| s.values.iter().copied())
        .chain(band_values)
        .filter(|v| v.is_finite())
        .fold(0.0_f64, f64::max);
    let high = if high > 0.0 { high * 1.1 } else { 1.0 };
    let x = |i: usize| left + width * i as f64 / (n - 1) as f64;
    let y = |v: f64| top + height * (1.0 - v / high);
    let mut out = String::new();
    open_chart(&mut out, chart.title, (left, top, width, height), 140.0);
    for i in 0..=4 {
        let v = high * f64::from(i) / 4.0;
        let _ = write!(
            out,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="end">{}</text>"#,
            left - 6.0,
            y(v) + 4.0,
            number(v)
        );
    }
    // Labels of about 7 characters fit ten to the axis; with more ticks, every step-th is
    // labelled (every point still carries its label in the hover text).
    let step = chart.x_ticks.len().div_ceil(10).max(1);
    for (i, tick) in chart.x_ticks.iter().enumerate() {
        if i % step != 0 {
            continue;
        }
        let _ = write!(
            out,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">{}</text>"#,
            x(i),
            top + height + 16.0,
            escape(tick)
        );
    }
    let _ = write!(
        out,
        r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">{}</text>"#,
        left + width / 2.0,
        top + height + 36.0,
        escape(chart.x_label)
    );
    let _ = write!(
        out,
        r#"<text transform="translate(14 {:.1}) rotate(-90)" text-anchor="middle">{}</text>"#,
        top + height / 2.0,
        escape(chart.y_label)
    );
    if let Some(band) = &chart.band {
        let inside: Vec<usize> = (0..band.lower.len().min(band.upper.len()))
            .filter(|&i| band.lower[i].is_finite() && band.upper[i].is_finite())
            .collect();
        // Upper edge left to right, then the lower edge back (clipped at the axis).
        let outline: Vec<String> = inside
            .iter()
            .map(|&i| format!("{:.1},{:.1}", x(i), y(band.upper[i])))
            .chain(
                inside
                    .iter()
                    .rev()
                    .map(|&i| format!("{:.1},{:.1}", x(i), y(band.lower[i].max(0.0)))),
            )
            .collect();
        if !outline.is_empty() {
            let _ = write!(
                out,
                r#"<polygon fill="{}" fill-opacity="0.18" stroke="none" points="{}"><title>{}</title></polygon>"#,
                escape(band.color),
                outline.join(" "),
                escape(band.name)
            );
        }
    }
    let legend_rows = chart.series.len();
    for (k, series) in chart.series.iter().enumerate() {
        let points: Vec<String> = series
            .values
            .iter()
            .enumerate()
            .filter(|(_, v)| v.is_finite())
            .map(|(i, v)| format!("{:.1},{:.1}", x(i), y(*v)))
            .collect();
        let _ = write!(
            out,
            r#"<polyline fill="none" stroke="{}" stroke-width="2" points="{}"/>"#,
            escape(series.color),
            points.join(" ")
        );
        for (i, v) in series
            .values
            .iter()
            .enumerate()
            .filter(|(_, v)| v.is_finite())
        {
            let tick = chart.x_ticks.get(i).map_or("", String::as_str);
            let _ = write!(
                out,
                r#"<circle cx="{:.1}" cy="{:.1}" r="3.5" fill="{}"><title>{}: {} {}, {}</title></circle>"#,
                x(i),
                y(*v),
                escape(series.color),
                escape(series.name),
                escape(chart.x_label),
                escape(tick),
                number(*v)
            );
        }
        let ly = top + 14.0 + 18.0 * k as f64;
        let _ = write!(
            out,
            r#"<rect x="{:.1}" y="{:.1}" width="12" height="12" fill="{}"/><text x="{:.1}" y="{:.1}">{}</text>"#,
            left + width + 16.0,
            ly - 10.0,
            escape(series.color),
            left + width + 32.0,
            ly,
            escape(series.name)
        );
    }
    if let Some(band) = &chart.band {
        let ly = top + 14.0 + 18.0 * legend_rows as f64;
        let _ = write!(
            out,
            r#"<rect x="{:.1}" y="{:.1}" width="12" height="12" fill="{}" fill-opacity="0.3"/><text x="{:.1}" y="{:.1}">{}</text>"#,
            left + width + 16.0,
            ly - 10.0,
            escape(band.color),
            left + width + 32.0,
            ly,
            escape(band.name)
        );
    }
    out.push_str("</svg>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn points_carry_their_values() {
        let chart = LineChart {
            title: "Holdout",
            x_label: "purchases in calibration",
            y_label: "mean holdout purchases",
            x_ticks: vec!["0".into(), "1".into(), "2+".into()],
            series: vec![
                Series {
                    name: "actual",
                    color: "#1f77b4",
                    values: vec![0.2, 0.8, f64::NAN],
                },
                Series {
                    name: "predicted",
                    color: "#ff7f0e",
                    values: vec![0.25, 0.7, 1.9],
                },
            ],
            band: None,
        };
        let svg = line_chart(&chart);
        assert_eq!(svg.matches("<polyline").count(), 2);
        assert_eq!(
            svg.matches("<circle").count(),
            5,
            "the NaN point is left out"
        );
        assert!(svg.contains("predicted: purchases in calibration 2+, 1.9"));
        assert!(!svg.contains("<polygon"));
    }

    #[test]
    fn a_band_is_one_polygon_over_its_finite_ticks() {
        let chart = LineChart {
            title: "Revenue",
            x_label: "month",
            y_label: "revenue",
            x_ticks: (0..4).map(|i| i.to_string()).collect(),
            series: vec![Series {
                name: "forecast",
                color: "#2b6cb0",
                values: vec![f64::NAN, 10.0, 11.0, 12.0],
            }],
            band: Some(Band {
                name: "95 % interval",
                color: "#2b6cb0",
                lower: vec![f64::NAN, 8.0, 8.5, -1.0],
                upper: vec![f64::NAN, 12.0, 13.5, 15.0],
            }),
        };
        let svg = line_chart(&chart);
        assert_eq!(svg.matches("<polygon").count(), 1);
        // Three ticks, both edges: six points.
        let polygon = svg.split("<polygon").nth(1).unwrap();
        let points = polygon
            .split("points=\"")
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap();
        assert_eq!(points.split(' ').count(), 6);
        assert!(svg.contains("95 % interval"));
    }
}
