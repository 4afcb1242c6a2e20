//! Work split over the cores with scoped threads (no thread-pool dependency for one loop shape).

/// Calls `work(first_row, rows)` on consecutive chunks of `out` (`width` values per row) on
/// every core.
pub(crate) fn for_row_chunks<T: Send>(
    out: &mut [T],
    width: usize,
    work: impl Fn(usize, &mut [T]) + Sync,
) {
    let rows = out.len() / width.max(1);
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(rows.max(1));
    // Several chunks per thread even out rows of uneven cost.
    let chunk_rows = rows.div_ceil(threads * 8).max(1);
    let next = std::sync::atomic::AtomicUsize::new(0);
    // Each chunk is handed out once, to whichever thread asks first.
    type Slot<'a, T> = std::sync::Mutex<Option<(usize, &'a mut [T])>>;
    let chunks: Vec<Slot<'_, T>> = out
        .chunks_mut(chunk_rows * width.max(1))
        .enumerate()
        .map(|(c, chunk)| std::sync::Mutex::new(Some((c * chunk_rows, chunk))))
        .collect();
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| {
                loop {
                    let c = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let Some(slot) = chunks.get(c) else { break };
                    let taken = slot.lock().map(|mut s| s.take()).unwrap_or(None);
                    if let Some((first, chunk)) = taken {
                        work(first, chunk);
                    }
                }
            });
        }
    });
}
