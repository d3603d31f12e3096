//! The only writer of `ledger_entries` (收入台账): sales and their reversals posted from an
//! order's allocations, and other income recorded by officials (and the demo). Every function
//! runs inside the caller's transaction. Rows are never updated or deleted (the database's
//! triggers refuse it too); a correction is a new row. No household's total may pass
//! [`Fen::MAX_HOUSEHOLD_TOTAL`] either way, so its pages can always add it up.

use crate::domain::money::Fen;
use crate::error::{AppError, ErrorCode};

type Tx = sqlx::Transaction<'static, sqlx::Any>;

/// What posting an order's allocations means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Posting {
    /// Payment confirmed: each household's share, positive.
    Sale,
    /// Refund: the same rows negated.
    Reversal,
}

/// The household's ledger total now (bounded by the cap, so the sum cannot overflow).
async fn total_of(tx: &mut Tx, household_id: i64) -> Result<i64, AppError> {
    Ok(sqlx::query_scalar(
        "SELECT CAST(COALESCE(SUM(amount_fen), 0) AS BIGINT) FROM ledger_entries WHERE household_id = $1",
    )
    .bind(household_id)
    .fetch_one(&mut **tx)
    .await?)
}

/// Refuses an addition that would take a household's total past the cap either way. The
/// household's row is locked first (PostgreSQL; SQLite's write transaction already excludes
/// other writers), so two postings at once cannot both pass on the same old total.
async fn check_headroom(tx: &mut Tx, household_id: i64, add: i64) -> Result<(), AppError> {
    sqlx::query("UPDATE households SET id = id WHERE id = $1")
        .bind(household_id)
        .execute(&mut **tx)
        .await?;
    let after = total_of(tx, household_id)
        .await?
        .checked_add(add)
        .ok_or_else(|| AppError::new(ErrorCode::LimitExceeded))?;
    if after.abs() > Fen::MAX_HOUSEHOLD_TOTAL.fen() {
        tracing::warn!(
            household_id,
            add,
            "ledger: household total would pass the cap"
        );
        return Err(AppError::new(ErrorCode::LimitExceeded));
    }
    Ok(())
}

/// Posts one row per household per item of the order, from its allocations.
pub async fn post_order(
    tx: &mut Tx,
    order_id: i64,
    posting: Posting,
    by: Option<i64>,
    t: i64,
) -> Result<(), AppError> {
    let (source, sign) = match posting {
        Posting::Sale => ("sale", 1),
        Posting::Reversal => ("sale_reversal", -1),
    };
    if posting == Posting::Sale {
        let shares: Vec<(i64, i64)> = sqlx::query_as(
            "SELECT a.household_id, CAST(SUM(a.amount_fen) AS BIGINT)
               FROM order_item_allocations a JOIN order_items i ON i.id = a.order_item_id
              WHERE i.order_id = $1 GROUP BY a.household_id",
        )
        .bind(order_id)
        .fetch_all(&mut **tx)
        .await?;
        for (household_id, amount) in shares {
            check_headroom(tx, household_id, amount).await?;
        }
    }
    sqlx::query(
        "INSERT INTO ledger_entries (household_id, amount_fen, source_type, order_item_id, recorded_by, occurred_at, created_at)
         SELECT a.household_id, a.amount_fen * $1, $2, a.order_item_id, $3, $4, $4
           FROM order_item_allocations a JOIN order_items i ON i.id = a.order_item_id
          WHERE i.order_id = $5",
    )
    .bind(sign)
    .bind(source)
    .bind(by)
    .bind(t)
    .bind(order_id)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Income other than sales (wages, subsidies, other business, other), or a correction of it.
#[derive(Debug, Clone)]
pub struct OtherIncome<'a> {
    pub household_id: i64,
    pub amount_fen: i64,
    pub source: &'a str,
    pub note: Option<&'a str>,
    pub recorded_by: Option<i64>,
    pub occurred_at: i64,
    pub created_at: i64,
}

/// Records other income; returns the row's id.
pub async fn record_other(tx: &mut Tx, e: &OtherIncome<'_>) -> Result<i64, AppError> {
    check_headroom(tx, e.household_id, e.amount_fen).await?;
    Ok(sqlx::query_scalar(
        "INSERT INTO ledger_entries (household_id, amount_fen, source_type, note, recorded_by, occurred_at, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
    )
    .bind(e.household_id)
    .bind(e.amount_fen)
    .bind(e.source)
    .bind(e.note)
    .bind(e.recorded_by)
    .bind(e.occurred_at)
    .bind(e.created_at)
    .fetch_one(&mut **tx)
    .await?)
}
