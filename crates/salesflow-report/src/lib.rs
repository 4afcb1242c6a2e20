//! Charts as self-contained SVG, rendered in Rust (no JavaScript, no fonts to fetch).
//!
//! The HTML report and the dashboard will embed these; the CLI writes them as `.svg` files.
//! Each chart carries `<title>` hover texts with the exact values, so a reader can check any
//! cell or point.
#![warn(missing_docs)]

mod curve;
mod heatmap;
mod lines;
mod svg;

pub use curve::{CurveChart, Marker, curve_chart};
pub use heatmap::{Heatmap, heatmap};
pub use lines::{LineChart, Series, line_chart};
