//! Datasets: the same pool and the same fill for every implementation, built from a fixed seed.

use roaring::RoaringBitmap;

/// The pool every bench runs on.
pub const POOL: &str = "10.0.0.0/8";
/// log2 of its size.
pub const ORDER: u32 = 24;
const SEED: u64 = 0x1a9_2026;
/// The block datasets fill everything below the pool's last /16, which stays free.
const BELOW_TOP_16: u32 = (1 << ORDER) - (1 << 16);

/// A named fill of the 10.0.0.0/8 pool: the set of used offsets.
pub struct Dataset {
    /// The criterion parameter id (`empty`, `random-50`, ...).
    pub name: &'static str,
    /// Used offsets.
    pub used: RoaringBitmap,
    /// log2 of the pool size.
    pub order: u32,
}

impl Dataset {
    /// Number of addresses in the pool.
    pub fn size(&self) -> u32 {
        (1u64 << self.order).min(u64::from(u32::MAX)) as u32
    }

    /// Nothing used.
    pub fn empty() -> Dataset {
        Dataset { name: "empty", used: RoaringBitmap::new(), order: ORDER }
    }

    /// Each address used with probability `percent`/100, independently.
    pub fn random(name: &'static str, percent: u32) -> Dataset {
        let mut rng = fastrand::Rng::with_seed(SEED ^ u64::from(percent));
        let used = RoaringBitmap::from_sorted_iter((0..1u32 << ORDER).filter(|_| rng.u32(0..100) < percent))
            .expect("ascending");
        Dataset { name, used, order: ORDER }
    }

    /// 50% used at random.
    pub fn random_50() -> Dataset {
        Dataset::random("random-50", 50)
    }

    /// 99% used at random.
    pub fn random_99() -> Dataset {
        Dataset::random("random-99", 99)
    }

    /// The lowest 99% used in address order, nothing free below: what a first-fit allocator leaves,
    /// and where allocators that scan from the start hurt.
    pub fn frontier_99() -> Dataset {
        let mut used = RoaringBitmap::new();
        used.insert_range(0..(1u32 << ORDER) / 100 * 99);
        Dataset { name: "frontier-99", used, order: ORDER }
    }

    /// For block search: 2% of single addresses used at random, and 5% of the aligned /26 blocks used
    /// whole, everywhere but the last /16, which is left untouched (a fresh region at the top). So
    /// about one /24 in 200 is free below it, and the only free /16 is the last one.
    pub fn fragmented() -> Dataset {
        Dataset::singles_and_26s("fragmented", SEED ^ 0xf4a6, 5)
    }

    /// 2% of single addresses and 20% of the aligned /26 blocks used at random below the last /16
    /// (left free): about one /24 in 430 is free below it. The fill of an independent side-by-side run.
    pub fn singles_26s() -> Dataset {
        Dataset::singles_and_26s("singles-26s", SEED ^ 0x26, 20)
    }

    /// `percent_26s`% of the aligned /26 blocks, then 2% of single addresses, used at random below
    /// the last /16, which is left free.
    fn singles_and_26s(name: &'static str, seed: u64, percent_26s: u32) -> Dataset {
        let mut rng = fastrand::Rng::with_seed(seed);
        let mut used = RoaringBitmap::new();
        for block in (0..BELOW_TOP_16).step_by(64) {
            if rng.u32(0..100) < percent_26s {
                used.insert_range(block..block + 64);
            }
        }
        used |= RoaringBitmap::from_sorted_iter((0..BELOW_TOP_16).filter(|_| rng.u32(0..100) < 2))
            .expect("ascending");
        Dataset { name, used, order: ORDER }
    }

    /// Free /24s are rare: below the last /16 (left free), every /24 holds one used address at random
    /// except one in 4,096 (about 16 free /24s, the first some way in). Where a scan for a free block
    /// walks far.
    pub fn rare_24() -> Dataset {
        let mut rng = fastrand::Rng::with_seed(SEED ^ 0x24);
        let mut used = RoaringBitmap::new();
        for block in (0..BELOW_TOP_16).step_by(256) {
            if rng.u32(0..4096) != 0 {
                used.insert(block + rng.u32(0..256));
            }
        }
        Dataset { name: "rare-24", used, order: ORDER }
    }

    /// The fills of the block benches: each has free /24s only here and there, and its last /16 free.
    pub fn fragmented_sets() -> Vec<Dataset> {
        vec![Dataset::fragmented(), Dataset::singles_26s(), Dataset::rare_24()]
    }

    /// The fragmented fill of one /16 (the first 2^16 offsets of [`Dataset::fragmented`]).
    pub fn fragmented_16() -> Dataset {
        let mut data = Dataset::fragmented();
        data.used.remove_range(1 << 16..);
        Dataset { name: "fragmented", used: data.used, order: 16 }
    }

    /// The four fills of the single-address benches.
    pub fn singles() -> Vec<Dataset> {
        vec![Dataset::empty(), Dataset::random_50(), Dataset::random_99(), Dataset::frontier_99()]
    }

    /// Up to `count` distinct used offsets in random order: the working set of the release benches.
    ///
    /// A sample rather than the whole used list, so that picking the next address to release costs an
    /// L1/L2 hit (the full list of a 99% /8 is 66 MB) and the bench measures the allocator, not itself.
    pub fn used_sample(&self, count: usize) -> Vec<u32> {
        let mut rng = fastrand::Rng::with_seed(SEED ^ 0x05ed);
        let total = self.used.len();
        let mut out: Vec<u32> = (0..count.min(total as usize))
            .map(|_| self.used.select(rng.u64(0..total) as u32).expect("rank below len"))
            .collect();
        out.sort_unstable();
        out.dedup();
        rng.shuffle(&mut out);
        out
    }

    /// `count` free offsets in random order (fewer if the pool has fewer free).
    pub fn free_sample(&self, count: usize) -> Vec<u32> {
        let mut rng = fastrand::Rng::with_seed(SEED ^ 0x5eed);
        let mut free = RoaringBitmap::new();
        free.insert_range(0..self.size());
        free -= &self.used;
        let total = free.len();
        let mut out: Vec<u32> = (0..count.min(total as usize))
            .map(|_| free.select(rng.u64(0..total) as u32).expect("rank below len"))
            .collect();
        out.sort_unstable();
        out.dedup();
        rng.shuffle(&mut out);
        out
    }
}
