//! The analysis report as one self-contained HTML file, and its charts as SVG rendered in
//! Rust (no JavaScript libraries, no fonts or scripts to fetch: the file opens offline).
//!
//! - [`render`] turns an [`Analysis`] into `report.html`: a page ([`html`]) of sections, one
//!   module each under `sections/`, in the order of [`sections::SECTIONS`].
//! - The charts ([`bar_chart`], [`line_chart`], [`heatmap`], [`curve_chart`]) are standalone
//!   SVG documents with `<title>` hover texts giving the exact values; the CLI also writes
//!   them as `.svg` files.
#![warn(missing_docs)]

mod bars;
mod curve;
mod heatmap;
pub mod html;
mod lines;
pub mod sections;
mod svg;

pub use bars::{Bar, BarChart, bar_chart};
pub use curve::{CurveChart, Marker, curve_chart};
pub use heatmap::{Heatmap, heatmap};
pub use lines::{LineChart, Series, line_chart};
pub use sections::budget_curve;

use salesflow_analytics::Analysis;

/// The report of `analysis` as an HTML document; `source` names the data (shown under the
/// title).
pub fn render(analysis: &Analysis, source: &str) -> String {
    let rendered: Vec<html::Section> = sections::SECTIONS
        .iter()
        .filter_map(|render| render(analysis))
        .collect();
    let currency = match analysis.currencies.as_slice() {
        [one] => format!(" · amounts in {one}"),
        _ => String::new(),
    };
    let subtitle = format!(
        "{source} · purchases from {} to {}{currency}",
        analysis.period.0, analysis.period.1
    );
    html::page(
        "salesflow analysis",
        &subtitle,
        &rendered,
        "Made by salesflow analyze. Every number is in metrics.json; every customer in customers_scored.csv.",
    )
}
