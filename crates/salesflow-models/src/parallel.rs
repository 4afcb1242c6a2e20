//! Work split over scoped threads (no thread-pool dependency for these few loop shapes). Results
//! come back in job or chunk order and callers combine them in that order, so every number is the
//! same whatever the thread count.

use std::sync::atomic::{AtomicUsize, Ordering};

/// The thread count to use: `requested`, or every core when it is 0.
pub(crate) fn resolve_threads(requested: usize) -> usize {
    if requested == 0 {
        std::thread::available_parallelism().map_or(1, |n| n.get())
    } else {
        requested
    }
}

/// `job(0..n_jobs)` on up to `threads` threads (each job goes to whichever thread is free
/// next, so jobs of uneven cost even out); the results in job order.
pub fn map_jobs<R: Send>(threads: usize, n_jobs: usize, job: impl Fn(usize) -> R + Sync) -> Vec<R> {
    let threads = threads.min(n_jobs).max(1);
    if threads == 1 {
        return (0..n_jobs).map(job).collect();
    }
    let next = AtomicUsize::new(0);
    let mut done: Vec<(usize, R)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    let mut out = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        if i >= n_jobs {
                            break out;
                        }
                        out.push((i, job(i)));
                    }
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
            .collect()
    });
    done.sort_unstable_by_key(|(i, _)| *i);
    done.into_iter().map(|(_, r)| r).collect()
}

/// `work(chunk_index, chunk)` on consecutive chunks of `chunk_len` items of `data`, the chunks
/// dealt to `threads` threads in contiguous runs (the callers' chunks cost the same); the
/// results in chunk order.
pub(crate) fn map_chunks_mut<T: Send, R: Send>(
    data: &mut [T],
    chunk_len: usize,
    threads: usize,
    work: impl Fn(usize, &mut [T]) -> R + Sync,
) -> Vec<R> {
    let chunks: Vec<(usize, &mut [T])> = data.chunks_mut(chunk_len.max(1)).enumerate().collect();
    let threads = threads.min(chunks.len()).max(1);
    if threads == 1 {
        return chunks.into_iter().map(|(i, c)| work(i, c)).collect();
    }
    let per_thread = chunks.len().div_ceil(threads);
    let mut groups: Vec<Vec<(usize, &mut [T])>> = Vec::with_capacity(threads);
    for (i, chunk) in chunks {
        if i % per_thread == 0 {
            groups.push(Vec::with_capacity(per_thread));
        }
        if let Some(group) = groups.last_mut() {
            group.push((i, chunk));
        }
    }
    let work = &work;
    std::thread::scope(|scope| {
        let handles: Vec<_> = groups
            .into_iter()
            .map(|group| {
                scope.spawn(move || {
                    group
                        .into_iter()
                        .map(|(i, c)| work(i, c))
                        .collect::<Vec<R>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
            .collect()
    })
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_come_back_in_order_for_any_thread_count() {
        for threads in [1, 2, 3, 8] {
            assert_eq!(
                map_jobs(threads, 10, |i| i * i),
                (0..10).map(|i| i * i).collect::<Vec<_>>()
            );
            let mut data: Vec<usize> = (0..23).collect();
            let sums = map_chunks_mut(&mut data, 5, threads, |c, chunk| {
                for v in chunk.iter_mut() {
                    *v += 100;
                }
                (c, chunk.iter().sum::<usize>())
            });
            assert_eq!(sums.len(), 5);
            assert!(sums.iter().enumerate().all(|(i, (c, _))| i == *c));
            assert_eq!(sums.iter().map(|(_, s)| s).sum::<usize>(), (100..123).sum());
            assert_eq!(data, (100..123).collect::<Vec<_>>());
        }
        assert!(map_jobs(4, 0, |i| i).is_empty());
    }
}
