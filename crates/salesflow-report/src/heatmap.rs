//! A matrix of values as coloured cells (e.g. expected purchases by frequency and recency).

use std::fmt::Write as _;

use crate::svg::{blue, escape, number};

/// What to draw.
#[derive(Debug, Clone, PartialEq)]
pub struct Heatmap<'a> {
    /// Chart title.
    pub title: &'a str,
    /// Label of the horizontal axis (columns).
    pub x_label: &'a str,
    /// Label of the vertical axis (rows, drawn top to bottom).
    pub y_label: &'a str,
    /// Column labels.
    pub x_ticks: Vec<String>,
    /// Row labels.
    pub y_ticks: Vec<String>,
    /// `values[row][column]`.
    pub values: Vec<Vec<f64>>,
}

/// Renders the heatmap as a standalone SVG document.
pub fn heatmap(chart: &Heatmap<'_>) -> String {
    let (cols, rows) = (chart.x_ticks.len().max(1), chart.y_ticks.len().max(1));
    let (left, top, cell) = (70.0, 50.0, (480.0 / cols.max(rows) as f64).clamp(6.0, 40.0));
    let (width, height) = (
        left + cell * cols as f64 + 90.0,
        top + cell * rows as f64 + 60.0,
    );
    let finite = chart
        .values
        .iter()
        .flatten()
        .copied()
        .filter(|v| v.is_finite());
    let (lo, hi) = finite.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
        (lo.min(v), hi.max(v))
    });
    let span = if hi > lo { hi - lo } else { 1.0 };
    let mut out = String::new();
    let _ = write!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0}" height="{height:.0}" viewBox="0 0 {width:.0} {height:.0}" font-family="sans-serif" font-size="11">"#
    );
    let _ = write!(
        out,
        r#"<text x="{left}" y="20" font-size="14" font-weight="bold">{}</text>"#,
        escape(chart.title)
    );
    for (r, row) in chart.values.iter().enumerate() {
        for (c, value) in row.iter().enumerate() {
            let (x, y) = (left + c as f64 * cell, top + r as f64 * cell);
            let label = format!(
                "{} {}, {} {}: {}",
                chart.y_label,
                chart.y_ticks.get(r).map_or("", String::as_str),
                chart.x_label,
                chart.x_ticks.get(c).map_or("", String::as_str),
                number(*value)
            );
            let _ = write!(
                out,
                r#"<rect x="{x:.1}" y="{y:.1}" width="{cell:.1}" height="{cell:.1}" fill="{}"><title>{}</title></rect>"#,
                blue((value - lo) / span),
                escape(&label)
            );
        }
    }
    // Ticks: at most about ten per axis.
    let step = |n: usize| n.div_ceil(10).max(1);
    for (c, tick) in chart.x_ticks.iter().enumerate().step_by(step(cols)) {
        let x = left + (c as f64 + 0.5) * cell;
        let _ = write!(
            out,
            r#"<text x="{x:.1}" y="{:.1}" text-anchor="middle">{}</text>"#,
            top + rows as f64 * cell + 14.0,
            escape(tick)
        );
    }
    for (r, tick) in chart.y_ticks.iter().enumerate().step_by(step(rows)) {
        let y = top + (r as f64 + 0.5) * cell + 4.0;
        let _ = write!(
            out,
            r#"<text x="{:.1}" y="{y:.1}" text-anchor="end">{}</text>"#,
            left - 6.0,
            escape(tick)
        );
    }
    let _ = write!(
        out,
        r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">{}</text>"#,
        left + cols as f64 * cell / 2.0,
        top + rows as f64 * cell + 34.0,
        escape(chart.x_label)
    );
    let _ = write!(
        out,
        r#"<text transform="translate(16 {:.1}) rotate(-90)" text-anchor="middle">{}</text>"#,
        top + rows as f64 * cell / 2.0,
        escape(chart.y_label)
    );
    // Legend: the colour scale from low to high.
    let legend_x = left + cols as f64 * cell + 20.0;
    for i in 0..10 {
        let t = 1.0 - f64::from(i) / 9.0;
        let _ = write!(
            out,
            r#"<rect x="{legend_x:.1}" y="{:.1}" width="14" height="14" fill="{}"/>"#,
            top + f64::from(i) * 14.0,
            blue(t)
        );
    }
    let _ = write!(
        out,
        r#"<text x="{:.1}" y="{:.1}">{}</text>"#,
        legend_x + 18.0,
        top + 11.0,
        number(hi)
    );
    let _ = write!(
        out,
        r#"<text x="{:.1}" y="{:.1}">{}</text>"#,
        legend_x + 18.0,
        top + 137.0,
        number(lo)
    );
    out.push_str("</svg>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_cell_is_drawn_with_its_value() {
        let chart = Heatmap {
            title: "Expected purchases <next 52 weeks>",
            x_label: "recency",
            y_label: "frequency",
            x_ticks: vec!["0".into(), "1".into()],
            y_ticks: vec!["0".into(), "1".into(), "2".into()],
            values: vec![vec![0.1, 0.2], vec![0.3, f64::NAN], vec![1.5, 2.0]],
        };
        let svg = heatmap(&chart);
        assert!(svg.starts_with("<svg"));
        assert!(svg.ends_with("</svg>\n"));
        assert_eq!(svg.matches("<title>").count(), 6);
        assert!(svg.contains("frequency 2, recency 1: 2"));
        assert!(svg.contains("&lt;next 52 weeks&gt;"));
        assert!(svg.contains("#cccccc"), "NaN cells are grey");
    }
}
