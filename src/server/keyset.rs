//! Keyset pagination in SQL, for the orderings of [`crate::domain::page`].
//!
//! An ordering is a list of integer key expressions, each ascending or descending, the last one
//! unique (an id). From that one list come the `ORDER BY`, the cursor column each row carries,
//! and the condition "after this cursor", so the three cannot disagree.

use crate::domain::page::{Cursor, Page};
use crate::error::{AppError, ErrorCode};
use sqlx::any::AnyArguments;
use sqlx::query::QueryAs;
use sqlx::Any;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dir {
    Asc,
    Desc,
}

/// One key: an SQL expression with an integer value (the same in SQLite and PostgreSQL).
#[derive(Debug, Clone, Copy)]
pub struct Key {
    pub expr: &'static str,
    pub dir: Dir,
}

pub const fn asc(expr: &'static str) -> Key {
    Key {
        expr,
        dir: Dir::Asc,
    }
}

pub const fn desc(expr: &'static str) -> Key {
    Key {
        expr,
        dir: Dir::Desc,
    }
}

/// An ordering of a list.
#[derive(Debug, Clone, Copy)]
pub struct Keyset(pub &'static [Key]);

impl Keyset {
    /// `a ASC, b DESC, …`
    pub fn order_by(&self) -> String {
        self.0
            .iter()
            .map(|k| {
                format!(
                    "{} {}",
                    k.expr,
                    match k.dir {
                        Dir::Asc => "ASC",
                        Dir::Desc => "DESC",
                    }
                )
            })
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// A select-list item `… AS cursor`: the row's keys written as [`Cursor`] writes them.
    pub fn cursor_column(&self) -> String {
        let parts: Vec<String> = self
            .0
            .iter()
            .map(|k| format!("CAST({} AS TEXT)", k.expr))
            .collect();
        format!("{} AS cursor", parts.join(" || '.' || "))
    }

    /// Reads the `after` parameter of a request: none, or a cursor of this ordering (400 on
    /// anything else, naming the field).
    pub fn parse(&self, after: Option<&str>) -> Result<Option<Cursor>, AppError> {
        match after.map(str::trim).filter(|s| !s.is_empty()) {
            None => Ok(None),
            Some(s) => Cursor::parse(s, self.0.len())
                .map(Some)
                .ok_or_else(|| AppError::new(ErrorCode::BadRequest).field("after")),
        }
    }

    /// The condition "comes after the cursor", with the cursor's keys bound in order at
    /// placeholders `$first`, `$first+1`, …: `(k1 > $a) OR (k1 = $a AND k2 < $b) OR …`.
    pub fn after(&self, first: usize) -> String {
        let mut alternatives = Vec::with_capacity(self.0.len());
        for (i, k) in self.0.iter().enumerate() {
            let mut terms: Vec<String> = self.0[..i]
                .iter()
                .enumerate()
                .map(|(j, e)| format!("{} = ${}", e.expr, first + j))
                .collect();
            let op = match k.dir {
                Dir::Asc => ">",
                Dir::Desc => "<",
            };
            terms.push(format!("{} {op} ${}", k.expr, first + i));
            alternatives.push(format!("({})", terms.join(" AND ")));
        }
        format!("({})", alternatives.join(" OR "))
    }
}

impl Keyset {
    /// The condition for the rows after `cursor` (every row without one), the cursor's keys at
    /// `$first`, `$first+1`, … (see [`bind_keys`]).
    pub fn condition(&self, cursor: Option<&Cursor>, first: usize) -> String {
        match cursor {
            Some(_) => self.after(first),
            None => "1 = 1".to_owned(),
        }
    }
}

/// Binds a cursor's keys, in order, after the values the query has bound already.
pub fn bind_keys<'q, O>(
    mut query: QueryAs<'q, Any, O, AnyArguments<'q>>,
    cursor: Option<&Cursor>,
) -> QueryAs<'q, Any, O, AnyArguments<'q>> {
    for &k in cursor.map(Cursor::keys).unwrap_or_default() {
        query = query.bind(k);
    }
    query
}

/// A row that carries its cursor (the column [`Keyset::cursor_column`] adds).
pub trait Cursored {
    fn cursor(&self) -> &str;
}

/// Cuts a page from rows fetched with `LIMIT page_size + 1`.
pub fn page<R: Cursored, T>(rows: Vec<R>, page_size: i64, into: impl Fn(R) -> T) -> Page<T> {
    let page = Page::from_rows(rows, page_size, |r| r.cursor().to_owned());
    Page {
        items: page.items.into_iter().map(into).collect(),
        next: page.next,
        page_size: page.page_size,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BY_PRICE: Keyset = Keyset(&[asc("l.sold_out"), desc("l.price_fen"), desc("l.id")]);

    #[test]
    fn one_ordering_gives_the_order_the_cursor_and_the_condition() {
        assert_eq!(
            BY_PRICE.order_by(),
            "l.sold_out ASC, l.price_fen DESC, l.id DESC"
        );
        assert_eq!(
            BY_PRICE.cursor_column(),
            "CAST(l.sold_out AS TEXT) || '.' || CAST(l.price_fen AS TEXT) || '.' || CAST(l.id AS TEXT) AS cursor"
        );
        assert_eq!(
            BY_PRICE.after(4),
            "((l.sold_out > $4) OR (l.sold_out = $4 AND l.price_fen < $5) OR (l.sold_out = $4 AND l.price_fen = $5 AND l.id < $6))"
        );
        assert_eq!(
            BY_PRICE.parse(Some("0.1500.42")).unwrap().unwrap().keys(),
            &[0, 1500, 42]
        );
        assert_eq!(BY_PRICE.parse(Some("  ")).unwrap(), None);
        let e = BY_PRICE.parse(Some("1500.42")).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("after"));
    }
}
