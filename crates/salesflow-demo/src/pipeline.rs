//! The chunk pipeline.
//!
//! Worker threads take chunks round-robin (worker `w` makes chunks `w`,
//! `w + workers`, ...). After generating chunk `k` a worker waits until the
//! global order and deal counts before `k` are known (published by whoever
//! generated chunk `k - 1` as soon as it was generated), publishes the counts
//! after `k`, then fills in the global ids and encodes the CSV rows — so id
//! assignment and CSV encoding run in parallel too. Each worker hands its
//! chunks to the writer through its own bounded channel, and the writer takes
//! them in chunk order: the output does not depend on the number of workers.
//!
//! Every blocking wait of chunk `k` (its offsets, its channel slot) depends
//! only on chunks before `k`, so the pipeline cannot deadlock; on an error the
//! writer aborts the sequencer and drops the channels, which releases every
//! worker.

use std::sync::mpsc::{Receiver, sync_channel};
use std::sync::{Condvar, Mutex, PoisonError};

use datafusion::arrow::record_batch::RecordBatch;

use crate::chunk::{Ctx, generate_chunk};
use crate::output::{Router, csv_bytes, finalize};
use crate::tables::Table;
use crate::{DemoError, Progress};

/// Order and deal numbers used before a chunk.
type Offsets = (u64, u64);

/// Publishes, chunk by chunk, how many orders and deals came before.
struct Sequencer {
    state: Mutex<SeqState>,
    ready: Condvar,
}

struct SeqState {
    offsets: Vec<Option<Offsets>>,
    aborted: bool,
}

impl Sequencer {
    fn new(chunks: u64) -> Self {
        let mut offsets = vec![None; chunks as usize + 1];
        offsets[0] = Some((0, 0));
        Self {
            state: Mutex::new(SeqState {
                offsets,
                aborted: false,
            }),
            ready: Condvar::new(),
        }
    }

    /// The offsets of chunk `k`, or `None` once aborted.
    fn wait(&self, k: u64) -> Option<Offsets> {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        loop {
            if state.aborted {
                return None;
            }
            if let Some(offsets) = state.offsets[k as usize] {
                return Some(offsets);
            }
            state = self
                .ready
                .wait(state)
                .unwrap_or_else(PoisonError::into_inner);
        }
    }

    fn publish(&self, k: u64, offsets: Offsets) {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        state.offsets[k as usize] = Some(offsets);
        self.ready.notify_all();
    }

    fn abort(&self) {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        state.aborted = true;
        self.ready.notify_all();
    }
}

/// Aborts the sequencer if the owning worker unwinds, so no other worker
/// waits forever for offsets that will never come.
struct AbortOnPanic<'a>(&'a Sequencer);

impl Drop for AbortOnPanic<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.0.abort();
        }
    }
}

/// A chunk with final ids, ready to write.
struct ReadyChunk {
    customers: u64,
    tables: Vec<(Table, RecordBatch, Option<Vec<u8>>)>,
    cell_customers: Vec<u64>,
    cell_revenue: Vec<i64>,
}

/// Generates and prepares chunk `k`; `None` if the pipeline was aborted.
fn prepare(
    ctx: &Ctx<'_>,
    k: u64,
    seq: &Sequencer,
    want_csv: bool,
) -> Option<Result<ReadyChunk, DemoError>> {
    let chunk = generate_chunk(ctx, k);
    let (orders_before, deals_before) = seq.wait(k)?;
    seq.publish(
        k + 1,
        (orders_before + chunk.orders, deals_before + chunk.deals),
    );
    let mut tables = Vec::with_capacity(chunk.tables.len());
    for pending in chunk.tables {
        let table = pending.table;
        let arrow_error = |source| DemoError::Arrow {
            path: table.name().into(),
            source,
        };
        let batch = match finalize(pending, orders_before, deals_before) {
            Ok(batch) => batch,
            Err(e) => return Some(Err(arrow_error(e))),
        };
        let csv = if want_csv {
            match csv_bytes(&batch) {
                Ok(bytes) => Some(bytes),
                Err(e) => return Some(Err(arrow_error(e))),
            }
        } else {
            None
        };
        tables.push((table, batch, csv));
    }
    Some(Ok(ReadyChunk {
        customers: chunk.customers,
        tables,
        cell_customers: chunk.cell_customers,
        cell_revenue: chunk.cell_revenue,
    }))
}

/// Per-cell acquisitions and attributed revenue, summed over all chunks.
pub(crate) struct CellTotals {
    pub customers: Vec<u64>,
    pub revenue_cents: Vec<i64>,
}

/// Generates every chunk on `workers` threads and writes them in order.
pub(crate) fn run_chunks(
    ctx: &Ctx<'_>,
    router: &mut Router,
    want_csv: bool,
    workers: usize,
    progress: &dyn Progress,
) -> Result<CellTotals, DemoError> {
    let chunks = ctx.chunks();
    let workers = workers.max(1);
    let seq = Sequencer::new(chunks);
    std::thread::scope(|s| {
        let mut receivers = Vec::with_capacity(workers);
        for w in 0..workers {
            let (tx, rx) = sync_channel(1);
            receivers.push(rx);
            let seq = &seq;
            s.spawn(move || {
                let _guard = AbortOnPanic(seq);
                let mut k = w as u64;
                while k < chunks {
                    let Some(ready) = prepare(ctx, k, seq, want_csv) else {
                        break;
                    };
                    let failed = ready.is_err();
                    if tx.send(ready).is_err() || failed {
                        break;
                    }
                    k += workers as u64;
                }
            });
        }
        let result = write_chunks(chunks, &receivers, router, progress);
        if result.is_err() {
            seq.abort();
        }
        drop(receivers);
        result
    })
}

fn write_chunks(
    chunks: u64,
    receivers: &[Receiver<Result<ReadyChunk, DemoError>>],
    router: &mut Router,
    progress: &dyn Progress,
) -> Result<CellTotals, DemoError> {
    let mut totals: Option<CellTotals> = None;
    for k in 0..chunks {
        let receiver = &receivers[(k % receivers.len() as u64) as usize];
        let chunk = receiver.recv().map_err(|_| {
            DemoError::Internal(format!("the generator thread for chunk {k} stopped"))
        })??;
        for (table, batch, csv) in chunk.tables {
            router.emit(table, batch, csv)?;
        }
        match &mut totals {
            None => {
                totals = Some(CellTotals {
                    customers: chunk.cell_customers,
                    revenue_cents: chunk.cell_revenue,
                });
            }
            Some(t) => {
                for (acc, v) in t.customers.iter_mut().zip(&chunk.cell_customers) {
                    *acc += v;
                }
                for (acc, v) in t.revenue_cents.iter_mut().zip(&chunk.cell_revenue) {
                    *acc += v;
                }
            }
        }
        progress.advance(chunk.customers);
    }
    Ok(totals.unwrap_or(CellTotals {
        customers: Vec::new(),
        revenue_cents: Vec::new(),
    }))
}
