//! Exponential smoothing in state-space form (ETS), as R's forecast::ets defines it: additive
//! or multiplicative errors, no/additive/multiplicative trend (optionally damped), and
//! no/additive/multiplicative seasonality; smoothing parameters and initial states fitted by
//! maximum likelihood; automatic selection by AICc; prediction intervals.
//!
//! Why not the `augurs` crate: augurs-ets covers the non-seasonal models only, and one
//! implementation of all thirty models with one optimiser is simpler to keep right than two.

mod admissible;
mod auto;
mod fit;
pub(crate) mod initial;
mod intervals;
mod recursion;

pub use auto::{AutoEtsOptions, auto_ets};
pub use fit::{EtsFit, EtsOptions, FixedParameters, ParameterBounds, fit_ets};
pub use recursion::{Smoothing, States};

use crate::ModelError;
use std::fmt;

/// The longest season seasonal ETS takes (R's limit): one state per period, and beyond 24
/// neither the data to estimate them nor a likelihood surface Nelder–Mead can search.
pub(crate) const MAX_SEASON_LENGTH: usize = 24;

/// How the error enters an observation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorType {
    /// `y = ŷ + ε`.
    Additive,
    /// `y = ŷ (1 + ε)`.
    Multiplicative,
}

/// The trend component.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Trend {
    /// No trend.
    None,
    /// Level plus an increment.
    Additive,
    /// Level times a growth ratio.
    Multiplicative,
}

/// The seasonal component.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Season {
    /// No seasonality.
    None,
    /// Seasonal offsets added.
    Additive,
    /// Seasonal factors multiplied.
    Multiplicative,
}

/// One member of the ETS family, e.g. ETS(M,Ad,M).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct EtsSpec {
    /// The error type.
    pub error: ErrorType,
    /// The trend type.
    pub trend: Trend,
    /// Whether the trend is damped (only with a trend).
    pub damped: bool,
    /// The seasonal type.
    pub season: Season,
}

impl EtsSpec {
    /// R's short code: `ANN`, `AAdA`, `MAM`, ...
    pub fn code(&self) -> String {
        let error = match self.error {
            ErrorType::Additive => "A",
            ErrorType::Multiplicative => "M",
        };
        format!(
            "{error}{}{}",
            trend_code(self.trend, self.damped),
            season_code(self.season)
        )
    }

    /// Parses a code such as `AAdM`; `Z` in a position is not allowed here (see
    /// [`AutoEtsOptions`] for patterns).
    pub fn parse(code: &str) -> Result<EtsSpec, ModelError> {
        let pattern = SpecPattern::parse(code)?;
        match (pattern.error, pattern.trend, pattern.season) {
            (Some(error), Some((trend, damped)), Some(season)) => Ok(EtsSpec {
                error,
                trend,
                damped,
                season,
            }),
            _ => Err(ModelError::InvalidModel {
                model: code.to_string(),
                hint: "name one model, such as ANN, AAdN or MAM (Z picks automatically only in automatic selection)",
            }),
        }
    }

    /// Whether the model's states and likelihood need strictly positive data.
    pub(crate) fn needs_positive_data(&self) -> bool {
        self.error == ErrorType::Multiplicative
            || self.trend == Trend::Multiplicative
            || self.season == Season::Multiplicative
    }
}

fn trend_code(trend: Trend, damped: bool) -> &'static str {
    match (trend, damped) {
        (Trend::None, _) => "N",
        (Trend::Additive, false) => "A",
        (Trend::Additive, true) => "Ad",
        (Trend::Multiplicative, false) => "M",
        (Trend::Multiplicative, true) => "Md",
    }
}

fn season_code(season: Season) -> &'static str {
    match season {
        Season::None => "N",
        Season::Additive => "A",
        Season::Multiplicative => "M",
    }
}

impl fmt::Display for EtsSpec {
    /// The name used in forecasting texts: `ETS(M,Ad,M)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let error = match self.error {
            ErrorType::Additive => "A",
            ErrorType::Multiplicative => "M",
        };
        write!(
            f,
            "ETS({error},{},{})",
            trend_code(self.trend, self.damped),
            season_code(self.season)
        )
    }
}

/// A model code in which `Z` means "choose": `ZZZ`, `AZN`, `MAdZ`, ...
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SpecPattern {
    /// The error type, or `None` to choose.
    pub error: Option<ErrorType>,
    /// The trend with its damping, or `None` to choose.
    pub trend: Option<(Trend, bool)>,
    /// The season, or `None` to choose.
    pub season: Option<Season>,
}

impl SpecPattern {
    /// Parses `ZZZ`-style codes (R's `model` argument, with `Ad`/`Md` for damped trends).
    pub fn parse(code: &str) -> Result<SpecPattern, ModelError> {
        let invalid = || ModelError::InvalidModel {
            model: code.to_string(),
            hint: "write error, trend, season as letters: error A|M|Z, trend N|A|Ad|M|Md|Z, season N|A|M|Z (e.g. ZZZ, AAdN, MAM)",
        };
        let upper = code.trim().to_ascii_uppercase();
        let chars: Vec<char> = upper.chars().collect();
        let (error, rest) = chars.split_first().ok_or_else(invalid)?;
        let error = match error {
            'A' => Some(ErrorType::Additive),
            'M' => Some(ErrorType::Multiplicative),
            'Z' => None,
            _ => return Err(invalid()),
        };
        let (trend_char, rest) = rest.split_first().ok_or_else(invalid)?;
        let (damped, rest) = match rest {
            ['D', rest @ ..] => (true, rest),
            _ => (false, rest),
        };
        let trend = match trend_char {
            'N' if !damped => Some((Trend::None, false)),
            'A' => Some((Trend::Additive, damped)),
            'M' => Some((Trend::Multiplicative, damped)),
            'Z' if !damped => None,
            _ => return Err(invalid()),
        };
        let season = match rest {
            ['N'] => Some(Season::None),
            ['A'] => Some(Season::Additive),
            ['M'] => Some(Season::Multiplicative),
            ['Z'] => None,
            _ => return Err(invalid()),
        };
        Ok(SpecPattern {
            error,
            trend,
            season,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_and_bad_codes_say_how_to_write_one() {
        for code in ["ANN", "AAN", "AAdN", "MAM", "MAdM", "MMdN", "ANA"] {
            assert_eq!(EtsSpec::parse(code).unwrap().code(), code);
        }
        assert_eq!(EtsSpec::parse("mad m").map(|s| s.code()).ok(), None);
        assert_eq!(EtsSpec::parse("madm").unwrap().to_string(), "ETS(M,Ad,M)");
        let pattern = SpecPattern::parse("ZZZ").unwrap();
        assert_eq!(pattern, SpecPattern::default());
        for bad in ["", "A", "XNN", "ANdN", "AAX", "ZZZZ"] {
            let message = SpecPattern::parse(bad).unwrap_err().to_string();
            assert!(message.contains("error A|M|Z"), "{bad}: {message}");
        }
        assert!(EtsSpec::parse("ZNN").is_err());
    }
}
