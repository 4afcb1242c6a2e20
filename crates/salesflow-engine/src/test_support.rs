//! Tables written to a temporary folder and loaded as a [`Dataset`], for the unit tests.

use salesflow_core::TableKind;
use salesflow_core::progress::NoProgress;

use crate::Dataset;

/// Writes each `(table, csv text)` as `<table>.csv` and loads the folder; the folder lives as
/// long as the returned guard.
pub(crate) fn dataset_of(tables: &[(TableKind, &str)]) -> (tempfile::TempDir, Dataset) {
    let dir = tempfile::tempdir().expect("temporary folder");
    for (kind, text) in tables {
        std::fs::write(dir.path().join(format!("{}.csv", kind.name())), text)
            .expect("writing a test table");
    }
    let dataset = Dataset::load_dir(dir.path(), 2, |_| Default::default(), &NoProgress)
        .expect("loading the test tables");
    (dir, dataset)
}

/// A deterministic stream of pseudo-random numbers (xorshift64) for tests that try many
/// inputs.
pub(crate) fn pseudo_random(seed: u64) -> impl FnMut() -> u64 {
    let mut state = seed.max(1);
    move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    }
}
