//! Progress bars on a terminal, silence elsewhere.

use std::io::IsTerminal;
use std::sync::Mutex;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use salesflow_core::progress::Progress;

/// Draws one indicatif bar per phase on stderr when it is a terminal.
pub struct Bars {
    enabled: bool,
    current: Mutex<Option<ProgressBar>>,
}

impl Bars {
    /// Bars that draw only on a terminal, and never when `quiet`.
    pub fn new(quiet: bool) -> Bars {
        Bars {
            enabled: !quiet && std::io::stderr().is_terminal(),
            current: Mutex::new(None),
        }
    }
}

impl Progress for Bars {
    fn start(&self, phase: &str, total: u64) {
        if !self.enabled {
            return;
        }
        let bar = if total > 0 {
            ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr())
        } else {
            ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr())
        };
        let style =
            ProgressStyle::with_template("{msg:40!} [{bar:30}] {percent:>3}% {elapsed_precise}")
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> ");
        bar.set_style(style);
        bar.set_message(phase.to_string());
        if let Ok(mut current) = self.current.lock()
            && let Some(old) = current.replace(bar)
        {
            old.finish_and_clear();
        }
    }

    fn advance(&self, units: u64) {
        if let Ok(current) = self.current.lock()
            && let Some(bar) = current.as_ref()
        {
            bar.inc(units);
        }
    }

    fn finish(&self) {
        if let Ok(mut current) = self.current.lock()
            && let Some(bar) = current.take()
        {
            bar.finish_and_clear();
        }
    }
}

impl salesflow_demo::Progress for Bars {
    fn start(&self, table: &str, total_units: u64) {
        Progress::start(self, &format!("generating {table}"), total_units);
    }
    fn advance(&self, units: u64) {
        Progress::advance(self, units);
    }
    fn finish(&self, _table: &str) {
        Progress::finish(self);
    }
}
