//! Rows of a list of batches addressed by one position counted across them.

use datafusion::arrow::record_batch::RecordBatch;

/// Each batch's first position, to turn a position into a batch and a row and back.
pub struct Positions {
    starts: Vec<usize>,
    rows: usize,
}

impl Positions {
    /// The positions of `batches`' rows, in order.
    pub fn of(batches: &[RecordBatch]) -> Positions {
        let mut rows = 0;
        let starts = batches
            .iter()
            .map(|b| {
                let start = rows;
                rows += b.num_rows();
                start
            })
            .collect();
        Positions { starts, rows }
    }

    /// The rows of every batch.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// The position of batch `batch`'s first row.
    pub fn start(&self, batch: usize) -> usize {
        self.starts[batch]
    }

    /// The batch and the row in it of `position`, which must be below [`Positions::rows`].
    pub fn locate(&self, position: usize) -> (usize, usize) {
        let batch = self.starts.partition_point(|&s| s <= position) - 1;
        (batch, position - self.starts[batch])
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use datafusion::arrow::array::Int64Array;
    use datafusion::arrow::datatypes::{DataType, Field, Schema};

    use super::*;

    #[test]
    fn positions_run_across_batches_and_skip_empty_ones() {
        let schema = Arc::new(Schema::new(vec![Field::new("v", DataType::Int64, false)]));
        let batch = |n: i64| {
            RecordBatch::try_new(
                schema.clone(),
                vec![Arc::new(Int64Array::from_iter_values(0..n))],
            )
            .unwrap()
        };
        let positions = Positions::of(&[batch(3), batch(0), batch(2)]);
        let located: Vec<_> = (0..5).map(|p| positions.locate(p)).collect();
        assert_eq!(located, [(0, 0), (0, 1), (0, 2), (2, 0), (2, 1)]);
        assert_eq!(positions.start(2), 3);
        assert_eq!(positions.rows(), 5);
    }
}
