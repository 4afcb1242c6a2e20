//! Fixture loading and tolerance helpers shared by the integration tests.

use std::path::PathBuf;

use salesflow_models::clv::RfmRow;

/// Path of a file in `tests/fixtures`.
pub fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("fixtures")
        .join(name)
}

/// A small CSV table: header names and rows of numbers.
pub struct Table {
    pub header: Vec<String>,
    pub rows: Vec<Vec<f64>>,
}

impl Table {
    pub fn col(&self, name: &str) -> usize {
        self.header
            .iter()
            .position(|h| h == name)
            .unwrap_or_else(|| panic!("no column {name} in {:?}", self.header))
    }
}

/// Read a comma-separated file of numbers with a header line.
pub fn read_csv(name: &str) -> Table {
    let text = std::fs::read_to_string(fixture(name)).expect("fixture readable");
    let mut lines = text.lines();
    let header = lines
        .next()
        .expect("header")
        .split(',')
        .map(|s| s.trim().to_string())
        .collect();
    let rows = lines
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            l.split(',')
                .map(|v| v.trim().parse::<f64>().expect("number"))
                .collect()
        })
        .collect();
    Table { header, rows }
}

/// CDNOW customers as (frequency, recency, T) in weeks.
pub fn cdnow_customers() -> Vec<(f64, f64, f64)> {
    let t = read_csv("cdnow_customers_summary.csv");
    let (f, r, tt) = (t.col("frequency"), t.col("recency"), t.col("T"));
    t.rows.iter().map(|row| (row[f], row[r], row[tt])).collect()
}

/// The CDNOW customers compressed to distinct rows.
pub fn cdnow_rows() -> Vec<RfmRow> {
    salesflow_models::clv::compress(&cdnow_customers())
}

/// Tolerance for a published value rounded to `decimals` decimals: half a unit in the last
/// place (the rounding) plus 1e-3 relative.
pub fn published_tol(published: f64, decimals: i32) -> f64 {
    0.5 * 10f64.powi(-decimals) + 1e-3 * published.abs()
}

/// Assert `got` matches the published value given to `decimals` decimals.
pub fn assert_published(what: &str, got: f64, published: f64, decimals: i32) {
    let tol = published_tol(published, decimals);
    assert!(
        (got - published).abs() <= tol,
        "{what}: got {got}, published {published} (tolerance {tol})"
    );
}

/// A JSON fixture, e.g. `json_fixture("forecast/autoets_reference.json")`.
pub fn json_fixture(name: &str) -> serde_json::Value {
    let text = std::fs::read_to_string(fixture(name)).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// A JSON array of numbers.
pub fn numbers(value: &serde_json::Value) -> Vec<f64> {
    value
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect()
}
