//! Row checksums: every row the store reads back is verified before anything is decided on it.
//!
//! FNV-1a over a tag and the row's fields. Any single changed bit changes the sum: each step XORs
//! a byte into the state and multiplies by an odd number, both bijections, so two states that
//! differ once stay different. Collisions among larger changes are possible but need 64 bits of
//! luck; this guards against damage, not against an adversary who can write the file anyway.

/// A checksum being built, field by field.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Sum(u64);

const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const PRIME: u64 = 0x0000_0100_0000_01b3;

impl Sum {
    /// A sum for one kind of row; the tag keeps a pool row from checking out as a chunk.
    pub(crate) fn new(tag: &str) -> Sum {
        Sum(OFFSET).bytes(tag.as_bytes())
    }

    pub(crate) fn int(self, value: i64) -> Sum {
        self.raw(&value.to_le_bytes())
    }

    /// Bytes with their length first, so that field boundaries are part of the sum.
    pub(crate) fn bytes(self, bytes: &[u8]) -> Sum {
        self.int(i64::try_from(bytes.len()).unwrap_or(i64::MAX)).raw(bytes)
    }

    /// Text that may be absent; absent and empty sum differently.
    pub(crate) fn text(self, text: Option<&str>) -> Sum {
        match text {
            Some(t) => self.int(1).bytes(t.as_bytes()),
            None => self.int(0),
        }
    }

    fn raw(mut self, bytes: &[u8]) -> Sum {
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(PRIME);
        }
        self
    }

    /// The sum as SQLite stores integers.
    pub(crate) fn finish(self) -> i64 {
        i64::from_le_bytes(self.0.to_le_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::Sum;

    #[test]
    fn every_single_bit_flip_changes_the_sum() {
        let data: Vec<u8> = (0..64u8).map(|i| i.wrapping_mul(37)).collect();
        let sum = |d: &[u8]| Sum::new("t").bytes(d).finish();
        let good = sum(&data);
        for bit in 0..data.len() * 8 {
            let mut flipped = data.clone();
            flipped[bit / 8] ^= 1 << (bit % 8);
            assert_ne!(sum(&flipped), good, "bit {bit}");
        }
    }

    #[test]
    fn tags_and_field_boundaries_count() {
        assert_ne!(Sum::new("a").finish(), Sum::new("b").finish());
        let ab_c = Sum::new("t").bytes(b"ab").bytes(b"c").finish();
        let a_bc = Sum::new("t").bytes(b"a").bytes(b"bc").finish();
        assert_ne!(ab_c, a_bc);
        assert_ne!(Sum::new("t").text(None).finish(), Sum::new("t").text(Some("")).finish());
    }
}
