//! Dates and times as exports write them, to UTC microseconds.
//!
//! The layouts met in practice are recognised by hand-written byte parsers (chrono's
//! `parse_from_str` is ten times slower, which matters at tens of millions of rows); a user's
//! own `--date-format` goes through chrono. chrono does the calendar arithmetic either way.

use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime};

const MICROS_PER_SECOND: i64 = 1_000_000;
/// Microseconds in a day (UTC days have no leap seconds here, as in Arrow).
pub(crate) const MICROS_PER_DAY: i64 = 86_400 * MICROS_PER_SECOND;

/// A way dates are written in a column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DateFormat {
    /// ISO 8601 / RFC 3339: `2024-03-05`, `2024-03-05T14:22:31Z`, `2024-03-05 14:22:31.5+02:00`,
    /// also with `/` between the date parts.
    Iso,
    /// `20240305`, optionally followed by `HHMMSS`.
    Compact,
    /// `05/03/2024` or `05.03.2024` (day first), optionally with a time.
    DayFirst,
    /// `03/05/2024` (month first, as in the US), optionally with a time and AM/PM.
    MonthFirst,
    /// A chrono strftime format given by the user.
    Custom(String),
}

impl DateFormat {
    /// A short description for reports and error messages.
    pub fn describe(&self) -> String {
        match self {
            DateFormat::Iso => "ISO 8601 (YYYY-MM-DD[THH:MM:SS][Z|±HH:MM])".into(),
            DateFormat::Compact => "YYYYMMDD".into(),
            DateFormat::DayFirst => "DD/MM/YYYY (day first)".into(),
            DateFormat::MonthFirst => "MM/DD/YYYY (month first)".into(),
            DateFormat::Custom(f) => format!("`{f}`"),
        }
    }

    /// Parses `text` to microseconds since 1970-01-01T00:00:00Z. Times without a zone are UTC;
    /// dates without a time are midnight.
    pub fn parse_micros(&self, text: &str) -> Option<i64> {
        let text = super::trim(text);
        let b = text.as_bytes();
        match self {
            DateFormat::Iso => parse_iso(b),
            DateFormat::Compact => parse_compact(b),
            DateFormat::DayFirst => parse_numeric_dmy(b, true),
            DateFormat::MonthFirst => parse_numeric_dmy(b, false),
            DateFormat::Custom(f) => parse_custom(text, f),
        }
    }
}

/// Picks the format that reads a sample of a column's values.
///
/// Returns an error message (to show the user, with the fix) when no format fits, or when the
/// values could be read both day-first and month-first.
pub fn infer_format<'a>(samples: impl IntoIterator<Item = &'a str>) -> Result<DateFormat, String> {
    let samples: Vec<&str> = samples
        .into_iter()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    if samples.is_empty() {
        return Ok(DateFormat::Iso);
    }
    let candidates = [
        DateFormat::Iso,
        DateFormat::Compact,
        DateFormat::DayFirst,
        DateFormat::MonthFirst,
    ];
    let counts: Vec<usize> = candidates
        .iter()
        .map(|f| {
            samples
                .iter()
                .filter(|s| f.parse_micros(s).is_some())
                .count()
        })
        .collect();
    let best = counts.iter().copied().max().unwrap_or(0);
    if best == 0 {
        return Err(format!(
            "no known date format reads values such as `{}`; give the format with --date-format (chrono strftime, e.g. \"%d %b %Y\")",
            samples[0]
        ));
    }
    let winners: Vec<&DateFormat> = candidates
        .iter()
        .zip(&counts)
        .filter(|(_, c)| **c == best)
        .map(|(f, _)| f)
        .collect();
    if winners.contains(&&DateFormat::DayFirst) && winners.contains(&&DateFormat::MonthFirst) {
        // Dotted dates (05.03.2024) are day-first wherever they are written.
        if samples
            .iter()
            .all(|s| s.split_whitespace().next().is_some_and(|d| d.contains('.')))
        {
            return Ok(DateFormat::DayFirst);
        }
        return Err(format!(
            "dates such as `{}` read both day-first and month-first; say which with --date-format \"%d/%m/%Y\" or \"%m/%d/%Y\"",
            samples[0]
        ));
    }
    Ok(winners[0].clone())
}

/// Days since 1970-01-01 of a UTC timestamp in microseconds.
pub fn micros_to_days(micros: i64) -> i32 {
    micros.div_euclid(MICROS_PER_DAY) as i32
}

fn digits(b: &[u8]) -> Option<u32> {
    if b.is_empty() || !b.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(b.iter().fold(0u32, |acc, d| acc * 10 + u32::from(d - b'0')))
}

/// Reads 1 or 2 digits at the start; returns the value and the bytes after them.
fn one_or_two_digits(b: &[u8]) -> Option<(u32, &[u8])> {
    let n = b.iter().take(2).take_while(|c| c.is_ascii_digit()).count();
    if n == 0 {
        return None;
    }
    Some((digits(&b[..n])?, &b[n..]))
}

fn day_micros(year: i32, month: u32, day: u32) -> Option<i64> {
    Some(days_from_civil(year, month, day)? * MICROS_PER_DAY)
}

fn is_leap_year(year: i64) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

/// Days from 1970-01-01 to a proleptic Gregorian date, `None` when there is no such date.
///
/// Counted in 400-year eras from 0000-03-01 (H. Hinnant's "days from civil"), so a leap day
/// is the last of its year; chrono's `NaiveDate` gives the same numbers but took a third of
/// the CPU time of parsing a timestamp column (`perf` of `salesflow summary` on 10 M orders).
fn days_from_civil(year: i32, month: u32, day: u32) -> Option<i64> {
    const DAYS_IN_MONTH: [u32; 12] = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
    let year = i64::from(year);
    let month_days = match month {
        2 if is_leap_year(year) => 29,
        1..=12 => DAYS_IN_MONTH[month as usize - 1],
        _ => return None,
    };
    if day == 0 || day > month_days {
        return None;
    }
    let march_year = if month <= 2 { year - 1 } else { year };
    let era = march_year.div_euclid(400);
    let year_of_era = march_year - era * 400;
    let month_from_march = (i64::from(month) + 9) % 12;
    let day_of_year = (153 * month_from_march + 2) / 5 + i64::from(day) - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    // 719,468 days lie between 0000-03-01 and 1970-01-01.
    Some(era * 146_097 + day_of_era - 719_468)
}

/// The value of two ASCII digits.
fn two_digits(b: &[u8]) -> Option<u32> {
    let (tens, ones) = (b[0].wrapping_sub(b'0'), b[1].wrapping_sub(b'0'));
    (tens < 10 && ones < 10).then(|| u32::from(tens) * 10 + u32::from(ones))
}

/// `YYYY-MM-DD`, `YYYY-MM-DD[T ]HH:MM:SS` and the same with `Z`: the layouts nearly every
/// export writes, read without the general parser's searching. `None` means "not this
/// layout, or not valid": the general parser then decides.
fn parse_iso_fixed(b: &[u8]) -> Option<i64> {
    if !matches!(b.len(), 10 | 19 | 20) || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let year = two_digits(&b[0..2])? * 100 + two_digits(&b[2..4])?;
    let date = day_micros(year as i32, two_digits(&b[5..7])?, two_digits(&b[8..10])?)?;
    if b.len() == 10 {
        return Some(date);
    }
    if !matches!(b[10], b'T' | b' ') || b[13] != b':' || b[16] != b':' {
        return None;
    }
    if b.len() == 20 && b[19] != b'Z' {
        return None;
    }
    let (hour, minute, second) = (
        two_digits(&b[11..13])?,
        two_digits(&b[14..16])?,
        two_digits(&b[17..19])?,
    );
    if hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    Some(date + i64::from(hour * 3600 + minute * 60 + second) * MICROS_PER_SECOND)
}

fn parse_iso(b: &[u8]) -> Option<i64> {
    if let Some(micros) = parse_iso_fixed(b) {
        return Some(micros);
    }
    if b.len() < 8 || !b[..4].iter().all(u8::is_ascii_digit) {
        return None;
    }
    let year = digits(&b[..4])? as i32;
    let sep = b[4];
    if sep != b'-' && sep != b'/' {
        return None;
    }
    let (month, rest) = one_or_two_digits(&b[5..])?;
    let rest = rest.strip_prefix(&[sep])?;
    let (day, rest) = one_or_two_digits(rest)?;
    let date = day_micros(year, month, day)?;
    if rest.is_empty() {
        return Some(date);
    }
    let rest = match rest[0] {
        b'T' | b't' | b' ' => &rest[1..],
        _ => return None,
    };
    let (time, rest) = parse_time(rest)?;
    let offset = parse_zone(rest)?;
    Some(date + time - offset)
}

fn parse_compact(b: &[u8]) -> Option<i64> {
    if b.len() != 8 && b.len() != 14 {
        return None;
    }
    let year = digits(&b[..4])? as i32;
    let date = day_micros(year, digits(&b[4..6])?, digits(&b[6..8])?)?;
    if b.len() == 8 {
        return Some(date);
    }
    let (h, m, s) = (digits(&b[8..10])?, digits(&b[10..12])?, digits(&b[12..14])?);
    if h > 23 || m > 59 || s > 60 {
        return None;
    }
    Some(date + i64::from(h * 3600 + m * 60 + s) * MICROS_PER_SECOND)
}

fn parse_numeric_dmy(b: &[u8], day_first: bool) -> Option<i64> {
    let (first, rest) = one_or_two_digits(b)?;
    let sep = *rest.first()?;
    if !matches!(sep, b'/' | b'.' | b'-') {
        return None;
    }
    let (second, rest) = one_or_two_digits(&rest[1..])?;
    let rest = rest.strip_prefix(&[sep])?;
    let year_len = rest.iter().take_while(|c| c.is_ascii_digit()).count();
    if year_len != 4 {
        return None;
    }
    let year = digits(&rest[..4])? as i32;
    let (day, month) = if day_first {
        (first, second)
    } else {
        (second, first)
    };
    let date = day_micros(year, month, day)?;
    let rest = &rest[4..];
    if rest.is_empty() {
        return Some(date);
    }
    let rest = rest
        .strip_prefix(b" ")
        .or_else(|| rest.strip_prefix(b"T"))?;
    let (time, rest) = parse_time(rest)?;
    let rest = trim_ascii(rest);
    let time = match rest {
        b"" => time,
        b"AM" | b"am" | b"PM" | b"pm" => {
            let hour = time / (3600 * MICROS_PER_SECOND);
            if !(1..=12).contains(&hour) {
                return None;
            }
            let hour12 = hour % 12;
            let pm = rest.eq_ignore_ascii_case(b"PM");
            time - hour * 3600 * MICROS_PER_SECOND
                + (hour12 + if pm { 12 } else { 0 }) * 3600 * MICROS_PER_SECOND
        }
        _ => time - parse_zone(rest)?,
    };
    Some(date + time)
}

fn trim_ascii(b: &[u8]) -> &[u8] {
    let start = b
        .iter()
        .position(|c| !c.is_ascii_whitespace())
        .unwrap_or(b.len());
    let end = b
        .iter()
        .rposition(|c| !c.is_ascii_whitespace())
        .map_or(start, |e| e + 1);
    &b[start..end]
}

/// `HH:MM[:SS[.ffffff]]` -> microseconds of the day, and the bytes after it.
fn parse_time(b: &[u8]) -> Option<(i64, &[u8])> {
    let (hour, rest) = one_or_two_digits(b)?;
    let rest = rest.strip_prefix(b":")?;
    if rest.len() < 2 {
        return None;
    }
    let minute = digits(&rest[..2])?;
    let mut rest = &rest[2..];
    let mut second = 0;
    let mut micros = 0i64;
    if let Some(r) = rest.strip_prefix(b":") {
        if r.len() < 2 {
            return None;
        }
        second = digits(&r[..2])?;
        rest = &r[2..];
        if let Some(r) = rest.strip_prefix(b".").or_else(|| rest.strip_prefix(b",")) {
            let n = r.iter().take_while(|c| c.is_ascii_digit()).count();
            if n == 0 {
                return None;
            }
            let kept = &r[..n.min(6)];
            micros = i64::from(digits(kept)?) * 10i64.pow(6 - kept.len() as u32);
            rest = &r[n..];
        }
    }
    if hour > 24 || minute > 59 || second > 60 || (hour == 24 && (minute > 0 || second > 0)) {
        return None;
    }
    let total = i64::from(hour * 3600 + minute * 60 + second) * MICROS_PER_SECOND + micros;
    Some((total, rest))
}

/// `` | `Z` | ` UTC` | `±HH` | `±HHMM` | `±HH:MM` -> the offset in microseconds east of UTC.
fn parse_zone(b: &[u8]) -> Option<i64> {
    let b = trim_ascii(b);
    match b {
        b"" | b"Z" | b"z" | b"UTC" | b"GMT" => return Some(0),
        _ => {}
    }
    let sign = match b[0] {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let rest: Vec<u8> = b[1..].iter().copied().filter(|c| *c != b':').collect();
    let (h, m) = match rest.len() {
        2 => (digits(&rest)?, 0),
        4 => (digits(&rest[..2])?, digits(&rest[2..])?),
        _ => return None,
    };
    if h > 23 || m > 59 {
        return None;
    }
    Some(sign * i64::from(h * 3600 + m * 60) * MICROS_PER_SECOND)
}

fn parse_custom(text: &str, format: &str) -> Option<i64> {
    if let Ok(dt) = DateTime::parse_from_str(text, format) {
        return Some(dt.timestamp_micros());
    }
    if let Ok(dt) = NaiveDateTime::parse_from_str(text, format) {
        return Some(dt.and_utc().timestamp_micros());
    }
    let date = NaiveDate::parse_from_str(text, format).ok()?;
    Some(date.and_time(NaiveTime::MIN).and_utc().timestamp_micros())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> i64 {
        DateTime::parse_from_rfc3339(s).unwrap().timestamp_micros()
    }

    #[test]
    fn days_from_civil_agrees_with_chrono() {
        let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).unwrap();
        let mut date = NaiveDate::from_ymd_opt(0, 1, 1).unwrap();
        let last = NaiveDate::from_ymd_opt(9999, 12, 31).unwrap();
        use chrono::Datelike as _;
        while date <= last {
            let expected = date.signed_duration_since(epoch).num_days();
            assert_eq!(
                days_from_civil(date.year(), date.month(), date.day()),
                Some(expected),
                "{date}"
            );
            date = date.succ_opt().unwrap();
        }
        for (year, month, day) in [
            (2023, 2, 29),
            (1900, 2, 29),
            (2024, 4, 31),
            (2024, 13, 1),
            (2024, 0, 1),
            (2024, 1, 0),
        ] {
            assert_eq!(
                days_from_civil(year, month, day),
                None,
                "{year}-{month}-{day}"
            );
        }
        assert_eq!(days_from_civil(2000, 2, 29), Some(11_016));
    }

    #[test]
    fn fixed_iso_layouts_read_as_the_general_parser_reads_them() {
        for text in [
            "2024-03-05",
            "1970-01-01T00:00:00Z",
            "1969-12-31 23:59:59",
            "2024-02-29T12:30:45",
            "0001-01-01T00:00:00Z",
            "9999-12-31T23:59:60Z",
        ] {
            let fixed = parse_iso_fixed(text.as_bytes());
            assert!(fixed.is_some(), "{text}");
            // The general parser alone (the fast path is its first step).
            let b = text.as_bytes();
            let date = day_micros(
                digits(&b[..4]).unwrap() as i32,
                digits(&b[5..7]).unwrap(),
                digits(&b[8..10]).unwrap(),
            )
            .unwrap();
            let general = if b.len() == 10 {
                date
            } else {
                let (time, rest) = parse_time(&b[11..]).unwrap();
                date + time - parse_zone(rest).unwrap()
            };
            assert_eq!(fixed, Some(general), "{text}");
        }
        // Not valid, or another layout: the general parser decides.
        for text in [
            "2023-02-29",
            "2024-13-01",
            "2024-03-05T24:00:00Z",
            "2024-03-05T10:60:00",
            "2024-03-05X10:00:00",
            "2024-03-05T10:00:00+",
            "2024-3-05T10:00:0Z",
            "+024-03-05",
        ] {
            assert_eq!(parse_iso_fixed(text.as_bytes()), None, "{text}");
        }
        assert_eq!(
            DateFormat::Iso.parse_micros("2024-03-05T24:00:00Z"),
            DateFormat::Iso.parse_micros("2024-03-06")
        );
    }

    #[test]
    fn iso_variants() {
        let f = DateFormat::Iso;
        assert_eq!(
            f.parse_micros("2024-03-05"),
            Some(ts("2024-03-05T00:00:00Z"))
        );
        assert_eq!(
            f.parse_micros("2024-03-05T14:22:31Z"),
            Some(ts("2024-03-05T14:22:31Z"))
        );
        assert_eq!(
            f.parse_micros("2024-03-05 14:22"),
            Some(ts("2024-03-05T14:22:00Z"))
        );
        assert_eq!(
            f.parse_micros("2024-03-05T14:22:31.25+02:00"),
            Some(ts("2024-03-05T12:22:31.25Z"))
        );
        assert_eq!(
            f.parse_micros("2024-03-05T14:22:31-0530"),
            Some(ts("2024-03-05T19:52:31Z"))
        );
        assert_eq!(f.parse_micros("2024/3/5"), Some(ts("2024-03-05T00:00:00Z")));
        assert_eq!(f.parse_micros("1969-12-31T23:59:59Z"), Some(-1_000_000));
        assert_eq!(f.parse_micros("2024-02-30"), None);
        assert_eq!(f.parse_micros("2024-03-05T25:00:00"), None);
        assert_eq!(f.parse_micros("20240305"), None);
        assert_eq!(f.parse_micros("yesterday"), None);
    }

    #[test]
    fn compact_and_numeric() {
        assert_eq!(
            DateFormat::Compact.parse_micros("19970101"),
            Some(ts("1997-01-01T00:00:00Z"))
        );
        assert_eq!(DateFormat::Compact.parse_micros("19970230"), None);
        assert_eq!(
            DateFormat::DayFirst.parse_micros("05/03/2024"),
            Some(ts("2024-03-05T00:00:00Z"))
        );
        assert_eq!(
            DateFormat::DayFirst.parse_micros("5.3.2024 08:15"),
            Some(ts("2024-03-05T08:15:00Z"))
        );
        assert_eq!(
            DateFormat::MonthFirst.parse_micros("3/5/2024 2:30 PM"),
            Some(ts("2024-03-05T14:30:00Z"))
        );
        assert_eq!(
            DateFormat::MonthFirst.parse_micros("3/5/2024 12:10 AM"),
            Some(ts("2024-03-05T00:10:00Z"))
        );
        assert_eq!(DateFormat::MonthFirst.parse_micros("13/5/2024"), None);
    }

    #[test]
    fn custom_formats_use_chrono() {
        let f = DateFormat::Custom("%d %b %Y".into());
        assert_eq!(
            f.parse_micros("05 Mar 2024"),
            Some(ts("2024-03-05T00:00:00Z"))
        );
        let f = DateFormat::Custom("%Y-%m-%d %H:%M:%S %z".into());
        assert_eq!(
            f.parse_micros("2024-03-05 10:00:00 +0100"),
            Some(ts("2024-03-05T09:00:00Z"))
        );
    }

    #[test]
    fn inference_picks_the_format_and_refuses_ambiguity() {
        assert_eq!(
            infer_format(["2024-01-02", "2024-01-03T10:00:00Z"]),
            Ok(DateFormat::Iso)
        );
        assert_eq!(
            infer_format(["19970101", "19970118"]),
            Ok(DateFormat::Compact)
        );
        assert_eq!(
            infer_format(["25/12/2024", "01/02/2024"]),
            Ok(DateFormat::DayFirst)
        );
        assert_eq!(
            infer_format(["12/25/2024", "01/02/2024"]),
            Ok(DateFormat::MonthFirst)
        );
        assert_eq!(infer_format(["05.03.2024"]), Ok(DateFormat::DayFirst));
        let err = infer_format(["01/02/2024", "03/04/2024"]).unwrap_err();
        assert!(err.contains("--date-format"), "{err}");
        let err = infer_format(["March 5th", "April 1st"]).unwrap_err();
        assert!(
            err.contains("March 5th") && err.contains("--date-format"),
            "{err}"
        );
        assert_eq!(micros_to_days(ts("1970-01-02T05:00:00Z")), 1);
        assert_eq!(micros_to_days(-1), -1);
    }
}
