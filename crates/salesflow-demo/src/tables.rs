//! Canonical table names and their Arrow schemas.

use std::sync::Arc;

use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};

/// The canonical tables, in data-contract order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Table {
    Orders,
    OrderLines,
    Products,
    Customers,
    Deals,
    StageEvents,
    MarketingSpend,
    Subscriptions,
    Events,
    Experiments,
}

impl Table {
    /// Every table, in data-contract order.
    pub(crate) const ALL: [Table; 10] = [
        Table::Orders,
        Table::OrderLines,
        Table::Products,
        Table::Customers,
        Table::Deals,
        Table::StageEvents,
        Table::MarketingSpend,
        Table::Subscriptions,
        Table::Events,
        Table::Experiments,
    ];

    /// Position in [`Table::ALL`].
    pub(crate) fn index(self) -> usize {
        self as usize
    }

    /// Canonical table name.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Table::Orders => "orders",
            Table::OrderLines => "order_lines",
            Table::Products => "products",
            Table::Customers => "customers",
            Table::Deals => "deals",
            Table::StageEvents => "stage_events",
            Table::MarketingSpend => "marketing_spend",
            Table::Subscriptions => "subscriptions",
            Table::Events => "events",
            Table::Experiments => "experiments",
        }
    }

    /// Arrow schema with the canonical column names.
    pub(crate) fn schema(self) -> SchemaRef {
        use DataType::{Boolean, Date32, Float64, Int64, Utf8};
        let ts = || DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()));
        let f = |name: &str, dt: DataType, nullable: bool| Field::new(name, dt, nullable);
        let fields = match self {
            Table::Orders => vec![
                f("customer_id", Utf8, false),
                f("order_id", Utf8, false),
                f("ordered_at", ts(), false),
                f("amount", Float64, false),
                f("currency", Utf8, false),
                f("channel", Utf8, false),
                f("status", Utf8, false),
            ],
            Table::OrderLines => vec![
                f("order_id", Utf8, false),
                f("product_id", Utf8, false),
                f("quantity", Int64, false),
                f("unit_price", Float64, false),
            ],
            Table::Products => vec![
                f("product_id", Utf8, false),
                f("name", Utf8, false),
                f("category", Utf8, false),
                f("price", Float64, false),
            ],
            Table::Customers => vec![
                f("customer_id", Utf8, false),
                f("created_at", ts(), false),
                f("email", Utf8, false),
                f("name", Utf8, false),
                f("company", Utf8, false),
                f("country", Utf8, false),
                f("industry", Utf8, false),
                f("acquisition_channel", Utf8, false),
                f("segment", Utf8, false),
                f("age", Int64, false),
                f("gender", Utf8, false),
                f("satisfaction", Float64, false),
            ],
            Table::Deals => vec![
                f("deal_id", Utf8, false),
                f("created_at", ts(), false),
                f("stage", Utf8, false),
                f("amount", Float64, false),
                f("customer_id", Utf8, false),
                f("pipeline", Utf8, false),
                f("owner", Utf8, false),
                f("source", Utf8, false),
                f("closed_at", ts(), true),
                f("status", Utf8, false),
                f("lost_reason", Utf8, true),
            ],
            Table::StageEvents => vec![
                f("deal_id", Utf8, false),
                f("stage", Utf8, false),
                f("entered_at", ts(), false),
            ],
            Table::MarketingSpend => vec![
                f("date", Date32, false),
                f("channel", Utf8, false),
                f("spend", Float64, false),
                f("segment", Utf8, false),
                f("impressions", Int64, false),
                f("clicks", Int64, false),
                f("leads", Int64, false),
                f("attributed_revenue", Float64, false),
            ],
            Table::Subscriptions => vec![
                f("customer_id", Utf8, false),
                f("started_at", ts(), false),
                f("mrr", Float64, false),
                f("ended_at", ts(), true),
                f("plan", Utf8, false),
            ],
            Table::Events => vec![
                f("customer_id", Utf8, false),
                f("occurred_at", ts(), false),
                f("kind", Utf8, false),
                f("duration_s", Float64, true),
                f("value", Float64, true),
            ],
            Table::Experiments => vec![
                f("experiment", Utf8, false),
                f("variant", Utf8, false),
                f("customer_id", Utf8, false),
                f("converted", Boolean, false),
                f("revenue", Float64, false),
            ],
        };
        Arc::new(Schema::new(fields))
    }

    /// Columns whose values are (nearly) unique, so dictionary encoding in
    /// Parquet would only cost time.
    pub(crate) fn unique_columns(self) -> &'static [&'static str] {
        match self {
            Table::Orders => &["order_id", "customer_id"],
            Table::OrderLines => &["order_id"],
            Table::Customers => &["customer_id", "email", "name", "company"],
            Table::Deals => &["deal_id", "customer_id"],
            Table::StageEvents => &["deal_id"],
            Table::Subscriptions | Table::Events | Table::Experiments => &["customer_id"],
            Table::Products | Table::MarketingSpend => &[],
        }
    }
}
