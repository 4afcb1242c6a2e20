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
    // The fast path: most exports write plain numbers.
    if let Ok(v) = text.parse::<f64>() {
        return if v.is_finite() {
            Ok(v)
        } else {
            Err(NumberError(format!("`{text}` is not a finite number")))
        };
    }
    parse_formatted(text, locale)
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
