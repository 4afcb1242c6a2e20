use std::fmt;
use std::str::FromStr;

/// The unit in which recency, T and holdout durations are expressed.
///
/// `week` is exactly 7 days and `month` the mean Gregorian month (365.2425 / 12 days), the
/// conventions of the CLV literature and of the `lifetimes` library.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TimeUnit {
    /// One calendar day.
    #[default]
    Day,
    /// Seven days.
    Week,
    /// 30.436875 days.
    Month,
}

impl TimeUnit {
    /// Length of the unit in days.
    pub fn days(self) -> f64 {
        match self {
            TimeUnit::Day => 1.0,
            TimeUnit::Week => 7.0,
            TimeUnit::Month => 365.2425 / 12.0,
        }
    }

    /// The lower-case name used on the command line and in outputs.
    pub fn name(self) -> &'static str {
        match self {
            TimeUnit::Day => "day",
            TimeUnit::Week => "week",
            TimeUnit::Month => "month",
        }
    }
}

impl fmt::Display for TimeUnit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for TimeUnit {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "day" | "days" | "d" => Ok(TimeUnit::Day),
            "week" | "weeks" | "w" => Ok(TimeUnit::Week),
            "month" | "months" | "m" => Ok(TimeUnit::Month),
            other => Err(format!(
                "unknown time unit `{other}`; use one of: day, week, month"
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_measures_units() {
        assert_eq!("Week".parse::<TimeUnit>(), Ok(TimeUnit::Week));
        assert_eq!(TimeUnit::Week.days(), 7.0);
        assert!((TimeUnit::Month.days() - 30.436875).abs() < 1e-12);
        assert!("fortnight".parse::<TimeUnit>().is_err());
    }
}
