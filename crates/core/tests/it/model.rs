//! A deliberately simple model of a pool: a set of used intervals, searched by walking it in order.
//! Slow and obvious; the pool must agree with it after every operation.

use std::collections::BTreeMap;

/// Used offsets (reserved and allocated) as disjoint half-open intervals, keyed by start.
#[derive(Clone, Debug)]
pub(crate) struct Model {
    pub(crate) size: u64,
    used: BTreeMap<u64, u64>,
    /// Reserved offsets as disjoint half-open intervals.
    pub(crate) reserved: Vec<(u64, u64)>,
    pub(crate) allocated: u64,
    pub(crate) cursor: u64,
}

impl Model {
    pub(crate) fn new(size: u64, reserved: &[(u64, u64)]) -> Model {
        let mut model = Model { size, used: BTreeMap::new(), reserved: Vec::new(), allocated: 0, cursor: 0 };
        for &(start, end) in reserved {
            // Reservations may overlap: insert only what is not there yet.
            let mut pos = start;
            while pos < end {
                match model.first_used_in(pos, end) {
                    Some(used) => {
                        if used > pos {
                            model.insert(pos, used);
                        }
                        pos = model.run_end(used);
                    }
                    None => {
                        model.insert(pos, end);
                        pos = end;
                    }
                }
            }
        }
        model.reserved = model.used.iter().map(|(&s, &e)| (s, e)).collect();
        model
    }

    pub(crate) fn reserved_count(&self) -> u64 {
        self.reserved.iter().map(|(s, e)| e - s).sum()
    }

    pub(crate) fn capacity(&self) -> u64 {
        self.size - self.reserved_count()
    }

    /// End of the used run that holds `pos`.
    fn run_end(&self, mut pos: u64) -> u64 {
        while let Some((_, &e)) = self.used.range(..=pos).next_back().filter(|(_, e)| **e > pos) {
            pos = e;
        }
        pos
    }

    pub(crate) fn first_reserved_in(&self, start: u64, end: u64) -> Option<u64> {
        self.reserved.iter().find(|&&(s, e)| s < end && e > start).map(|&(s, _)| s.max(start))
    }

    pub(crate) fn first_used_in(&self, start: u64, end: u64) -> Option<u64> {
        if let Some((_, &e)) = self.used.range(..=start).next_back()
            && e > start
        {
            return Some(start);
        }
        self.used.range(start..end).next().map(|(&s, _)| s)
    }

    pub(crate) fn first_free_in(&self, start: u64, end: u64) -> Option<u64> {
        self.gaps().find(|&(s, e)| s < end && e > start).map(|(s, _)| s.max(start))
    }

    /// Free runs, ascending.
    pub(crate) fn gaps(&self) -> impl Iterator<Item = (u64, u64)> + '_ {
        let mut cur = 0;
        let mut iter = self.used.iter();
        let size = self.size;
        std::iter::from_fn(move || {
            loop {
                match iter.next() {
                    Some((&s, &e)) => {
                        let gap = (cur, s);
                        cur = cur.max(e);
                        if gap.0 < gap.1 {
                            return Some(gap);
                        }
                    }
                    None => {
                        if cur < size {
                            let gap = (cur, size);
                            cur = size;
                            return Some(gap);
                        }
                        return None;
                    }
                }
            }
        })
    }

    pub(crate) fn insert(&mut self, start: u64, end: u64) {
        assert!(self.first_used_in(start, end).is_none(), "model: double insert");
        self.used.insert(start, end);
    }

    pub(crate) fn remove(&mut self, start: u64, end: u64) {
        let hit: Vec<(u64, u64)> =
            self.used.range(..end).rev().take_while(|(_, e)| **e > start).map(|(&s, &e)| (s, e)).collect();
        for (s, e) in hit {
            self.used.remove(&s);
            if s < start {
                self.used.insert(s, start);
            }
            if e > end {
                self.used.insert(end, e);
            }
        }
    }

    /// Lowest aligned free block of 2^order starting at or after `bound`.
    pub(crate) fn first_fit(&self, order: u32, bound: u64) -> Option<u64> {
        let size = 1u64 << order;
        self.gaps().find_map(|(s, e)| {
            let start = s.max(bound).next_multiple_of(size);
            (start + size <= e).then_some(start)
        })
    }

    /// Largest aligned free block's order.
    pub(crate) fn max_free_order(&self) -> Option<u32> {
        self.gaps().map(|(s, e)| cover(s, e).map(|(_, order)| order).max().unwrap_or(0)).max()
    }

    /// Start of the smallest free run of at least `count`, lowest on a tie.
    pub(crate) fn best_range(&self, count: u64) -> Option<u64> {
        self.gaps().filter(|(s, e)| e - s >= count).min_by_key(|&(s, e)| (e - s, s)).map(|(s, _)| s)
    }

    /// Minimal CIDR cover of the free space as (start, order), ascending.
    pub(crate) fn free_cover(&self) -> Vec<(u64, u32)> {
        self.gaps().flat_map(|(s, e)| cover(s, e)).collect()
    }
}

/// Greedy cut of `start..end` into the largest aligned blocks.
pub(crate) fn cover(start: u64, end: u64) -> impl Iterator<Item = (u64, u32)> {
    let mut pos = start;
    std::iter::from_fn(move || {
        if pos >= end {
            return None;
        }
        let align = if pos == 0 { 32 } else { pos.trailing_zeros().min(32) };
        let order = align.min((end - pos).ilog2());
        let block = (pos, order);
        pos += 1 << order;
        Some(block)
    })
}
