//! Where an aligned block of addresses lands on a Hilbert-curve map.
//!
//! The curve visits every cell of a square so that consecutive addresses are neighbouring cells,
//! and an aligned block of 4^k addresses fills exactly one square of side 2^k. A block of 2 x 4^k
//! fills two neighbouring squares, a rectangle. A base with an odd number of host bits is drawn
//! as two squares side by side.

/// A rectangle of cells, one cell per address.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Rect {
    pub(crate) x: u64,
    pub(crate) y: u64,
    pub(crate) width: u64,
    pub(crate) height: u64,
}

/// The map's size in cells for a block with `bits` host bits: (width, height).
pub(crate) fn map_size(bits: u32) -> (u64, u64) {
    let side = 1u64 << (bits / 2);
    if bits % 2 == 1 { (2 * side, side) } else { (side, side) }
}

/// The cells of the block of `2^size_bits` addresses starting `offset` addresses into a map of a
/// block with `bits` host bits (`offset` aligned to the block's size).
pub(crate) fn rect(bits: u32, offset: u64, size_bits: u32) -> Rect {
    if bits % 2 == 1 {
        let half = bits - 1;
        let side = 1u64 << (half / 2);
        if size_bits == bits {
            return Rect { x: 0, y: 0, width: 2 * side, height: side };
        }
        let mut r = rect(half, offset & ((1 << half) - 1), size_bits);
        r.x += (offset >> half) * side;
        return r;
    }
    if size_bits.is_multiple_of(2) {
        let side = 1u64 << (size_bits / 2);
        let (x, y) = d2xy(1 << (bits / 2), offset);
        return Rect { x: x / side * side, y: y / side * side, width: side, height: side };
    }
    let a = rect(bits, offset, size_bits - 1);
    let b = rect(bits, offset + (1 << (size_bits - 1)), size_bits - 1);
    let (x, y) = (a.x.min(b.x), a.y.min(b.y));
    Rect {
        x,
        y,
        width: (a.x + a.width).max(b.x + b.width) - x,
        height: (a.y + a.height).max(b.y + b.height) - y,
    }
}

/// The cell of distance `d` along the Hilbert curve filling a square of side `n` (a power of two).
fn d2xy(n: u64, d: u64) -> (u64, u64) {
    let (mut x, mut y, mut t) = (0u64, 0u64, d);
    let mut s = 1;
    while s < n {
        let rx = 1 & (t / 2);
        let ry = 1 & (t ^ rx);
        if ry == 0 {
            if rx == 1 {
                x = s - 1 - x;
                y = s - 1 - y;
            }
            std::mem::swap(&mut x, &mut y);
        }
        x += s * rx;
        y += s * ry;
        t /= 4;
        s *= 2;
    }
    (x, y)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn consecutive_addresses_are_neighbouring_cells() {
        for bits in [2, 4, 6, 8] {
            let side = 1 << (bits / 2);
            let mut seen = std::collections::HashSet::new();
            let mut prev = d2xy(side, 0);
            for d in 0..1u64 << bits {
                let cell = d2xy(side, d);
                assert!(cell.0 < side && cell.1 < side && seen.insert(cell));
                assert!(d == 0 || prev.0.abs_diff(cell.0) + prev.1.abs_diff(cell.1) == 1);
                prev = cell;
            }
        }
    }

    #[test]
    fn aligned_blocks_fill_exactly_their_rectangle() {
        for bits in 1..=8u32 {
            let (w, h) = map_size(bits);
            for size_bits in 0..=bits {
                for block in 0..1u64 << (bits - size_bits) {
                    let offset = block << size_bits;
                    let r = rect(bits, offset, size_bits);
                    assert_eq!(r.width * r.height, 1 << size_bits);
                    assert!(r.x + r.width <= w && r.y + r.height <= h);
                    // Every address of the block lies inside its rectangle.
                    for a in offset..offset + (1 << size_bits) {
                        let cell = rect(bits, a, 0);
                        assert!(
                            (r.x..r.x + r.width).contains(&cell.x) && (r.y..r.y + r.height).contains(&cell.y)
                        );
                    }
                }
            }
        }
    }
}
