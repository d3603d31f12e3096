//! The only writer of `ledger_entries` (收入台账): sales and their reversals posted from an
//! order's allocations, and other income recorded by officials (and the demo). Every function
//! runs inside the caller's transaction. Rows are never updated or deleted (the database's
//! triggers refuse it too); a correction is a new row. No household's total may pass
//! [`Fen::MAX_HOUSEHOLD_TOTAL`] either way, so its pages can always add it up.
//!
//! Every row names its evidence ([`Evidence`]) and is chained: `row_hash` is a SHA-256 over the
//! previous row's hash and the row's content, and `ledger_head` holds the last hash. Each
//! posting locks the head first, so postings are serialised and the chain has no forks;
//! `zhunong check-ledger` walks it ([`verify_chain`]).

use crate::domain::money::Fen;
use crate::error::{AppError, ErrorCode};
use crate::server::db::Db;
use sha2::{Digest, Sha256};

type Tx = sqlx::Transaction<'static, sqlx::Any>;

/// The hash before the first row.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// What posting an order's allocations means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Posting {
    /// Payment confirmed: each household's share, positive.
    Sale,
    /// Refund: the same rows negated.
    Reversal,
}

/// What a sale (or its reversal) rests on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Evidence<'a> {
    /// A verified notification from a payment provider: its transaction (or refund) id.
    Provider(&'a str),
    /// A bank transfer the seller confirmed: its reference.
    Transfer(&'a str),
}

impl Evidence<'_> {
    fn kind(&self) -> &'static str {
        match self {
            Evidence::Provider(_) => "provider",
            Evidence::Transfer(_) => "transfer",
        }
    }
    fn reference(&self) -> &str {
        match self {
            Evidence::Provider(r) | Evidence::Transfer(r) => r,
        }
    }
}

/// The content of a ledger row that its hash covers (everything but its id and hashes).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct RowContent {
    pub household_id: i64,
    pub amount_fen: i64,
    pub source_type: String,
    pub order_item_id: Option<i64>,
    pub note: Option<String>,
    pub recorded_by: Option<i64>,
    pub occurred_at: i64,
    pub created_at: i64,
    pub evidence: Option<String>,
    pub evidence_ref: Option<String>,
}

/// SHA-256 (hex) over the previous hash and the row's content, as a JSON array: the one
/// definition of a row's hash, used to post and to verify.
pub fn row_hash(prev: &str, r: &RowContent) -> String {
    let content = serde_json::json!([
        r.household_id,
        r.amount_fen,
        r.source_type,
        r.order_item_id,
        r.note,
        r.recorded_by,
        r.occurred_at,
        r.created_at,
        r.evidence,
        r.evidence_ref,
    ]);
    let mut h = Sha256::new();
    h.update(prev.as_bytes());
    h.update(b"\n");
    h.update(content.to_string().as_bytes());
    hex::encode(h.finalize())
}

/// Locks the chain's head and returns the last row's hash.
pub(super) async fn lock_head(tx: &mut Tx) -> Result<String, AppError> {
    let last: Option<String> =
        sqlx::query_scalar("UPDATE ledger_head SET id = id WHERE id = 1 RETURNING last_hash")
            .fetch_one(&mut **tx)
            .await?;
    last.ok_or_else(|| AppError::internal("the ledger's earlier rows are not sealed"))
}

/// Appends one row after `prev`; returns its id and hash. The head is moved by the caller.
async fn append(tx: &mut Tx, prev: &str, r: &RowContent) -> Result<(i64, String), AppError> {
    let hash = row_hash(prev, r);
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO ledger_entries (household_id, amount_fen, source_type, order_item_id, note, recorded_by,
                                     occurred_at, created_at, evidence, evidence_ref, prev_hash, row_hash)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING id",
    )
    .bind(r.household_id)
    .bind(r.amount_fen)
    .bind(&r.source_type)
    .bind(r.order_item_id)
    .bind(&r.note)
    .bind(r.recorded_by)
    .bind(r.occurred_at)
    .bind(r.created_at)
    .bind(&r.evidence)
    .bind(&r.evidence_ref)
    .bind(prev)
    .bind(&hash)
    .fetch_one(&mut **tx)
    .await?;
    add_to_month(tx, id, r).await?;
    Ok((id, hash))
}

/// Whether a row is attested (a seller's word) rather than verified: a sale or reversal
/// resting on a confirmed transfer, or on nothing recorded. The rule of
/// `ledger::server::ATTESTED`, for one row.
pub fn is_attested(source_type: &str, evidence: Option<&str>) -> bool {
    matches!(source_type, "sale" | "sale_reversal") && matches!(evidence, None | Some("transfer"))
}

/// Adds a row to its household's month in `income_months`, in the same transaction, so the
/// monthly table always equals the ledger; and to the roll-ups ([`super::rollup::posted`]).
async fn add_to_month(tx: &mut Tx, id: i64, r: &RowContent) -> Result<(), AppError> {
    // The household's village in the roll-ups, settled before this row counts anywhere.
    let village = super::rollup::place(tx, r.household_id).await?;
    let attested = is_attested(&r.source_type, r.evidence.as_deref());
    let (verified, attested_fen, rows) = if attested {
        (0, r.amount_fen, 0)
    } else {
        (r.amount_fen, 0, 1)
    };
    sqlx::query(
        "INSERT INTO income_months (household_id, month_start, verified_fen, attested_fen, verified_rows)
         VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (household_id, month_start) DO UPDATE
            SET verified_fen = income_months.verified_fen + excluded.verified_fen,
                attested_fen = income_months.attested_fen + excluded.attested_fen,
                verified_rows = income_months.verified_rows + excluded.verified_rows",
    )
    .bind(r.household_id)
    .bind(crate::domain::calendar::month_start_of(r.occurred_at))
    .bind(verified)
    .bind(attested_fen)
    .bind(rows)
    .execute(&mut **tx)
    .await?;
    super::rollup::posted(tx, id, &village, r, verified, attested_fen).await
}

async fn move_head(tx: &mut Tx, id: i64, hash: &str) -> Result<(), AppError> {
    sqlx::query("UPDATE ledger_head SET last_id = $1, last_hash = $2 WHERE id = 1")
        .bind(id)
        .bind(hash)
        .execute(&mut **tx)
        .await?;
    Ok(())
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

/// Refuses an addition that would take a household's total past the cap either way. (The
/// chain's head is locked before this runs, so no other posting can change the total meanwhile.)
async fn check_headroom(tx: &mut Tx, household_id: i64, add: i64) -> Result<(), AppError> {
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

/// Posts one row per household per item of the order, from its allocations, with the
/// evidence of the payment (or of the refund).
pub async fn post_order(
    tx: &mut Tx,
    order_id: i64,
    posting: Posting,
    evidence: Evidence<'_>,
    by: Option<i64>,
    t: i64,
) -> Result<(), AppError> {
    let (source, sign) = match posting {
        Posting::Sale => ("sale", 1),
        Posting::Reversal => ("sale_reversal", -1),
    };
    let mut prev = lock_head(tx).await?;
    super::rollup::order_posted(tx, order_id, sign).await?;
    let shares: Vec<(i64, i64, i64)> = sqlx::query_as(
        "SELECT a.order_item_id, a.household_id, a.amount_fen
           FROM order_item_allocations a JOIN order_items i ON i.id = a.order_item_id
          WHERE i.order_id = $1 ORDER BY a.order_item_id, a.household_id",
    )
    .bind(order_id)
    .fetch_all(&mut **tx)
    .await?;
    if posting == Posting::Sale {
        let mut per_household = std::collections::BTreeMap::<i64, i64>::new();
        for (_, household_id, amount) in &shares {
            let sum = per_household.entry(*household_id).or_default();
            *sum = sum
                .checked_add(*amount)
                .ok_or_else(|| AppError::new(ErrorCode::LimitExceeded))?;
        }
        for (household_id, amount) in per_household {
            check_headroom(tx, household_id, amount).await?;
        }
    }
    let mut last = None;
    for (item, household_id, amount) in shares {
        let row = RowContent {
            household_id,
            amount_fen: amount * sign,
            source_type: source.to_owned(),
            order_item_id: Some(item),
            note: None,
            recorded_by: by,
            occurred_at: t,
            created_at: t,
            evidence: Some(evidence.kind().to_owned()),
            evidence_ref: Some(evidence.reference().to_owned()),
        };
        let (id, hash) = append(tx, &prev, &row).await?;
        prev = hash;
        last = Some(id);
    }
    if let Some(id) = last {
        move_head(tx, id, &prev).await?;
    }
    Ok(())
}

/// Income other than sales (wages, subsidies, other business, other), or a correction of it,
/// recorded by an official (who, and a note saying what it is, are required).
#[derive(Debug, Clone)]
pub struct OtherIncome<'a> {
    pub household_id: i64,
    pub amount_fen: i64,
    pub source: &'a str,
    pub note: &'a str,
    pub recorded_by: i64,
    pub occurred_at: i64,
    pub created_at: i64,
}

/// Records other income; returns the row's id.
pub async fn record_other(tx: &mut Tx, e: &OtherIncome<'_>) -> Result<i64, AppError> {
    let prev = lock_head(tx).await?;
    check_headroom(tx, e.household_id, e.amount_fen).await?;
    let row = RowContent {
        household_id: e.household_id,
        amount_fen: e.amount_fen,
        source_type: e.source.to_owned(),
        order_item_id: None,
        note: Some(e.note.to_owned()),
        recorded_by: Some(e.recorded_by),
        occurred_at: e.occurred_at,
        created_at: e.created_at,
        evidence: Some("official".to_owned()),
        evidence_ref: None,
    };
    let (id, hash) = append(tx, &prev, &row).await?;
    move_head(tx, id, &hash).await?;
    Ok(id)
}

const CHAIN_SELECT: &str =
    "SELECT id, household_id, amount_fen, source_type, order_item_id, note, recorded_by,
        occurred_at, created_at, evidence, evidence_ref, prev_hash, row_hash FROM ledger_entries";

#[derive(sqlx::FromRow)]
struct ChainRow {
    id: i64,
    #[sqlx(flatten)]
    content: RowContent,
    prev_hash: Option<String>,
    row_hash: Option<String>,
}

/// Chains the rows written before the chain existed (they carry no hash): the head gets the
/// hash of all of them, so the first chained row commits to every earlier one. Runs at start;
/// does nothing once the head has a hash.
pub async fn seal_earlier_rows(db: &Db) -> Result<(), AppError> {
    use futures_util::TryStreamExt;
    let mut tx = db.begin_write().await?;
    let sealed: Option<String> =
        sqlx::query_scalar("UPDATE ledger_head SET id = id WHERE id = 1 RETURNING last_hash")
            .fetch_one(&mut *tx)
            .await?;
    if sealed.is_some() {
        return Ok(());
    }
    let mut prev = GENESIS.to_owned();
    let mut last_id = None;
    {
        let sql = format!("{CHAIN_SELECT} ORDER BY id");
        let mut rows = sqlx::query_as::<_, ChainRow>(&sql).fetch(&mut *tx);
        while let Some(r) = rows.try_next().await? {
            if r.row_hash.is_some() {
                return Err(AppError::internal(
                    "ledger rows carry hashes but the head has none",
                ));
            }
            prev = row_hash(&prev, &r.content);
            last_id = Some(r.id);
        }
    }
    sqlx::query(
        "UPDATE ledger_head SET last_id = $1, last_hash = $2, sealed_through = $3 WHERE id = 1",
    )
    .bind(last_id)
    .bind(&prev)
    .bind(last_id.unwrap_or(0))
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    if let Some(id) = last_id {
        tracing::info!(
            last_id = id,
            "ledger: the rows from before the hash chain are sealed"
        );
    }
    Ok(())
}

/// What walking the chain found.
#[derive(Debug, Default)]
pub struct ChainCheck {
    /// Rows from before the chain (no stored hash; covered by the first chained row).
    pub earlier_rows: i64,
    pub chained_rows: i64,
    /// The first row that breaks the chain, and how.
    pub first_bad: Option<String>,
}

/// Walks every ledger row in order, recomputing each hash, and compares the end with the head.
/// Stops at the first bad row.
pub async fn verify_chain(db: &Db) -> Result<ChainCheck, sqlx::Error> {
    use futures_util::TryStreamExt;
    let mut c = ChainCheck::default();
    // The head first: rows committed after this read are walked too, past the head.
    let (head_id, head_hash, sealed_through): (Option<i64>, Option<String>, Option<i64>) =
        sqlx::query_as("SELECT last_id, last_hash, sealed_through FROM ledger_head WHERE id = 1")
            .fetch_one(&db.pool)
            .await?;
    let sealed_through = sealed_through.unwrap_or(0);
    let Some(head_hash) = head_hash else {
        c.first_bad = Some("the ledger head has no hash (not sealed)".into());
        return Ok(c);
    };
    let mut prev = GENESIS.to_owned();
    let mut reached_head = head_id.is_none() && head_hash == GENESIS;
    let sql = format!("{CHAIN_SELECT} ORDER BY id");
    let mut rows = sqlx::query_as::<_, ChainRow>(&sql).fetch(&db.pool);
    let mut last_seen = None;
    while let Some(r) = rows.try_next().await? {
        last_seen = Some(r.id);
        let computed = row_hash(&prev, &r.content);
        match (&r.prev_hash, &r.row_hash) {
            (None, None) if c.chained_rows == 0 && r.id <= sealed_through => {
                c.earlier_rows += 1;
                prev = computed;
            }
            (Some(p), Some(h)) => {
                if *p != prev {
                    c.first_bad = Some(format!(
                        "row {}: its previous hash does not match the row before it (a row was removed, inserted or changed before it)",
                        r.id
                    ));
                    return Ok(c);
                }
                if *h != computed {
                    c.first_bad = Some(format!(
                        "row {}: its content does not match its hash (changed after it was written)",
                        r.id
                    ));
                    return Ok(c);
                }
                c.chained_rows += 1;
                prev = computed;
            }
            _ => {
                c.first_bad = Some(format!("row {}: it carries no hash", r.id));
                return Ok(c);
            }
        }
        if Some(r.id) == head_id {
            if prev != head_hash {
                c.first_bad = Some(format!(
                    "row {}: the chain up to it does not end in the head's hash",
                    r.id
                ));
                return Ok(c);
            }
            reached_head = true;
        }
    }
    // Every row is covered by the head: a row past it was not written by a posting (which moves
    // the head in the same transaction). The head is read again, for rows committed meanwhile.
    drop(rows);
    if let Some(last) = last_seen {
        let now_head: Option<i64> =
            sqlx::query_scalar("SELECT last_id FROM ledger_head WHERE id = 1")
                .fetch_one(&db.pool)
                .await?;
        if now_head.is_none_or(|h| last > h) {
            c.first_bad = Some(format!(
                "row {last}: it lies past the ledger head (written around the ledger module)"
            ));
            return Ok(c);
        }
    }
    if !reached_head {
        c.first_bad = Some(format!(
            "the head names row {} but the chain does not reach it (rows were removed)",
            head_id.map_or_else(|| "none".to_owned(), |i| i.to_string())
        ));
    }
    Ok(c)
}
