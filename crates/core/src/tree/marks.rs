//! The low-water marks: where first fit's search for the lowest free position starts.
//!
//! The first mark, `low_free`, says no position below it is free. The second, `low_resume`, says
//! more: past the first mark's word, nothing below it is free either. The second is what keeps a
//! long-lived first-fit pool cheap. Its addresses fill from the bottom up to a frontier, old ones
//! are released at random below it, and each next allocation takes the released one back. With one
//! mark, taking a released address back forgot the frontier, and the allocation after the next
//! release above that one searched the summaries for it (release + next free: 464 instructions on
//! frontier-99, 315 with both marks).
//!
//! One more rule spares a release in the hot word from looking at the second mark: unless the hot
//! word is the first mark's, it lies at or past the second ([`Tree::keep_resume_clear_of_hot`]). A
//! release there at or past the first mark therefore moves neither mark.

use super::Tree;
use super::hot::{Hot, NONE};
use crate::bits::{bits_from, low_bits};

impl Tree {
    /// Marks `pos` free if it is used; returns whether it was. Outside the hot word, `pos`'s word
    /// becomes hot (first fit takes a released address back next) unless releases are written
    /// through ([`Tree::write_releases_through`]).
    #[inline]
    pub(crate) fn clear_used(&mut self, pos: u64) -> bool {
        if pos < self.low_free {
            return self.clear_below_mark(pos);
        }
        // In the hot word the marks stand (see above); elsewhere `flip_elsewhere` moves them.
        self.flip_to(pos, false)
    }

    /// [`Tree::clear_used`] below the first mark.
    #[cold]
    #[inline(never)]
    fn clear_below_mark(&mut self, pos: u64) -> bool {
        let (flipped, handed_on) = if pos >> 6 == self.hot.word {
            (self.flip_to(pos, false), Hot::COLD)
        } else if self.releases_through {
            // This moves the marks too; moving them again for the same release changes nothing.
            (self.clear_through(pos), Hot::COLD)
        } else {
            let handed_on = self.hot;
            (self.flip_into_hot(pos, false), handed_on)
        };
        if flipped {
            self.note_release(pos, handed_on);
        }
        flipped
    }

    /// Moves the marks after a flip of `pos` outside the hot word at or past the first mark (its word
    /// may have become hot, handing on `handed_on`; see [`Tree::note_release`]), if it
    /// [moves them](Tree::flip_moves_marks).
    #[inline(always)]
    pub(super) fn marks_after_flip(&mut self, pos: u64, used: bool, handed_on: Hot) {
        if self.flip_moves_marks(pos) {
            self.move_marks_after_flip(pos, used, handed_on);
        }
    }

    /// Whether a flip of `pos` outside the hot word at or past the first mark moves the marks: only
    /// a word below the second mark does.
    #[inline(always)]
    pub(super) fn flip_moves_marks(&self, pos: u64) -> bool {
        pos & !63 < self.low_resume
    }

    /// [`Tree::marks_after_flip`] for a flip known to move the marks.
    #[inline(always)]
    pub(super) fn move_marks_after_flip(&mut self, pos: u64, used: bool, handed_on: Hot) {
        if used {
            self.keep_resume_clear_of_hot();
        } else {
            self.note_release(pos, handed_on);
        }
    }

    /// Moves the marks after `pos` was released, so that both still hold and the next search starts
    /// as close to its answer as they allow. `handed_on` is the word this release handed on when it
    /// made its own word hot, with its value ([`Hot::COLD`] if none): first fit's usual release
    /// hands on the first mark's word, whose value the marks then need. Inlined: it is on first
    /// fit's usual release path, and a call there made the release save six registers (release +
    /// next free 224.4 -> 210.1 instructions inlined, `random-50`).
    #[inline(always)]
    pub(super) fn note_release(&mut self, pos: u64, handed_on: Hot) {
        let (low, resume) = (self.low_free, self.low_resume);
        let low_end = (low | 63) + 1;
        if pos >> 6 == low >> 6 {
            // In the first mark's own word: that word is searched from the mark, and the second
            // mark speaks only of what lies past it.
            self.low_free = low.min(pos);
        } else if pos < low {
            // Between `pos`'s word and the old mark nothing is free; past the old mark's word
            // nothing is free below the second mark. If the old mark's word holds nothing free from
            // the mark on, the two gaps join.
            self.low_resume =
                if self.spent_from(low, handed_on) { resume.max(low_end).min(self.size()) } else { low };
            self.low_free = pos;
        } else if pos < resume {
            // Past the first mark's word but below the second: if nothing is free in the first
            // mark's word from the mark on, `pos` is the lowest free position and becomes the mark;
            // otherwise the second mark comes down to `pos`.
            if self.spent_from(low, handed_on) {
                self.low_free = pos;
            } else {
                self.low_resume = pos;
            }
        }
        self.keep_resume_clear_of_hot();
    }

    /// Whether no position from `low` to the end of its word is free (true past the pool's end).
    /// When that word is `handed_on`, its value is at hand: no chunk lookup (measured: first-fit
    /// release + next free 269.4 -> 247.8 instructions on random-50).
    #[inline(always)]
    fn spent_from(&self, low: u64, handed_on: Hot) -> bool {
        if low >= self.size() {
            return true;
        }
        let w = low >> 6;
        let word = if w == handed_on.word { handed_on.bits } else { self.word(w) };
        // The handed-on word may not be written back yet: its stored copy holds its value from
        // before or after.
        debug_assert!(
            w != handed_on.word || [handed_on.stored, handed_on.bits].contains(&self.stored_word(w)),
            "the handed-on word is not word {w}"
        );
        word | low_bits((low & 63) as u32) == !0
    }

    /// Brings the second mark down to the hot word's start unless the hot word is the first mark's
    /// (lowering it only forgets a gap): called wherever the hot word or the first mark moves.
    #[inline(always)]
    pub(super) fn keep_resume_clear_of_hot(&mut self) {
        let hot = self.hot.word;
        // With no hot word, `NONE << 6` is past every position: the second mark stays.
        if hot != self.low_free >> 6 {
            self.low_resume = self.low_resume.min(hot << 6);
        }
    }

    /// Lowers the marks for positions from `start` on that were just freed as a range.
    pub(super) fn lower_marks(&mut self, start: u64) {
        self.low_resume = self.low_resume.min(start);
        if start < self.low_free {
            self.low_free = start;
            self.keep_resume_clear_of_hot();
        }
    }

    /// Lowest free position, from the marks: O(1) when the first mark's word has a free bit; else a
    /// search from the second mark, which often finds its answer in its first word.
    #[inline]
    pub(crate) fn first_free(&mut self) -> Option<u64> {
        // The search below trusts the summaries.
        self.refresh();
        let (low, resume) = (self.low_free, self.low_resume);
        let found = if resume > (low | 63) + 1 {
            let in_low_word = !self.word(low >> 6) & bits_from(low & 63);
            if in_low_word != 0 {
                Some((low & !63) + u64::from(in_low_word.trailing_zeros()))
            } else {
                self.next_free(resume)
            }
        } else {
            self.next_free(low)
        };
        self.low_free = found.unwrap_or(self.size());
        self.keep_resume_clear_of_hot();
        found
    }

    /// Checks what the marks promise (for [`Tree::validate`]).
    pub(super) fn check_marks(&self) -> Result<(), String> {
        let (low, resume) = (self.low_free, self.low_resume);
        if let Some(free) = self.next_free(0).filter(|&pos| pos < low) {
            return Err(format!("position {free} is free below the low-water mark {low}"));
        }
        if let Some(free) = self.next_free((low | 63) + 1).filter(|&pos| pos < resume) {
            return Err(format!("position {free} is free past the low-water mark's word, below {resume}"));
        }
        let hot = self.hot.word;
        if hot != NONE && hot != low >> 6 && resume > hot << 6 {
            return Err(format!("the hot word {hot} lies below the second mark {resume}"));
        }
        Ok(())
    }
}
