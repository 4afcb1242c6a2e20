//! Phase timings on stderr with `SALESFLOW_TIMINGS=1`, for profiling (not part of the
//! interface).

use std::time::Instant;

/// Prints the time since the previous lap, prefixed with what is being timed.
pub struct Laps {
    what: &'static str,
    on: bool,
    last: Instant,
    last_cpu: Option<f64>,
}

/// CPU seconds the whole process has used (user + system, every thread), where the system
/// tells (Linux's /proc, in 10 ms ticks): with the wall time it shows how well a phase keeps
/// the cores busy.
fn process_cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name (which may hold spaces) in parentheses; utime and stime
    // are the 14th and 15th fields of the line, the 12th and 13th after it.
    let rest = &stat[stat.rfind(')')? + 1..];
    let mut fields = rest.split_ascii_whitespace().skip(11);
    let user: f64 = fields.next()?.parse().ok()?;
    let system: f64 = fields.next()?.parse().ok()?;
    // /proc reports in USER_HZ, 100 on every Linux architecture.
    Some((user + system) / 100.0)
}

impl Laps {
    /// Starts timing `what`.
    pub fn new(what: &'static str) -> Laps {
        let on = std::env::var_os("SALESFLOW_TIMINGS").is_some();
        Laps {
            what,
            on,
            last: Instant::now(),
            last_cpu: if on { process_cpu_seconds() } else { None },
        }
    }

    /// Ends the phase `phase`.
    pub fn lap(&mut self, phase: &str) {
        if self.on {
            let cpu = process_cpu_seconds();
            let used = match (cpu, self.last_cpu) {
                (Some(now), Some(before)) => format!(" (cpu {:.2} s)", now - before),
                _ => String::new(),
            };
            eprintln!(
                "{} {phase}: {:.3} s{used}",
                self.what,
                self.last.elapsed().as_secs_f64()
            );
            self.last_cpu = cpu;
        }
        self.last = Instant::now();
    }
}
