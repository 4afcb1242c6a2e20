//! Text to typed values: numbers, money, booleans, dates and times.

pub mod datetime;
pub mod number;

pub use datetime::{DateFormat, infer_format, micros_to_days};
pub use number::{NumberError, parse_bool, parse_integer, parse_number};

/// `text` without surrounding whitespace. Nearly every value has none, so the ends are looked
/// at first and the Unicode-aware trim runs only when one of them is not plainly visible ASCII.
pub(crate) fn trim(text: &str) -> &str {
    match (text.as_bytes().first(), text.as_bytes().last()) {
        (Some(first), Some(last)) if first.is_ascii_graphic() && last.is_ascii_graphic() => text,
        _ => text.trim(),
    }
}
