//! `value_at_min(value, key)`: the value on the row with the smallest key, per group.
//!
//! The customer summary needs each customer's first purchase value. DataFusion's
//! `FIRST_VALUE(value ORDER BY key)` gives it through a general ordering machinery: in
//! `EXPLAIN ANALYZE` of the summary on 10 M orders (9.7 M purchase days) the per-customer
//! aggregation took 7.6 s of CPU with it and 2.6 s with `MIN` in its place. This specialised
//! aggregate keeps one (key, value) pair per group in flat vectors; the same aggregation
//! took 3.2 s with it. Ties on the key keep the value seen first (the summary's keys, purchase
//! periods, are unique per customer, so ties do not arise there).

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, BooleanArray, Float64Array, Int64Array};
use datafusion::arrow::datatypes::{DataType, Field, FieldRef, Float64Type, Int64Type};
use datafusion::common::{Result, ScalarValue};
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::{
    Accumulator, AggregateUDF, AggregateUDFImpl, EmitTo, GroupsAccumulator, Signature, Volatility,
};

/// The aggregate's implementation; register it with [`value_at_min`].
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct ValueAtMin {
    signature: Signature,
}

/// The `value_at_min(value DOUBLE, key BIGINT)` aggregate function.
pub fn value_at_min() -> AggregateUDF {
    AggregateUDF::from(ValueAtMin {
        signature: Signature::exact(
            vec![DataType::Float64, DataType::Int64],
            Volatility::Immutable,
        ),
    })
}

impl AggregateUDFImpl for ValueAtMin {
    fn name(&self) -> &str {
        "value_at_min"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Float64)
    }

    fn accumulator(&self, _args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        Ok(Box::new(SingleValueAtMin::default()))
    }

    fn state_fields(&self, args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        Ok(vec![
            Arc::new(Field::new(
                format!("{}[key]", args.name),
                DataType::Int64,
                true,
            )),
            Arc::new(Field::new(
                format!("{}[value]", args.name),
                DataType::Float64,
                true,
            )),
        ])
    }

    fn groups_accumulator_supported(&self, _args: AccumulatorArgs) -> bool {
        true
    }

    fn create_groups_accumulator(
        &self,
        _args: AccumulatorArgs,
    ) -> Result<Box<dyn GroupsAccumulator>> {
        Ok(Box::new(GroupsValueAtMin::default()))
    }
}

/// One group's state, for the row-at-a-time path.
#[derive(Debug, Default)]
struct SingleValueAtMin {
    best: Option<(i64, f64)>,
}

impl SingleValueAtMin {
    fn offer(&mut self, values: &ArrayRef, keys: &ArrayRef) {
        let (values, keys) = (
            values.as_primitive::<Float64Type>(),
            keys.as_primitive::<Int64Type>(),
        );
        for row in 0..keys.len() {
            if keys.is_null(row) || values.is_null(row) {
                continue;
            }
            let key = keys.value(row);
            if self.best.is_none_or(|(k, _)| key < k) {
                self.best = Some((key, values.value(row)));
            }
        }
    }
}

impl Accumulator for SingleValueAtMin {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        self.offer(&values[0], &values[1]);
        Ok(())
    }

    fn evaluate(&mut self) -> Result<ScalarValue> {
        Ok(ScalarValue::Float64(self.best.map(|(_, v)| v)))
    }

    fn size(&self) -> usize {
        std::mem::size_of_val(self)
    }

    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        Ok(vec![
            ScalarValue::Int64(self.best.map(|(k, _)| k)),
            ScalarValue::Float64(self.best.map(|(_, v)| v)),
        ])
    }

    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        self.offer(&states[1], &states[0]);
        Ok(())
    }
}

/// Every group's state, in flat vectors indexed by group.
#[derive(Debug, Default)]
struct GroupsValueAtMin {
    keys: Vec<i64>,
    values: Vec<f64>,
    seen: Vec<bool>,
}

impl GroupsValueAtMin {
    fn offer(
        &mut self,
        values: &ArrayRef,
        keys: &ArrayRef,
        groups: &[usize],
        filter: Option<&BooleanArray>,
        total: usize,
    ) {
        self.keys.resize(total, i64::MAX);
        self.values.resize(total, 0.0);
        self.seen.resize(total, false);
        let (values, keys) = (
            values.as_primitive::<Float64Type>(),
            keys.as_primitive::<Int64Type>(),
        );
        let no_nulls = values.null_count() == 0 && keys.null_count() == 0;
        for (row, &group) in groups.iter().enumerate() {
            if filter.is_some_and(|f| !f.value(row) || f.is_null(row)) {
                continue;
            }
            if !no_nulls && (keys.is_null(row) || values.is_null(row)) {
                continue;
            }
            let key = keys.value(row);
            if !self.seen[group] || key < self.keys[group] {
                self.seen[group] = true;
                self.keys[group] = key;
                self.values[group] = values.value(row);
            }
        }
    }
}

impl GroupsAccumulator for GroupsValueAtMin {
    fn update_batch(
        &mut self,
        values: &[ArrayRef],
        group_indices: &[usize],
        opt_filter: Option<&BooleanArray>,
        total_num_groups: usize,
    ) -> Result<()> {
        self.offer(
            &values[0],
            &values[1],
            group_indices,
            opt_filter,
            total_num_groups,
        );
        Ok(())
    }

    fn evaluate(&mut self, emit_to: EmitTo) -> Result<ArrayRef> {
        let seen = emit_to.take_needed(&mut self.seen);
        let values = emit_to.take_needed(&mut self.values);
        let _ = emit_to.take_needed(&mut self.keys);
        Ok(Arc::new(Float64Array::from_iter(
            values.into_iter().zip(seen).map(|(v, s)| s.then_some(v)),
        )))
    }

    fn state(&mut self, emit_to: EmitTo) -> Result<Vec<ArrayRef>> {
        let seen = emit_to.take_needed(&mut self.seen);
        let values = emit_to.take_needed(&mut self.values);
        let keys = emit_to.take_needed(&mut self.keys);
        let keys = Int64Array::from_iter(keys.into_iter().zip(&seen).map(|(k, s)| s.then_some(k)));
        let values =
            Float64Array::from_iter(values.into_iter().zip(&seen).map(|(v, s)| s.then_some(v)));
        Ok(vec![Arc::new(keys), Arc::new(values)])
    }

    fn merge_batch(
        &mut self,
        values: &[ArrayRef],
        group_indices: &[usize],
        total_num_groups: usize,
    ) -> Result<()> {
        self.offer(
            &values[1],
            &values[0],
            group_indices,
            None,
            total_num_groups,
        );
        Ok(())
    }

    fn convert_to_state(
        &self,
        values: &[ArrayRef],
        opt_filter: Option<&BooleanArray>,
    ) -> Result<Vec<ArrayRef>> {
        // Each input row is a state of its own; filtered-out rows become empty states.
        let (values, keys) = (&values[0], &values[1]);
        let Some(filter) = opt_filter else {
            return Ok(vec![keys.clone(), values.clone()]);
        };
        let keep = |i: usize| filter.is_valid(i) && filter.value(i);
        let keys = keys.as_primitive::<Int64Type>();
        let values = values.as_primitive::<Float64Type>();
        let keys: Int64Array = (0..keys.len())
            .map(|i| (keep(i) && keys.is_valid(i)).then(|| keys.value(i)))
            .collect();
        let values: Float64Array = (0..values.len())
            .map(|i| (keep(i) && values.is_valid(i)).then(|| values.value(i)))
            .collect();
        Ok(vec![Arc::new(keys), Arc::new(values)])
    }

    fn size(&self) -> usize {
        self.keys.capacity() * 8 + self.values.capacity() * 8 + self.seen.capacity()
    }
}

#[cfg(test)]
mod tests {
    use datafusion::arrow::array::{Float64Array, Int64Array, StringArray};
    use datafusion::arrow::datatypes::Schema;
    use datafusion::arrow::record_batch::RecordBatch;
    use datafusion::datasource::MemTable;
    use datafusion::prelude::{SessionConfig, SessionContext};

    use super::*;

    #[tokio::test]
    async fn picks_the_value_at_the_smallest_key_in_each_group() {
        let schema = Arc::new(Schema::new(vec![
            Field::new("g", DataType::Utf8, false),
            Field::new("v", DataType::Float64, true),
            Field::new("k", DataType::Int64, true),
        ]));
        let batch = |g: Vec<&str>, v: Vec<Option<f64>>, k: Vec<Option<i64>>| {
            RecordBatch::try_new(
                schema.clone(),
                vec![
                    Arc::new(StringArray::from(g)) as ArrayRef,
                    Arc::new(Float64Array::from(v)),
                    Arc::new(Int64Array::from(k)),
                ],
            )
            .unwrap()
        };
        let partitions = vec![
            vec![batch(
                vec!["a", "a", "b"],
                vec![Some(1.0), Some(2.0), Some(5.0)],
                vec![Some(3), Some(-1), Some(7)],
            )],
            vec![batch(
                vec!["a", "b", "c"],
                vec![Some(9.0), None, Some(4.0)],
                vec![Some(0), Some(1), None],
            )],
        ];
        let ctx = SessionContext::new_with_config(SessionConfig::new().with_target_partitions(2));
        ctx.register_table(
            "t",
            Arc::new(MemTable::try_new(schema.clone(), partitions).unwrap()),
        )
        .unwrap();
        ctx.register_udaf(value_at_min());
        let batches = ctx
            .sql("SELECT g, value_at_min(v, k) AS first FROM t GROUP BY g ORDER BY g")
            .await
            .unwrap()
            .collect()
            .await
            .unwrap();
        let out = datafusion::arrow::util::pretty::pretty_format_batches(&batches)
            .unwrap()
            .to_string();
        let expected = "\
+---+-------+
| g | first |
+---+-------+
| a | 2.0   |
| b | 5.0   |
| c |       |
+---+-------+";
        assert_eq!(out, expected);
    }
}
