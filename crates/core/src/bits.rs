//! Bit tricks on one 64-bit mask.
//!
//! The same three questions are asked of a bitmap word (bit = one address) and of a summary mask
//! (bit = one child subtree that is entirely free): where are the aligned runs of 2^k set bits, how
//! long is the longest one, and which one sits in the smallest enclosing free block (best fit).

/// `ALIGN[k]` has a bit at every multiple of 2^k.
const ALIGN: [u64; 7] = [
    !0,
    0x5555_5555_5555_5555,
    0x1111_1111_1111_1111,
    0x0101_0101_0101_0101,
    0x0001_0001_0001_0001,
    0x0000_0001_0000_0001,
    1,
];

/// One step up: the starts of aligned runs of 2^(j+1) set bits, given those of 2^j.
#[inline(always)]
fn double(runs: u64, j: u32) -> u64 {
    runs & (runs >> (1u32 << j)) & ALIGN[j as usize + 1]
}

/// Bit `i` is set iff `i` is a multiple of 2^k and bits `i..i + 2^k` of `set` are all set (`k <= 6`).
#[inline]
pub(crate) fn aligned_runs(set: u64, k: u32) -> u64 {
    debug_assert!(k <= 6);
    let mut runs = set;
    for j in 0..k {
        runs = double(runs, j);
    }
    runs
}

/// Lane-wise "has an all-ones lane" for lanes of `width` bits: the classic has-zero-lane test on
/// `!set` (`(v - lows) & !v & highs`). Exact for existence: a borrow only runs on past a zero lane.
#[inline(always)]
fn has_full_lane(set: u64, lows: u64, highs: u64) -> bool {
    let v = !set;
    v.wrapping_sub(lows) & !v & highs != 0
}

/// 0 if `set` is empty, else 1 + the largest `k` for which `aligned_runs(set, k)` is non-empty.
///
/// This is the "level" the summary tree stores: a level of `L` means the largest aligned free
/// block has order `L - 1`, and 0 means nothing is free. Masks with at most one bit set (a nearly
/// full pool) or nearly all set (the summaries of a mostly free pool) answer in a test or two; otherwise it is branch-free: a run of order
/// `k` implies runs of every lower order, so the level is a sum of one test per order.
#[inline]
pub(crate) fn run_level(set: u64) -> u32 {
    // Words of a nearly full pool hold no or one free bit: answer those first.
    if set & set.wrapping_sub(1) == 0 {
        return u32::from(set != 0);
    }
    if set == !0 {
        return 7;
    }
    if set as u32 == u32::MAX || (set >> 32) as u32 == u32::MAX {
        return 6;
    }
    u32::from(set != 0)
        + u32::from(has_full_lane(set, 0x5555_5555_5555_5555, 0xAAAA_AAAA_AAAA_AAAA))
        + u32::from(has_full_lane(set, 0x1111_1111_1111_1111, 0x8888_8888_8888_8888))
        + u32::from(has_full_lane(set, 0x0101_0101_0101_0101, 0x8080_8080_8080_8080))
        + u32::from(has_full_lane(set, 0x0001_0001_0001_0001, 0x8000_8000_8000_8000))
}

/// [`run_level`] by doubling the runs until none is left: a step per size up to the longest run,
/// where [`run_level`], past its shortcuts for at most one bit and for a full word or half, tests
/// every size. Cheaper where runs are short but present: the entirely free words of a fragmented
/// leaf, the free bits of a scattered word. (For a single free bit it takes one step to
/// [`run_level`]'s one test.)
#[inline(always)]
pub(crate) fn short_run_level(set: u64) -> u32 {
    if set == 0 {
        return 0;
    }
    let (mut runs, mut level) = (set, 1);
    while level < 7 {
        let up = double(runs, level - 1);
        if up == 0 {
            break;
        }
        runs = up;
        level += 1;
    }
    level
}

/// The start of an aligned run of 2^k set bits that lies inside the smallest aligned all-set block,
/// lowest first among equals; `None` if there is no such run.
///
/// Taking runs whose buddy is not free keeps larger aligned blocks whole (best fit).
#[inline]
pub(crate) fn best_run(set: u64, k: u32) -> Option<u32> {
    let mut runs = aligned_runs(set, k);
    if runs == 0 {
        return None;
    }
    let mut j = k;
    loop {
        if j == 6 {
            return Some(runs.trailing_zeros());
        }
        let up = double(runs, j);
        let inside_bigger = up | (up << (1u32 << j));
        let exact = runs & !inside_bigger;
        if exact != 0 {
            return Some(exact.trailing_zeros());
        }
        runs = up;
        j += 1;
    }
}

/// The lowest `n` bits set (`n <= 64`).
#[inline]
pub(crate) fn low_bits(n: u32) -> u64 {
    if n >= 64 { !0 } else { (1u64 << n) - 1 }
}

/// Bits at positions `>= from` (`from <= 64`).
#[inline]
pub(crate) fn bits_from(from: u64) -> u64 {
    if from >= 64 { 0 } else { !0u64 << from }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive_runs(set: u64, k: u32) -> u64 {
        let size = 1u32 << k;
        let mut out = 0;
        for start in (0..64).step_by(size as usize) {
            if (start..start + size).all(|b| set >> b & 1 == 1) {
                out |= 1 << start;
            }
        }
        out
    }

    #[test]
    fn run_level_matches_runs_on_every_byte_pattern() {
        for byte in 0..=255u64 {
            for set in
                [byte, byte << 56, byte * 0x0101_0101_0101_0101, !byte, !(byte << 32), byte | 0xFFFF_0000]
            {
                let level = (0..=6).rev().find(|&k| naive_runs(set, k) != 0).map_or(0, |k| k + 1);
                assert_eq!(run_level(set), level, "set {set:#x}");
                assert_eq!(short_run_level(set), level, "set {set:#x}");
            }
        }
    }

    #[test]
    fn short_run_level_matches_on_every_nibble_pattern() {
        // Runs of every length at every offset: each nibble all set or all clear, then shifted,
        // with one bit flipped, or merged with every other bit.
        for m in 0..=u64::from(u16::MAX) {
            let set = (0..16).fold(0u64, |set, i| set | ((m >> i & 1) * 0xF) << (4 * i));
            for set in [set, set ^ 1 << (m % 64), set | 0x5555_5555_5555_5555, set >> 2] {
                assert_eq!(short_run_level(set), run_level(set), "set {set:#x}");
            }
        }
    }

    #[test]
    fn runs_match_naive() {
        let samples = [
            0u64,
            !0,
            1,
            0b1011_0110,
            0xF0F0_0000_FFFF_0001,
            0x8000_0000_0000_0000,
            0x0000_0000_FFFF_FFFF,
            0xFFFF_FFFF_0000_0000,
            0x1234_5678_9ABC_DEF0,
        ];
        for set in samples {
            for k in 0..=6 {
                assert_eq!(aligned_runs(set, k), naive_runs(set, k), "set {set:#x} k {k}");
            }
            let level = (0..=6).rev().find(|&k| naive_runs(set, k) != 0).map_or(0, |k| k + 1);
            assert_eq!(run_level(set), level, "set {set:#x}");
        }
    }

    #[test]
    fn best_run_prefers_broken_buddies() {
        // bits 0-3 free (an aligned /30), bit 9 free alone: a single goes to 9.
        let set = 0b10_0000_1111;
        assert_eq!(best_run(set, 0), Some(9));
        // a pair must come from 0-3, and it does not matter which half; lowest first
        assert_eq!(best_run(set, 1), Some(0));
        // a pair at 4-5 alone beats the /30 at 8-11
        assert_eq!(best_run(0b1111_0011_0000, 1), Some(4));
        assert_eq!(best_run(0, 0), None);
        assert_eq!(best_run(!0, 6), Some(0));
    }
}
