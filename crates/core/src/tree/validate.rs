//! Checks every stored summary against one rebuilt from the stored bitmap (tests and fuzzing only).

use super::{Slot, Tree};
use crate::bits::low_bits;

impl Tree {
    /// Rebuilds every summary from the bitmap words and compares it with what is stored, once the
    /// summaries marked for a refresh are refreshed (in a copy); and checks that reads through
    /// `&self` see what they would see after the refresh.
    pub(crate) fn validate(&self) -> Result<(), String> {
        self.check_dirty_marks()?;
        self.check_marks()?;
        let mut refreshed = self.clone();
        refreshed.refresh();
        let (marked, fresh) = (self.max_free_order(), refreshed.max_free_order());
        if marked != fresh {
            return Err(format!("largest free order {marked:?} before the refresh, {fresh:?} after"));
        }
        for used in [false, true] {
            let (marked, fresh) = (self.next_stored(0, used), refreshed.next_stored(0, used));
            if marked != fresh {
                return Err(format!(
                    "first {} at {marked:?} before the refresh, {fresh:?} after",
                    if used { "used" } else { "free" }
                ));
            }
        }
        refreshed.validate_refreshed()
    }

    /// [`Tree::validate`] of a tree with no summaries marked for a refresh.
    fn validate_refreshed(&self) -> Result<(), String> {
        let mut rebuilt = self.clone();
        let hot = self.hot;
        if hot.word == super::hot::NONE {
            if hot.bits != hot.stored {
                return Err(format!(
                    "no word is hot, yet its value {:#x} is not its stored {:#x}",
                    hot.bits, hot.stored
                ));
            }
        } else {
            if hot.word >= self.size().div_ceil(64) {
                return Err(format!("hot word {} is past the pool", hot.word));
            }
            if !matches!(self.slots[super::chunk_of(hot.word << 6)], Slot::Mixed(_)) {
                return Err(format!("hot word {}'s chunk holds no stored bits", hot.word));
            }
            let stored = self.stored_word(hot.word);
            if stored != hot.stored {
                return Err(format!(
                    "hot word {} is stored as {stored:#x}, it says {:#x}",
                    hot.word, hot.stored
                ));
            }
        }
        for (j, slot) in self.slots.iter().enumerate() {
            let Slot::Mixed(chunk) = slot else {
                if self.top < 3 {
                    return Err(format!("unchunked tree has a uniform chunk {j}"));
                }
                continue;
            };
            if self.order < 6 {
                let outside = !low_bits(1 << self.order);
                if chunk.word(&self.layout, 0) & outside != outside {
                    return Err("a position past the pool's end is marked free".into());
                }
            }
            let hot = (self.hot.word != super::hot::NONE && super::chunk_of(self.hot.word << 6) == j)
                .then(|| (super::word_in_chunk(self.hot.word << 6) >> 6, self.hot.leaf));
            chunk.check_shape(&self.layout, self.top < 3, hot).map_err(|why| format!("chunk {j}: {why}"))?;
            chunk.check(&self.layout).map_err(|why| format!("chunk {j}: {why}"))?;
        }
        rebuilt.rebuild_upper();
        for (l, (stored, fresh)) in self.upper.iter().zip(&rebuilt.upper).enumerate() {
            if stored != fresh {
                return Err(format!("level {} summaries disagree with the chunks below", l + 3));
            }
        }
        Ok(())
    }

    /// Number of used positions, counted from the bitmap (positions past a tiny pool's end excluded).
    pub(crate) fn count_used(&self) -> u64 {
        let mut used: u64 = self
            .slots
            .iter()
            .map(|slot| match slot {
                Slot::Free => 0,
                Slot::Full => 1 << super::CHUNK_ORDER,
                Slot::Mixed(chunk) => chunk.count_used(&self.layout),
            })
            .sum();
        if self.order < 6 {
            used -= u64::from(64 - (1u32 << self.order));
        }
        if self.hot.word != super::hot::NONE {
            used = used + u64::from(self.hot.bits.count_ones())
                - u64::from(self.stored_word(self.hot.word).count_ones());
        }
        used
    }
}
