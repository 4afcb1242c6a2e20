//! The canonical tables of the data contract and their columns.
//!
//! Only `orders` is required; every other table unlocks more of the analysis. Input files may
//! use their own column names: they are mapped to these canonical names by the ingest (see
//! [`crate::config`]). Columns a table does not name here are kept as text ("extra
//! attributes").

use std::fmt;
use std::str::FromStr;

/// How a column's text is parsed and which Arrow type it becomes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueKind {
    /// An identifier, kept as text exactly as written (trimmed).
    Id,
    /// Free text or a category.
    Text,
    /// A point in time, stored in UTC (microseconds). Dates alone mean midnight UTC.
    Timestamp,
    /// A calendar date.
    Date,
    /// An amount of money: currency symbols, thousands separators and the locale's decimal
    /// separator are understood; it must be finite.
    Money,
    /// Any other real number (finite).
    Float,
    /// A whole number.
    Integer,
    /// true/false, yes/no, 1/0, t/f, y/n.
    Boolean,
}

/// One canonical column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ColumnSpec {
    /// Canonical name.
    pub name: &'static str,
    /// How values are parsed.
    pub kind: ValueKind,
    /// Whether every row must have a value (rows without one are rejected).
    pub required: bool,
    /// Other names this column commonly goes by in exports, matched case-insensitively when
    /// no explicit mapping is given.
    pub aliases: &'static [&'static str],
}

const fn req(name: &'static str, kind: ValueKind, aliases: &'static [&'static str]) -> ColumnSpec {
    ColumnSpec {
        name,
        kind,
        required: true,
        aliases,
    }
}

const fn opt(name: &'static str, kind: ValueKind, aliases: &'static [&'static str]) -> ColumnSpec {
    ColumnSpec {
        name,
        kind,
        required: false,
        aliases,
    }
}

use ValueKind::*;

const CUSTOMER_ALIASES: &[&str] = &["customer", "customerid", "client_id", "user_id", "buyer_id"];

const ORDERS: &[ColumnSpec] = &[
    req("customer_id", Id, CUSTOMER_ALIASES),
    req(
        "ordered_at",
        Timestamp,
        &[
            "order_date",
            "orderdate",
            "invoice_date",
            "invoicedate",
            "purchased_at",
            "date",
        ],
    ),
    req(
        "amount",
        Money,
        &[
            "total",
            "order_total",
            "revenue",
            "sales",
            "value",
            "amount_usd",
        ],
    ),
    opt(
        "order_id",
        Id,
        &[
            "orderid",
            "invoice",
            "invoice_no",
            "invoiceno",
            "invoice_id",
        ],
    ),
    opt("currency", Text, &[]),
    opt("channel", Text, &[]),
    opt("status", Text, &["order_status"]),
];

const ORDER_LINES: &[ColumnSpec] = &[
    req(
        "order_id",
        Id,
        &["orderid", "invoice", "invoice_no", "invoiceno"],
    ),
    req(
        "product_id",
        Id,
        &["productid", "sku", "stockcode", "stock_code", "item_id"],
    ),
    req("quantity", Integer, &["qty"]),
    opt("unit_price", Money, &["unitprice", "price"]),
];

const PRODUCTS: &[ColumnSpec] = &[
    req(
        "product_id",
        Id,
        &["productid", "sku", "stockcode", "stock_code", "item_id"],
    ),
    opt("name", Text, &["product_name", "description", "title"]),
    opt("category", Text, &["product_category"]),
    opt("price", Money, &["list_price", "unit_price"]),
];

const CUSTOMERS: &[ColumnSpec] = &[
    req("customer_id", Id, CUSTOMER_ALIASES),
    opt(
        "created_at",
        Timestamp,
        &["signup_date", "signed_up_at", "registered_at"],
    ),
    opt("email", Text, &["email_address"]),
    opt("name", Text, &["full_name", "customer_name"]),
    opt(
        "company",
        Text,
        &["company_name", "organisation", "organization"],
    ),
    opt("country", Text, &[]),
    opt("industry", Text, &[]),
    opt("acquisition_channel", Text, &["channel", "source"]),
    // Matches `marketing_spend.segment`: spend aimed at a segment is measured against the
    // customers it won there.
    opt("segment", Text, &["customer_segment", "market_segment"]),
];

const DEALS: &[ColumnSpec] = &[
    req("deal_id", Id, &["dealid", "opportunity_id"]),
    req("created_at", Timestamp, &["created", "opened_at"]),
    req("stage", Text, &["deal_stage"]),
    req("amount", Money, &["value", "deal_value"]),
    opt("customer_id", Id, CUSTOMER_ALIASES),
    opt("pipeline", Text, &[]),
    opt("owner", Text, &["sales_rep", "owner_name"]),
    opt("source", Text, &["lead_source"]),
    opt("closed_at", Timestamp, &["close_date", "closed"]),
    opt("status", Text, &[]),
    opt("lost_reason", Text, &[]),
];

const STAGE_EVENTS: &[ColumnSpec] = &[
    req("deal_id", Id, &["dealid", "opportunity_id"]),
    req("stage", Text, &["to_stage"]),
    req(
        "entered_at",
        Timestamp,
        &["changed_at", "occurred_at", "timestamp"],
    ),
];

const MARKETING_SPEND: &[ColumnSpec] = &[
    req("date", Date, &["day", "week", "period"]),
    req("channel", Text, &["source", "campaign_channel"]),
    req("spend", Money, &["cost", "amount"]),
    opt("segment", Text, &[]),
    opt("impressions", Integer, &[]),
    opt("clicks", Integer, &[]),
    opt("leads", Integer, &[]),
    opt("attributed_revenue", Money, &["revenue"]),
];

const SUBSCRIPTIONS: &[ColumnSpec] = &[
    req("customer_id", Id, CUSTOMER_ALIASES),
    req("started_at", Timestamp, &["start_date", "created_at"]),
    req("mrr", Money, &["monthly_revenue"]),
    opt(
        "ended_at",
        Timestamp,
        &["end_date", "cancelled_at", "canceled_at", "churned_at"],
    ),
    opt("plan", Text, &["plan_name"]),
];

const EVENTS: &[ColumnSpec] = &[
    req("customer_id", Id, CUSTOMER_ALIASES),
    req(
        "occurred_at",
        Timestamp,
        &["timestamp", "event_time", "time"],
    ),
    req("kind", Text, &["event", "event_type", "type"]),
    opt("duration_s", Float, &["duration", "duration_seconds"]),
    opt("value", Float, &[]),
];

const EXPERIMENTS: &[ColumnSpec] = &[
    req("experiment", Text, &["experiment_id", "test"]),
    req("variant", Text, &["group", "arm"]),
    req("customer_id", Id, CUSTOMER_ALIASES),
    req("converted", Boolean, &["conversion"]),
    opt("revenue", Money, &[]),
];

const SERIES: &[ColumnSpec] = &[
    req(
        "date",
        Timestamp,
        &["ds", "period", "month", "week", "day", "timestamp", "time"],
    ),
    req(
        "value",
        Float,
        &[
            "y", "amount", "sales", "revenue", "quantity", "units", "demand",
        ],
    ),
    opt(
        "series_id",
        Id,
        &["unique_id", "series", "id", "sku", "product_id", "item_id"],
    ),
];

const CALENDAR: &[ColumnSpec] = &[
    req("date", Timestamp, &["ds", "day", "period"]),
    req(
        "event",
        Text,
        &["name", "holiday", "promotion", "promo", "campaign"],
    ),
    opt(
        "series_id",
        Id,
        &["unique_id", "series", "id", "sku", "product_id"],
    ),
    opt("value", Float, &["strength", "amount", "discount"]),
];

/// A canonical table of the data contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TableKind {
    /// Purchases: who bought, when, for how much. The only required table.
    Orders,
    /// The products in each order.
    OrderLines,
    /// The product catalogue.
    Products,
    /// Customer attributes.
    Customers,
    /// Sales opportunities and their current stage.
    Deals,
    /// The stage history of every deal.
    StageEvents,
    /// Marketing spend per channel and period.
    MarketingSpend,
    /// Recurring-revenue subscriptions.
    Subscriptions,
    /// Product and web events.
    Events,
    /// A/B-test assignments and outcomes.
    Experiments,
    /// Time series to forecast, one value per date (and series).
    Series,
    /// Known events (promotions, holidays) by date, past and future, for forecasts.
    Calendar,
}

impl TableKind {
    /// Every table, in the order they are read and reported.
    pub const ALL: [TableKind; 12] = [
        TableKind::Orders,
        TableKind::OrderLines,
        TableKind::Products,
        TableKind::Customers,
        TableKind::Deals,
        TableKind::StageEvents,
        TableKind::MarketingSpend,
        TableKind::Subscriptions,
        TableKind::Events,
        TableKind::Experiments,
        TableKind::Series,
        TableKind::Calendar,
    ];

    /// The canonical (file and SQL) name.
    pub fn name(self) -> &'static str {
        match self {
            TableKind::Orders => "orders",
            TableKind::OrderLines => "order_lines",
            TableKind::Products => "products",
            TableKind::Customers => "customers",
            TableKind::Deals => "deals",
            TableKind::StageEvents => "stage_events",
            TableKind::MarketingSpend => "marketing_spend",
            TableKind::Subscriptions => "subscriptions",
            TableKind::Events => "events",
            TableKind::Experiments => "experiments",
            TableKind::Series => "series",
            TableKind::Calendar => "calendar",
        }
    }

    /// The canonical columns, required ones first.
    pub fn columns(self) -> &'static [ColumnSpec] {
        match self {
            TableKind::Orders => ORDERS,
            TableKind::OrderLines => ORDER_LINES,
            TableKind::Products => PRODUCTS,
            TableKind::Customers => CUSTOMERS,
            TableKind::Deals => DEALS,
            TableKind::StageEvents => STAGE_EVENTS,
            TableKind::MarketingSpend => MARKETING_SPEND,
            TableKind::Subscriptions => SUBSCRIPTIONS,
            TableKind::Events => EVENTS,
            TableKind::Experiments => EXPERIMENTS,
            TableKind::Series => SERIES,
            TableKind::Calendar => CALENDAR,
        }
    }

    /// The column spec of `name`, if it is canonical for this table.
    pub fn column(self, name: &str) -> Option<&'static ColumnSpec> {
        self.columns().iter().find(|c| c.name == name)
    }

    /// The columns that identify a row: two rows with the same key are duplicates (exact when
    /// every other value agrees too, conflicting otherwise). `None` for tables whose rows have
    /// no identity (two identical order lines may be two real lines).
    pub fn key(self) -> Option<&'static [&'static str]> {
        match self {
            TableKind::Orders => Some(&["order_id"]),
            TableKind::Products => Some(&["product_id"]),
            TableKind::Customers => Some(&["customer_id"]),
            TableKind::Deals => Some(&["deal_id"]),
            TableKind::StageEvents => Some(&["deal_id", "stage", "entered_at"]),
            TableKind::MarketingSpend => Some(&["date", "channel", "segment"]),
            TableKind::Subscriptions => Some(&["customer_id", "started_at"]),
            TableKind::Experiments => Some(&["experiment", "customer_id"]),
            TableKind::Series => Some(&["series_id", "date"]),
            TableKind::Calendar => Some(&["date", "event", "series_id"]),
            TableKind::OrderLines | TableKind::Events => None,
        }
    }
}

impl fmt::Display for TableKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for TableKind {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        TableKind::ALL
            .into_iter()
            .find(|t| t.name() == s)
            .ok_or_else(|| {
                let names: Vec<_> = TableKind::ALL.iter().map(|t| t.name()).collect();
                format!("unknown table `{s}`; the tables are: {}", names.join(", "))
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn required_columns_come_first_and_names_are_unique() {
        for table in TableKind::ALL {
            let cols = table.columns();
            let first_optional = cols.iter().position(|c| !c.required).unwrap_or(cols.len());
            assert!(
                cols[first_optional..].iter().all(|c| !c.required),
                "{table}"
            );
            let mut names: Vec<_> = cols.iter().map(|c| c.name).collect();
            names.sort_unstable();
            names.dedup();
            assert_eq!(names.len(), cols.len(), "{table}");
            for key in table.key().unwrap_or(&[]) {
                assert!(table.column(key).is_some(), "{table}.{key}");
            }
        }
    }

    #[test]
    fn table_names_round_trip() {
        for table in TableKind::ALL {
            assert_eq!(table.name().parse::<TableKind>(), Ok(table));
        }
        assert!(
            "invoices"
                .parse::<TableKind>()
                .unwrap_err()
                .contains("orders")
        );
    }
}
