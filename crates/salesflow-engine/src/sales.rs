//! Orders and customers: what an order is worth (overall, by channel, by month, and whether
//! it is rising), how often customers buy, the event funnel, and monthly acquisition cohorts.
//!
//! Purchases are orders that are neither refunded nor cancelled (as in [`crate::summary`]);
//! refunds and cancellations are counted beside them. Months are UTC calendar months, numbered
//! `year * 12 + month - 1` so that consecutive months differ by one.

use datafusion::arrow::array::AsArray;
use datafusion::arrow::datatypes::{Float64Type, Int64Type};
use salesflow_core::TableKind;

use crate::Dataset;
use crate::error::{EngineError, Location, Result};
use crate::ingest::rules::{CANCELLED, REFUNDED};
use crate::summary::purchase_predicate;

/// Orders, customers and revenue of one group of purchases.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GroupValue {
    /// The group (a channel, a segment, a month label).
    pub key: String,
    /// Purchases.
    pub orders: u64,
    /// Distinct customers who bought.
    pub customers: u64,
    /// Revenue of the purchases.
    pub revenue: f64,
}

impl GroupValue {
    /// Average order value: revenue / orders (0 without orders).
    pub fn aov(&self) -> f64 {
        if self.orders == 0 {
            0.0
        } else {
            self.revenue / self.orders as f64
        }
    }
}

/// One calendar month of purchases.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MonthValue {
    /// `YYYY-MM`.
    pub month: String,
    /// Purchases, customers who bought, revenue.
    pub value: GroupValue,
    /// Customers whose first purchase was in this month.
    pub new_customers: u64,
}

/// The direction of average order value over the months: the least-squares slope of monthly
/// AOV against the month index, each month weighted by its orders.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Trend {
    /// Change of AOV per month, in currency.
    pub per_month: f64,
    /// The same as a share of the overall AOV (0.01 = +1 % a month).
    pub relative_per_month: f64,
    /// Months with purchases that entered the fit.
    pub months: usize,
}

/// Orders and customers, as the report shows them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OrderMetrics {
    /// All purchases.
    pub total: GroupValue,
    /// Customers with purchases on at least two distinct orders.
    pub repeat_customers: u64,
    /// Refunded orders and their (positive) amount.
    pub refunds: (u64, f64),
    /// Cancelled orders.
    pub cancelled: u64,
    /// Purchases by `orders.channel` (empty without the column), by revenue descending.
    pub by_channel: Vec<GroupValue>,
    /// Every month from the first purchase to the last, empty months included.
    pub by_month: Vec<MonthValue>,
    /// AOV's direction (None with fewer than three months of purchases).
    pub aov_trend: Option<Trend>,
}

impl OrderMetrics {
    /// Purchases per customer.
    pub fn orders_per_customer(&self) -> f64 {
        ratio(self.total.orders as f64, self.total.customers as f64)
    }

    /// Share of customers who bought more than once.
    pub fn repeat_rate(&self) -> f64 {
        ratio(self.repeat_customers as f64, self.total.customers as f64)
    }
}

fn ratio(a: f64, b: f64) -> f64 {
    if b == 0.0 { 0.0 } else { a / b }
}

pub(crate) fn orders_table(dataset: &Dataset) -> Result<&crate::LoadedTable> {
    dataset.table(TableKind::Orders).ok_or_else(|| {
        EngineError::input(
            Location::default(),
            "no orders table is loaded",
            Some("put orders.csv (customer_id, ordered_at, amount) in the --data folder".into()),
        )
    })
}

/// The SQL month index of a timestamp column.
pub(crate) fn month_sql(column: &str) -> String {
    format!(
        "(CAST(date_part('year', {column}) AS BIGINT) * 12 + CAST(date_part('month', {column}) AS BIGINT) - 1)"
    )
}

/// The month index (as [`month_sql`] numbers months) of a UTC timestamp in microseconds;
/// `None` outside chrono's range.
pub(crate) fn month_of_micros(micros: i64) -> Option<i64> {
    let t = chrono::DateTime::from_timestamp_micros(micros)?;
    Some(i64::from(chrono::Datelike::year(&t)) * 12 + i64::from(chrono::Datelike::month0(&t)))
}

/// `YYYY-MM` of a month index.
pub fn month_label(month: i64) -> String {
    format!(
        "{:04}-{:02}",
        month.div_euclid(12),
        month.rem_euclid(12) + 1
    )
}

/// Orders and customers from the `orders` table.
pub async fn order_metrics(dataset: &Dataset) -> Result<OrderMetrics> {
    let table = orders_table(dataset)?;
    let purchase = purchase_predicate();
    let mut metrics = OrderMetrics::default();

    let totals = dataset
        .sql(&format!(
            "SELECT COUNT(*), COUNT(DISTINCT customer_id), COALESCE(SUM(amount), 0) \
             FROM orders WHERE {purchase}"
        ))
        .await?;
    metrics.total = first_group(&totals, String::from("all"));
    let repeat = dataset
        .sql(&format!(
            "SELECT COUNT(*) FROM (SELECT customer_id FROM orders WHERE {purchase} \
             GROUP BY customer_id HAVING COUNT(*) > 1)"
        ))
        .await?;
    metrics.repeat_customers = first_int(&repeat) as u64;

    if table.has_values("status") {
        let rows = dataset
            .sql(&format!(
                "SELECT status, COUNT(*), COALESCE(SUM(ABS(amount)), 0) FROM orders \
                 WHERE status IN ('{REFUNDED}', '{CANCELLED}') GROUP BY status"
            ))
            .await?;
        for batch in &rows {
            let status = batch.column(0).as_string_view();
            let count = batch.column(1).as_primitive::<Int64Type>();
            let amount = batch.column(2).as_primitive::<Float64Type>();
            for row in 0..batch.num_rows() {
                if status.value(row) == REFUNDED {
                    metrics.refunds = (count.value(row) as u64, amount.value(row));
                } else {
                    metrics.cancelled = count.value(row) as u64;
                }
            }
        }
    }

    if table.has_values("channel") {
        let rows = dataset
            .sql(&format!(
                "SELECT COUNT(*), COUNT(DISTINCT customer_id), COALESCE(SUM(amount), 0) AS revenue, \
                 COALESCE(channel, '(none)') AS key FROM orders WHERE {purchase} \
                 GROUP BY COALESCE(channel, '(none)') ORDER BY revenue DESC, key"
            ))
            .await?;
        metrics.by_channel = groups(&rows);
    }

    let month = month_sql("ordered_at");
    let rows = dataset
        .sql(&format!(
            "WITH p AS (SELECT customer_id, amount, {month} AS m FROM orders WHERE {purchase}), \
             f AS (SELECT MIN(m) AS m, customer_id FROM p GROUP BY customer_id), \
             n AS (SELECT m, COUNT(*) AS new_customers FROM f GROUP BY m) \
             SELECT COUNT(*), COUNT(DISTINCT p.customer_id), COALESCE(SUM(amount), 0), \
             p.m, COALESCE(MAX(n.new_customers), 0) \
             FROM p LEFT JOIN n ON p.m = n.m GROUP BY p.m ORDER BY p.m"
        ))
        .await?;
    let mut months: Vec<(i64, GroupValue, u64)> = Vec::new();
    for batch in &rows {
        let m = batch.column(3).as_primitive::<Int64Type>();
        let new = batch.column(4).as_primitive::<Int64Type>();
        for (row, value) in groups_of(batch).into_iter().enumerate() {
            months.push((m.value(row), value, new.value(row) as u64));
        }
    }
    if let (Some(first), Some(last)) = (months.first(), months.last()) {
        let (first, last) = (first.0, last.0);
        let mut next = months.into_iter().peekable();
        for m in first..=last {
            let label = month_label(m);
            let entry = match next.peek() {
                Some((at, _, _)) if *at == m => next.next(),
                _ => None,
            };
            let (value, new_customers) = match entry {
                Some((_, value, new)) => (value, new),
                None => (GroupValue::default(), 0),
            };
            metrics.by_month.push(MonthValue {
                month: label.clone(),
                value: GroupValue {
                    key: label,
                    ..value
                },
                new_customers,
            });
        }
    }
    metrics.aov_trend = aov_trend(&metrics.by_month, metrics.total.aov());
    Ok(metrics)
}

/// Weighted least squares of AOV on the month index over months with purchases.
fn aov_trend(months: &[MonthValue], overall_aov: f64) -> Option<Trend> {
    let points: Vec<(f64, f64, f64)> = months
        .iter()
        .enumerate()
        .filter(|(_, m)| m.value.orders > 0)
        .map(|(i, m)| (i as f64, m.value.aov(), m.value.orders as f64))
        .collect();
    if points.len() < 3 {
        return None;
    }
    let weight: f64 = points.iter().map(|p| p.2).sum();
    let mean_x = points.iter().map(|p| p.0 * p.2).sum::<f64>() / weight;
    let mean_y = points.iter().map(|p| p.1 * p.2).sum::<f64>() / weight;
    let sxy: f64 = points
        .iter()
        .map(|p| p.2 * (p.0 - mean_x) * (p.1 - mean_y))
        .sum();
    let sxx: f64 = points.iter().map(|p| p.2 * (p.0 - mean_x).powi(2)).sum();
    let per_month = if sxx > 0.0 { sxy / sxx } else { 0.0 };
    Some(Trend {
        per_month,
        relative_per_month: ratio(per_month, overall_aov),
        months: points.len(),
    })
}

/// Rows of (COUNT orders, COUNT DISTINCT customers, SUM revenue[, key]) as groups.
fn groups_of(batch: &datafusion::arrow::record_batch::RecordBatch) -> Vec<GroupValue> {
    let orders = batch.column(0).as_primitive::<Int64Type>();
    let customers = batch.column(1).as_primitive::<Int64Type>();
    let revenue = batch.column(2).as_primitive::<Float64Type>();
    let key = (batch.num_columns() > 3)
        .then(|| batch.column(3))
        .and_then(|c| c.as_string_view_opt());
    (0..batch.num_rows())
        .map(|row| GroupValue {
            key: key.map(|k| k.value(row).to_owned()).unwrap_or_default(),
            orders: orders.value(row) as u64,
            customers: customers.value(row) as u64,
            revenue: revenue.value(row),
        })
        .collect()
}

fn groups(batches: &[datafusion::arrow::record_batch::RecordBatch]) -> Vec<GroupValue> {
    batches.iter().flat_map(groups_of).collect()
}

fn first_group(
    batches: &[datafusion::arrow::record_batch::RecordBatch],
    key: String,
) -> GroupValue {
    let mut all = groups(batches);
    let mut group = if all.is_empty() {
        GroupValue::default()
    } else {
        all.swap_remove(0)
    };
    group.key = key;
    group
}

fn first_int(batches: &[datafusion::arrow::record_batch::RecordBatch]) -> i64 {
    batches
        .iter()
        .find(|b| b.num_rows() > 0)
        .map(|b| b.column(0).as_primitive::<Int64Type>().value(0))
        .unwrap_or(0)
}

/// Monthly acquisition cohorts: customers grouped by the month of their first purchase.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Cohorts {
    /// Each cohort's month, `YYYY-MM`, every month from the first to the last purchase
    /// (a month without new customers is a cohort of size 0).
    pub months: Vec<String>,
    /// Customers in each cohort.
    pub sizes: Vec<u64>,
    /// `active[c][k]`: customers of cohort `c` who bought in its `k`-th month after
    /// acquisition (`k = 0` is the acquisition month, so it equals the size); each row runs
    /// to the last month observed.
    pub active: Vec<Vec<u64>>,
    /// `revenue[c][k]`: what cohort `c` spent in its `k`-th month.
    pub revenue: Vec<Vec<f64>>,
}

impl Cohorts {
    /// `active[c][k] / sizes[c]` (None for an empty cohort).
    pub fn retention(&self, cohort: usize, offset: usize) -> Option<f64> {
        let size = *self.sizes.get(cohort)?;
        let active = *self.active.get(cohort)?.get(offset)?;
        (size > 0).then(|| active as f64 / size as f64)
    }
}

/// The cohort matrices from `orders`.
pub async fn cohorts(dataset: &Dataset) -> Result<Cohorts> {
    orders_table(dataset)?;
    let purchase = purchase_predicate();
    let month = month_sql("ordered_at");
    let rows = dataset
        .sql(&format!(
            "WITH p AS (SELECT customer_id, amount, {month} AS m FROM orders WHERE {purchase}), \
             f AS (SELECT customer_id, MIN(m) AS first_m FROM p GROUP BY customer_id) \
             SELECT f.first_m, p.m - f.first_m, COUNT(DISTINCT p.customer_id), \
             COALESCE(SUM(p.amount), 0) FROM p JOIN f ON p.customer_id = f.customer_id \
             GROUP BY 1, 2"
        ))
        .await?;
    let mut cells: Vec<(i64, i64, u64, f64)> = Vec::new();
    for batch in &rows {
        let first = batch.column(0).as_primitive::<Int64Type>();
        let offset = batch.column(1).as_primitive::<Int64Type>();
        let active = batch.column(2).as_primitive::<Int64Type>();
        let revenue = batch.column(3).as_primitive::<Float64Type>();
        for row in 0..batch.num_rows() {
            cells.push((
                first.value(row),
                offset.value(row),
                active.value(row) as u64,
                revenue.value(row),
            ));
        }
    }
    let (Some(first), Some(last)) = (
        cells.iter().map(|c| c.0).min(),
        cells.iter().map(|c| c.0 + c.1).max(),
    ) else {
        return Ok(Cohorts::default());
    };
    let n = (last - first + 1) as usize;
    let mut out = Cohorts {
        months: (first..=last).map(month_label).collect(),
        sizes: vec![0; n],
        active: (0..n).map(|c| vec![0; n - c]).collect(),
        revenue: (0..n).map(|c| vec![0.0; n - c]).collect(),
    };
    for (cohort, offset, active, revenue) in cells {
        let (c, k) = ((cohort - first) as usize, offset as usize);
        out.active[c][k] = active;
        out.revenue[c][k] = revenue;
        if k == 0 {
            out.sizes[c] = active;
        }
    }
    Ok(out)
}

/// One step of the event funnel.
#[derive(Debug, Clone, PartialEq)]
pub struct FunnelStep {
    /// The event kind, or `purchased` for the last step.
    pub step: String,
    /// Distinct customers with that event.
    pub customers: u64,
}

/// Visitor/lead-to-customer conversion from `events`.
#[derive(Debug, Clone, PartialEq)]
pub struct EventFunnel {
    /// Event kinds by distinct customers, most first, then `purchased`: those of the
    /// customers with any event who also have a purchase in `orders`. A `purchase` event kind
    /// is left out (the orders table is the record of purchases).
    pub steps: Vec<FunnelStep>,
    /// Customers with any event.
    pub visitors: u64,
    /// Of those, customers with a purchase.
    pub converted: u64,
}

impl EventFunnel {
    /// converted / visitors.
    pub fn conversion_rate(&self) -> f64 {
        ratio(self.converted as f64, self.visitors as f64)
    }
}

/// The event funnel, or None without an `events` table.
pub async fn event_funnel(dataset: &Dataset) -> Result<Option<EventFunnel>> {
    if dataset.table(TableKind::Events).is_none() {
        return Ok(None);
    }
    orders_table(dataset)?;
    let rows = dataset
        .sql(
            "SELECT kind, COUNT(DISTINCT customer_id) AS n FROM events \
             WHERE kind <> 'purchase' GROUP BY kind ORDER BY n DESC, kind",
        )
        .await?;
    let mut steps = Vec::new();
    for batch in &rows {
        let kind = batch.column(0).as_string_view();
        let n = batch.column(1).as_primitive::<Int64Type>();
        for row in 0..batch.num_rows() {
            steps.push(FunnelStep {
                step: kind.value(row).to_owned(),
                customers: n.value(row) as u64,
            });
        }
    }
    let purchase = purchase_predicate();
    let rows = dataset
        .sql(&format!(
            "WITH v AS (SELECT DISTINCT customer_id FROM events), \
             b AS (SELECT DISTINCT customer_id FROM orders WHERE {purchase}) \
             SELECT COUNT(*), COUNT(b.customer_id) FROM v LEFT JOIN b \
             ON v.customer_id = b.customer_id"
        ))
        .await?;
    let (mut visitors, mut converted) = (0, 0);
    if let Some(batch) = rows.iter().find(|b| b.num_rows() > 0) {
        visitors = batch.column(0).as_primitive::<Int64Type>().value(0) as u64;
        converted = batch.column(1).as_primitive::<Int64Type>().value(0) as u64;
    }
    steps.push(FunnelStep {
        step: "purchased".into(),
        customers: converted,
    });
    Ok(Some(EventFunnel {
        steps,
        visitors,
        converted,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::dataset_of;

    const ORDERS: &str = "\
customer_id,order_id,ordered_at,amount,channel,status
a,1,2024-01-05,10,web,completed
a,2,2024-01-20,30,web,completed
a,3,2024-03-02,20,mobile,completed
b,4,2024-01-31,40,web,completed
b,5,2024-02-01,-40,web,refunded
c,6,2024-03-15,60,mobile,
c,7,2024-03-16,99,mobile,cancelled
";

    #[tokio::test]
    async fn order_metrics_by_hand() {
        let (_dir, dataset) = dataset_of(&[(TableKind::Orders, ORDERS)]);
        let m = order_metrics(&dataset).await.unwrap();
        // Purchases: a 10, 30, 20; b 40; c 60 -> 5 orders, 3 customers, 160.
        assert_eq!((m.total.orders, m.total.customers), (5, 3));
        assert!((m.total.revenue - 160.0).abs() < 1e-12);
        assert!((m.total.aov() - 32.0).abs() < 1e-12);
        assert!((m.orders_per_customer() - 5.0 / 3.0).abs() < 1e-12);
        // Only a bought more than once.
        assert_eq!(m.repeat_customers, 1);
        assert_eq!(m.refunds, (1, 40.0));
        assert_eq!(m.cancelled, 1);
        // web: a 10 + 30, b 40 = 80 over 3 orders; mobile: a 20, c 60 = 80 over 2. Equal
        // revenue: ordered by name.
        let channels: Vec<(&str, u64, u64)> = m
            .by_channel
            .iter()
            .map(|g| (g.key.as_str(), g.orders, g.customers))
            .collect();
        assert_eq!(channels, [("mobile", 2, 2), ("web", 3, 2)]);
        // January: a 10 + 30, b 40 (new: a, b); February: only a refund (an empty month);
        // March: a 20, c 60 (new: c).
        let months: Vec<(&str, u64, u64, f64)> = m
            .by_month
            .iter()
            .map(|mv| {
                (
                    mv.month.as_str(),
                    mv.value.orders,
                    mv.new_customers,
                    mv.value.revenue,
                )
            })
            .collect();
        assert_eq!(
            months,
            [
                ("2024-01", 3, 2, 80.0),
                ("2024-02", 0, 0, 0.0),
                ("2024-03", 2, 1, 80.0)
            ]
        );
        assert!(
            m.aov_trend.is_none(),
            "two months with purchases are too few"
        );
    }

    #[tokio::test]
    async fn cohorts_by_hand() {
        let (_dir, dataset) = dataset_of(&[(TableKind::Orders, ORDERS)]);
        let c = cohorts(&dataset).await.unwrap();
        assert_eq!(c.months, ["2024-01", "2024-02", "2024-03"]);
        // January cohort a, b: in March only a is back (20); February: nobody new.
        assert_eq!(c.sizes, [2, 0, 1]);
        assert_eq!(c.active, vec![vec![2, 0, 1], vec![0, 0], vec![1]]);
        assert_eq!(
            c.revenue,
            vec![vec![80.0, 0.0, 20.0], vec![0.0, 0.0], vec![60.0]]
        );
        assert_eq!(c.retention(0, 2), Some(0.5));
        assert_eq!(c.retention(1, 0), None);
    }

    #[tokio::test]
    async fn trend_rises_with_order_values() {
        let orders = "customer_id,ordered_at,amount\n\
                      a,2024-01-01,10\nb,2024-02-01,20\nc,2024-03-01,30\nd,2024-03-02,30\n";
        let (_dir, dataset) = dataset_of(&[(TableKind::Orders, orders)]);
        let trend = order_metrics(&dataset).await.unwrap().aov_trend.unwrap();
        // Points (0, 10, w1), (1, 20, w1), (2, 30, w2): exactly 10 a month.
        assert!((trend.per_month - 10.0).abs() < 1e-9);
        assert!((trend.relative_per_month - 10.0 / 22.5).abs() < 1e-9);
        assert_eq!(trend.months, 3);
    }

    #[tokio::test]
    async fn funnel_counts_visitors_who_bought() {
        let events = "customer_id,occurred_at,kind\n\
                      a,2024-01-01,visit\nb,2024-01-01,visit\nb,2024-01-02,signup\n\
                      z,2024-01-03,visit\na,2024-01-05,purchase\n";
        let (_dir, dataset) =
            dataset_of(&[(TableKind::Orders, ORDERS), (TableKind::Events, events)]);
        let f = event_funnel(&dataset).await.unwrap().unwrap();
        // Visitors a, b, z; a and b have purchases, z does not.
        assert_eq!((f.visitors, f.converted), (3, 2));
        let steps: Vec<(&str, u64)> = f
            .steps
            .iter()
            .map(|s| (s.step.as_str(), s.customers))
            .collect();
        assert_eq!(steps, [("visit", 3), ("signup", 1), ("purchased", 2)]);
    }
}
