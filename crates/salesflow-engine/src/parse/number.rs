//! Numbers as people and spreadsheets write them: `$1,234.50`, `1.234,50 €`, `(12.00)`.

use salesflow_core::Locale;

/// Why a number could not be read; the text becomes part of a cleaning-report entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NumberError(pub String);

/// Parses a plain or formatted number.
///
/// Understood: a leading or trailing currency symbol or ISO code (`$`, `€`, `USD`), thousands
/// separators in groups of three, the locale's decimal separator, a sign before or after the
/// symbol, accounting negatives in parentheses, and scientific notation. Not finite values
/// (`NaN`, `inf`) are errors: no amount of money is infinite.
pub fn parse_number(text: &str, locale: Locale) -> Result<f64, NumberError> {
    let text = super::trim(text);
    // The fast paths: most exports write plain numbers. With a decimal comma a point groups
    // thousands ("1.234" is 1234, "1.5" a mistake), so text with a point goes the long way.
    let plain = match locale {
        Locale::DecimalPoint => true,
        Locale::DecimalComma => !text.contains('.'),
    };
    if plain {
        if let Some(v) = plain_decimal(text) {
            return Ok(v);
        }
        if let Ok(v) = text.parse::<f64>() {
            return if v.is_finite() {
                Ok(v)
            } else {
                Err(NumberError(format!("`{text}` is not a finite number")))
            };
        }
    }
    parse_formatted(text, locale)
}

/// Powers of ten exact in f64 (up to 10^22; 10^15 is the most [`plain_decimal`] divides by).
const EXACT_POWERS_OF_TEN: [f64; 16] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
];

/// `text` as a plain decimal (a sign, digits, at most one point; 15 digits at most), else
/// `None`. Its digits make an integer below 2^53 and its point a power of ten up to 10^15,
/// both exact in f64, and IEEE division rounds correctly: the value is the one
/// `str::parse::<f64>` gives (Clinger's fast path), without its general machinery: on
/// bench/clv's orders number parsing was 2.8 % of the run's CPU samples against 28 % for all
/// of the parsing (`perf record`), and "read and clean" went from 0.821 to 0.787 s with this
/// (medians of seven interleaved runs, SALESFLOW_TIMINGS=1).
fn plain_decimal(text: &str) -> Option<f64> {
    let bytes = text.as_bytes();
    let (negative, digits) = match bytes.first()? {
        b'-' => (true, &bytes[1..]),
        b'+' => (false, &bytes[1..]),
        _ => (false, bytes),
    };
    let (mut mantissa, mut count, mut fraction_digits) = (0u64, 0usize, None);
    for (i, &byte) in digits.iter().enumerate() {
        match byte {
            b'0'..=b'9' => {
                count += 1;
                if count > 15 {
                    return None;
                }
                mantissa = mantissa * 10 + u64::from(byte - b'0');
            }
            b'.' if fraction_digits.is_none() => fraction_digits = Some(digits.len() - i - 1),
            _ => return None,
        }
    }
    if count == 0 {
        return None;
    }
    let value = mantissa as f64 / EXACT_POWERS_OF_TEN[fraction_digits.unwrap_or(0)];
    Some(if negative { -value } else { value })
}

fn parse_formatted(original: &str, locale: Locale) -> Result<f64, NumberError> {
    let fail = |why: &str| NumberError(format!("`{original}` is not a number: {why}"));
    let mut text = original.trim();
    let mut negative = false;
    if let Some(inner) = text.strip_prefix('(').and_then(|t| t.strip_suffix(')')) {
        negative = true;
        text = inner.trim();
    }
    // Signs may stand on either side of a currency symbol: -$5, $-5, 5-.
    let mut body = String::with_capacity(text.len());
    let mut seen_digit = false;
    let mut chars = text.char_indices().peekable();
    while let Some((i, ch)) = chars.next() {
        match ch {
            '0'..='9' => {
                seen_digit = true;
                body.push(ch);
            }
            '.' | ',' | '\'' | ' ' | '\u{a0}' | '\u{202f}' => body.push(ch),
            '-' | '\u{2212}' => {
                if negative && !seen_digit {
                    return Err(fail("two minus signs"));
                }
                let after = text[i + ch.len_utf8()..].trim();
                if seen_digit && !after.is_empty() && !is_currency_text(after) {
                    return Err(fail("a minus sign inside the digits"));
                }
                negative = true;
            }
            '+' => {}
            'e' | 'E' if seen_digit && is_exponent(&text[i + 1..]) => body.push('e'),
            _ if is_currency_char(ch) => {}
            c if c.is_ascii_uppercase() => {
                // A currency code such as USD or EUR, before or after the digits.
                let mut len = 1;
                while chars.next_if(|(_, c)| c.is_ascii_uppercase()).is_some() {
                    len += 1;
                }
                if len != 3 {
                    return Err(fail("unexpected letters"));
                }
            }
            _ => return Err(fail("unexpected character")),
        }
    }
    let body = body.trim();
    if !seen_digit {
        return Err(fail("no digits"));
    }
    let (grouping, decimal) = match locale {
        Locale::DecimalPoint => (',', '.'),
        Locale::DecimalComma => ('.', ','),
    };
    let normalized = normalize_separators(body, grouping, decimal).map_err(|why| {
        let hint = match (locale, why) {
            (Locale::DecimalPoint, SeparatorProblem::BadGrouping) if body.contains(',') => {
                "looks like a decimal comma; read the file with --locale de"
            }
            (Locale::DecimalComma, SeparatorProblem::BadGrouping) if body.contains('.') => {
                "looks like a decimal point; read the file with --locale en"
            }
            (_, SeparatorProblem::BadGrouping) => "thousands separators must group three digits",
            (_, SeparatorProblem::TwoDecimals) => "more than one decimal separator",
        };
        fail(hint)
    })?;
    let value: f64 = normalized.parse().map_err(|_| fail("malformed digits"))?;
    if !value.is_finite() {
        return Err(fail("not finite"));
    }
    Ok(if negative { -value } else { value })
}

#[derive(Debug, Clone, Copy)]
enum SeparatorProblem {
    BadGrouping,
    TwoDecimals,
}

/// Removes thousands separators (checking they group three digits) and turns the decimal
/// separator into a point.
fn normalize_separators(
    body: &str,
    grouping: char,
    decimal: char,
) -> Result<String, SeparatorProblem> {
    let (int_part, frac_part) = match body.find(decimal) {
        Some(pos) => {
            let frac = &body[pos + decimal.len_utf8()..];
            if frac.contains(decimal) {
                return Err(SeparatorProblem::TwoDecimals);
            }
            (&body[..pos], Some(frac))
        }
        None => (body, None),
    };
    let is_group_sep = |c: char| c == grouping || matches!(c, ' ' | '\u{a0}' | '\u{202f}' | '\'');
    let groups: Vec<&str> = int_part.split(is_group_sep).collect();
    if groups.len() > 1 {
        let first_ok = (1..=3).contains(&groups[0].len());
        if !first_ok || groups[1..].iter().any(|g| g.len() != 3) {
            return Err(SeparatorProblem::BadGrouping);
        }
    }
    let mut out: String = groups.concat();
    if let Some(frac) = frac_part {
        if frac.chars().any(is_group_sep) {
            return Err(SeparatorProblem::BadGrouping);
        }
        out.push('.');
        out.push_str(frac);
    }
    Ok(out)
}

/// Whether what follows an `e` is an exponent (`e3`, `e-3`), not the rest of a word (`EUR`).
fn is_exponent(after: &str) -> bool {
    let digits = after.strip_prefix(['-', '+']).unwrap_or(after);
    digits.starts_with(|c: char| c.is_ascii_digit())
}

fn is_currency_char(ch: char) -> bool {
    matches!(
        ch,
        '$' | '€'
            | '£'
            | '¥'
            | '₹'
            | '₩'
            | '₽'
            | '₺'
            | '₪'
            | '₫'
            | '฿'
            | '₴'
            | '₦'
            | '¢'
            | '₱'
            | '₡'
    )
}

fn is_currency_text(s: &str) -> bool {
    s.chars()
        .all(|c| is_currency_char(c) || c.is_ascii_uppercase() || c == ' ')
}

/// Parses a whole number, accepting `1,234` and `12.0` but not `12.5`.
pub fn parse_integer(text: &str, locale: Locale) -> Result<i64, NumberError> {
    let text = text.trim();
    if let Ok(v) = text.parse::<i64>() {
        return Ok(v);
    }
    let v = parse_number(text, locale)?;
    if v.fract() != 0.0 || v.abs() > 9.007_199_254_740_992e15 {
        return Err(NumberError(format!("`{text}` is not a whole number")));
    }
    Ok(v as i64)
}

/// Parses the usual spellings of a yes/no value.
pub fn parse_bool(text: &str) -> Result<bool, NumberError> {
    match text.trim().to_ascii_lowercase().as_str() {
        "true" | "t" | "yes" | "y" | "1" => Ok(true),
        "false" | "f" | "no" | "n" | "0" => Ok(false),
        _ => Err(NumberError(format!(
            "`{}` is not true/false (also accepted: yes/no, 1/0, t/f, y/n)",
            text.trim()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn en(s: &str) -> Result<f64, NumberError> {
        parse_number(s, Locale::DecimalPoint)
    }
    fn de(s: &str) -> Result<f64, NumberError> {
        parse_number(s, Locale::DecimalComma)
    }

    #[test]
    fn plain_and_formatted_money() {
        assert_eq!(en("12.5"), Ok(12.5));
        assert_eq!(en(" -3 "), Ok(-3.0));
        assert_eq!(en("$1,234.50"), Ok(1234.5));
        assert_eq!(en("-$1,234.50"), Ok(-1234.5));
        assert_eq!(en("$-5"), Ok(-5.0));
        assert_eq!(en("(12.00)"), Ok(-12.0));
        assert_eq!(en("USD 1,000,000"), Ok(1_000_000.0));
        assert_eq!(en("99.90 EUR"), Ok(99.9));
        assert_eq!(en("1e3"), Ok(1000.0));
        assert_eq!(de("1.234,50"), Ok(1234.5));
        assert_eq!(de("1 234,50 €"), Ok(1234.5));
        assert_eq!(de("12,5"), Ok(12.5));
        assert_eq!(de("€ -7,25"), Ok(-7.25));
    }

    /// The plain-decimal fast path gives exactly what `str::parse` gives, and declines what it
    /// does not handle.
    #[test]
    fn plain_decimals_parse_as_the_standard_library_does() {
        let fixed = [
            "0",
            "-0",
            "+0",
            "00012.50",
            "5.",
            ".5",
            "-.5",
            "123456789012345",
            "1234567890123456",
            "0.000000000000001",
            "999999999999999",
            "9007199254740993",
            "0.1",
            "0.3",
            "2.675",
            "1.005",
            "-154.42",
            "1e3",
            ".",
            "-",
            "+",
            "",
            "1.2.3",
            "1,5",
            " 1",
            "--1",
            "١",
        ];
        let mut next = crate::test_support::pseudo_random(0x2545_f491_4f6c_dd1du64);
        let random = (0..200_000).map(|_| {
            let digits = 1 + next() % 17;
            let mut text: String = (0..digits)
                .map(|_| char::from(b'0' + (next() % 10) as u8))
                .collect();
            let point = next() % (digits + 2);
            if point <= digits {
                text.insert(point as usize, '.');
            }
            if next().is_multiple_of(3) {
                text.insert(0, '-');
            }
            text
        });
        for text in fixed.iter().map(|t| t.to_string()).chain(random) {
            let standard = text.parse::<f64>().ok();
            match plain_decimal(&text) {
                Some(v) => assert_eq!(Some(v.to_bits()), standard.map(f64::to_bits), "{text}"),
                // Declined: more than 15 digits, or not a plain decimal at all.
                None => assert!(
                    text.bytes().filter(u8::is_ascii_digit).count() > 15
                        || standard.is_none()
                        || text.contains(['e', '+']) && standard.is_some(),
                    "{text}"
                ),
            }
        }
    }

    /// With a decimal comma, a point groups thousands: never read as a decimal point.
    #[test]
    fn a_point_groups_thousands_with_a_decimal_comma() {
        assert_eq!(de("1.234"), Ok(1234.0));
        assert_eq!(de("1.234.567"), Ok(1_234_567.0));
        assert_eq!(de("-1.234"), Ok(-1234.0));
        assert!(de("1.5").is_err());
        assert_eq!(de("12"), Ok(12.0));
    }

    #[test]
    fn refuses_what_is_not_a_number_with_a_hint() {
        assert!(en("12,50").unwrap_err().0.contains("--locale de"));
        assert!(de("1,234.50").unwrap_err().0.contains("--locale en") || de("1,234.50").is_err());
        assert!(en("NaN").unwrap_err().0.contains("finite"));
        assert!(en("inf").is_err());
        assert!(en("abc").is_err());
        assert!(en("").is_err());
        assert!(en("1.2.3").is_err());
        assert!(en("12 apples").is_err());
        assert!(en("1,23,456").is_err());
    }

    #[test]
    fn integers_and_booleans() {
        assert_eq!(parse_integer("1,234", Locale::DecimalPoint), Ok(1234));
        assert_eq!(parse_integer("3.0", Locale::DecimalPoint), Ok(3));
        assert!(parse_integer("3.5", Locale::DecimalPoint).is_err());
        assert_eq!(parse_bool("Yes"), Ok(true));
        assert_eq!(parse_bool("0"), Ok(false));
        assert!(parse_bool("maybe").is_err());
    }
}
