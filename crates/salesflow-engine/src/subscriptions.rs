//! Monthly recurring revenue and its movements from `subscriptions`.
//!
//! MRR is a snapshot at the end of each calendar month (UTC): a subscription counts in month
//! `M` when it started before the month's end and had not ended by then (`ended_at` empty or
//! at or after the first instant of the next month). A subscription that starts and ends
//! inside one month never appears in a snapshot. A customer's MRR is the sum over their
//! subscriptions, and each month's change per customer is one movement:
//! - **new**: from 0 to positive, first time ever;
//! - **reactivation**: from 0 to positive after an earlier paying month;
//! - **expansion** / **contraction**: up / down while staying positive;
//! - **churn**: from positive to 0 (the whole previous MRR).
//!
//! Rates per month, against the previous month's end: logo churn = churned customers /
//! paying customers; gross revenue churn = (churn + contraction) / MRR; net revenue retention
//! = (MRR + expansion - contraction - churn) / MRR, i.e. what last month's customers pay now.

use datafusion::arrow::array::{Array, AsArray};
use datafusion::arrow::datatypes::{Float64Type, Int64Type};
use salesflow_core::TableKind;

use crate::Dataset;
use crate::error::{EngineError, Location, Result};
use crate::sales::month_label;

/// One month's snapshot and the movements that led to it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MrrMonth {
    /// `YYYY-MM`.
    pub month: String,
    /// MRR at the month's end.
    pub mrr: f64,
    /// Paying customers at the month's end.
    pub customers: u64,
    /// MRR of customers paying for the first time.
    pub new: f64,
    /// MRR added by customers who pay more than last month.
    pub expansion: f64,
    /// MRR lost by customers who pay less (but still pay).
    pub contraction: f64,
    /// MRR lost by customers who stopped paying.
    pub churn: f64,
    /// MRR of customers who paid before, stopped, and pay again.
    pub reactivation: f64,
    /// Customers who started paying for the first time.
    pub new_customers: u64,
    /// Customers who stopped paying.
    pub churned_customers: u64,
}

/// MRR month by month.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Mrr {
    /// Every month from the first subscription's start to the last month with data.
    pub months: Vec<MrrMonth>,
}

impl Mrr {
    /// Logo churn of month `i`: churned customers / paying customers at the previous end.
    pub fn logo_churn(&self, i: usize) -> Option<f64> {
        let previous = self.months.get(i.checked_sub(1)?)?;
        (previous.customers > 0)
            .then(|| self.months[i].churned_customers as f64 / previous.customers as f64)
    }

    /// Gross revenue churn of month `i`: (churn + contraction) / previous MRR.
    pub fn revenue_churn(&self, i: usize) -> Option<f64> {
        let previous = self.months.get(i.checked_sub(1)?)?;
        let m = &self.months[i];
        (previous.mrr > 0.0).then(|| (m.churn + m.contraction) / previous.mrr)
    }

    /// Net revenue retention of month `i`: (previous MRR + expansion - contraction - churn) /
    /// previous MRR.
    pub fn net_revenue_retention(&self, i: usize) -> Option<f64> {
        let previous = self.months.get(i.checked_sub(1)?)?;
        let m = &self.months[i];
        (previous.mrr > 0.0)
            .then(|| (previous.mrr + m.expansion - m.contraction - m.churn) / previous.mrr)
    }

    /// Mean of a monthly rate over the last `n` months that have it.
    pub fn mean_over_last(
        &self,
        n: usize,
        rate: impl Fn(&Mrr, usize) -> Option<f64>,
    ) -> Option<f64> {
        let values: Vec<f64> = (0..self.months.len())
            .rev()
            .filter_map(|i| rate(self, i))
            .take(n)
            .collect();
        (!values.is_empty()).then(|| values.iter().sum::<f64>() / values.len() as f64)
    }
}

/// The month index of a timestamp (the epoch's month for one out of range).
fn month_of_micros(micros: i64) -> i64 {
    crate::sales::month_of_micros(micros).unwrap_or(1970 * 12)
}

/// The MRR table, or an input error without a `subscriptions` table.
pub async fn mrr(dataset: &Dataset) -> Result<Mrr> {
    if dataset.table(TableKind::Subscriptions).is_none() {
        return Err(EngineError::input(
            Location::default(),
            "no subscriptions table is loaded",
            Some(
                "put subscriptions.csv (customer_id, started_at, mrr[, ended_at]) in the --data folder"
                    .into(),
            ),
        ));
    }
    let batches = dataset
        .sql(
            "SELECT customer_id, CAST(started_at AS BIGINT), CAST(mrr AS DOUBLE), \
             CAST(ended_at AS BIGINT) FROM subscriptions ORDER BY customer_id",
        )
        .await?;
    // Active month ranges per subscription, grouped by customer.
    let mut spans: Vec<(String, i64, Option<i64>, f64)> = Vec::new();
    let (mut first, mut last) = (i64::MAX, i64::MIN);
    for batch in &batches {
        let customer = batch.column(0).as_string_view();
        let started = batch.column(1).as_primitive::<Int64Type>();
        let mrr = batch.column(2).as_primitive::<Float64Type>();
        let ended = batch.column(3).as_primitive::<Int64Type>();
        for row in 0..batch.num_rows() {
            if started.is_null(row) || mrr.is_null(row) {
                continue; // required columns: ingest rejects rows without them
            }
            let start = month_of_micros(started.value(row));
            let end = ended
                .is_valid(row)
                .then(|| month_of_micros(ended.value(row)));
            first = first.min(start);
            last = last.max(end.unwrap_or(start)).max(start);
            spans.push((customer.value(row).to_owned(), start, end, mrr.value(row)));
        }
    }
    if spans.is_empty() {
        return Ok(Mrr::default());
    }
    let n = (last - first + 1) as usize;
    let mut months: Vec<MrrMonth> = (first..=last)
        .map(|m| MrrMonth {
            month: month_label(m),
            ..MrrMonth::default()
        })
        .collect();
    let mut customer_mrr = vec![0.0; n];
    let mut i = 0;
    while i < spans.len() {
        let mut j = i;
        customer_mrr.iter_mut().for_each(|v| *v = 0.0);
        while j < spans.len() && spans[j].0 == spans[i].0 {
            let (_, start, end, value) = &spans[j];
            // Active at the end of months start ..= end - 1 (or to the last month).
            let stop = end.map_or(last, |e| e - 1);
            for m in *start..=stop {
                customer_mrr[(m - first) as usize] += value;
            }
            j += 1;
        }
        add_customer(&customer_mrr, &mut months);
        i = j;
    }
    Ok(Mrr { months })
}

/// Adds one customer's MRR path to the monthly totals and movements.
fn add_customer(path: &[f64], months: &mut [MrrMonth]) {
    let mut paid_before = false;
    let mut previous = 0.0;
    for (m, &current) in path.iter().enumerate() {
        let month = &mut months[m];
        if current > 0.0 {
            month.mrr += current;
            month.customers += 1;
        }
        if previous == 0.0 && current > 0.0 {
            if paid_before {
                month.reactivation += current;
            } else {
                month.new += current;
                month.new_customers += 1;
            }
        } else if previous > 0.0 && current == 0.0 {
            month.churn += previous;
            month.churned_customers += 1;
        } else if current > previous {
            month.expansion += current - previous;
        } else if current < previous {
            month.contraction += previous - current;
        }
        paid_before |= current > 0.0;
        previous = current;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::dataset_of;

    #[tokio::test]
    async fn movements_by_hand() {
        // a: 10 from January, upgraded to 25 in March (old plan ends, new starts).
        // b: 20 in January and February, churns in March, back at 20 in May.
        // c: starts and ends inside February: never in a snapshot.
        // d: 30 from April on, downgrades to 12 in May.
        let subscriptions = "customer_id,started_at,mrr,ended_at\n\
            a,2024-01-10,10,2024-03-05\n\
            a,2024-03-05,25,\n\
            b,2024-01-15,20,2024-03-01T00:00:00Z\n\
            b,2024-05-02,20,\n\
            c,2024-02-02,50,2024-02-20\n\
            d,2024-04-01,30,2024-05-01\n\
            d,2024-05-01,12,\n";
        let (_dir, dataset) = dataset_of(&[(TableKind::Subscriptions, subscriptions)]);
        let mrr = mrr(&dataset).await.unwrap();
        let rows: Vec<(&str, f64, u64)> = mrr
            .months
            .iter()
            .map(|m| (m.month.as_str(), m.mrr, m.customers))
            .collect();
        assert_eq!(
            rows,
            [
                ("2024-01", 30.0, 2),
                ("2024-02", 30.0, 2),
                ("2024-03", 25.0, 1),
                ("2024-04", 55.0, 2),
                ("2024-05", 57.0, 3),
            ]
        );
        let m = &mrr.months;
        assert_eq!((m[0].new, m[0].new_customers), (30.0, 2));
        // March: a expands 10 -> 25, b churns 20 (ended on the first instant of March).
        assert_eq!(
            (m[2].expansion, m[2].churn, m[2].churned_customers),
            (15.0, 20.0, 1)
        );
        // April: d new. May: b reactivates 20, d contracts 30 -> 12.
        assert_eq!((m[3].new, m[3].new_customers), (30.0, 1));
        assert_eq!((m[4].reactivation, m[4].contraction), (20.0, 18.0));
        // March rates against February's 30 from 2 customers.
        assert_eq!(mrr.logo_churn(2), Some(0.5));
        assert_eq!(mrr.revenue_churn(2), Some(20.0 / 30.0));
        assert_eq!(
            mrr.net_revenue_retention(2),
            Some((30.0 + 15.0 - 20.0) / 30.0)
        );
        // May against April's 55: (55 - 18) / 55; reactivation is not retention.
        assert_eq!(mrr.net_revenue_retention(4), Some(37.0 / 55.0));
        assert_eq!(mrr.logo_churn(0), None);
    }
}
