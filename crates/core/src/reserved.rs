//! Reserved and excluded positions: a short sorted list of disjoint ranges.

/// Sorted, disjoint, non-adjacent inclusive ranges of pool offsets that are never handed out.
#[derive(Clone, Debug, Default)]
pub(crate) struct Reserved {
    ranges: Vec<(u64, u64)>,
}

impl Reserved {
    /// Merges any inclusive ranges into the canonical form.
    pub(crate) fn new(mut ranges: Vec<(u64, u64)>) -> Reserved {
        ranges.sort_unstable();
        let mut merged: Vec<(u64, u64)> = Vec::with_capacity(ranges.len());
        for (first, last) in ranges {
            match merged.last_mut() {
                Some(prev) if first <= prev.1.saturating_add(1) => prev.1 = prev.1.max(last),
                _ => merged.push((first, last)),
            }
        }
        merged.shrink_to_fit();
        Reserved { ranges: merged }
    }

    /// Whether `pos` is reserved.
    #[inline]
    pub(crate) fn contains(&self, pos: u64) -> bool {
        !self.ranges.is_empty() && self.in_ranges(pos)
    }

    /// Out of line, so the common pool without reservations keeps its release path small enough to
    /// inline.
    #[inline(never)]
    fn in_ranges(&self, pos: u64) -> bool {
        self.first_in(pos, pos).is_some()
    }

    /// The first reserved offset in `first..=last`.
    #[inline]
    pub(crate) fn first_in(&self, first: u64, last: u64) -> Option<u64> {
        // The first range that ends at or after `first`.
        let i = self.ranges.partition_point(|&(_, end)| end < first);
        let &(start, _) = self.ranges.get(i)?;
        (start <= last).then(|| start.max(first))
    }

    /// Number of reserved offsets.
    pub(crate) fn count(&self) -> u64 {
        self.ranges.iter().map(|(first, last)| last - first + 1).sum()
    }

    /// The ranges, ascending.
    pub(crate) fn ranges(&self) -> &[(u64, u64)] {
        &self.ranges
    }

    /// Bytes held on the heap.
    pub(crate) fn heap_bytes(&self) -> usize {
        self.ranges.capacity() * size_of::<(u64, u64)>()
    }
}

#[cfg(test)]
mod tests {
    use super::Reserved;

    #[test]
    fn merges_and_finds() {
        let r = Reserved::new(vec![(10, 20), (0, 0), (21, 30), (15, 16), (40, 40)]);
        assert_eq!(r.ranges(), &[(0, 0), (10, 30), (40, 40)]);
        assert_eq!(r.count(), 1 + 21 + 1);
        assert_eq!(r.first_in(1, 9), None);
        assert_eq!(r.first_in(1, 10), Some(10));
        assert_eq!(r.first_in(25, 100), Some(25));
        assert_eq!(r.first_in(31, 39), None);
        assert!(r.contains(40) && !r.contains(41) && r.contains(0));
    }
}
