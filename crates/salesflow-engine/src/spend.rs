//! Weekly spend and outcome per channel (and segment) from `marketing_spend`, for fitting
//! response curves.

use std::collections::BTreeMap;

use datafusion::arrow::array::{Array, AsArray};
use datafusion::arrow::datatypes::{Float64Type, Int64Type};
use salesflow_core::TableKind;

use crate::Dataset;
use crate::error::{EngineError, Location, Result};

/// What a channel's spend is measured against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// New customers by `customers.acquisition_channel` and sign-up week (per channel, and per
    /// segment when both `customers` and `marketing_spend` have a `segment`).
    Customers,
    /// `marketing_spend.leads`.
    Leads,
    /// `marketing_spend.attributed_revenue`.
    Revenue,
}

/// One (channel, segment) series over consecutive weeks.
#[derive(Debug, Clone, PartialEq)]
pub struct SpendSeries {
    /// The channel.
    pub channel: String,
    /// The segment (`None` when the outcome or table has none).
    pub segment: Option<String>,
    /// Spend per week.
    pub spend: Vec<f64>,
    /// Outcome per week.
    pub outcome: Vec<f64>,
}

/// Weeks (Unix seconds of each Monday, consecutive; weeks without rows are zeros) and the
/// series, sorted by channel then segment. Channels without any spend are left out (their
/// outcome has no curve to follow).
pub async fn weekly_spend(
    dataset: &Dataset,
    outcome: Outcome,
) -> Result<(Vec<i64>, Vec<SpendSeries>)> {
    let table = dataset.table(TableKind::MarketingSpend).ok_or_else(|| {
        EngineError::input(
            Location::default(),
            "no marketing_spend table is loaded",
            Some("put marketing_spend.csv (date, channel, spend[, segment, leads, attributed_revenue]) in the --data folder".into()),
        )
    })?;
    let need = |column: &str, table_kind: TableKind, hint: &str| -> Result<()> {
        match dataset.table(table_kind) {
            Some(t) if t.has_values(column) => Ok(()),
            _ => Err(EngineError::input(
                Location::default(),
                format!(
                    "the {} objective needs `{}.{column}`",
                    objective_name(outcome),
                    table_kind.name()
                ),
                Some(hint.into()),
            )),
        }
    };
    // New customers are split by segment only when the customers table says whose segment
    // each is, in the words marketing_spend uses: then spend aimed at a segment meets the
    // customers won there. One customer of a paid channel without a matching segment (none,
    // or one the spend never names) and the customers are counted per channel instead, so
    // that none is lost.
    let by_segment = table.has_values("segment")
        && (outcome != Outcome::Customers
            || (dataset
                .table(TableKind::Customers)
                .is_some_and(|t| t.has_values("segment"))
                && customer_segments_match(dataset).await?));
    let segment = if by_segment {
        "COALESCE(segment, '')"
    } else {
        "''"
    };
    let value = match outcome {
        Outcome::Customers => {
            need(
                "acquisition_channel",
                TableKind::Customers,
                "customers.csv with created_at and acquisition_channel",
            )?;
            "0.0".to_owned()
        }
        Outcome::Leads => {
            need(
                "leads",
                TableKind::MarketingSpend,
                "a leads column in marketing_spend, or --objective customers",
            )?;
            "CAST(leads AS DOUBLE)".to_owned()
        }
        Outcome::Revenue => {
            need(
                "attributed_revenue",
                TableKind::MarketingSpend,
                "an attributed_revenue column in marketing_spend, or --objective customers",
            )?;
            "CAST(attributed_revenue AS DOUBLE)".to_owned()
        }
    };
    let week = "to_unixtime(date_trunc('week', CAST({col} AS TIMESTAMP)))";
    let spend_query = format!(
        "SELECT {w} AS week, channel, {segment} AS segment, SUM(CAST(spend AS DOUBLE)), SUM(COALESCE({value}, 0.0)) \
         FROM marketing_spend WHERE channel IS NOT NULL GROUP BY 1, 2, 3",
        w = week.replace("{col}", "date")
    );
    let mut cells: BTreeMap<(String, String), BTreeMap<i64, (f64, f64)>> = BTreeMap::new();
    for batch in dataset.sql(&spend_query).await? {
        let weeks = batch.column(0).as_primitive::<Int64Type>();
        let channels = text(batch.column(1))?;
        let segments = text(batch.column(2))?;
        let spend = batch.column(3).as_primitive::<Float64Type>();
        let value = batch.column(4).as_primitive::<Float64Type>();
        for r in 0..batch.num_rows() {
            let cell = cells
                .entry((channels.value(r).to_owned(), segments.value(r).to_owned()))
                .or_default();
            let entry = cell.entry(weeks.value(r)).or_default();
            entry.0 += if spend.is_valid(r) {
                spend.value(r)
            } else {
                0.0
            };
            entry.1 += if value.is_valid(r) {
                value.value(r)
            } else {
                0.0
            };
        }
    }
    if outcome == Outcome::Customers {
        let query = format!(
            "SELECT {w} AS week, acquisition_channel, {segment} AS segment, CAST(COUNT(*) AS DOUBLE) FROM customers \
             WHERE acquisition_channel IS NOT NULL AND created_at IS NOT NULL GROUP BY 1, 2, 3",
            w = week.replace("{col}", "created_at")
        );
        for batch in dataset.sql(&query).await? {
            let weeks = batch.column(0).as_primitive::<Int64Type>();
            let channels = text(batch.column(1))?;
            let segments = text(batch.column(2))?;
            let count = batch.column(3).as_primitive::<Float64Type>();
            for r in 0..batch.num_rows() {
                // Only (channel, segment) cells with spend get a curve.
                let key = (channels.value(r).to_owned(), segments.value(r).to_owned());
                if let Some(cell) = cells.get_mut(&key) {
                    cell.entry(weeks.value(r)).or_default().1 += count.value(r);
                }
            }
        }
    }
    cells.retain(|_, weeks| weeks.values().any(|w| w.0 > 0.0));
    let (Some(first), Some(last)) = (
        cells.values().flat_map(|w| w.keys()).min().copied(),
        cells.values().flat_map(|w| w.keys()).max().copied(),
    ) else {
        return Err(EngineError::input(
            Location::default(),
            "marketing_spend has no spend",
            Some("the table needs rows with a channel and a positive spend".into()),
        ));
    };
    const WEEK: i64 = 7 * 86_400;
    let weeks: Vec<i64> = (0..=((last - first) / WEEK))
        .map(|i| first + i * WEEK)
        .collect();
    let series = cells
        .into_iter()
        .map(|((channel, segment), by_week)| {
            let (spend, outcome) = weeks
                .iter()
                .map(|w| by_week.get(w).copied().unwrap_or_default())
                .unzip();
            SpendSeries {
                channel,
                segment: (!segment.is_empty()).then_some(segment),
                spend,
                outcome,
            }
        })
        .collect();
    Ok((weeks, series))
}

/// Any string column as plain UTF-8 (literals come back as `Utf8`, table columns as views).
fn text(
    array: &datafusion::arrow::array::ArrayRef,
) -> Result<datafusion::arrow::array::StringArray> {
    let cast =
        datafusion::arrow::compute::cast(array, &datafusion::arrow::datatypes::DataType::Utf8)?;
    Ok(cast.as_string::<i32>().clone())
}

/// Whether every customer of a channel with spend names a segment that channel's spend has.
async fn customer_segments_match(dataset: &Dataset) -> Result<bool> {
    let unmatched = dataset
        .sql(
            "SELECT COUNT(*) FROM customers c \
             WHERE c.acquisition_channel IN (SELECT channel FROM marketing_spend) \
             AND NOT EXISTS (SELECT 1 FROM marketing_spend m \
               WHERE m.channel = c.acquisition_channel AND m.segment = c.segment)",
        )
        .await?;
    Ok(unmatched.first().is_some_and(|b| {
        b.num_rows() == 1 && b.column(0).as_primitive::<Int64Type>().value(0) == 0
    }))
}

fn objective_name(outcome: Outcome) -> &'static str {
    match outcome {
        Outcome::Customers => "customers",
        Outcome::Leads => "leads",
        Outcome::Revenue => "revenue",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::dataset_of;

    const SPEND: &str = "date,channel,spend,segment\n\
                         2024-01-01,search,100,smb\n2024-01-01,search,50,mid\n\
                         2024-01-08,search,120,smb\n2024-01-08,search,60,mid\n";

    #[tokio::test]
    async fn new_customers_follow_the_segment_their_spend_names() {
        let customers = "customer_id,created_at,acquisition_channel,segment\n\
                         a,2024-01-02,search,smb\nb,2024-01-03,search,mid\n\
                         c,2024-01-09,search,smb\nd,2024-01-09,organic,smb\n";
        let (_dir, dataset) = dataset_of(&[
            (TableKind::MarketingSpend, SPEND),
            (TableKind::Customers, customers),
        ]);
        let (weeks, series) = weekly_spend(&dataset, Outcome::Customers).await.unwrap();
        assert_eq!(weeks.len(), 2);
        let cells: Vec<(Option<&str>, &[f64], &[f64])> = series
            .iter()
            .map(|s| (s.segment.as_deref(), &s.spend[..], &s.outcome[..]))
            .collect();
        assert_eq!(
            cells,
            [
                (Some("mid"), &[50.0, 60.0][..], &[1.0, 0.0][..]),
                (Some("smb"), &[100.0, 120.0][..], &[1.0, 1.0][..])
            ]
        );
    }

    /// A customer whose segment the spend never names (or who has none) would fall through the
    /// cells: the customers are then counted per channel, every one of them.
    #[tokio::test]
    async fn an_unmatched_segment_counts_customers_per_channel() {
        let customers = "customer_id,created_at,acquisition_channel,segment\n\
                         a,2024-01-02,search,smb\nb,2024-01-03,search,enterprise\n\
                         c,2024-01-09,search,\n";
        let (_dir, dataset) = dataset_of(&[
            (TableKind::MarketingSpend, SPEND),
            (TableKind::Customers, customers),
        ]);
        let (_, series) = weekly_spend(&dataset, Outcome::Customers).await.unwrap();
        assert_eq!(series.len(), 1);
        assert_eq!(series[0].segment, None);
        assert_eq!(series[0].spend, [150.0, 180.0]);
        assert_eq!(series[0].outcome, [2.0, 1.0]);
    }
}
