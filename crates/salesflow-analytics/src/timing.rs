//! Phase timings on stderr with `SALESFLOW_TIMINGS=1`, for profiling (not part of the
//! interface).

use std::time::Instant;

/// Prints the time since the previous lap, prefixed with what is being timed.
pub struct Laps {
    what: &'static str,
    on: bool,
    last: Instant,
}

impl Laps {
    /// Starts timing `what`.
    pub fn new(what: &'static str) -> Laps {
        Laps {
            what,
            on: std::env::var_os("SALESFLOW_TIMINGS").is_some(),
            last: Instant::now(),
        }
    }

    /// Ends the phase `phase`.
    pub fn lap(&mut self, phase: &str) {
        if self.on {
            eprintln!(
                "{} {phase}: {:.3} s",
                self.what,
                self.last.elapsed().as_secs_f64()
            );
        }
        self.last = Instant::now();
    }
}
