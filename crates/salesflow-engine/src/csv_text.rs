//! CSV text of record batches, as Arrow's CSV writer writes it, faster.
//!
//! Arrow's writer formats every cell through a dynamically dispatched formatter into a string
//! and hands it to the `csv` crate, which scans it again for quoting: writing the 3 M-row
//! customer summary took 1.5 s of the `summary` command's time. Here strings, integers and
//! floats are written straight into the output buffer (floats as the shortest text that reads
//! back as the same number, as Arrow formats them, with `zmij`; integers with `itoa`); every
//! other type goes through Arrow's own formatter with the
//! options Arrow's writer uses, so the text is the same byte for byte. Quoting follows the
//! `csv` crate's "necessary" style: a field is quoted when it holds a comma, a quote or a line
//! break (quotes doubled), or when it is the empty only field of a record.

use datafusion::arrow::array::{
    Array, AsArray, Float32Array, Float64Array, GenericStringArray, Int32Array, Int64Array,
    StringViewArray, UInt64Array,
};
use datafusion::arrow::datatypes::{
    DataType, Float32Type, Float64Type, Int32Type, Int64Type, UInt64Type,
};
use datafusion::arrow::error::ArrowError;
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};

/// How timestamps with a time zone are written (UTC, ISO 8601).
pub(crate) const TIMESTAMP_TZ_FORMAT: &str = "%Y-%m-%dT%H:%M:%S%.fZ";

/// One column, ready to write cells from.
enum Column<'a> {
    Utf8(&'a GenericStringArray<i32>),
    LargeUtf8(&'a GenericStringArray<i64>),
    View(&'a StringViewArray),
    Int64(&'a Int64Array),
    Int32(&'a Int32Array),
    UInt64(&'a UInt64Array),
    Float64(&'a Float64Array),
    Float32(&'a Float32Array),
    Other(ArrayFormatter<'a>),
}

fn column<'a>(array: &'a dyn Array, options: &FormatOptions<'a>) -> Result<Column<'a>, ArrowError> {
    Ok(match array.data_type() {
        DataType::Utf8 => Column::Utf8(array.as_string::<i32>()),
        DataType::LargeUtf8 => Column::LargeUtf8(array.as_string::<i64>()),
        DataType::Utf8View => Column::View(array.as_string_view()),
        DataType::Int64 => Column::Int64(array.as_primitive::<Int64Type>()),
        DataType::Int32 => Column::Int32(array.as_primitive::<Int32Type>()),
        DataType::UInt64 => Column::UInt64(array.as_primitive::<UInt64Type>()),
        DataType::Float64 => Column::Float64(array.as_primitive::<Float64Type>()),
        DataType::Float32 => Column::Float32(array.as_primitive::<Float32Type>()),
        other if other.is_nested() => {
            return Err(ArrowError::CsvError(format!(
                "Nested type {other} is not supported in CSV"
            )));
        }
        _ => Column::Other(ArrayFormatter::try_new(array, options)?),
    })
}

/// Appends `text` as one field, quoted when it needs to be.
fn push_text(out: &mut Vec<u8>, text: &str, only_field: bool) {
    let needs_quotes = (only_field && text.is_empty())
        || text
            .bytes()
            .any(|b| matches!(b, b',' | b'"' | b'\n' | b'\r'));
    if !needs_quotes {
        out.extend_from_slice(text.as_bytes());
        return;
    }
    out.push(b'"');
    for part in text.split_inclusive('"') {
        out.extend_from_slice(part.as_bytes());
        if part.ends_with('"') {
            out.push(b'"');
        }
    }
    out.push(b'"');
}

/// Appends a float as Arrow's writer writes it. zmij rather than ryu: formatting the 8 M floats
/// of bench/clv's predictions.csv in a loop on one core (a scratch program, three runs) took
/// 246 ms against ryu's 366 ms, with the same text except
/// that it writes a positive exponent as `e+N` where Arrow writes `eN`; only magnitudes of
/// 1e15 and more (and the non-finite values) can have one, so only they are checked.
fn push_f64(out: &mut Vec<u8>, buffer: &mut zmij::Buffer, value: f64) {
    // Whole numbers below 1e15 (counts, days: most cells of a customer summary) are their
    // digits and ".0", written without the general algorithm ("predictions written" on
    // bench/clv, SALESFLOW_TIMINGS=1, interleaved runs: see bench/RESULTS.md). Whole is
    // tested by a round trip through an integer: `fract()` calls the C library's `trunc`
    // on the baseline x86-64 target, 1.04 % of the CPU samples of bench/clv's `salesflow clv
    // --orders` (`perf record -F 2000`), none after.
    if value.abs() < 1e15
        && (value as i64) as f64 == value
        && (value != 0.0 || value.is_sign_positive())
    {
        let mut digits = itoa::Buffer::new();
        out.extend_from_slice(digits.format(value as i64).as_bytes());
        out.extend_from_slice(b".0");
        return;
    }
    let text = buffer.format(value).as_bytes();
    if value.abs() < 1e15 {
        out.extend_from_slice(text);
    } else {
        push_without_plus(out, text);
    }
}

/// [`push_f64`] for a 32-bit float (an exponent from 1e7 up, so always checked).
fn push_f32(out: &mut Vec<u8>, buffer: &mut zmij::Buffer, value: f32) {
    push_without_plus(out, buffer.format(value).as_bytes());
}

fn push_without_plus(out: &mut Vec<u8>, text: &[u8]) {
    match text.iter().rposition(|b| *b == b'+') {
        Some(plus) => {
            out.extend_from_slice(&text[..plus]);
            out.extend_from_slice(&text[plus + 1..]);
        }
        None => out.extend_from_slice(text),
    }
}

/// Appends the rows of `batch` as CSV text (with the header line first when `header`).
pub(crate) fn append_csv(
    out: &mut Vec<u8>,
    batch: &RecordBatch,
    header: bool,
) -> Result<(), ArrowError> {
    let only_field = batch.num_columns() == 1;
    if header {
        for (i, field) in batch.schema().fields().iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            push_text(out, field.name(), only_field);
        }
        out.push(b'\n');
    }
    // The options of Arrow's CSV writer as `output` builds it.
    let options = FormatOptions::default()
        .with_null("")
        .with_timestamp_tz_format(Some(TIMESTAMP_TZ_FORMAT));
    let columns = batch
        .columns()
        .iter()
        .map(|array| column(array.as_ref(), &options))
        .collect::<Result<Vec<_>, _>>()?;
    // Each column's validity, read directly (not through `dyn Array`, once per cell).
    let nulls: Vec<_> = batch.columns().iter().map(|a| a.logical_nulls()).collect();
    let mut integers = itoa::Buffer::new();
    let mut floats = zmij::Buffer::new();
    let mut scratch = String::new();
    for row in 0..batch.num_rows() {
        for (i, (column, nulls)) in columns.iter().zip(&nulls).enumerate() {
            if i > 0 {
                out.push(b',');
            }
            if nulls.as_ref().is_some_and(|n| n.is_null(row)) {
                // An empty field (quoted when it is the record's only one, as Arrow's writer
                // does, or it would read as a blank line).
                if only_field {
                    out.extend_from_slice(b"\"\"");
                }
                continue;
            }
            match column {
                Column::Utf8(array) => push_text(out, array.value(row), only_field),
                Column::LargeUtf8(array) => push_text(out, array.value(row), only_field),
                Column::View(array) => push_text(out, array.value(row), only_field),
                Column::Int64(array) => {
                    out.extend_from_slice(integers.format(array.value(row)).as_bytes());
                }
                Column::Int32(array) => {
                    out.extend_from_slice(integers.format(array.value(row)).as_bytes());
                }
                Column::UInt64(array) => {
                    out.extend_from_slice(integers.format(array.value(row)).as_bytes());
                }
                Column::Float64(array) => push_f64(out, &mut floats, array.value(row)),
                Column::Float32(array) => push_f32(out, &mut floats, array.value(row)),
                Column::Other(formatter) => {
                    scratch.clear();
                    formatter.value(row).write(&mut scratch).map_err(|e| {
                        ArrowError::CsvError(format!(
                            "Error processing row {}, col {}: {e}",
                            row + 1,
                            i + 1
                        ))
                    })?;
                    push_text(out, &scratch, only_field);
                }
            }
        }
        out.push(b'\n');
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use datafusion::arrow::array::{
        ArrayRef, BooleanArray, Date32Array, StringArray, TimestampMicrosecondArray,
    };
    use datafusion::arrow::datatypes::{Field, Schema};

    use super::*;

    /// What Arrow's own CSV writer makes of `batch`, with the options `output` gives it.
    fn arrow_text(batch: &RecordBatch) -> String {
        let mut text = Vec::new();
        let mut writer = datafusion::arrow::csv::WriterBuilder::new()
            .with_header(true)
            .with_timestamp_tz_format(TIMESTAMP_TZ_FORMAT.to_string())
            .build(&mut text);
        writer.write(batch).unwrap();
        drop(writer);
        String::from_utf8(text).unwrap()
    }

    fn our_text(batch: &RecordBatch) -> String {
        let mut text = Vec::new();
        append_csv(&mut text, batch, true).unwrap();
        String::from_utf8(text).unwrap()
    }

    /// Whole numbers (written without the general algorithm) and their neighbours, at every
    /// magnitude up to where the shortcut ends, read as Arrow writes them.
    #[test]
    fn whole_numbers_and_their_neighbours_are_written_as_arrow_writes_them() {
        let mut values = vec![-0.0, 0.0, 1e15, -1e15, 1e15 - 1.0, 0.5, -0.5];
        for exponent in 0..16 {
            let whole = 10f64.powi(exponent);
            for v in [whole, whole + 1.0, whole - 1.0, whole * 3.0, whole + 0.5] {
                values.extend([v, -v, v.next_up(), v.next_down()]);
            }
        }
        let batch =
            RecordBatch::try_from_iter([("x", Arc::new(Float64Array::from(values)) as ArrayRef)])
                .unwrap();
        assert_eq!(our_text(&batch), arrow_text(&batch));
    }

    #[test]
    fn writes_what_arrows_writer_writes() {
        let columns: Vec<(&str, ArrayRef)> = vec![
            (
                "id",
                Arc::new(StringArray::from(vec![
                    Some("plain"),
                    Some("with, comma"),
                    Some("say \"hi\""),
                    Some("two\nlines"),
                    None,
                    Some(""),
                ])),
            ),
            (
                "view",
                Arc::new(StringViewArray::from(vec![
                    Some("a long enough string to be out of line"),
                    None,
                    Some("x,y"),
                    Some("\r"),
                    Some("q\"q"),
                    Some(" padded "),
                ])),
            ),
            (
                "n",
                Arc::new(Int64Array::from(vec![
                    Some(0),
                    Some(-7),
                    None,
                    Some(i64::MAX),
                    Some(i64::MIN),
                    Some(42),
                ])),
            ),
            (
                "x",
                Arc::new(Float64Array::from(vec![
                    Some(0.0),
                    Some(-1.5),
                    Some(1e16),
                    Some(f64::NAN),
                    None,
                    Some(29.73),
                ])),
            ),
            (
                "edges",
                Arc::new(Float64Array::from(vec![
                    Some(f64::MAX),
                    Some(-1e-300),
                    Some(f64::INFINITY),
                    Some(f64::NEG_INFINITY),
                    Some(5e-324),
                    Some(-0.0),
                ])),
            ),
            (
                "more",
                Arc::new(Float64Array::from(vec![
                    Some(999_999_999_999_999.9),
                    Some(1e15),
                    Some(123_456_789_012_345_680.0),
                    Some(1e-7),
                    Some(0.000_123),
                    Some(104.285_714_285_714_29),
                ])),
            ),
            (
                "single",
                Arc::new(Float32Array::from(vec![
                    Some(1e7),
                    Some(-3.4e38),
                    Some(0.1),
                    None,
                    Some(f32::NAN),
                    Some(1e-7),
                ])),
            ),
            (
                "at",
                Arc::new(
                    TimestampMicrosecondArray::from(vec![
                        Some(0),
                        Some(1_700_000_000_123_456),
                        None,
                        Some(-1),
                        Some(86_400_000_000),
                        Some(1),
                    ])
                    .with_timezone("UTC"),
                ),
            ),
            (
                "day",
                Arc::new(Date32Array::from(vec![
                    Some(0),
                    Some(19_000),
                    None,
                    Some(-1),
                    Some(1),
                    Some(2),
                ])),
            ),
            (
                "flag",
                Arc::new(BooleanArray::from(vec![
                    Some(true),
                    Some(false),
                    None,
                    Some(true),
                    Some(false),
                    None,
                ])),
            ),
        ];
        let schema = Arc::new(Schema::new(
            columns
                .iter()
                .map(|(name, array)| Field::new(*name, array.data_type().clone(), true))
                .collect::<Vec<_>>(),
        ));
        let batch =
            RecordBatch::try_new(schema, columns.into_iter().map(|(_, a)| a).collect()).unwrap();
        assert_eq!(our_text(&batch), arrow_text(&batch));

        // Whole numbers, which take a shortcut, on both sides of its bounds.
        let wholes = Float64Array::from(vec![
            999_999_999_999_999.0,
            -999_999_999_999_999.0,
            1e15,
            -1e15,
            4_503_599_627_370_496.0,
            730.0,
            -7.0,
            1.0,
            0.0,
            -0.0,
            0.5,
            -1e-320,
        ]);
        let schema = Arc::new(Schema::new(vec![Field::new("w", DataType::Float64, false)]));
        let wholes = RecordBatch::try_new(schema, vec![Arc::new(wholes)]).unwrap();
        assert_eq!(our_text(&wholes), arrow_text(&wholes));

        // A one-column record with an empty value is quoted (else it would be a blank line).
        let schema = Arc::new(Schema::new(vec![Field::new("only", DataType::Utf8, true)]));
        let single = RecordBatch::try_new(
            schema,
            vec![Arc::new(StringArray::from(vec![Some(""), None, Some("a")]))],
        )
        .unwrap();
        assert_eq!(our_text(&single), arrow_text(&single));
    }
}
