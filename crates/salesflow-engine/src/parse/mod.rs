//! Text to typed values: numbers, money, booleans, dates and times.

pub mod datetime;
pub mod number;

pub use datetime::{DateFormat, infer_format, micros_to_days};
pub use number::{NumberError, parse_bool, parse_integer, parse_number};
