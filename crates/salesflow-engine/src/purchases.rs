//! The purchase log for recommenders: who bought which product when, from `orders` joined
//! with `order_lines`; product attributes and customer segments beside it.

use std::collections::HashMap;

use datafusion::arrow::array::{Array, ArrayRef, AsArray};
use datafusion::arrow::datatypes::{DataType, Float64Type, Int64Type};
use salesflow_core::TableKind;

use crate::Dataset;
use crate::error::{EngineError, Location, Result};

/// One row per (customer, product, order): the purchases, with ids interned to indices.
#[derive(Debug, Clone, Default)]
pub struct PurchaseLog {
    /// Customer ids by index (every customer of `orders`, and of `customers` when loaded).
    pub customers: Vec<String>,
    /// Product ids by index (every product of `order_lines`, and of `products` when loaded).
    pub products: Vec<String>,
    /// Customer index of each purchase.
    pub customer: Vec<u32>,
    /// Product index of each purchase.
    pub product: Vec<u32>,
    /// Order time of each purchase, Unix seconds.
    pub at: Vec<i64>,
    /// Units bought.
    pub quantity: Vec<f64>,
}

impl PurchaseLog {
    /// Number of purchases.
    pub fn len(&self) -> usize {
        self.customer.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.customer.is_empty()
    }
}

struct Interner {
    names: Vec<String>,
    index: HashMap<String, u32>,
}

impl Interner {
    fn new() -> Self {
        Interner {
            names: Vec::new(),
            index: HashMap::new(),
        }
    }

    fn intern(&mut self, name: &str) -> u32 {
        if let Some(&i) = self.index.get(name) {
            return i;
        }
        let i = self.names.len() as u32;
        self.names.push(name.to_owned());
        self.index.insert(name.to_owned(), i);
        i
    }
}

fn missing(table: &str, hint: &str) -> EngineError {
    EngineError::input(
        Location::default(),
        format!("no {table} table is loaded"),
        Some(hint.into()),
    )
}

/// The purchases: order lines with quantity > 0 of orders that were not cancelled or refunds,
/// one row per (order, product), in time order.
pub async fn purchase_log(dataset: &Dataset) -> Result<PurchaseLog> {
    let hint = "recommendations need orders.csv and order_lines.csv in the --data folder";
    let orders = dataset
        .table(TableKind::Orders)
        .ok_or_else(|| missing("orders", hint))?;
    dataset
        .table(TableKind::OrderLines)
        .ok_or_else(|| missing("order_lines", hint))?;
    let not_purchase = if orders.has_values("status") {
        format!(
            "WHERE status IS NULL OR status NOT IN ('{}', '{}')",
            crate::ingest::rules::CANCELLED,
            crate::ingest::rules::REFUNDED
        )
    } else {
        String::new()
    };
    // An order id may repeat in `orders` (a conflicting duplicate is flagged, not dropped):
    // take one customer and time per order so a line is never counted twice.
    let query = format!(
        "WITH o AS (SELECT order_id, MIN(customer_id) AS customer_id, MIN(ordered_at) AS ordered_at \
           FROM orders {not_purchase} GROUP BY order_id) \
         SELECT o.customer_id, l.product_id, to_unixtime(o.ordered_at) AS at, \
                CAST(SUM(l.quantity) AS DOUBLE) AS quantity \
         FROM order_lines l JOIN o ON l.order_id = o.order_id \
         WHERE l.quantity > 0 \
         GROUP BY o.customer_id, l.product_id, o.order_id, o.ordered_at \
         ORDER BY at, o.customer_id, l.product_id"
    );
    let batches = dataset.sql(&query).await?;
    let mut customers = Interner::new();
    let mut products = Interner::new();
    // Every customer with an order gets an index, buyers first in time order.
    let mut log = PurchaseLog::default();
    for batch in &batches {
        let c = batch.column(0).as_string_view();
        let p = batch.column(1).as_string_view();
        let at = int64(batch.column(2))?;
        let q = batch.column(3).as_primitive::<Float64Type>();
        for row in 0..batch.num_rows() {
            log.customer.push(customers.intern(c.value(row)));
            log.product.push(products.intern(p.value(row)));
            log.at.push(at.value(row));
            log.quantity.push(q.value(row));
        }
    }
    for batch in dataset
        .sql("SELECT DISTINCT customer_id FROM orders")
        .await?
    {
        let c = batch.column(0).as_string_view();
        for row in 0..batch.num_rows() {
            customers.intern(c.value(row));
        }
    }
    if dataset.table(TableKind::Customers).is_some() {
        for batch in dataset.sql("SELECT customer_id FROM customers").await? {
            let c = batch.column(0).as_string_view();
            for row in 0..batch.num_rows() {
                customers.intern(c.value(row));
            }
        }
    }
    if dataset.table(TableKind::Products).is_some() {
        for batch in dataset.sql("SELECT product_id FROM products").await? {
            let p = batch.column(0).as_string_view();
            for row in 0..batch.num_rows() {
                products.intern(p.value(row));
            }
        }
    }
    log.customers = customers.names;
    log.products = products.names;
    Ok(log)
}

fn int64(array: &ArrayRef) -> Result<&datafusion::arrow::array::PrimitiveArray<Int64Type>> {
    array
        .as_primitive_opt::<Int64Type>()
        .ok_or_else(|| EngineError::Internal(format!("expected Int64, got {}", array.data_type())))
}

/// Product attributes as numbers, one row per product of `products` (in that order):
/// `category` and every other text column with at most 100 distinct values one-hot, and
/// `price` and every other numeric column standardised (log of price). `None` when no
/// `products` table is loaded or it has no usable column.
pub struct ProductFeatures {
    /// Feature names (`category=camera`, `price`, ...).
    pub names: Vec<String>,
    /// Row-major `products.len() × names.len()` values.
    pub values: Vec<f32>,
    /// Display name of each product, when `products` has a `name`.
    pub display: Vec<Option<String>>,
}

/// Features of `products` (indices as in [`PurchaseLog::products`]).
pub async fn product_features(
    dataset: &Dataset,
    products: &[String],
) -> Result<Option<ProductFeatures>> {
    let Some(table) = dataset.table(TableKind::Products) else {
        return Ok(None);
    };
    let index: HashMap<&str, usize> = products
        .iter()
        .enumerate()
        .map(|(i, p)| (p.as_str(), i))
        .collect();
    let schema = table.schema.clone();
    let mut names = Vec::new();
    let mut columns: Vec<Vec<f32>> = Vec::new();
    let mut display = vec![None; products.len()];
    // Rows of the table mapped to product indices.
    let mut row_product: Vec<Option<usize>> = Vec::new();
    let id_col = schema
        .index_of("product_id")
        .map_err(|e| EngineError::Internal(e.to_string()))?;
    for batch in &table.batches {
        let ids = batch.column(id_col).as_string_view();
        for r in 0..batch.num_rows() {
            row_product.push(index.get(ids.value(r)).copied());
        }
    }
    for (c, field) in schema.fields().iter().enumerate() {
        let name = field.name();
        if name == "product_id" || name.starts_with('_') {
            continue;
        }
        if !table.has_values(name) {
            continue;
        }
        let mut text: Vec<Option<String>> = Vec::new();
        let mut numbers: Vec<Option<f64>> = Vec::new();
        for batch in &table.batches {
            let array = batch.column(c);
            match array.data_type() {
                DataType::Utf8View => {
                    let a = array.as_string_view();
                    text.extend((0..a.len()).map(|r| a.is_valid(r).then(|| a.value(r).to_owned())));
                }
                DataType::Float64 => {
                    let a = array.as_primitive::<Float64Type>();
                    numbers.extend((0..a.len()).map(|r| a.is_valid(r).then(|| a.value(r))));
                }
                DataType::Int64 => {
                    let a = array.as_primitive::<Int64Type>();
                    numbers.extend((0..a.len()).map(|r| a.is_valid(r).then(|| a.value(r) as f64)));
                }
                _ => {}
            }
        }
        if name == "name" {
            for (row, value) in text.into_iter().enumerate() {
                if let Some(p) = row_product[row] {
                    display[p] = value;
                }
            }
            continue;
        }
        if !text.is_empty() {
            let mut levels: Vec<&str> = text.iter().flatten().map(String::as_str).collect();
            levels.sort_unstable();
            levels.dedup();
            if levels.len() > 100 || levels.len() < 2 {
                continue;
            }
            for level in levels {
                names.push(format!("{name}={level}"));
                let mut column = vec![0f32; products.len()];
                for (row, value) in text.iter().enumerate() {
                    if let (Some(p), Some(v)) = (row_product[row], value)
                        && v == level
                    {
                        column[p] = 1.0;
                    }
                }
                columns.push(column);
            }
        } else if !numbers.is_empty() {
            let transform = |x: f64| {
                if name == "price" {
                    x.max(0.0).ln_1p()
                } else {
                    x
                }
            };
            let finite: Vec<f64> = numbers
                .iter()
                .flatten()
                .map(|&x| transform(x))
                .filter(|x| x.is_finite())
                .collect();
            let n = finite.len() as f64;
            if n < 2.0 {
                continue;
            }
            let mean = finite.iter().sum::<f64>() / n;
            let sd = (finite.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt();
            if sd.is_nan() || sd <= 0.0 {
                continue;
            }
            names.push(name.to_owned());
            let mut column = vec![0f32; products.len()];
            for (row, value) in numbers.iter().enumerate() {
                if let (Some(p), Some(v)) = (row_product[row], value) {
                    let z = (transform(*v) - mean) / sd;
                    if z.is_finite() {
                        column[p] = z as f32;
                    }
                }
            }
            columns.push(column);
        }
    }
    if names.is_empty() {
        return Ok(None);
    }
    let dims = names.len();
    let mut values = vec![0f32; products.len() * dims];
    for (d, column) in columns.iter().enumerate() {
        for (p, &v) in column.iter().enumerate() {
            values[p * dims + d] = v;
        }
    }
    Ok(Some(ProductFeatures {
        names,
        values,
        display,
    }))
}

/// Each customer's value of a `customers` column, as level indices (`None`: no value).
pub async fn customer_segments(
    dataset: &Dataset,
    column: &str,
    customers: &[String],
) -> Result<(Vec<Option<u32>>, Vec<String>)> {
    let table = dataset
        .table(TableKind::Customers)
        .ok_or_else(|| missing("customers", "segments come from a column of customers.csv"))?;
    if table.schema.index_of(column).is_err() {
        let names: Vec<&str> = table
            .schema
            .fields()
            .iter()
            .map(|f| f.name().as_str())
            .filter(|n| !n.starts_with('_'))
            .collect();
        return Err(EngineError::input(
            Location::default(),
            format!("customers has no column `{column}`"),
            Some(format!("use one of: {}", names.join(", "))),
        ));
    }
    let index: HashMap<&str, usize> = customers
        .iter()
        .enumerate()
        .map(|(i, c)| (c.as_str(), i))
        .collect();
    let query = format!(
        "SELECT customer_id, CAST(\"{}\" AS VARCHAR) FROM customers",
        column.replace('"', "\"\"")
    );
    let mut levels = Interner::new();
    let mut out = vec![None; customers.len()];
    for batch in dataset.sql(&query).await? {
        let ids = batch.column(0).as_string_view();
        let values = datafusion::arrow::compute::cast(batch.column(1), &DataType::Utf8)?;
        let values = values.as_string::<i32>();
        for r in 0..batch.num_rows() {
            if let (Some(&c), true) = (index.get(ids.value(r)), values.is_valid(r)) {
                out[c] = Some(levels.intern(values.value(r)));
            }
        }
    }
    Ok((out, levels.names))
}
