//! The hook long-running library calls report progress through.
//!
//! Libraries never draw: they call a [`Progress`] and the binary decides whether that becomes
//! an indicatif bar (on a terminal) or nothing (in a pipe, in tests).

/// Receives progress of a long task, in units the task chooses (rows, bytes, customers).
pub trait Progress: Sync {
    /// A named phase begins; `total` units are expected (0 when unknown).
    fn start(&self, phase: &str, total: u64);
    /// `units` more units of the current phase are done.
    fn advance(&self, units: u64);
    /// The current phase is over.
    fn finish(&self);
}

/// Progress that goes nowhere.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoProgress;

impl Progress for NoProgress {
    fn start(&self, _phase: &str, _total: u64) {}
    fn advance(&self, _units: u64) {}
    fn finish(&self) {}
}
