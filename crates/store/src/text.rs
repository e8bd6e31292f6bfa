//! Text of the rows the writer appends, shared instead of copied.
//!
//! sqlx binds an `Arc<str>` by reference count (a `String` it wraps in a new allocation, which
//! SQLite's thread then frees), so the appended rows hold their text as [`Text`]: a station's id
//! is the session's own, the words OCPP repeats in every message (measurands, units, contexts,
//! actions, directions) come from a small per-thread cache ([`word`]). At saturation the
//! allocations and cross-thread frees of per-row copies were a fifth of the server's CPU per
//! acknowledged MeterValues (docs/PERFORMANCE.md, item 10).

use std::cell::RefCell;
use std::collections::HashSet;
use std::sync::Arc;

/// Shared, immutable text.
pub type Text = Arc<str>;

/// Most words one thread keeps: OCPP's enumerations hold about 150 (a charger sending words of
/// its own cannot grow the cache past this; those words are then copied as any other text).
const MOST_WORDS: usize = 512;

/// Longest text kept as a word.
const LONGEST_WORD: usize = 64;

thread_local! {
    static WORDS: RefCell<HashSet<Text>> = RefCell::new(HashSet::new());
}

/// `s` as shared text, from this thread's cache of short words when it is one.
pub fn word(s: &str) -> Text {
    if s.len() > LONGEST_WORD {
        return Text::from(s);
    }
    WORDS.with(|words| {
        let mut words = words.borrow_mut();
        if let Some(w) = words.get(s) {
            return w.clone();
        }
        let w = Text::from(s);
        if words.len() < MOST_WORDS {
            words.insert(w.clone());
        }
        w
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_are_shared_and_the_cache_stays_bounded() {
        let a = word("Energy.Active.Import.Register");
        let b = word("Energy.Active.Import.Register");
        assert!(Arc::ptr_eq(&a, &b), "a repeated word is the same text");
        let long = "x".repeat(LONGEST_WORD + 1);
        assert!(
            !Arc::ptr_eq(&word(&long), &word(&long)),
            "long text is not kept"
        );
        for i in 0..2 * MOST_WORDS {
            assert_eq!(&*word(&format!("vendor-{i}")), format!("vendor-{i}"));
        }
        assert_eq!(WORDS.with(|w| w.borrow().len()), MOST_WORDS);
        let late = format!("vendor-{}", 2 * MOST_WORDS - 1);
        assert!(
            !Arc::ptr_eq(&word(&late), &word(&late)),
            "past the bound words are copied"
        );
        assert_eq!(&*word(&late), late);
    }
}
