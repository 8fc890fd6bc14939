//! Timing one half of a reversible operation: the `release` and `specific` groups, and `hotpath`.

use std::hint::black_box;
use std::time::{Duration, Instant};

use crate::Allocator;

/// Runs `timed` over `iters` offsets, taken in order from `offsets` (distinct, and cycled in batches
/// of at most `offsets.len()`), and returns the time that took; after each batch `undo` puts every
/// offset back, untimed, so every batch starts from the same fill.
///
/// ```
/// use ipam_benches::peers::WordScan;
/// use ipam_benches::{Allocator, Dataset, batches::timed_batches};
///
/// let data = Dataset::random_50();
/// let mut pool = WordScan::build(&data);
/// let used = data.used_sample(1024);
/// timed_batches(&mut pool, &used, 4096, WordScan::release, WordScan::allocate_specific);
/// // Every released address was taken back.
/// assert!(used.iter().all(|&offset| !pool.allocate_specific(offset)));
/// ```
pub fn timed_batches<A: Allocator>(
    pool: &mut A,
    offsets: &[u32],
    iters: u64,
    timed: fn(&mut A, u32) -> bool,
    undo: fn(&mut A, u32) -> bool,
) -> Duration {
    assert!(!offsets.is_empty() || iters == 0, "no offsets to time");
    let mut total = Duration::ZERO;
    let mut left = iters as usize;
    while left > 0 {
        let batch = &offsets[..left.min(offsets.len())];
        let start = Instant::now();
        for &offset in batch {
            black_box(timed(pool, offset));
        }
        total += start.elapsed();
        for &offset in batch {
            assert!(undo(pool, offset));
        }
        left -= batch.len();
    }
    total
}
