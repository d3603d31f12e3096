//! Ledger queries, other income, and the books check behind `zhunong check-ledger`.

use super::api::{IncomeRecord, LedgerRow, LEDGER_PAGE_SIZE};
use crate::auth::server::require_user;
use crate::domain::income;
use crate::domain::money::Fen;
use crate::domain::region::RegionCode;
use crate::domain::role::Role;
use crate::error::{AppError, ErrorCode};
use crate::policy::{self, Action};
use crate::server::db::{current_year, month_start, now, year_start, Db};
use crate::server::keyset::{self, desc, Cursored, Keyset};
use crate::server::state::AppState;

/// A ledger row that rests on a seller's word: a sale (or reversal) paid by a transfer the
/// seller confirmed, or posted before evidence was recorded. Everything else is verified: a
/// provider's signed notification, or an official's record.
pub const ATTESTED: &str =
    "(source_type IN ('sale', 'sale_reversal') AND (evidence IS NULL OR evidence = 'transfer'))";

/// The window of rolling 12-month income at `now`: `[from, to)` month starts, the current
/// China-time month and the eleven before it.
pub fn rolling_window(now: i64) -> (i64, i64) {
    use crate::domain::calendar::{add_months, month_start_of};
    let m = month_start_of(now);
    (add_months(m, -11), add_months(m, 1))
}

/// A derived table with one row per household matching `households_where` (a condition on
/// `h`, the `households` row; it may use bind parameters): `household_id`, `region_code`,
/// `members`, `base_pc` (the latest baseline of a year before the window ends) and `rolling_pc`, the rolling 12-month per-capita
/// income of [`crate::domain::monitoring::rolling_per_capita`] over `window`, written in SQL
/// (integer division truncates toward zero in both backends, as there). The one place the
/// figure is computed for a list or a roll-up; the window's bounds are server-made integers.
pub fn rolling_table(window: (i64, i64), households_where: &str) -> String {
    let (from, to) = window;
    // The baseline is last year's (the latest set for a year before the window's last month),
    // so a baseline written now does not rewrite the months already past.
    let before_year = crate::domain::calendar::year_of(to - 1 + 8 * 3600);
    format!(
        "(SELECT r.household_id, r.region_code, r.members, r.base_pc, r.led, r.months,
                 CASE WHEN r.members <= 0 OR (r.months = 0 AND r.base_pc IS NULL) THEN NULL
                      ELSE (r.led * 12 + COALESCE(r.base_pc, 0) * r.members * (12 - r.months)) / (12 * r.members)
                 END AS rolling_pc
            FROM (SELECT h.id AS household_id, h.region_code, h.members,
                         (SELECT b.per_capita_fen FROM household_baselines b WHERE b.household_id = h.id
                             AND b.year < {before_year} ORDER BY b.year DESC LIMIT 1) AS base_pc,
                         (SELECT CAST(COALESCE(SUM(i.verified_fen), 0) AS BIGINT) FROM income_months i
                           WHERE i.household_id = h.id AND i.month_start >= {from} AND i.month_start < {to}) AS led,
                         (SELECT COUNT(*) FROM income_months i
                           WHERE i.household_id = h.id AND i.month_start >= {from} AND i.month_start < {to}
                             AND i.verified_rows > 0) AS months
                    FROM households h WHERE {households_where}) r)"
    )
}

/// Source types an official may record by hand (sales come from orders only).
pub const MANUAL_SOURCES: [&str; 4] = ["wages", "subsidy", "other_business", "other"];

/// A household's ledger rows, newest first.
const NEWEST_FIRST: Keyset = Keyset(&[desc("e.occurred_at"), desc("e.id")]);

#[derive(sqlx::FromRow)]
struct EntryRow {
    id: i64,
    amount_fen: i64,
    source_type: String,
    note: Option<String>,
    order_item_id: Option<i64>,
    occurred_at: i64,
    recorded_by: Option<String>,
    evidence: Option<String>,
    evidence_ref: Option<String>,
    cursor: String,
}

impl Cursored for EntryRow {
    fn cursor(&self) -> &str {
        &self.cursor
    }
}

impl From<EntryRow> for LedgerRow {
    fn from(r: EntryRow) -> LedgerRow {
        LedgerRow {
            id: r.id,
            amount_fen: r.amount_fen,
            source_type: r.source_type,
            note: r.note,
            order_item_id: r.order_item_id,
            occurred_at: r.occurred_at,
            recorded_by: r.recorded_by,
            evidence: r.evidence,
            evidence_ref: r.evidence_ref,
        }
    }
}

async fn household_region(db: &Db, id: i64) -> Result<(RegionCode, String, i64), AppError> {
    let row: Option<(String, String, i64)> =
        sqlx::query_as("SELECT region_code, head_name, members FROM households WHERE id = $1")
            .bind(id)
            .fetch_optional(&db.pool)
            .await
            .map_err(AppError::internal)?;
    let (code, name, members) = row.ok_or_else(|| AppError::new(ErrorCode::NotFound))?;
    Ok((
        RegionCode::parse(&code).map_err(AppError::internal)?,
        name,
        members,
    ))
}

#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn household_income(
    household_id: i64,
    after: Option<&str>,
) -> Result<IncomeRecord, AppError> {
    let state = AppState::get()?;
    let db = &state.db;
    let user = require_user().await?;
    if !matches!(
        user.role,
        Role::Admin | Role::Official | Role::Household | Role::Cadre
    ) {
        return Err(AppError::new(ErrorCode::Forbidden));
    }
    let (region, head_name, members) = household_region(db, household_id).await?;
    let pf = policy::household_facts(db, &user, household_id).await?;
    policy::require(&user, Action::ViewHousehold, &pf)?;
    let year = current_year();
    let (from, to) = (year_start(year), year_start(year + 1));
    let by_source: Vec<(String, i64)> = sqlx::query_as(
        "SELECT source_type, CAST(SUM(amount_fen) AS BIGINT) FROM ledger_entries
          WHERE household_id = $1 AND occurred_at >= $2 AND occurred_at < $3
          GROUP BY source_type ORDER BY 2 DESC",
    )
    .bind(household_id)
    .bind(from)
    .bind(to)
    .fetch_all(&db.pool)
    .await
    .map_err(AppError::internal)?;
    // The year's months in one query: each entry falls in the first month whose end is after
    // it ($3 … $13 are the starts of February … December, $14 the next year's).
    let buckets: Vec<String> = (2..=12)
        .map(|m| format!("WHEN occurred_at < ${} THEN {}", m + 1, m - 1))
        .collect();
    let sql = format!(
        "SELECT CAST(CASE {} ELSE 12 END AS BIGINT) AS m, CAST(SUM(amount_fen) AS BIGINT)
           FROM ledger_entries
          WHERE household_id = $1 AND occurred_at >= $2 AND occurred_at < $14
          GROUP BY 1",
        buckets.join(" ")
    );
    let mut q = sqlx::query_as::<_, (i64, i64)>(&sql)
        .bind(household_id)
        .bind(from);
    for m in 2..=12 {
        q = q.bind(month_start(year, m));
    }
    let mut by_month = vec![0i64; 12];
    for (m, v) in q
        .bind(to)
        .fetch_all(&db.pool)
        .await
        .map_err(AppError::internal)?
    {
        if let Some(slot) = usize::try_from(m - 1)
            .ok()
            .and_then(|i| by_month.get_mut(i))
        {
            *slot = v;
        }
    }
    let total: i64 = by_source.iter().map(|s| s.1).sum();
    let attested: i64 = sqlx::query_scalar(&format!(
        "SELECT CAST(COALESCE(SUM(amount_fen), 0) AS BIGINT) FROM ledger_entries
          WHERE household_id = $1 AND occurred_at >= $2 AND occurred_at < $3 AND {ATTESTED}"
    ))
    .bind(household_id)
    .bind(from)
    .bind(to)
    .fetch_one(&db.pool)
    .await?;
    let verified = total - attested;
    // Where the household stands counts only verified income: sales a provider confirmed, and
    // officials' records. A seller's word alone lifts nobody past the line.
    let per_capita = income::per_capita(Fen::new(verified), members);
    let baseline: Option<(i64, i64)> =
        sqlx::query_as("SELECT year, per_capita_fen FROM household_baselines WHERE household_id = $1 ORDER BY year DESC LIMIT 1")
            .bind(household_id)
            .fetch_optional(&db.pool)
            .await
            .map_err(AppError::internal)?;
    let line = crate::server::db::monitoring_line(db, year).await?;
    let (rolling, rolling_months): (Option<i64>, i64) = sqlx::query_as(&format!(
        "SELECT x.rolling_pc, x.months FROM {} x",
        rolling_table(rolling_window(now()), "h.id = $1")
    ))
    .bind(household_id)
    .fetch_one(&db.pool)
    .await?;
    let rolling_fen = rolling.map(Fen::new);
    let cursor = NEWEST_FIRST.parse(after)?;
    let sql = format!(
        "SELECT e.id, e.amount_fen, e.source_type, e.note, e.order_item_id, e.occurred_at,
                u.display_name AS recorded_by, e.evidence, e.evidence_ref, {}
           FROM ledger_entries e LEFT JOIN users u ON u.id = e.recorded_by
          WHERE e.household_id = $1 AND {} ORDER BY {} LIMIT {}",
        NEWEST_FIRST.cursor_column(),
        NEWEST_FIRST.condition(cursor.as_ref(), 2),
        NEWEST_FIRST.order_by(),
        LEDGER_PAGE_SIZE + 1
    );
    let query = sqlx::query_as::<_, EntryRow>(&sql).bind(household_id);
    let rows = keyset::bind_keys(query, cursor.as_ref())
        .fetch_all(&db.pool)
        .await
        .map_err(AppError::internal)?;
    let recent = keyset::page(rows, LEDGER_PAGE_SIZE, LedgerRow::from);
    let region_path = crate::server::db::region_names(db, &region).await?;
    Ok(IncomeRecord {
        household_id,
        head_name,
        region_path,
        members,
        year,
        total_fen: total,
        verified_fen: verified,
        attested_fen: attested,
        by_source,
        by_month,
        per_capita_fen: per_capita.map(Fen::fen),
        baseline_per_capita_fen: baseline.map(|b| b.1),
        baseline_year: baseline.map(|b| b.0),
        line_fen: line.map(Fen::fen),
        rolling_per_capita_fen: rolling,
        rolling_months,
        distance_to_line_fen: match (rolling_fen, line) {
            (Some(pc), Some(l)) => Some(income::distance_to_line(pc, l).fen()),
            _ => None,
        },
        status: match line {
            Some(l) => income::status(rolling_fen, l),
            None => income::MonitoringStatus::Unknown,
        },
        recent,
    })
}

#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn record_income(
    household_id: i64,
    amount: &str,
    source: &str,
    note: Option<&str>,
    confirm: bool,
) -> Result<LedgerRow, AppError> {
    let state = AppState::get()?;
    let db = &state.db;
    let user = require_user().await?;
    if !matches!(user.role, Role::Official | Role::Admin) {
        return Err(AppError::new(ErrorCode::Forbidden));
    }
    let pf = policy::household_facts(db, &user, household_id).await?;
    policy::require(&user, Action::RecordIncome, &pf)?;
    if !MANUAL_SOURCES.contains(&source) {
        return Err(AppError::new(ErrorCode::BadRequest).field("source_type"));
    }
    let amount = amount.trim();
    let (negative, digits) = match amount.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, amount),
    };
    let fen = Fen::parse_yuan(digits)
        .ok()
        .filter(|f| f.fen() > 0)
        .ok_or_else(|| AppError::new(ErrorCode::InvalidAmount).field("amount"))?;
    let fen = if negative { -fen.fen() } else { fen.fen() };
    // Every official record says what it is: the note is its evidence, beside who wrote it.
    let note = note
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .ok_or_else(|| AppError::new(ErrorCode::NoteRequired).field("note"))?;
    if note.chars().count() > 200 {
        return Err(AppError::new(ErrorCode::BadRequest).field("note"));
    }
    // A large amount either way is what lifts a household past the line on paper: it needs
    // an explicit confirmation too.
    if let Some(line) = crate::server::db::monitoring_line(db, current_year()).await? {
        let limit = (line.fen() as i128) * (state.settings.large_record_lines as i128);
        if (fen as i128).abs() > limit && !confirm {
            return Err(AppError::new(ErrorCode::ConfirmationRequired).field("confirm"));
        }
    }
    let t = now();
    let mut tx = db.begin_write().await?;
    let id = super::post::record_other(
        &mut tx,
        &super::post::OtherIncome {
            household_id,
            amount_fen: fen,
            source,
            note,
            recorded_by: user.id,
            occurred_at: t,
            created_at: t,
        },
    )
    .await?;
    tx.commit().await?;
    Ok(LedgerRow {
        id,
        amount_fen: fen,
        source_type: source.to_owned(),
        note: Some(note.to_owned()),
        order_item_id: None,
        occurred_at: t,
        recorded_by: Some(user.display_name.clone()),
        evidence: Some("official".into()),
        evidence_ref: None,
    })
}

/// What `zhunong check-ledger` found.
#[derive(Debug, Default)]
pub struct LedgerCheck {
    pub paid_items: i64,
    pub refunded_items: i64,
    pub ledger_rows: i64,
    pub households: i64,
    pub total_fen: i64,
    /// Rows resting on a provider's verified notification, or an official's record.
    pub verified_fen: i64,
    /// Sale rows resting on a seller's word (a confirmed transfer, or older rows).
    pub attested_fen: i64,
    pub chain: super::post::ChainCheck,
    pub problems: Vec<String>,
}

/// Verifies the books: every paid item's posted rows equal its allocation; every refund is
/// reversed exactly; unpaid orders have no rows; per-household totals equal the sum of their rows
/// by source and by item.
pub async fn check_ledger(db: &Db) -> Result<LedgerCheck, sqlx::Error> {
    let mut c = LedgerCheck::default();
    // Expected sale and reversal per (item, household) against what was posted.
    let rows: Vec<(i64, i64, String, i64, i64, i64)> = sqlx::query_as(
        "SELECT a.order_item_id, a.household_id, o.status, a.amount_fen,
                CAST(COALESCE((SELECT SUM(e.amount_fen) FROM ledger_entries e
                   WHERE e.order_item_id = a.order_item_id AND e.household_id = a.household_id AND e.source_type = 'sale'), 0) AS BIGINT),
                CAST(COALESCE((SELECT SUM(e.amount_fen) FROM ledger_entries e
                   WHERE e.order_item_id = a.order_item_id AND e.household_id = a.household_id AND e.source_type = 'sale_reversal'), 0) AS BIGINT)
           FROM order_item_allocations a
           JOIN order_items i ON i.id = a.order_item_id
           JOIN orders o ON o.id = i.order_id
          ORDER BY a.order_item_id, a.household_id",
    )
    .fetch_all(&db.pool)
    .await?;
    let mut paid_items = std::collections::BTreeSet::new();
    let mut refunded_items = std::collections::BTreeSet::new();
    for (item, household, status, expected, sale, reversal) in rows {
        let (want_sale, want_reversal) = match status.as_str() {
            "paid" | "shipped" | "delivered" => {
                paid_items.insert(item);
                (expected, 0)
            }
            "refunded" => {
                refunded_items.insert(item);
                (expected, -expected)
            }
            _ => (0, 0),
        };
        if sale != want_sale {
            c.problems.push(format!("item {item}, household {household} ({status}): sale rows {sale} fen, allocation says {want_sale}"));
        }
        if reversal != want_reversal {
            c.problems.push(format!("item {item}, household {household} ({status}): reversal rows {reversal} fen, expected {want_reversal}"));
        }
    }
    // Rows that point at an item without a matching allocation.
    let orphans: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM ledger_entries e WHERE e.order_item_id IS NOT NULL AND NOT EXISTS
           (SELECT 1 FROM order_item_allocations a WHERE a.order_item_id = e.order_item_id AND a.household_id = e.household_id)",
    )
    .fetch_one(&db.pool)
    .await?;
    if orphans > 0 {
        c.problems.push(format!(
            "{orphans} ledger rows name an order item that allocated nothing to that household"
        ));
    }
    // The monthly table equals the ledger: per household, verified and attested totals.
    let drift: Vec<(i64, i64, i64, i64, i64)> = sqlx::query_as(&format!(
        "SELECT l.household_id, l.v, l.a, COALESCE(m.v, 0), COALESCE(m.a, 0)
           FROM (SELECT household_id,
                        CAST(SUM(CASE WHEN {ATTESTED} THEN 0 ELSE amount_fen END) AS BIGINT) AS v,
                        CAST(SUM(CASE WHEN {ATTESTED} THEN amount_fen ELSE 0 END) AS BIGINT) AS a
                   FROM ledger_entries GROUP BY household_id) l
           LEFT JOIN (SELECT household_id, CAST(SUM(verified_fen) AS BIGINT) AS v,
                             CAST(SUM(attested_fen) AS BIGINT) AS a
                        FROM income_months GROUP BY household_id) m ON m.household_id = l.household_id
          WHERE l.v <> COALESCE(m.v, 0) OR l.a <> COALESCE(m.a, 0)"
    ))
    .fetch_all(&db.pool)
    .await?;
    for (household, lv, la, mv, ma) in drift {
        c.problems.push(format!(
            "household {household}: income_months says {mv} verified and {ma} attested fen, the ledger {lv} and {la}"
        ));
    }
    // Per-household totals: the sum of rows equals the sums by source.
    let totals: Vec<(i64, i64, i64)> = sqlx::query_as(
        "SELECT h.household_id, CAST(SUM(h.amount_fen) AS BIGINT),
                CAST((SELECT SUM(s.t) FROM (SELECT SUM(e.amount_fen) AS t FROM ledger_entries e
                        WHERE e.household_id = h.household_id GROUP BY e.source_type) s) AS BIGINT)
           FROM ledger_entries h GROUP BY h.household_id",
    )
    .fetch_all(&db.pool)
    .await?;
    for (household, total, by_source) in &totals {
        if total != by_source {
            c.problems.push(format!(
                "household {household}: total {total} fen but sources add up to {by_source}"
            ));
        }
        c.total_fen += total;
    }
    c.households = totals.len() as i64;
    c.ledger_rows = sqlx::query_scalar("SELECT COUNT(*) FROM ledger_entries")
        .fetch_one(&db.pool)
        .await?;
    c.paid_items = paid_items.len() as i64;
    c.refunded_items = refunded_items.len() as i64;
    // Each line's total is its quantity times its unit price; each order's total is its lines'
    // plus its shipping (which no household receives).
    let bad_lines: Vec<i64> = sqlx::query_scalar(
        "SELECT id FROM order_items WHERE line_total_fen <> quantity * unit_price_fen ORDER BY id LIMIT 20",
    )
    .fetch_all(&db.pool)
    .await?;
    for id in bad_lines {
        c.problems.push(format!(
            "order item {id}: line total is not quantity × unit price"
        ));
    }
    let bad_orders: Vec<(i64, i64, i64)> = sqlx::query_as(
        "SELECT o.id, o.total_fen, CAST(SUM(i.line_total_fen) + o.shipping_fen AS BIGINT) FROM orders o
           JOIN order_items i ON i.order_id = o.id
          GROUP BY o.id, o.total_fen, o.shipping_fen HAVING o.total_fen <> SUM(i.line_total_fen) + o.shipping_fen
          ORDER BY o.id LIMIT 20",
    )
    .fetch_all(&db.pool)
    .await?;
    for (id, total, lines) in bad_orders {
        c.problems.push(format!(
            "order {id}: total {total} fen, lines and shipping add up to {lines}"
        ));
    }
    // A sale row's evidence is its order's payment: the same reference, and for a provider a
    // payment its verified notification marked paid.
    let unproven: Vec<(i64, Option<String>)> = sqlx::query_as(
        "SELECT e.id, e.evidence FROM ledger_entries e
           JOIN order_items i ON i.id = e.order_item_id
           JOIN orders o ON o.id = i.order_id
          WHERE e.source_type = 'sale' AND e.evidence IS NOT NULL
            AND (e.evidence <> CASE WHEN o.paid_with = 'transfer' THEN 'transfer' ELSE 'provider' END
                 OR o.paid_ref IS NULL OR e.evidence_ref <> o.paid_ref
                 OR (e.evidence = 'provider' AND NOT EXISTS (
                     SELECT 1 FROM payments p JOIN payment_notifications n ON n.payment_id = p.id AND n.outcome = 'paid'
                      WHERE p.order_id = o.id AND p.provider || ':' || p.transaction_id = e.evidence_ref)))
          ORDER BY e.id LIMIT 20",
    )
    .fetch_all(&db.pool)
    .await?;
    for (id, evidence) in unproven {
        c.problems.push(format!(
            "ledger row {id}: a sale whose {} evidence does not match its order's payment",
            evidence.unwrap_or_default()
        ));
    }
    // Other income is recorded by an official or an admin, with a note.
    let unofficial: Vec<i64> = sqlx::query_scalar(
        "SELECT e.id FROM ledger_entries e LEFT JOIN users u ON u.id = e.recorded_by
          WHERE e.order_item_id IS NULL AND e.evidence IS NOT NULL
            AND (e.evidence <> 'official' OR e.note IS NULL OR u.role IS NULL OR u.role NOT IN ('official', 'admin'))
          ORDER BY e.id LIMIT 20",
    )
    .fetch_all(&db.pool)
    .await?;
    for id in unofficial {
        c.problems.push(format!(
            "ledger row {id}: other income not recorded by an official with a note"
        ));
    }
    let (verified, attested): (i64, i64) = sqlx::query_as(&format!(
        "SELECT CAST(COALESCE(SUM(CASE WHEN {ATTESTED} THEN 0 ELSE amount_fen END), 0) AS BIGINT),
                CAST(COALESCE(SUM(CASE WHEN {ATTESTED} THEN amount_fen ELSE 0 END), 0) AS BIGINT)
           FROM ledger_entries"
    ))
    .fetch_one(&db.pool)
    .await?;
    c.verified_fen = verified;
    c.attested_fen = attested;
    c.chain = super::post::verify_chain(db).await?;
    if let Some(bad) = &c.chain.first_bad {
        c.problems.push(format!("hash chain: {bad}"));
    }
    Ok(c)
}
