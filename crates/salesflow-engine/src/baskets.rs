//! Baskets for market-basket analysis: from a plain basket file or from `order_lines`.

use std::path::Path;

use datafusion::arrow::array::{Array, AsArray};
use datafusion::arrow::datatypes::Float64Type;
use salesflow_core::TableKind;
use salesflow_models::basket::Transactions;

use crate::Dataset;
use crate::error::{EngineError, Location, Result};

/// Reads a basket file: one basket a line, items separated by commas (an item holding a comma
/// is quoted, as in CSV). Surrounding spaces are trimmed; an item repeated in a basket counts
/// once; a blank line is an empty basket (it still counts toward support).
///
/// An empty item (`a,,b`, a trailing comma) or a line that is not UTF-8 is an input error with
/// its line and column.
pub fn read_basket_file(path: &Path) -> Result<Transactions> {
    let bytes = std::fs::read(path).map_err(|source| EngineError::Io {
        path: path.to_owned(),
        source,
    })?;
    let mut transactions = Transactions::new();
    let mut items: Vec<String> = Vec::new();
    let body = bytes.strip_suffix(b"\n").unwrap_or(&bytes);
    if body.is_empty() {
        return Ok(transactions);
    }
    for (index, raw) in body.split(|&b| b == b'\n').enumerate() {
        let line_no = index as u64 + 1;
        let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
        let line = std::str::from_utf8(raw).map_err(|e| {
            EngineError::input(
                location(path, line_no, None),
                format!("byte {} is not valid UTF-8", e.valid_up_to() + 1),
                Some("save the file as UTF-8".into()),
            )
        })?;
        items.clear();
        if !line.trim().is_empty() {
            split_items(line, &mut items)
                .map_err(|(column, what)| {
                    EngineError::input(
                        location(path, line_no, Some(format!("item {column}"))),
                        what,
                        Some("write one basket a line as item,item,item; quote an item that holds a comma".into()),
                    )
                })?;
        }
        transactions.push_basket(items.iter());
    }
    Ok(transactions)
}

fn location(path: &Path, line: u64, column: Option<String>) -> Location {
    Location {
        file: Some(path.to_owned()),
        line: Some(line),
        column,
    }
}

/// Splits one line into trimmed items; `Err((item number, what))` on an empty item.
fn split_items(line: &str, out: &mut Vec<String>) -> std::result::Result<(), (usize, String)> {
    if !line.contains('"') {
        for (i, item) in line.split(',').enumerate() {
            let item = item.trim();
            if item.is_empty() {
                return Err((
                    i + 1,
                    "empty item (two commas in a row, or one at the end)".into(),
                ));
            }
            out.push(item.to_owned());
        }
        return Ok(());
    }
    // Quoted items: let the csv crate do the quoting rules for this one line.
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(line.as_bytes());
    let mut record = csv::StringRecord::new();
    match reader.read_record(&mut record) {
        Ok(true) => {
            for (i, item) in record.iter().enumerate() {
                let item = item.trim();
                if item.is_empty() {
                    return Err((i + 1, "empty item".into()));
                }
                out.push(item.to_owned());
            }
            Ok(())
        }
        Ok(false) => Ok(()),
        Err(e) => Err((1, format!("cannot split the line: {e}"))),
    }
}

/// Baskets from `order_lines`: one basket per order, items = product ids, each line's revenue
/// (`quantity × unit_price`, when the table has prices) attached.
///
/// Lines with a quantity of zero or less (returns, corrections) are not purchases and are left
/// out; when `orders` is loaded, so are the lines of cancelled orders (an order that never
/// happened). Baskets come in `order_id` order.
pub async fn order_line_baskets(dataset: &Dataset) -> Result<Transactions> {
    let Some(lines) = dataset.table(TableKind::OrderLines) else {
        return Err(EngineError::input(
            Location::default(),
            "no order_lines table is loaded",
            Some("pass --order-lines FILE, or put order_lines.csv in the --data folder".into()),
        ));
    };
    let has_price = lines.has_values("unit_price");
    let revenue = if has_price {
        "SUM(CAST(l.quantity AS DOUBLE) * CAST(l.unit_price AS DOUBLE))"
    } else {
        "CAST(NULL AS DOUBLE)"
    };
    let cancelled = match dataset.table(TableKind::Orders) {
        Some(orders) if orders.has_values("status") => format!(
            "AND l.order_id NOT IN (SELECT order_id FROM orders WHERE status = '{}' AND order_id IS NOT NULL)",
            crate::ingest::rules::CANCELLED
        ),
        _ => String::new(),
    };
    let query = format!(
        "SELECT l.order_id, l.product_id, {revenue} AS revenue FROM order_lines l \
         WHERE l.quantity > 0 {cancelled} \
         GROUP BY l.order_id, l.product_id ORDER BY l.order_id"
    );
    let batches = dataset.sql(&query).await?;
    let mut transactions = Transactions::new();
    let mut current: Option<String> = None;
    let mut basket: Vec<(u32, f64)> = Vec::new();
    for batch in &batches {
        let orders = batch.column(0).as_string_view();
        let products = batch.column(1).as_string_view();
        let values = batch.column(2).as_primitive::<Float64Type>();
        for row in 0..batch.num_rows() {
            let order = orders.value(row);
            if current.as_deref() != Some(order) {
                if current.is_some() {
                    push(&mut transactions, &mut basket, has_price);
                }
                current = Some(order.to_owned());
            }
            let id = transactions.intern(products.value(row));
            let value = if values.is_null(row) {
                0.0
            } else {
                values.value(row)
            };
            basket.push((id, value));
        }
    }
    if current.is_some() {
        push(&mut transactions, &mut basket, has_price);
    }
    Ok(transactions)
}

fn push(transactions: &mut Transactions, basket: &mut Vec<(u32, f64)>, valued: bool) {
    if valued {
        transactions.push_valued(basket.drain(..));
    } else {
        transactions.push_ids(basket.drain(..).map(|(id, _)| id));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(content: &str) -> (tempfile::TempDir, std::path::PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("baskets.txt");
        std::fs::write(&path, content).unwrap();
        (dir, path)
    }

    #[test]
    fn reads_items_trims_and_keeps_blank_baskets() {
        let (_dir, path) = write("a, b ,a\r\n\n\"x,y\",c\n");
        let t = read_basket_file(&path).unwrap();
        assert_eq!(t.len(), 3);
        assert_eq!(t.sorted_names(t.basket(0)), vec!["a", "b"]);
        assert!(t.basket(1).is_empty());
        assert_eq!(t.sorted_names(t.basket(2)), vec!["c", "x,y"]);
    }

    #[test]
    fn empty_item_is_an_error_with_line_and_item() {
        let (_dir, path) = write("a,b\nc,,d\n");
        let err = read_basket_file(&path).unwrap_err();
        assert!(err.is_bad_input());
        let text = err.to_string();
        assert!(text.contains("line 2") && text.contains("item 2"), "{text}");
    }
}
