//! The report's sections, one module each. A section renders from the [`Analysis`] alone and
//! returns `None` when the analysis has nothing for it; adding one is a module here and a line
//! in [`SECTIONS`].

mod acquisition;
mod budget;
mod clv;
mod cohorts;
mod experiments;
mod forecasts;
mod orders;
mod pipeline;
mod predictions;
mod quality;
mod segments;
mod subscriptions;
mod summary;

use salesflow_analytics::Analysis;

use crate::html::Section;

/// A section's renderer.
pub type Render = fn(&Analysis) -> Option<Section>;

/// Every section, in reading order.
pub const SECTIONS: &[Render] = &[
    summary::render,
    quality::render,
    pipeline::render,
    orders::render,
    cohorts::render,
    subscriptions::render,
    acquisition::render,
    budget::render,
    segments::render,
    clv::render,
    predictions::render,
    forecasts::render,
    experiments::render,
];

/// Colours shared by the sections' charts.
pub(crate) const BLUE: &str = "#2b6cb0";
pub(crate) const GREEN: &str = "#2f855a";
pub(crate) const ORANGE: &str = "#c05621";

pub use budget::budget_curve;
