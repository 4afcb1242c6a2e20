//! Customer segmentation: rule-based RFM segments and data-driven k-means clusters.
//!
//! - [`rfm`]: recency, frequency and monetary scores 1..=5 by tie-safe quintiles, and the named
//!   segments of the R `rfm` package's vignette (Champions, Loyal Customers, ..., Lost),
//!   narrower rows first, with a recency × frequency grid for the cells no row covers.
//! - [`kmeans`]: k-means on standardised features — greedy k-means++, Lloyd's iterations,
//!   restarts — with k chosen by the silhouette on a seeded sample and the final fit on every
//!   point, the assignment split over threads.
//! - [`silhouette`]: Rousseeuw's silhouette, exact.
//!
//! Point matrices are row-major `&[f64]` with `n_features` values per row. Tested against
//! scikit-learn (fixtures and the script that made them in `tests/fixtures/segment`).

pub mod kmeans;
pub mod rfm;
pub mod silhouette;
