//! Cursor pagination, the one way every list is cut into pages.
//!
//! A list is ordered by a fixed tuple of integer keys (for example "sold out last, price, id").
//! A page ends with the keys of its last row, written `k1.k2.k3`; the next page asks for the rows
//! after that cursor. Unlike an offset, a cursor stays right while rows are added, and the
//! database finds the next page by the keys instead of counting past the earlier ones.

use serde::{Deserialize, Serialize};
use std::fmt;

/// One page of a list. `next` is the cursor of the following page, if there is one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next: Option<String>,
    /// The most rows a page holds.
    pub page_size: i64,
}

impl<T> Page<T> {
    /// Cuts a page from rows fetched with a limit of `page_size + 1`: the extra row, if it
    /// came, says that another page follows, and the cursor is the last kept row's.
    pub fn from_rows(
        mut rows: Vec<T>,
        page_size: i64,
        cursor_of: impl Fn(&T) -> String,
    ) -> Page<T> {
        let size = usize::try_from(page_size).unwrap_or(0);
        let next = if rows.len() > size {
            rows.truncate(size);
            rows.last().map(&cursor_of)
        } else {
            None
        };
        Page {
            items: rows,
            next,
            page_size,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
}

/// The keys of the last row of a page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor(Vec<i64>);

impl Cursor {
    /// No list is ordered by more keys than this; a longer cursor is not one of ours.
    pub const MAX_KEYS: usize = 8;

    pub fn new(keys: Vec<i64>) -> Cursor {
        Cursor(keys)
    }

    /// Parses a cursor that must have exactly `keys` keys (a cursor of another ordering has a
    /// different count and is refused rather than misread).
    pub fn parse(s: &str, keys: usize) -> Option<Cursor> {
        if s.len() > Self::MAX_KEYS * 21 || keys == 0 || keys > Self::MAX_KEYS {
            return None;
        }
        let values = s
            .split('.')
            .map(|part| {
                // Plain decimal only: no '+', no spaces, no leading zeros but "0" itself.
                let digits = part.strip_prefix('-').unwrap_or(part);
                let plain = !digits.is_empty()
                    && digits.bytes().all(|b| b.is_ascii_digit())
                    && (digits == "0" || !digits.starts_with('0'))
                    && part != "-0";
                if plain {
                    part.parse::<i64>().ok()
                } else {
                    None
                }
            })
            .collect::<Option<Vec<i64>>>()?;
        (values.len() == keys).then_some(Cursor(values))
    }

    pub fn keys(&self) -> &[i64] {
        &self.0
    }
}

impl fmt::Display for Cursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, k) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(".")?;
            }
            write!(f, "{k}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn cursors_round_trip_and_junk_is_refused() {
        let c = Cursor::new(vec![0, 1200, -5, i64::MAX, i64::MIN]);
        assert_eq!(
            c.to_string(),
            format!("0.1200.-5.{}.{}", i64::MAX, i64::MIN)
        );
        assert_eq!(Cursor::parse(&c.to_string(), 5), Some(c));
        for bad in [
            "",
            ".",
            "1.",
            ".1",
            "1..2",
            "+1",
            " 1",
            "1 ",
            "01",
            "-0",
            "1e3",
            "0x1",
            "1.2.3",
            "99999999999999999999",
            "١",
        ] {
            assert_eq!(Cursor::parse(bad, 1), None, "{bad:?}");
        }
        // The right keys, but not as many as the ordering has.
        assert_eq!(Cursor::parse("1.2", 3), None);
        assert_eq!(Cursor::parse("1.2.3", 2), None);
    }

    #[test]
    fn a_page_keeps_page_size_rows_and_points_past_the_last() {
        let p = Page::from_rows(vec![5, 4, 3, 2], 3, |n| n.to_string());
        assert_eq!(p.items, vec![5, 4, 3]);
        assert_eq!(p.next.as_deref(), Some("3"));
        let p = Page::from_rows(vec![5, 4, 3], 3, |n| n.to_string());
        assert_eq!((p.items.len(), p.next), (3, None));
        let p = Page::from_rows(Vec::<i64>::new(), 3, |n| n.to_string());
        assert!(p.is_empty() && p.next.is_none());
    }

    proptest! {
        #[test]
        fn any_cursor_parses_back(keys in proptest::collection::vec(any::<i64>(), 1..=Cursor::MAX_KEYS)) {
            let c = Cursor::new(keys.clone());
            prop_assert_eq!(Cursor::parse(&c.to_string(), keys.len()), Some(c));
        }

        #[test]
        fn parsing_never_panics(s in "\\PC{0,60}", n in 0usize..10) {
            let _ = Cursor::parse(&s, n);
        }
    }
}
