//! `purchase_periods(period, amount)`: a customer's purchase periods in one aggregation.
//!
//! The buy-till-you-die summary needs, per customer: how many distinct purchase periods
//! (days, weeks, months) there are, the first and the last, the total spent and the total
//! spent after the first period. In SQL that is two aggregations, by (customer, period) and
//! then by customer; on 10 M orders almost every order is its own (customer, day) group, so
//! the first level hashes and repartitions ~10 M rows to remove almost nothing. This aggregate
//! does both levels in one pass by customer: each group keeps its distinct periods (most
//! customers have a handful, kept inline) and running sums.
//!
//! Sums are exact: amounts are added as integers of 1e-10 (what `DECIMAL(38, 10)` holds),
//! so the total after the first period is exact (no 29.730000000000004 for 59.06 - 29.33).
//! A group whose amounts leave that range (|amount| >= 1e17, or a non-finite value) carries
//! on in floating point from its exact sum so far.
//!
//! The result is a struct: `periods`, `first_period`, `last_period` (BIGINT), `total` and
//! `repeat_total` (DOUBLE). Rows with a null period or amount are skipped.

use std::sync::Arc;

use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, BooleanArray, Decimal128Array, Float64Array, Int64Array, ListArray,
    StructArray,
};
use datafusion::arrow::buffer::OffsetBuffer;
use datafusion::arrow::datatypes::{
    DataType, Decimal128Type, Field, FieldRef, Fields, Float64Type, Int64Type,
};
use datafusion::common::{Result, ScalarValue};
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::{
    Accumulator, AggregateUDF, AggregateUDFImpl, EmitTo, GroupsAccumulator, Signature, Volatility,
};

/// Units of an amount in an exact sum: 1e-10, the scale of `DECIMAL(38, 10)`.
const UNITS_PER_AMOUNT: f64 = 1e10;
/// Largest |amount| added exactly: 1e17 * 1e10 = 1e27, so that even 1e11 of them fit an i128.
const EXACT_AMOUNT_LIMIT: f64 = 1e17;

/// The aggregate's implementation; register it with [`purchase_periods`].
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct PurchasePeriods {
    signature: Signature,
}

/// The `purchase_periods(period BIGINT, amount DOUBLE)` aggregate function.
pub fn purchase_periods() -> AggregateUDF {
    AggregateUDF::from(PurchasePeriods {
        signature: Signature::exact(
            vec![DataType::Int64, DataType::Float64],
            Volatility::Immutable,
        ),
    })
}

fn output_fields() -> Fields {
    Fields::from(vec![
        Field::new("periods", DataType::Int64, false),
        Field::new("first_period", DataType::Int64, true),
        Field::new("last_period", DataType::Int64, true),
        Field::new("total", DataType::Float64, false),
        Field::new("repeat_total", DataType::Float64, false),
    ])
}

impl AggregateUDFImpl for PurchasePeriods {
    fn name(&self) -> &str {
        "purchase_periods"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Struct(output_fields()))
    }

    fn accumulator(&self, _args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        let mut group = Groups::default();
        group.resize(1);
        Ok(Box::new(OneGroup(group)))
    }

    fn state_fields(&self, args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        let name = |part: &str| format!("{}[{part}]", args.name);
        let exact = DataType::Decimal128(38, 10);
        Ok(vec![
            Arc::new(Field::new(
                name("periods"),
                DataType::List(Arc::new(Field::new_list_field(DataType::Int64, false))),
                false,
            )),
            Arc::new(Field::new(name("first_period"), DataType::Int64, true)),
            Arc::new(Field::new(name("last_period"), DataType::Int64, true)),
            Arc::new(Field::new(name("first_exact"), exact.clone(), true)),
            Arc::new(Field::new(name("total_exact"), exact, true)),
            Arc::new(Field::new(name("first_float"), DataType::Float64, true)),
            Arc::new(Field::new(name("total_float"), DataType::Float64, true)),
        ])
    }

    fn groups_accumulator_supported(&self, _args: AccumulatorArgs) -> bool {
        true
    }

    fn create_groups_accumulator(
        &self,
        _args: AccumulatorArgs,
    ) -> Result<Box<dyn GroupsAccumulator>> {
        Ok(Box::new(Groups::default()))
    }
}

/// A group's distinct periods: inline while few (the common case), else on the heap. Periods
/// are day numbers (or week/month starts), so i32 holds ±5.8 million years of them.
#[derive(Debug, Clone)]
enum PeriodSet {
    Few {
        len: u8,
        items: [i32; 3],
    },
    // Boxed so the set stays 16 bytes and a group's whole state one 64-byte cache line; the
    // extra allocation is only for the rare customer with more than three periods.
    #[allow(clippy::box_collection)]
    Many(Box<Vec<i32>>),
}

impl Default for PeriodSet {
    fn default() -> Self {
        PeriodSet::Few {
            len: 0,
            items: [0; 3],
        }
    }
}

impl PeriodSet {
    /// Adds `period` if new; returns how many periods moved to or joined the heap.
    fn insert(&mut self, period: i32) -> usize {
        match self {
            PeriodSet::Few { len, items } => {
                let used = &items[..usize::from(*len)];
                if used.contains(&period) {
                    return 0;
                }
                if used.len() < items.len() {
                    items[usize::from(*len)] = period;
                    *len += 1;
                    0
                } else {
                    let mut many = used.to_vec();
                    many.push(period);
                    let moved = many.len();
                    *self = PeriodSet::Many(Box::new(many));
                    moved
                }
            }
            PeriodSet::Many(many) => {
                if many.contains(&period) {
                    0
                } else {
                    many.push(period);
                    1
                }
            }
        }
    }

    fn heap_items(&self) -> usize {
        match self {
            PeriodSet::Few { .. } => 0,
            PeriodSet::Many(many) => many.len(),
        }
    }

    fn as_slice(&self) -> &[i32] {
        match self {
            PeriodSet::Few { len, items } => &items[..usize::from(*len)],
            PeriodSet::Many(many) => many,
        }
    }
}

/// A period as i32, saturating (far beyond any date the ingest accepts).
fn narrow(period: i64) -> i32 {
    i32::try_from(period).unwrap_or(if period < 0 {
        i32::MIN + 1
    } else {
        i32::MAX - 1
    })
}

/// `scaled.round() as i128` (halves away from zero). Below 2^52 (amounts below ~450,000)
/// by an integer truncation and the exact remainder: on the baseline x86-64 target `round`
/// is a call into the C library and the conversion to i128 a software routine (`__fixdfti`),
/// together 0.7-0.9 % of the CPU samples of bench/clv's `salesflow clv --orders` in two
/// `perf record` runs, for one rounding per order; none after.
fn rounded(scaled: f64) -> i128 {
    const EXACT_FRACTIONS: f64 = 4_503_599_627_370_496.0; // 2^52
    if scaled.abs() < EXACT_FRACTIONS {
        let whole = scaled as i64; // toward zero
        // Exact (Sterbenz): `whole` is within a factor of two of `scaled`, or zero.
        let rest = scaled - whole as f64;
        i128::from(match rest {
            r if r >= 0.5 => whole + 1,
            r if r <= -0.5 => whole - 1,
            _ => whole,
        })
    } else {
        scaled.round() as i128
    }
}

/// A sum of amounts: exact in 1e-10 units until an amount leaves the range, then floating.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Sum {
    Exact(i128),
    Float(f64),
}

impl Sum {
    /// The amount as a sum of its own.
    fn of(amount: f64) -> Sum {
        if amount.is_finite() && amount.abs() < EXACT_AMOUNT_LIMIT {
            // As a cast to DECIMAL(38, 10) does: scaled, then rounded.
            Sum::Exact(rounded(amount * UNITS_PER_AMOUNT))
        } else {
            Sum::Float(amount)
        }
    }

    fn value(self) -> f64 {
        match self {
            Sum::Exact(units) => units as f64 / UNITS_PER_AMOUNT,
            Sum::Float(value) => value,
        }
    }
}

/// One group's state, in one place so that a row touches one cache line: the distinct
/// periods, the first and last, and two sums (of the first period, of all) that are exact
/// units (i128) or, once `float`, the bits of f64 values.
#[derive(Debug, Clone)]
struct Group {
    first_units: i128,
    total_units: i128,
    periods: PeriodSet,
    /// `i32::MAX` until the group has a row.
    first_period: i32,
    last_period: i32,
    float: bool,
}

impl Default for Group {
    fn default() -> Self {
        Group {
            first_units: 0,
            total_units: 0,
            periods: PeriodSet::default(),
            first_period: i32::MAX,
            last_period: i32::MIN,
            float: false,
        }
    }
}

impl Group {
    fn is_empty(&self) -> bool {
        self.first_period == i32::MAX
    }

    fn first(&self) -> Sum {
        self.sum(self.first_units)
    }

    fn total(&self) -> Sum {
        self.sum(self.total_units)
    }

    fn sum(&self, units: i128) -> Sum {
        if self.float {
            Sum::Float(f64::from_bits(units as u64))
        } else {
            Sum::Exact(units)
        }
    }

    /// Adds `(first, total)` to the sums (the first only when `to_first`), switching the
    /// group to floating point when a sum leaves the exact range.
    fn add_sums(&mut self, to_first: Option<Sum>, total: Sum) {
        if !self.float {
            let exact = |sum: Sum| match sum {
                Sum::Exact(units) => Some(units),
                Sum::Float(_) => None,
            };
            let first_units = match to_first {
                Some(sum) => exact(sum).and_then(|u| self.first_units.checked_add(u)),
                None => Some(self.first_units),
            };
            let total_units = exact(total).and_then(|u| self.total_units.checked_add(u));
            if let (Some(first_units), Some(total_units)) = (first_units, total_units) {
                self.first_units = first_units;
                self.total_units = total_units;
                return;
            }
            let (first, all) = (self.first().value(), self.total().value());
            self.float = true;
            self.first_units = i128::from(first.to_bits());
            self.total_units = i128::from(all.to_bits());
        }
        if let Some(sum) = to_first {
            let first = self.first().value() + sum.value();
            self.first_units = i128::from(first.to_bits());
        }
        let all = self.total().value() + total.value();
        self.total_units = i128::from(all.to_bits());
    }

    /// Merges a (sub)group whose periods are `periods`, first period `first_period` with sum
    /// `first`, last period `last_period` and total `total`; returns periods moved to the heap.
    fn merge(
        &mut self,
        periods: impl Iterator<Item = i32>,
        first_period: i32,
        first: Sum,
        last_period: i32,
        total: Sum,
    ) -> usize {
        let heap: usize = periods.map(|p| self.periods.insert(p)).sum();
        if first_period < self.first_period {
            self.first_period = first_period;
            // A new first period: its sum starts again (0 is zero in both modes: the bits of
            // 0.0 are 0).
            self.first_units = 0;
        }
        let to_first = (first_period == self.first_period).then_some(first);
        self.last_period = self.last_period.max(last_period);
        self.add_sums(to_first, total);
        heap
    }

    /// Total after the first period, exactly when the sums are exact.
    fn repeat_total(&self) -> f64 {
        match (self.total(), self.first()) {
            (Sum::Exact(total), Sum::Exact(first)) => match total.checked_sub(first) {
                Some(difference) => difference as f64 / UNITS_PER_AMOUNT,
                None => total as f64 / UNITS_PER_AMOUNT - first as f64 / UNITS_PER_AMOUNT,
            },
            (total, first) => total.value() - first.value(),
        }
    }
}

/// Groups a chunk of [`GroupStore`] holds (1 MB of states).
const CHUNK: usize = 1 << 14;

/// Group states in fixed-size chunks, indexed by group: growing never moves a state. One Vec
/// grown by doubling as groups arrive copied its states again at each step and faulted in
/// twice their memory (7 % of bench/clv's page faults, `perf record -e page-faults`).
#[derive(Debug, Default, Clone)]
struct GroupStore {
    chunks: Vec<Vec<Group>>,
    len: usize,
}

impl GroupStore {
    /// Grows to `groups` states (never shrinks: that is what [`GroupStore::take`] does).
    fn resize(&mut self, groups: usize) {
        while self.len < groups {
            match self.chunks.last_mut() {
                Some(last) if last.len() < CHUNK => {
                    let add = (groups - self.len).min(CHUNK - last.len());
                    last.resize_with(last.len() + add, Group::default);
                    self.len += add;
                }
                _ => self.chunks.push(Vec::with_capacity(CHUNK)),
            }
        }
    }

    fn iter(&self) -> impl Iterator<Item = &Group> {
        self.chunks.iter().flatten()
    }

    fn capacity(&self) -> usize {
        self.chunks.len() * CHUNK
    }

    /// Splits off the groups `emit_to` asks for; the others move to the front.
    fn take(&mut self, emit_to: EmitTo) -> GroupStore {
        let mut all: Vec<Group> = match emit_to {
            EmitTo::All => return std::mem::take(self),
            EmitTo::First(_) => std::mem::take(self).chunks.into_iter().flatten().collect(),
        };
        let first = emit_to.take_needed(&mut all);
        *self = GroupStore::from(all);
        GroupStore::from(first)
    }
}

impl From<Vec<Group>> for GroupStore {
    fn from(groups: Vec<Group>) -> GroupStore {
        let len = groups.len();
        let mut chunks = Vec::with_capacity(len.div_ceil(CHUNK));
        let mut rest = groups.into_iter();
        while rest.len() > 0 {
            let mut chunk = Vec::with_capacity(CHUNK);
            chunk.extend(rest.by_ref().take(CHUNK));
            chunks.push(chunk);
        }
        GroupStore { chunks, len }
    }
}

impl std::ops::Index<usize> for GroupStore {
    type Output = Group;
    fn index(&self, group: usize) -> &Group {
        &self.chunks[group / CHUNK][group % CHUNK]
    }
}

impl std::ops::IndexMut<usize> for GroupStore {
    fn index_mut(&mut self, group: usize) -> &mut Group {
        &mut self.chunks[group / CHUNK][group % CHUNK]
    }
}

/// Every group's state, indexed by group.
#[derive(Debug, Default, Clone)]
struct Groups {
    groups: GroupStore,
    /// Periods kept on the heap (by groups with many), for `size` without a pass over groups.
    heap_items: usize,
}

impl Groups {
    fn resize(&mut self, groups: usize) {
        self.groups.resize(groups);
    }

    /// Splits off the groups `emit_to` asks for.
    fn take(&mut self, emit_to: EmitTo) -> Groups {
        let groups = self.groups.take(emit_to);
        let heap_items = groups.iter().map(|g| g.periods.heap_items()).sum();
        self.heap_items -= heap_items;
        Groups { groups, heap_items }
    }

    fn output(&self) -> Result<ArrayRef> {
        let groups = &self.groups;
        let periods =
            Int64Array::from_iter_values(groups.iter().map(|g| g.periods.as_slice().len() as i64));
        let first_period = Int64Array::from_iter(
            groups
                .iter()
                .map(|g| (!g.is_empty()).then_some(i64::from(g.first_period))),
        );
        let last_period = Int64Array::from_iter(
            groups
                .iter()
                .map(|g| (!g.is_empty()).then_some(i64::from(g.last_period))),
        );
        let total = Float64Array::from_iter_values(groups.iter().map(|g| g.total().value()));
        let repeat_total = Float64Array::from_iter_values(groups.iter().map(Group::repeat_total));
        Ok(Arc::new(StructArray::try_new(
            output_fields(),
            vec![
                Arc::new(periods),
                Arc::new(first_period),
                Arc::new(last_period),
                Arc::new(total),
                Arc::new(repeat_total),
            ],
            None,
        )?))
    }

    fn state_arrays(&self) -> Result<Vec<ArrayRef>> {
        let groups = &self.groups;
        let offsets = OffsetBuffer::from_lengths(groups.iter().map(|g| g.periods.as_slice().len()));
        let values = Int64Array::from_iter_values(
            groups
                .iter()
                .flat_map(|g| g.periods.as_slice().iter().map(|&p| i64::from(p))),
        );
        let periods = ListArray::try_new(
            Arc::new(Field::new_list_field(DataType::Int64, false)),
            offsets,
            Arc::new(values),
            None,
        )?;
        let exact = |sum: fn(&Group) -> Sum| -> Result<ArrayRef> {
            let array = Decimal128Array::from_iter(groups.iter().map(|g| match sum(g) {
                Sum::Exact(units) => Some(units),
                Sum::Float(_) => None,
            }))
            .with_precision_and_scale(38, 10)?;
            Ok(Arc::new(array))
        };
        let float = |sum: fn(&Group) -> Sum| -> ArrayRef {
            Arc::new(Float64Array::from_iter(groups.iter().map(|g| {
                match sum(g) {
                    Sum::Exact(_) => None,
                    Sum::Float(value) => Some(value),
                }
            })))
        };
        let period = |p: i32, empty: bool| (!empty).then_some(i64::from(p));
        Ok(vec![
            Arc::new(periods),
            Arc::new(Int64Array::from_iter(
                groups.iter().map(|g| period(g.first_period, g.is_empty())),
            )),
            Arc::new(Int64Array::from_iter(
                groups.iter().map(|g| period(g.last_period, g.is_empty())),
            )),
            exact(Group::first)?,
            exact(Group::total)?,
            float(Group::first),
            float(Group::total),
        ])
    }

    fn merge_states(&mut self, states: &[ArrayRef], groups: &[usize], total_groups: usize) {
        self.resize(total_groups);
        let periods = states[0].as_list::<i32>();
        let period_values = periods.values().as_primitive::<Int64Type>();
        let first_period = states[1].as_primitive::<Int64Type>();
        let last_period = states[2].as_primitive::<Int64Type>();
        let (first_exact, total_exact) = (
            states[3].as_primitive::<Decimal128Type>(),
            states[4].as_primitive::<Decimal128Type>(),
        );
        let (first_float, total_float) = (
            states[5].as_primitive::<Float64Type>(),
            states[6].as_primitive::<Float64Type>(),
        );
        let sum = |exact: &Decimal128Array, float: &Float64Array, row: usize| {
            if exact.is_valid(row) {
                Sum::Exact(exact.value(row))
            } else {
                Sum::Float(float.value(row))
            }
        };
        let offsets = periods.value_offsets();
        for (row, &group) in groups.iter().enumerate() {
            if first_period.is_null(row) {
                continue; // an empty state
            }
            let range = offsets[row] as usize..offsets[row + 1] as usize;
            self.heap_items += self.groups[group].merge(
                range.map(|i| narrow(period_values.value(i))),
                narrow(first_period.value(row)),
                sum(first_exact, first_float, row),
                narrow(last_period.value(row)),
                sum(total_exact, total_float, row),
            );
        }
    }
}

impl GroupsAccumulator for Groups {
    fn update_batch(
        &mut self,
        values: &[ArrayRef],
        group_indices: &[usize],
        opt_filter: Option<&BooleanArray>,
        total_num_groups: usize,
    ) -> Result<()> {
        self.resize(total_num_groups);
        let periods = values[0].as_primitive::<Int64Type>();
        let amounts = values[1].as_primitive::<Float64Type>();
        let no_nulls = periods.null_count() == 0 && amounts.null_count() == 0;
        for (row, &group) in group_indices.iter().enumerate() {
            if opt_filter.is_some_and(|f| f.is_null(row) || !f.value(row)) {
                continue;
            }
            if !no_nulls && (periods.is_null(row) || amounts.is_null(row)) {
                continue;
            }
            let period = narrow(periods.value(row));
            let amount = Sum::of(amounts.value(row));
            self.heap_items +=
                self.groups[group].merge(std::iter::once(period), period, amount, period, amount);
        }
        Ok(())
    }

    fn evaluate(&mut self, emit_to: EmitTo) -> Result<ArrayRef> {
        self.take(emit_to).output()
    }

    fn state(&mut self, emit_to: EmitTo) -> Result<Vec<ArrayRef>> {
        self.take(emit_to).state_arrays()
    }

    fn merge_batch(
        &mut self,
        values: &[ArrayRef],
        group_indices: &[usize],
        total_num_groups: usize,
    ) -> Result<()> {
        self.merge_states(values, group_indices, total_num_groups);
        Ok(())
    }

    fn convert_to_state(
        &self,
        values: &[ArrayRef],
        opt_filter: Option<&BooleanArray>,
    ) -> Result<Vec<ArrayRef>> {
        // Each row a group of its own; skipped rows become empty states.
        let rows = values[0].len();
        let each_row: Vec<usize> = (0..rows).collect();
        let mut states = Groups::default();
        states.update_batch(values, &each_row, opt_filter, rows)?;
        states.state_arrays()
    }

    fn size(&self) -> usize {
        self.groups.capacity() * std::mem::size_of::<Group>() + self.heap_items * 4
    }
}

/// The row-at-a-time form (an aggregate without GROUP BY): one group of [`Groups`], there
/// from the start.
#[derive(Debug)]
struct OneGroup(Groups);

impl Accumulator for OneGroup {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        let rows = values[0].len();
        GroupsAccumulator::update_batch(&mut self.0, values, &vec![0; rows], None, 1)
    }

    fn evaluate(&mut self) -> Result<ScalarValue> {
        ScalarValue::try_from_array(&self.0.output()?, 0)
    }

    fn size(&self) -> usize {
        std::mem::size_of_val(self) + GroupsAccumulator::size(&self.0)
    }

    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        self.0
            .state_arrays()?
            .iter()
            .map(|array| ScalarValue::try_from_array(array, 0))
            .collect()
    }

    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        let rows = states[0].len();
        self.0.merge_states(states, &vec![0; rows], 1);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use datafusion::arrow::array::StringArray;
    use datafusion::arrow::datatypes::Schema;
    use datafusion::arrow::record_batch::RecordBatch;
    use datafusion::datasource::MemTable;
    use datafusion::prelude::{SessionConfig, SessionContext};

    use super::*;

    /// The shortcut rounds as `f64::round` does: halves away from zero, both signs, at the
    /// ends of its range and past them, and for random amounts in 1e-10 units.
    #[test]
    fn rounding_matches_the_standard_library() {
        let limit = 4_503_599_627_370_496.0f64;
        let mut values = vec![
            0.0,
            -0.0,
            0.5,
            -0.5,
            1.5,
            -1.5,
            2.5,
            -2.5,
            0.49999999999999994,
        ];
        values.extend([limit, limit - 0.5, limit - 1.0, limit + 1.0, 1e27, -1e27]);
        values.extend([(limit - 1.0) / 2.0 + 0.5, 1e15 + 0.5, -(1e15 + 0.5)]);
        let mut next = crate::test_support::pseudo_random(17);
        for _ in 0..100_000 {
            let cents = (next() % 10_000_000_000) as f64 / 100.0;
            let sign = if next().is_multiple_of(2) { 1.0 } else { -1.0 };
            values.push(sign * cents * UNITS_PER_AMOUNT);
            values.push(f64::from_bits(next() % 0x4340_0000_0000_0000)); // below 2^53
        }
        for v in values {
            for v in [v, v.next_up(), v.next_down()] {
                assert_eq!(rounded(v), v.round() as i128, "{v:e}");
            }
        }
    }

    type Row<'a> = (&'a str, Option<i64>, Option<f64>);

    /// `purchase_periods` per group over `partitions`, printed one group per line.
    async fn aggregate(partitions: Vec<Vec<Row<'_>>>, group_by: bool) -> Vec<String> {
        let schema = Arc::new(Schema::new(vec![
            Field::new("g", DataType::Utf8, false),
            Field::new("period", DataType::Int64, true),
            Field::new("amount", DataType::Float64, true),
        ]));
        let batches = partitions
            .into_iter()
            .map(|rows| {
                vec![
                    RecordBatch::try_new(
                        schema.clone(),
                        vec![
                            Arc::new(StringArray::from_iter_values(rows.iter().map(|r| r.0)))
                                as ArrayRef,
                            Arc::new(Int64Array::from_iter(rows.iter().map(|r| r.1))),
                            Arc::new(Float64Array::from_iter(rows.iter().map(|r| r.2))),
                        ],
                    )
                    .unwrap(),
                ]
            })
            .collect();
        let ctx = SessionContext::new_with_config(SessionConfig::new().with_target_partitions(2));
        ctx.register_table("t", Arc::new(MemTable::try_new(schema, batches).unwrap()))
            .unwrap();
        ctx.register_udaf(purchase_periods());
        let sql = if group_by {
            "SELECT g, p['periods'], p['first_period'], p['last_period'], p['total'], p['repeat_total'] \
             FROM (SELECT g, purchase_periods(period, amount) AS p FROM t GROUP BY g) ORDER BY g"
        } else {
            "SELECT 'all', p['periods'], p['first_period'], p['last_period'], p['total'], p['repeat_total'] \
             FROM (SELECT purchase_periods(period, amount) AS p FROM t)"
        };
        let batches = ctx.sql(sql).await.unwrap().collect().await.unwrap();
        let mut lines = Vec::new();
        for batch in &batches {
            for row in 0..batch.num_rows() {
                let cells: Vec<String> = batch
                    .columns()
                    .iter()
                    .map(|c| {
                        datafusion::arrow::util::display::array_value_to_string(c, row).unwrap()
                    })
                    .collect();
                lines.push(cells.join(" "));
            }
        }
        lines
    }

    /// Chunked states read like one vector: across chunk ends, and after emitting the first
    /// groups (the rest move to the front, in order) or all of them.
    #[test]
    fn group_store_grows_in_chunks_and_emits_in_order() {
        let mut store = GroupStore::default();
        let n = 2 * CHUNK + 5;
        store.resize(10);
        store.resize(n);
        store.resize(3);
        assert_eq!((store.len, store.chunks.len()), (n, 3));
        for g in 0..n {
            store[g].first_period = g as i32;
        }
        let first = store.take(EmitTo::First(CHUNK + 1));
        let periods = |s: &GroupStore| s.iter().map(|g| g.first_period).collect::<Vec<_>>();
        assert_eq!(periods(&first), (0..=CHUNK as i32).collect::<Vec<_>>());
        assert_eq!(
            periods(&store),
            (CHUNK as i32 + 1..n as i32).collect::<Vec<_>>()
        );
        assert_eq!(store[0].first_period, CHUNK as i32 + 1);
        let rest = store.take(EmitTo::All);
        assert_eq!(
            (rest.len, store.len, store.iter().count()),
            (n - CHUNK - 1, 0, 0)
        );
    }

    #[test]
    fn a_group_fits_one_cache_line() {
        assert_eq!(std::mem::size_of::<Group>(), 64);
    }

    #[tokio::test]
    async fn merges_periods_across_partitions_and_sums_exactly() {
        let lines = aggregate(
            vec![
                vec![
                    ("a", Some(3), Some(29.33)),
                    ("a", Some(5), Some(59.06)),
                    ("b", Some(7), Some(5.0)),
                    ("b", None, Some(100.0)),
                ],
                vec![
                    // Same period as a row in the other partition: merged, the first period's
                    // value is the sum of both.
                    ("a", Some(3), Some(0.67)),
                    ("a", Some(9), Some(-59.06)),
                    ("b", Some(7), None),
                    ("c", Some(1), Some(2.5)),
                ],
            ],
            true,
        )
        .await;
        assert_eq!(
            lines,
            [
                // periods 3, 5, 9; first period's value 30.0; repeat total 59.06 - 59.06 = 0.
                "a 3 3 9 30.0 0.0",
                "b 1 7 7 5.0 0.0",
                "c 1 1 1 2.5 0.0",
            ]
        );
        let lines = aggregate(
            vec![vec![
                ("x", Some(1), Some(29.33)),
                ("x", Some(2), Some(59.06)),
            ]],
            true,
        )
        .await;
        assert_eq!(
            lines,
            ["x 2 1 2 88.39 59.06"],
            "exact: no 59.059999999999995"
        );
    }

    #[tokio::test]
    async fn many_periods_huge_amounts_and_no_group_by() {
        // Eight periods (beyond the inline three), one of them twice.
        let mut rows: Vec<Row> = (0..8).map(|p| ("a", Some(10 - p), Some(1.0))).collect();
        rows.push(("a", Some(4), Some(1.0)));
        // An exact partial state of "h" meets a floating one in the merge.
        rows.push(("h", Some(0), Some(1.0)));
        // A group beyond the exact range carries on in floating point.
        let huge = vec![("h", Some(1), Some(1e300)), ("h", Some(2), Some(1e300))];
        let lines = aggregate(vec![rows.clone(), huge], true).await;
        assert_eq!(lines, ["a 8 3 10 9.0 8.0", "h 3 0 2 2e300 2e300"]);
        let rows = &rows[..9];
        let lines = aggregate(vec![rows[..4].to_vec(), rows[4..].to_vec()], false).await;
        assert_eq!(lines, ["all 8 3 10 9.0 8.0"]);
        let lines = aggregate(vec![vec![("a", None, None)]], false).await;
        assert_eq!(
            lines,
            ["all 0   0.0 0.0"],
            "no rows: no periods, no first or last"
        );
    }
}
