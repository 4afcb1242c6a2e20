//! Customers read from a summary and their predictions under a purchase model and a spend
//! model: what `clv predict`, `clv --orders` and `analyze` share.

use datafusion::arrow::array::{Array, AsArray};
use datafusion::arrow::datatypes::{Float64Type, Int64Type};
use datafusion::arrow::record_batch::RecordBatch;
use salesflow_core::TimeUnit;
use salesflow_engine::positions::Positions;
use std::collections::HashMap;

use foldhash::fast::FixedState;

use salesflow_models::clv::{self, GammaGamma, RepeatPurchaseModel};

use crate::error::{AnalyticsError, Result};

/// One customer's summary (the id stays in the summary: see [`SummaryIds`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Customer {
    /// Repeat purchase periods.
    pub frequency: f64,
    /// First to last purchase.
    pub recency: f64,
    /// First purchase to the end of the calibration period (`T`).
    pub age: f64,
    /// Mean value of the repeat purchases.
    pub monetary: f64,
    /// Purchase periods in the holdout, when the summary has one.
    pub holdout: Option<f64>,
}

/// A summary column that is missing or of another type: salesflow's own mistake.
fn column_error(name: &str) -> AnalyticsError {
    AnalyticsError::Engine(salesflow_engine::EngineError::Internal(format!(
        "the customer summary has no usable column {name}"
    )))
}

/// The customers of a summary computed by the engine, in its order.
pub fn customers(batches: &[RecordBatch]) -> Result<Vec<Customer>> {
    let mut out = Vec::with_capacity(batches.iter().map(RecordBatch::num_rows).sum());
    for batch in batches {
        let float = |name: &str| -> Result<&[f64]> {
            batch
                .column_by_name(name)
                .and_then(|c| c.as_primitive_opt::<Float64Type>())
                .map(|c| c.values().as_ref())
                .ok_or_else(|| column_error(name))
        };
        let frequency = batch
            .column_by_name("frequency")
            .and_then(|c| c.as_primitive_opt::<Int64Type>())
            .ok_or_else(|| column_error("frequency"))?;
        let holdout = batch
            .column_by_name("frequency_holdout")
            .map(|c| c.as_primitive::<Int64Type>());
        let (recency, age, monetary) = (float("recency")?, float("T")?, float("monetary_value")?);
        out.extend(
            (frequency
                .values()
                .iter()
                .zip(recency)
                .zip(age)
                .zip(monetary))
            .enumerate()
            .map(
                |(i, (((&frequency, &recency), &age), &monetary))| Customer {
                    frequency: frequency as f64,
                    recency,
                    age,
                    monetary,
                    holdout: holdout.filter(|h| h.is_valid(i)).map(|h| h.value(i) as f64),
                },
            ),
        );
    }
    Ok(out)
}

/// How error messages name a customer, by position: only they need ids, so a million of them
/// are not copied out of the summary (building them was most of "clv customers", 0.12 s).
pub type CustomerName<'a> = &'a (dyn Fn(usize) -> String + Sync);

/// The ids of a summary's customers, looked up by position in [`customers`]' order.
pub struct SummaryIds<'a> {
    batches: &'a [RecordBatch],
    positions: Positions,
}

impl<'a> SummaryIds<'a> {
    /// The ids in the first column of `batches`.
    pub fn new(batches: &'a [RecordBatch]) -> SummaryIds<'a> {
        SummaryIds {
            batches,
            positions: Positions::of(batches),
        }
    }

    /// The id of the customer at `position`, as text ("row N" past the end).
    pub fn id(&self, position: usize) -> String {
        (position < self.positions.rows())
            .then(|| self.positions.locate(position))
            .and_then(|(batch, row)| {
                datafusion::arrow::util::display::array_value_to_string(
                    self.batches[batch].column(0),
                    row,
                )
                .ok()
            })
            .unwrap_or_else(|| format!("row {}", position + 1))
    }
}

/// The per-customer predictions, in the customers' order.
#[derive(Debug, Default)]
pub struct Predictions {
    /// Expected purchases over the horizon's periods.
    pub expected_purchases: Vec<f64>,
    /// Probability that the customer is still alive.
    pub p_alive: Vec<f64>,
    /// Expected value of an order (with a spend model).
    pub expected_spend: Vec<Option<f64>>,
    /// Discounted value over the horizon's months (with a spend model).
    pub clv: Vec<Option<f64>>,
}

/// What to predict.
pub struct Horizon {
    /// Expected purchases over this many periods of the summary's unit.
    pub periods: f64,
    /// CLV over this many months, discounted monthly at `monthly_discount_rate`.
    pub months: u32,
    /// The monthly discount rate (0.01 = 1 % a month).
    pub monthly_discount_rate: f64,
    /// The summary's time unit.
    pub unit: TimeUnit,
}

/// A distinct (frequency, recency, T) and the first customer who has it (for error messages).
type Triple = (f64, f64, f64, usize);

/// Customers grouped by their (frequency, recency, T): a purchase model's quantities depend on
/// those alone and customers share them (every one-time buyer of a day has the same), so the
/// fit sees each distinct triple once, weighted, and predictions evaluate it once. On bench/clv's
/// 1 M customers (days) there are 447 k.
pub struct Grouped {
    /// The distinct triples in the order customers first have them.
    triples: Vec<Triple>,
    /// Each customer's index into `triples`.
    slot: Vec<u32>,
    /// How many customers have each triple.
    count: Vec<u32>,
}

impl Grouped {
    /// Groups `customers` by exact equality of their triples (−0 with 0, as
    /// [`clv::compress`] does); the triples come out in `compress`'s order.
    ///
    /// By sorting rather than hashing: each component is replaced by its rank among the
    /// component's distinct values (a few hundred to a few thousand of them, so those maps stay
    /// in cache), and the ranks and the customer's position packed into one integer are
    /// sorted. A hash map of the triples themselves (447 k of them on bench/clv) missed the
    /// cache on nearly every customer: 0.17 s for a million.
    pub fn of(customers: &[Customer]) -> Grouped {
        Grouped::packed_into(customers, 64)
    }

    /// [`Grouped::of`], sorting `u64` keys when the ranks and positions fit in `narrow_bits`
    /// (at most 64; tests lower it to sort `u128`s).
    fn packed_into(customers: &[Customer], narrow_bits: u32) -> Grouped {
        let components: [fn(&Customer) -> f64; 3] = [|c| c.frequency, |c| c.recency, |c| c.age];
        let ranks = components.map(|value| Ranks::of(customers.iter().map(value)));
        let widths = ranks.each_ref().map(|r| r.width);
        let position_width = bit_width(customers.len());
        let key_width: u32 = widths.iter().sum::<u32>() + position_width;
        let packed = |i: usize| -> u128 {
            let mut key = 0u128;
            for (component, width) in ranks.iter().zip(widths) {
                key = (key << width) | u128::from(component.codes[i]);
            }
            (key << position_width) | i as u128
        };
        // Positions and ranks need 45 bits on bench/clv; a u64 sorts faster than a u128.
        let sorted: Vec<u128> = if key_width <= narrow_bits.min(64) {
            let mut keys: Vec<u64> = (0..customers.len()).map(|i| packed(i) as u64).collect();
            keys.sort_unstable();
            keys.into_iter().map(u128::from).collect()
        } else {
            let mut keys: Vec<u128> = (0..customers.len()).map(packed).collect();
            keys.sort_unstable();
            keys
        };
        let position_mask = (1u128 << position_width) - 1;
        let mut grouped = Grouped {
            triples: Vec::new(),
            slot: vec![0; customers.len()],
            count: Vec::new(),
        };
        let mut previous = None;
        for key in sorted {
            let position = (key & position_mask) as usize;
            let triple = key >> position_width;
            // Positions ascend within a triple: its first customer comes first.
            if previous != Some(triple) {
                let c = &customers[position];
                grouped
                    .triples
                    .push((c.frequency, c.recency, c.age, position));
                grouped.count.push(0);
                previous = Some(triple);
            }
            let slot = grouped.triples.len() - 1;
            grouped.count[slot] += 1;
            grouped.slot[position] = slot as u32;
        }
        grouped
    }

    /// The weighted rows a purchase model is fitted on: [`clv::compress`] of the customers'
    /// triples, with only the distinct ones to sort.
    pub fn rows(&self) -> Vec<clv::RfmRow> {
        clv::compress_weighted(
            self.triples
                .iter()
                .zip(&self.count)
                .map(|(&(x, tx, t, _), &n)| (x, tx, t, f64::from(n))),
        )
    }
}

/// Bits needed to write the numbers below `n`.
fn bit_width(n: usize) -> u32 {
    usize::BITS - n.saturating_sub(1).leading_zeros()
}

/// Each value's rank among the distinct values (in `f64::total_cmp` order, −0 as 0).
struct Ranks {
    codes: Vec<u32>,
    /// Bits a rank needs.
    width: u32,
}

impl Ranks {
    fn of(values: impl ExactSizeIterator<Item = f64>) -> Ranks {
        // foldhash rather than the standard SipHash: the keys are our own numbers, not input
        // an attacker chooses.
        let mut first_seen: HashMap<u64, u32, FixedState> = HashMap::default();
        let mut distinct: Vec<f64> = Vec::new();
        let mut codes: Vec<u32> = values
            .map(|v| {
                let v = v + 0.0;
                *first_seen.entry(v.to_bits()).or_insert_with(|| {
                    distinct.push(v);
                    (distinct.len() - 1) as u32
                })
            })
            .collect();
        let mut order: Vec<u32> = (0..distinct.len() as u32).collect();
        order.sort_unstable_by(|&a, &b| distinct[a as usize].total_cmp(&distinct[b as usize]));
        let mut rank = vec![0u32; distinct.len()];
        for (r, &code) in order.iter().enumerate() {
            rank[code as usize] = r as u32;
        }
        for code in &mut codes {
            *code = rank[*code as usize];
        }
        Ranks {
            codes,
            width: bit_width(distinct.len()),
        }
    }
}

/// Predicts every customer, on every core (CLV evaluates one expectation per month). Spend
/// and CLV are `None` without a spend model.
pub fn predict(
    model: &(dyn RepeatPurchaseModel + Sync),
    spend: Option<&GammaGamma>,
    customers: &[Customer],
    horizon: &Horizon,
    name: CustomerName<'_>,
) -> Result<Predictions> {
    predict_grouped(
        model,
        spend,
        customers,
        &Grouped::of(customers),
        horizon,
        name,
    )
}

/// [`predict`] with the customers already grouped (`groups` must be [`Grouped::of`] them).
pub fn predict_grouped(
    model: &(dyn RepeatPurchaseModel + Sync),
    spend: Option<&GammaGamma>,
    customers: &[Customer],
    groups: &Grouped,
    horizon: &Horizon,
    name: CustomerName<'_>,
) -> Result<Predictions> {
    let unit = match horizon.unit {
        TimeUnit::Day => clv::TimeUnit::Days,
        TimeUnit::Week => clv::TimeUnit::Weeks,
        TimeUnit::Month => clv::TimeUnit::Months,
    };
    let rate = horizon.monthly_discount_rate;
    if !(rate.is_finite() && rate > -1.0) || horizon.months > clv::gamma_gamma::MAX_MONTHS {
        return Err(AnalyticsError::Model {
            context: "CLV horizon".into(),
            source: salesflow_models::ModelError::InvalidParameter {
                name: "monthly_discount_rate or months",
                value: rate,
                hint: "the rate must be finite and > -1, the months at most 12,000",
            },
        });
    }
    if groups.slot.len() != customers.len() {
        return Err(AnalyticsError::Engine(
            salesflow_engine::EngineError::Internal(
                "predictions were given the groups of other customers".into(),
            ),
        ));
    }
    let (triples, slot) = (&groups.triples, &groups.slot);
    type Row = (f64, f64, Option<f64>);
    // Cumulative expected purchases at every month end of the CLV horizon (with a spend
    // model), then at the purchase horizon: one call, so the BG/NBD family sums all their
    // series together.
    let mut horizons = match spend {
        Some(_) => clv::gamma_gamma::month_horizons(horizon.months, unit),
        None => Vec::new(),
    };
    let months = horizons.len();
    horizons.push(horizon.periods);
    // The BG/NBD family factors the expectation as P(alive) · g(t; x, T): g, the costly
    // part (a 2F1 series per horizon), is computed once per distinct (frequency, T) pair and
    // each triple only adds its P(alive). bench/clv's 1 M customers (days) have 446,979
    // distinct triples but 15,646 (frequency, T) pairs; "clv predicted" went from 1.27 to
    // 0.47 s (`SALESFLOW_TIMINGS=1 salesflow clv --orders ...`).
    // Asked with no horizons: whether the model factors, without evaluating anything.
    let factored = triples.first().is_some_and(|&(f, _, t, _)| {
        model
            .expected_purchases_if_alive_at(&[], f, t, &mut [])
            .is_some()
    });
    let threads = salesflow_engine::default_threads();
    // Called only on an error: naming a customer looks up and formats its id.
    let context = |first: usize| format!("customer {}", name(first));
    // Small pieces handed out as threads come free: a series' cost varies several times over
    // (at a 12-month horizon a new customer's needs about 190 terms for 1e-17, an old one's
    // about 35), so halves in order would finish unevenly.
    const PIECE: usize = 2_048;
    // Per pair, g at the purchase horizon and the discounted sum of g's monthly increments:
    // both are linear in g, so a triple's values are these times its P(alive), and a pair
    // keeps two numbers however long the CLV horizon.
    let pair_values =
        |(f, t, first): (f64, f64, usize), g: &mut [f64]| -> Result<(f64, Option<f64>)> {
            // Only called when the model factors (`factored`); a model that stopped doing so
            // would leave `g` holding the previous pair's values, so that is an error.
            model
                .expected_purchases_if_alive_at(&horizons, f, t, g)
                .ok_or_else(|| {
                    AnalyticsError::Engine(salesflow_engine::EngineError::Internal(
                        "the purchase model stopped factoring its expectation".into(),
                    ))
                })?
                .map_err(|e| AnalyticsError::model(context(first))(e))?;
            let discounted =
                spend.map(|_| clv::gamma_gamma::discount_monthly(&g[..months], rate, unit));
            Ok((g[months], discounted))
        };
    let (pair_of, if_alive): (Vec<usize>, Vec<(f64, Option<f64>)>) = if factored {
        let mut pair_index: HashMap<[u64; 2], usize, FixedState> =
            HashMap::with_hasher(FixedState::default());
        let mut pairs: Vec<(f64, f64, usize)> = Vec::new();
        let pair_of = triples
            .iter()
            .map(|&(f, _, t, first)| {
                *pair_index
                    .entry([f.to_bits(), t.to_bits()])
                    .or_insert_with(|| {
                        pairs.push((f, t, first));
                        pairs.len() - 1
                    })
            })
            .collect();
        let pieces: Vec<&[(f64, f64, usize)]> = pairs.chunks(PIECE).collect();
        let results = salesflow_models::parallel::map_jobs(threads, pieces.len(), |i| {
            let mut g = vec![0.0; horizons.len()];
            pieces[i]
                .iter()
                .map(|&pair| pair_values(pair, &mut g))
                .collect::<Result<Vec<_>>>()
        });
        let mut if_alive = Vec::with_capacity(pairs.len());
        for piece in results {
            if_alive.extend(piece?);
        }
        (pair_of, if_alive)
    } else {
        (Vec::new(), Vec::new())
    };
    let one = |(index, &(f, r, t, first)): (usize, &Triple)| -> Result<Row> {
        let row = || -> Result<Row, salesflow_models::ModelError> {
            let alive = model.probability_alive(f, r, t)?;
            if factored {
                let (expected, discounted) = if_alive[pair_of[index]];
                return Ok((expected * alive, alive, discounted.map(|d| d * alive)));
            }
            let mut cumulative = vec![0.0; horizons.len()];
            model.expected_purchases_at(&horizons, f, r, t, &mut cumulative)?;
            let discounted = spend
                .map(|_| clv::gamma_gamma::discount_monthly(&cumulative[..months], rate, unit));
            Ok((cumulative[months], alive, discounted))
        };
        row().map_err(|e| AnalyticsError::model(context(first))(e))
    };
    let pieces: Vec<(usize, &[Triple])> = triples
        .chunks(PIECE)
        .enumerate()
        .map(|(i, piece)| (i * PIECE, piece))
        .collect();
    let results = salesflow_models::parallel::map_jobs(threads, pieces.len(), |i| {
        let (offset, piece) = pieces[i];
        piece
            .iter()
            .enumerate()
            .map(|(k, triple)| one((offset + k, triple)))
            .collect::<Result<Vec<Row>>>()
    });
    let mut rows: Vec<Row> = Vec::with_capacity(triples.len());
    for piece in results {
        rows.extend(piece?);
    }
    // Each customer's values, in contiguous runs of customers on every core.
    let n = customers.len();
    let mut out = Predictions {
        expected_purchases: vec![0.0; n],
        p_alive: vec![0.0; n],
        expected_spend: vec![None; n],
        clv: vec![None; n],
    };
    let run = n.div_ceil(threads.max(1)).max(1);
    let (rows, slot) = (&rows, &slot);
    let filled: Vec<Result<()>> = std::thread::scope(|scope| {
        let handles: Vec<_> = out
            .expected_purchases
            .chunks_mut(run)
            .zip(out.p_alive.chunks_mut(run))
            .zip(out.expected_spend.chunks_mut(run))
            .zip(out.clv.chunks_mut(run))
            .enumerate()
            .map(|(part, (((expected, alive), order_value), value))| {
                scope.spawn(move || -> Result<()> {
                    let start = part * run;
                    for (k, c) in customers[start..start + expected.len()].iter().enumerate() {
                        let (e, a, discounted) = rows[slot[start + k] as usize];
                        expected[k] = e;
                        alive[k] = a;
                        if let Some(gg) = spend {
                            let v = gg.expected_average_spend(c.frequency, c.monetary).map_err(
                                |e| {
                                    AnalyticsError::model(format!("customer {}", name(start + k)))(
                                        e,
                                    )
                                },
                            )?;
                            order_value[k] = Some(v);
                            value[k] = discounted.map(|d| v * d);
                        }
                    }
                    Ok(())
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
            .collect()
    });
    for part in filled {
        part?;
    }
    Ok(out)
}

/// The customers as Gamma-Gamma's input rows (weight 1 each; the fitter skips one-time buyers).
pub fn spend_rows(customers: &[Customer]) -> Vec<clv::SpendRow> {
    customers
        .iter()
        .map(|c| clv::SpendRow {
            frequency: c.frequency,
            monetary_value: c.monetary,
            weight: 1.0,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn customer(frequency: f64, recency: f64, age: f64) -> Customer {
        Customer {
            frequency,
            recency,
            age,
            monetary: 10.0,
            holdout: None,
        }
    }

    /// The grouped rows are exactly `compress` of the customers' triples (−0 with 0, equal
    /// triples weighted), and every customer points at its own triple.
    #[test]
    fn grouped_rows_are_the_compressed_triples() {
        let customers = [
            customer(2.0, 5.0, 9.0),
            customer(0.0, 0.0, 9.0),
            customer(2.0, 5.0, 9.0),
            customer(0.0, -0.0, 9.0),
            customer(1.0, 3.5, 4.0),
            customer(0.0, 0.0, 4.0),
        ];
        let triples: Vec<(f64, f64, f64)> = customers
            .iter()
            .map(|c| (c.frequency, c.recency, c.age))
            .collect();
        // Narrow keys, and the wide ones of customers with many distinct values.
        for narrow_bits in [64, 0] {
            let groups = Grouped::packed_into(&customers, narrow_bits);
            assert_eq!(groups.rows(), clv::compress(&triples));
            assert_eq!(groups.rows().len(), 4);
            for (i, (c, &slot)) in customers.iter().zip(&groups.slot).enumerate() {
                let (x, tx, t, first) = groups.triples[slot as usize];
                assert_eq!((x, tx + 0.0, t), (c.frequency, c.recency + 0.0, c.age));
                // The first customer with the triple is named in messages.
                assert!(first <= i);
                assert_eq!(groups.slot[first], slot);
            }
            assert_eq!(groups.count.iter().sum::<u32>(), 6);
        }
        let none = Grouped::of(&[]);
        assert!(none.rows().is_empty() && none.slot.is_empty());
    }

    /// Messages name customers by the summary's ids, across batches.
    #[test]
    fn summary_ids_are_found_by_position() {
        use datafusion::arrow::array::StringArray;
        use std::sync::Arc;
        let batch = |ids: &[&str]| {
            RecordBatch::try_from_iter([(
                "customer_id",
                Arc::new(StringArray::from(ids.to_vec())) as _,
            )])
            .unwrap()
        };
        let batches = [batch(&["a", "b"]), batch(&[]), batch(&["c"])];
        let ids = SummaryIds::new(&batches);
        let named: Vec<String> = (0..4).map(|i| ids.id(i)).collect();
        assert_eq!(named, ["a", "b", "c", "row 4"]);
    }
}
