//! `salesflow.toml`: how to read a company's files and how their columns map to ours.
//!
//! ```toml
//! [input]                      # defaults for every table
//! delimiter = ","              # any single character, "tab", or "whitespace" (runs of blanks)
//! date_format = "%d/%m/%Y"     # chrono strftime; omit to infer ISO 8601, YYYYMMDD, d/m/Y, ...
//! locale = "de"                # decimal comma: 1.234,50 (default "en": 1,234.50)
//!
//! [tables.orders]              # per-table options override [input]
//! file = "exports/invoices.csv"
//! columns = ["customer_id", "sample_id", "ordered_at", "cds", "amount"]  # headerless file
//!
//! [mapping.orders]             # canonical name = the file's column name
//! customer_id = "CustomerID"
//! ordered_at = "InvoiceDate"
//!
//! [segments.rules.loyal]       # a named rule: an SQL condition over customer columns
//! when = "orders >= 5 AND recency_days < 90"
//! action = "Invite to the loyalty programme"   # optional: the playbook entry for it
//!
//! [playbook]                   # segment key = recommended action (overrides the defaults)
//! at_risk = "Call personally within a week"
//! ```

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use serde::Deserialize;

use crate::tables::TableKind;

/// A configuration file that could not be read or understood.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read config {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not valid TOML or has unknown keys.
    #[error("{path}: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// The parser's message, which points at the line and column.
        message: String,
    },
    /// A value is of the right type but means nothing to us.
    #[error("{path}: {message}")]
    Invalid {
        /// The file, or the command-line flag.
        path: PathBuf,
        /// What is wrong and how to fix it.
        message: String,
    },
}

/// The field separator of a delimited text file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delimiter {
    /// One byte, as in CSV (`,`), TSV (`\t`) or `;`.
    Byte(u8),
    /// Runs of spaces and tabs, leading blanks ignored (fixed-width exports such as CDNOW).
    Whitespace,
}

impl fmt::Display for Delimiter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Delimiter::Byte(b'\t') => f.write_str("tab"),
            Delimiter::Byte(b) => write!(f, "{}", *b as char),
            Delimiter::Whitespace => f.write_str("whitespace"),
        }
    }
}

impl FromStr for Delimiter {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "tab" | "\\t" | "\t" => Ok(Delimiter::Byte(b'\t')),
            "whitespace" | "space" | "spaces" | "ws" => Ok(Delimiter::Whitespace),
            "comma" => Ok(Delimiter::Byte(b',')),
            "semicolon" => Ok(Delimiter::Byte(b';')),
            "pipe" => Ok(Delimiter::Byte(b'|')),
            one if one.len() == 1 && one.is_ascii() => Ok(Delimiter::Byte(one.as_bytes()[0])),
            other => Err(format!(
                "unknown delimiter `{other}`; give one ASCII character, `tab` or `whitespace`"
            )),
        }
    }
}

/// How numbers are written: which character separates the decimals.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Locale {
    /// `1,234.50` (English and most software exports).
    #[default]
    DecimalPoint,
    /// `1.234,50` or `1 234,50` (most of continental Europe and Latin America).
    DecimalComma,
}

impl FromStr for Locale {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let lang = s
            .trim()
            .split(['-', '_'])
            .next()
            .unwrap_or_default()
            .to_ascii_lowercase();
        match lang.as_str() {
            "en" | "us" | "uk" | "gb" | "c" | "posix" | "ja" | "zh" | "ko" | "he" | "th"
            | "point" | "dot" => Ok(Locale::DecimalPoint),
            "de" | "fr" | "es" | "it" | "nl" | "pt" | "pl" | "ru" | "sv" | "da" | "fi" | "nb"
            | "no" | "cs" | "tr" | "eu" | "comma" => Ok(Locale::DecimalComma),
            _ => Err(format!(
                "unknown locale `{s}`; use `en` for 1,234.50 or `de` for 1.234,50"
            )),
        }
    }
}

/// Everything the ingest needs to read one table.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ReadOptions {
    /// The file to read, when not found by its canonical name in the data directory.
    pub file: Option<PathBuf>,
    /// Field separator; sniffed from the first lines when absent.
    pub delimiter: Option<Delimiter>,
    /// chrono strftime format for every date/time column; inferred when absent.
    pub date_format: Option<String>,
    /// Decimal separator of numbers.
    pub locale: Locale,
    /// Names for the columns of a file without a header row.
    pub columns: Option<Vec<String>>,
    /// Canonical column name -> the file's column name.
    pub mapping: BTreeMap<String, String>,
    /// The canonical columns the command uses, when it says which: the file's other optional
    /// text columns (and its extra columns) are then not read, which on a wide export saves
    /// most of the reading. Columns that can reject a row (required, numbers, dates), the
    /// table's key and the columns its cleaning looks at are read regardless, so the rows kept
    /// are the same either way.
    pub used_columns: Option<Vec<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawInput {
    file: Option<PathBuf>,
    delimiter: Option<String>,
    date_format: Option<String>,
    locale: Option<String>,
    columns: Option<Vec<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBound {
    min: Option<f64>,
    max: Option<f64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBudget {
    #[serde(default)]
    bounds: BTreeMap<String, RawBound>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    when: String,
    action: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSegments {
    #[serde(default)]
    rules: BTreeMap<String, RawRule>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default)]
    input: RawInput,
    #[serde(default)]
    budget: RawBudget,
    #[serde(default)]
    segments: RawSegments,
    #[serde(default)]
    playbook: BTreeMap<String, String>,
    #[serde(default)]
    tables: BTreeMap<String, RawInput>,
    #[serde(default)]
    mapping: BTreeMap<String, BTreeMap<String, String>>,
}

/// The parsed `salesflow.toml`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Config {
    defaults: ReadOptions,
    tables: BTreeMap<TableKind, ReadOptions>,
    budget_bounds: BTreeMap<String, SpendBound>,
    segment_rules: Vec<SegmentRule>,
    playbook: BTreeMap<String, String>,
}

/// A hand-written segment from `[segments.rules.<name>]`: customers for whom the SQL
/// condition `when` holds over the customer columns (see `docs/metrics.md`).
#[derive(Debug, Clone, PartialEq)]
pub struct SegmentRule {
    /// The rule's name (the table key), used as the segment's key.
    pub name: String,
    /// An SQL boolean expression, e.g. `orders >= 5 AND recency_days < 90`.
    pub when: String,
    /// What to do with these customers, if the rule says.
    pub action: Option<String>,
}

/// A channel's allowed weekly spend from `[budget.bounds.<channel>]` (`min`, `max`; either may
/// be left out).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct SpendBound {
    /// Smallest weekly spend.
    pub min: Option<f64>,
    /// Largest weekly spend.
    pub max: Option<f64>,
}

impl Config {
    /// Reads and checks a configuration file.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        Config::parse(&text, path)
    }

    /// Parses configuration text; `origin` names it in error messages.
    pub fn parse(text: &str, origin: &Path) -> Result<Config, ConfigError> {
        let raw: RawConfig = toml::from_str(text).map_err(|e| ConfigError::Parse {
            path: origin.to_owned(),
            message: e.to_string(),
        })?;
        let invalid = |message: String| ConfigError::Invalid {
            path: origin.to_owned(),
            message,
        };
        let base = origin.parent().unwrap_or(Path::new(""));
        let defaults = apply_input(ReadOptions::default(), &raw.input, base).map_err(invalid)?;
        let mut tables = BTreeMap::new();
        for (name, input) in &raw.tables {
            let table: TableKind = name
                .parse()
                .map_err(|e| invalid(format!("[tables.{name}]: {e}")))?;
            let options = apply_input(defaults.clone(), input, base)
                .map_err(|e| invalid(format!("[tables.{name}]: {e}")))?;
            tables.insert(table, options);
        }
        for (name, mapping) in &raw.mapping {
            let table: TableKind = name
                .parse()
                .map_err(|e| invalid(format!("[mapping.{name}]: {e}")))?;
            let options = tables.entry(table).or_insert_with(|| defaults.clone());
            for (canonical, source) in mapping {
                check_canonical(table, canonical)
                    .map_err(|e| invalid(format!("[mapping.{name}]: {e}")))?;
                options.mapping.insert(canonical.clone(), source.clone());
            }
        }
        let mut budget_bounds = BTreeMap::new();
        for (channel, bound) in &raw.budget.bounds {
            let ok = |v: Option<f64>| v.is_none_or(|v| v.is_finite() && v >= 0.0);
            if !ok(bound.min)
                || !ok(bound.max)
                || matches!((bound.min, bound.max), (Some(a), Some(b)) if a > b)
            {
                return Err(invalid(format!(
                    "[budget.bounds.{channel}]: min and max must be amounts >= 0 with min <= max"
                )));
            }
            budget_bounds.insert(
                channel.clone(),
                SpendBound {
                    min: bound.min,
                    max: bound.max,
                },
            );
        }
        let mut segment_rules = Vec::new();
        for (name, rule) in &raw.segments.rules {
            let valid_name =
                !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
            if !valid_name || rule.when.trim().is_empty() {
                return Err(invalid(format!(
                    "[segments.rules.{name}]: a rule needs a name of letters, digits and `_`, \
                     and a non-empty `when` condition such as \"orders >= 5\""
                )));
            }
            segment_rules.push(SegmentRule {
                name: name.clone(),
                when: rule.when.clone(),
                action: rule.action.clone(),
            });
        }
        Ok(Config {
            defaults,
            tables,
            budget_bounds,
            segment_rules,
            playbook: raw.playbook,
        })
    }

    /// The hand-written segments of `[segments.rules.<name>]`, by name.
    pub fn segment_rules(&self) -> &[SegmentRule] {
        &self.segment_rules
    }

    /// `[playbook]`: segment key -> recommended action, over the built-in defaults.
    pub fn playbook(&self) -> &BTreeMap<String, String> {
        &self.playbook
    }

    /// Weekly spend bounds per channel from `[budget.bounds.<channel>]`.
    pub fn budget_bounds(&self) -> &BTreeMap<String, SpendBound> {
        &self.budget_bounds
    }

    /// The options for reading `table`: its own section over the `[input]` defaults.
    pub fn read_options(&self, table: TableKind) -> ReadOptions {
        self.tables
            .get(&table)
            .cloned()
            .unwrap_or_else(|| self.defaults.clone())
    }
}

fn apply_input(
    mut options: ReadOptions,
    input: &RawInput,
    base: &Path,
) -> Result<ReadOptions, String> {
    if let Some(file) = &input.file {
        options.file = Some(base.join(file));
    }
    if let Some(d) = &input.delimiter {
        options.delimiter = Some(d.parse()?);
    }
    if let Some(f) = &input.date_format {
        options.date_format = Some(f.clone());
    }
    if let Some(l) = &input.locale {
        options.locale = l.parse()?;
    }
    if let Some(c) = &input.columns {
        options.columns = Some(c.clone());
    }
    Ok(options)
}

/// Checks that `canonical` is a column of `table`, with a message listing the valid ones.
pub fn check_canonical(table: TableKind, canonical: &str) -> Result<(), String> {
    if table.column(canonical).is_some() {
        return Ok(());
    }
    let names: Vec<_> = table.columns().iter().map(|c| c.name).collect();
    Err(format!(
        "`{canonical}` is not a column of {table}; its columns are: {}",
        names.join(", ")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_sections_override_input_defaults() {
        let text = r#"
            [input]
            delimiter = ";"
            locale = "de-DE"
            [tables.orders]
            delimiter = "whitespace"
            columns = ["customer_id", "x", "ordered_at", "n", "amount"]
            [mapping.customers]
            customer_id = "Kundennummer"
        "#;
        let config = Config::parse(text, Path::new("/data/salesflow.toml")).unwrap();
        let orders = config.read_options(TableKind::Orders);
        assert_eq!(orders.delimiter, Some(Delimiter::Whitespace));
        assert_eq!(orders.locale, Locale::DecimalComma);
        assert_eq!(orders.columns.as_ref().map(Vec::len), Some(5));
        let customers = config.read_options(TableKind::Customers);
        assert_eq!(customers.delimiter, Some(Delimiter::Byte(b';')));
        assert_eq!(customers.mapping["customer_id"], "Kundennummer");
        assert_eq!(config.read_options(TableKind::Deals).mapping.len(), 0);
    }

    #[test]
    fn bad_config_says_what_and_where() {
        let err = Config::parse("[mapping.orders]\ncustomer = \"id\"\n", Path::new("s.toml"))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("`customer` is not a column of orders"),
            "{err}"
        );
        assert!(err.contains("customer_id"), "{err}");
        let err = Config::parse("[input]\ndelimiter = \"::\"\n", Path::new("s.toml"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("unknown delimiter"), "{err}");
        let err = Config::parse("[inptu]\n", Path::new("s.toml"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("inptu"), "{err}");
    }

    #[test]
    fn locales_and_delimiters_parse() {
        assert_eq!("fr_FR".parse::<Locale>(), Ok(Locale::DecimalComma));
        assert_eq!("en-US".parse::<Locale>(), Ok(Locale::DecimalPoint));
        assert!("xx".parse::<Locale>().is_err());
        assert_eq!("tab".parse::<Delimiter>(), Ok(Delimiter::Byte(b'\t')));
        assert_eq!("|".parse::<Delimiter>(), Ok(Delimiter::Byte(b'|')));
    }

    #[test]
    fn segment_rules_and_playbook() {
        let config = Config::parse(
            "[segments.rules.loyal]\nwhen = \"orders >= 5\"\naction = \"Loyalty programme\"\n\
             [segments.rules.engaged]\nwhen = \"visit_minutes > 30\"\n\
             [playbook]\nat_risk = \"Call them\"\n",
            Path::new("s.toml"),
        )
        .unwrap();
        let rules = config.segment_rules();
        // By name: engaged, loyal.
        assert_eq!(rules.len(), 2);
        assert_eq!(
            (rules[0].name.as_str(), rules[0].action.as_deref()),
            ("engaged", None)
        );
        assert_eq!(rules[1].when, "orders >= 5");
        assert_eq!(rules[1].action.as_deref(), Some("Loyalty programme"));
        assert_eq!(config.playbook()["at_risk"], "Call them");
        for bad in [
            "[segments.rules.\"vip list\"]\nwhen = \"orders > 1\"\n",
            "[segments.rules.vip]\nwhen = \" \"\n",
            "[segments.rules.vip]\nwhere = \"orders > 1\"\n",
        ] {
            let err = Config::parse(bad, Path::new("s.toml"))
                .unwrap_err()
                .to_string();
            assert!(err.contains("s.toml"), "{err}");
        }
    }
}
