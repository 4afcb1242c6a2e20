//! Marketing spend and the customer-acquisition plan derived from it.
//!
//! The weekly spend per (channel, segment) is drawn first. The expected number
//! of new customers of each paid cell is a Hill (saturating) function of that
//! week's spend; an `organic` baseline (no spend) is added per segment. The
//! `customers` acquired per week are then a multinomial draw over the weeks,
//! and each customer's (channel, segment) cell a categorical draw within the
//! week, so realised acquisitions follow the response curves plus Poisson-like
//! noise.

use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, Date32Array, Float64Array, Int64Array, StringArray};
use datafusion::arrow::error::ArrowError;
use datafusion::arrow::record_batch::RecordBatch;
use rand::Rng;
use rand_distr::{Binomial, Distribution, StandardNormal};

use crate::calendar::{
    BUDGET_MONTH, Calendar, DEMAND_MONTH, START_EPOCH_DAY, WEEKS, dollars, to_cents,
};
use crate::rng::stream;
use crate::tables::Table;

/// Segments, in cell order.
pub(crate) const SEGMENTS: [&str; 2] = ["smb", "mid_market"];
/// Relative response of each segment (mid-market companies are fewer).
pub(crate) const SEGMENT_EFFECT: [f64; 2] = [1.0, 0.45];
/// Name of the acquisition channel without spend.
pub(crate) const ORGANIC: &str = "organic";
/// Organic (no spend) weekly response per segment, same units as `effect`.
pub(crate) const ORGANIC_EFFECT: [f64; 2] = [0.30, 0.10];
/// Spend and organic demand both grow linearly by this fraction over the two years.
pub(crate) const GROWTH: f64 = 0.35;
/// Log-normal noise (sigma) on each cell's expected response.
pub(crate) const RESPONSE_SIGMA: f64 = 0.10;
/// Spend figures are quoted for this many customers and scale linearly with `customers`.
pub(crate) const REFERENCE_CUSTOMERS: f64 = 20_000.0;
/// Attribution window for `attributed_revenue`, in days after acquisition.
pub(crate) const ATTRIBUTION_DAYS: i64 = 30;

/// Parameters of one paid channel (spend figures at [`REFERENCE_CUSTOMERS`]).
pub(crate) struct ChannelSpec {
    /// Channel name.
    pub name: &'static str,
    /// Mean weekly spend (USD) for smb and mid_market before seasonality and growth.
    pub base_spend: [f64; 2],
    /// Log-normal sigma of weekly spend.
    pub spend_sigma: f64,
    /// Probability that the channel runs at all in a given week (flighting).
    pub active_prob: f64,
    /// Hill half-saturation spend K (weekly USD).
    pub half_saturation: f64,
    /// Hill exponent.
    pub shape: f64,
    /// Maximum weekly response (relative units).
    pub effect: f64,
    /// Lead -> customer conversion rate.
    pub lead_to_customer: f64,
    /// Click -> lead conversion rate.
    pub click_to_lead: f64,
    /// Impression -> click rate.
    pub ctr: f64,
}

/// The six paid channels.
pub(crate) const CHANNELS: [ChannelSpec; 6] = [
    ChannelSpec {
        name: "search",
        base_spend: [1800.0, 1200.0],
        spend_sigma: 0.25,
        active_prob: 1.0,
        half_saturation: 2000.0,
        shape: 1.0,
        effect: 1.00,
        lead_to_customer: 0.30,
        click_to_lead: 0.06,
        ctr: 0.035,
    },
    ChannelSpec {
        name: "social",
        base_spend: [1200.0, 600.0],
        spend_sigma: 0.35,
        active_prob: 1.0,
        half_saturation: 1500.0,
        shape: 1.2,
        effect: 0.70,
        lead_to_customer: 0.20,
        click_to_lead: 0.03,
        ctr: 0.012,
    },
    ChannelSpec {
        name: "display",
        base_spend: [900.0, 500.0],
        spend_sigma: 0.40,
        active_prob: 0.8,
        half_saturation: 2500.0,
        shape: 1.6,
        effect: 0.60,
        lead_to_customer: 0.15,
        click_to_lead: 0.015,
        ctr: 0.004,
    },
    ChannelSpec {
        name: "email",
        base_spend: [250.0, 150.0],
        spend_sigma: 0.20,
        active_prob: 1.0,
        half_saturation: 200.0,
        shape: 0.9,
        effect: 0.25,
        lead_to_customer: 0.35,
        click_to_lead: 0.08,
        ctr: 0.25,
    },
    ChannelSpec {
        name: "referral",
        base_spend: [300.0, 250.0],
        spend_sigma: 0.30,
        active_prob: 1.0,
        half_saturation: 400.0,
        shape: 1.0,
        effect: 0.35,
        lead_to_customer: 0.45,
        click_to_lead: 0.12,
        ctr: 0.08,
    },
    ChannelSpec {
        name: "events",
        base_spend: [1500.0, 4000.0],
        spend_sigma: 0.30,
        active_prob: 0.3,
        half_saturation: 5000.0,
        shape: 1.8,
        effect: 0.80,
        lead_to_customer: 0.25,
        click_to_lead: 0.30,
        ctr: 0.60,
    },
];

/// Paid cells per week (channel x segment).
pub(crate) const PAID_CELLS: usize = CHANNELS.len() * SEGMENTS.len();
/// All cells per week: paid cells then one organic cell per segment.
pub(crate) const CELLS: usize = PAID_CELLS + SEGMENTS.len();

/// Hill response `x^h / (K^h + x^h)`.
pub(crate) fn hill(spend: f64, half_saturation: f64, shape: f64) -> f64 {
    if spend <= 0.0 {
        return 0.0;
    }
    let a = spend.powf(shape);
    a / (half_saturation.powf(shape) + a)
}

/// Channel name and segment index of a cell.
pub(crate) fn cell_channel(cell: usize) -> (&'static str, usize) {
    if cell < PAID_CELLS {
        (CHANNELS[cell / SEGMENTS.len()].name, cell % SEGMENTS.len())
    } else {
        (ORGANIC, cell - PAID_CELLS)
    }
}

/// The spend table and the acquisition plan.
pub(crate) struct Plan {
    /// Spend in cents per `week * PAID_CELLS + cell`.
    pub spend_cents: Vec<i64>,
    /// Per week, cumulative expected acquisitions over the [`CELLS`] cells.
    pub cell_cdf: Vec<[f64; CELLS]>,
    /// Customers acquired before week `w` (length `WEEKS + 1`; the last entry is the total).
    pub week_offsets: Vec<u64>,
}

impl Plan {
    /// Draws the spend and the weekly acquisition counts for `customers` customers.
    pub(crate) fn new(seed: u64, customers: u64, cal: &Calendar) -> Self {
        let scale = customers as f64 / REFERENCE_CUSTOMERS;
        let mut rng = stream(seed, "marketing_spend", 0);
        let mut spend_cents = Vec::with_capacity(WEEKS * PAID_CELLS);
        let mut cell_cdf = Vec::with_capacity(WEEKS);
        let mut week_mass = Vec::with_capacity(WEEKS);
        for w in 0..WEEKS {
            let month = cal.week_month[w];
            let growth = 1.0 + GROWTH * w as f64 / (WEEKS - 1) as f64;
            let mut cdf = [0.0; CELLS];
            let mut acc = 0.0;
            for (c, ch) in CHANNELS.iter().enumerate() {
                let active = rng.random::<f64>() < ch.active_prob;
                for s in 0..SEGMENTS.len() {
                    let z: f64 = rng.sample(StandardNormal);
                    let noise: f64 = rng.sample(StandardNormal);
                    // Weekly spend at the reference scale (mean-preserving log-normal).
                    let spend = if active {
                        ch.base_spend[s]
                            * BUDGET_MONTH[month]
                            * growth
                            * (ch.spend_sigma * z - 0.5 * ch.spend_sigma * ch.spend_sigma).exp()
                    } else {
                        0.0
                    };
                    let cents = to_cents(spend * scale);
                    spend_cents.push(cents);
                    // The response uses the spend as written (rounded), rescaled.
                    let x = dollars(cents) / scale;
                    let mu = ch.effect
                        * SEGMENT_EFFECT[s]
                        * DEMAND_MONTH[month]
                        * hill(x, ch.half_saturation, ch.shape)
                        * (RESPONSE_SIGMA * noise).exp();
                    acc += mu;
                    cdf[c * SEGMENTS.len() + s] = acc;
                }
            }
            for s in 0..SEGMENTS.len() {
                acc += ORGANIC_EFFECT[s] * DEMAND_MONTH[month] * growth;
                cdf[PAID_CELLS + s] = acc;
            }
            cell_cdf.push(cdf);
            week_mass.push(acc);
        }

        // Multinomial split of the customers over the weeks (sequential binomials).
        let mut rng = stream(seed, "acquisition", 0);
        let mut remaining = customers;
        let mut mass_left: f64 = week_mass.iter().sum();
        let mut week_offsets = Vec::with_capacity(WEEKS + 1);
        let mut offset = 0;
        week_offsets.push(0);
        for (w, &mass) in week_mass.iter().enumerate() {
            let n = if w + 1 == WEEKS {
                remaining
            } else if remaining == 0 || mass_left <= 0.0 {
                0
            } else {
                let p = (mass / mass_left).clamp(0.0, 1.0);
                Binomial::new(remaining, p)
                    .map(|b| b.sample(&mut rng))
                    .unwrap_or(0)
                    .min(remaining)
            };
            remaining -= n;
            mass_left -= mass;
            offset += n;
            week_offsets.push(offset);
        }
        Self {
            spend_cents,
            cell_cdf,
            week_offsets,
        }
    }

    /// The week in which customer number `index` (0-based) was acquired.
    pub(crate) fn week_of(&self, index: u64) -> usize {
        // First w with offsets[w + 1] > index.
        self.week_offsets[1..]
            .partition_point(|&o| o <= index)
            .min(WEEKS - 1)
    }

    /// Customers acquired in week `w`.
    pub(crate) fn week_count(&self, w: usize) -> u64 {
        self.week_offsets[w + 1] - self.week_offsets[w]
    }

    /// Builds the `marketing_spend` table from the realised acquisitions.
    ///
    /// `customers[week * PAID_CELLS + cell]` counts customers acquired in that
    /// cell and `revenue_cents` the completed-order revenue they brought within
    /// [`ATTRIBUTION_DAYS`] of acquisition.
    pub(crate) fn batch(
        &self,
        seed: u64,
        customers: &[u64],
        revenue_cents: &[i64],
    ) -> Result<RecordBatch, ArrowError> {
        let mut rng = stream(seed, "marketing_spend", 1);
        let n = WEEKS * PAID_CELLS;
        let mut date = Vec::with_capacity(n);
        let mut channel = Vec::with_capacity(n);
        let mut spend = Vec::with_capacity(n);
        let mut segment = Vec::with_capacity(n);
        let mut impressions = Vec::with_capacity(n);
        let mut clicks = Vec::with_capacity(n);
        let mut leads = Vec::with_capacity(n);
        let mut revenue = Vec::with_capacity(n);
        let mut noise = |sigma: f64| {
            let z: f64 = rng.sample(StandardNormal);
            (sigma * z).exp()
        };
        for w in 0..WEEKS {
            for cell in 0..PAID_CELLS {
                let i = w * PAID_CELLS + cell;
                let ch = &CHANNELS[cell / SEGMENTS.len()];
                let s = cell % SEGMENTS.len();
                let won = customers.get(i).copied().unwrap_or(0);
                let cents = self.spend_cents[i];
                let (l, c, imp) = if cents == 0 && won == 0 {
                    (0, 0, 0)
                } else {
                    let l = ((won as f64 + 0.5) / ch.lead_to_customer * noise(0.15)).round();
                    let l = (l as i64).max(won as i64);
                    let c = ((l as f64 / ch.click_to_lead * noise(0.10)).round() as i64).max(l);
                    let imp = ((c as f64 / ch.ctr * noise(0.10)).round() as i64).max(c);
                    (l, c, imp)
                };
                date.push(START_EPOCH_DAY + 7 * w as i32);
                channel.push(ch.name);
                spend.push(dollars(cents));
                segment.push(SEGMENTS[s]);
                impressions.push(imp);
                clicks.push(c);
                leads.push(l);
                revenue.push(dollars(revenue_cents.get(i).copied().unwrap_or(0)));
            }
        }
        let columns: Vec<ArrayRef> = vec![
            Arc::new(Date32Array::from(date)),
            Arc::new(StringArray::from(channel)),
            Arc::new(Float64Array::from(spend)),
            Arc::new(StringArray::from(segment)),
            Arc::new(Int64Array::from(impressions)),
            Arc::new(Int64Array::from(clicks)),
            Arc::new(Int64Array::from(leads)),
            Arc::new(Float64Array::from(revenue)),
        ];
        RecordBatch::try_new(Table::MarketingSpend.schema(), columns)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hill_is_saturating() {
        assert_eq!(hill(0.0, 100.0, 1.0), 0.0);
        assert!((hill(100.0, 100.0, 1.7) - 0.5).abs() < 1e-12);
        assert!(hill(1e9, 100.0, 1.0) > 0.99);
    }

    #[test]
    fn weekly_counts_sum_to_customers() {
        let cal = Calendar::new();
        let plan = Plan::new(3, 12_345, &cal);
        assert_eq!(plan.week_offsets.len(), WEEKS + 1);
        assert_eq!(plan.week_offsets[WEEKS], 12_345);
        assert!(plan.week_offsets.windows(2).all(|w| w[0] <= w[1]));
        assert_eq!(
            plan.week_of(0),
            (0..WEEKS).find(|&w| plan.week_count(w) > 0).unwrap_or(0)
        );
        assert_eq!(
            plan.week_of(12_344),
            (0..WEEKS)
                .rev()
                .find(|&w| plan.week_count(w) > 0)
                .unwrap_or(0)
        );
        // Holiday weeks acquire more than summer weeks.
        let nov: u64 = (45..48).map(|w| plan.week_count(w)).sum();
        let jul: u64 = (27..30).map(|w| plan.week_count(w)).sum();
        assert!(nov > jul, "{nov} <= {jul}");
    }
}
