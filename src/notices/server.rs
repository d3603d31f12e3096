//! The notification centre on the server: the only writer of `user_notifications`. Each notice
//! is written in the caller's transaction (what changed and its notice commit together), and a
//! message for the same users is queued in the outbox (`notifications`, see
//! `crate::server::notify`), which a sender delivers with retries.

use super::api::{NoticeView, NoticesPage, NOTICES_PAGE_SIZE};
use crate::auth::server::require_user;
use crate::domain::notice::NoticeKind;
use crate::domain::region::RegionCode;
use crate::error::{AppError, ErrorCode};
use crate::server::db::{now, Db};
use crate::server::keyset::{self, desc, Cursored, Keyset};
use crate::server::state::AppState;

type Tx = sqlx::Transaction<'static, sqlx::Any>;

/// Who sells an order (`$1`): the household's account and its paired cadres, or the co-op's
/// managers.
const ORDER_SELLERS: &str = "SELECT u.id AS uid FROM users u JOIN orders o ON o.id = $1
     WHERE (u.role = 'household' AND u.household_id = o.seller_household_id)
        OR (u.role = 'org_manager' AND u.organisation_id = o.seller_organisation_id)
        OR (u.role = 'cadre' AND u.id IN (SELECT p.user_id FROM cadre_pairings p
                                           WHERE p.household_id = o.seller_household_id))";
/// Who bought an order (`$1`).
const ORDER_BUYER: &str = "SELECT o.buyer_id AS uid FROM orders o WHERE o.id = $1";

/// Tells the users `recipients` selects (one `uid` column, with `$1` bound to `subject`) about
/// `kind`: a notice each, and with `message` a message each in the outbox. How many were told.
async fn tell(
    tx: &mut Tx,
    kind: NoticeKind,
    recipients: &str,
    subject: i64,
    shown: Option<i64>,
    t: i64,
    message: bool,
) -> Result<u64, AppError> {
    let told = sqlx::query(&format!(
        "INSERT INTO user_notifications (user_id, kind, subject_id, created_at)
         SELECT DISTINCT r.uid, $2, $3, $4 FROM ({recipients}) r"
    ))
    .bind(subject)
    .bind(kind.as_str())
    .bind(shown)
    .bind(t)
    .execute(&mut **tx)
    .await
    .map_err(AppError::internal)?
    .rows_affected();
    if told > 0 && message {
        crate::server::notify::queue_for_users(
            tx,
            &format!("SELECT r.uid FROM ({recipients}) r"),
            subject,
            &kind.message(shown),
            t,
        )
        .await?;
    }
    Ok(told)
}

/// An order's event, told to its buyer or its seller as the kind says, in `tx`.
pub async fn order_event(
    tx: &mut Tx,
    kind: NoticeKind,
    order_id: i64,
    t: i64,
) -> Result<(), AppError> {
    let recipients = match kind {
        NoticeKind::OrderPaid | NoticeKind::OrderShipped | NoticeKind::OrderRefunded => ORDER_BUYER,
        NoticeKind::OrderPlaced | NoticeKind::OrderToShip | NoticeKind::OrderDelivered => {
            ORDER_SELLERS
        }
        NoticeKind::ReportFiled | NoticeKind::VisitTask => {
            return Err(AppError::internal("not an order event"))
        }
    };
    tell(tx, kind, recipients, order_id, Some(order_id), t, true).await?;
    Ok(())
}

/// A new self-report about `village`: told to the officials whose region holds it.
pub async fn report_filed(
    tx: &mut Tx,
    report_id: i64,
    village: &RegionCode,
    t: i64,
) -> Result<(), AppError> {
    // The village and every region above it: an official of any of them oversees it.
    let codes: Vec<String> = village
        .ancestors()
        .iter()
        .map(|c| format!("'{}'", c.as_str()))
        .collect();
    // Codes are parsed division codes (digits only), so they stand in the text safely.
    let recipients = format!(
        "SELECT u.id AS uid FROM users u WHERE u.role = 'official' AND u.region_code IN ({})
            AND $1 = $1",
        codes.join(", ")
    );
    // In the app only: one anonymous report must not text every official up to the province.
    tell(
        tx,
        NoticeKind::ReportFiled,
        &recipients,
        report_id,
        None,
        t,
        false,
    )
    .await?;
    Ok(())
}

/// Visit tasks the early-warning scan raised in `tx` (ids above `after`): told to the
/// households' paired cadres, in the same transaction.
pub async fn visit_tasks_raised(tx: &mut Tx, after: i64, t: i64) -> Result<u64, AppError> {
    let recipients = "SELECT DISTINCT p.user_id AS uid FROM monitoring_tasks mt
        JOIN cadre_pairings p ON p.household_id = mt.household_id
       WHERE mt.id > $1 AND mt.done_at IS NULL";
    tell(tx, NoticeKind::VisitTask, recipients, after, None, t, true).await
}

/// Newest first.
const BY_NEWEST: Keyset = Keyset(&[desc("n.id")]);

#[derive(sqlx::FromRow)]
struct NoticeRow {
    id: i64,
    kind: String,
    subject_id: Option<i64>,
    created_at: i64,
    read_at: Option<i64>,
    #[sqlx(default)]
    cursor: String,
}

impl Cursored for NoticeRow {
    fn cursor(&self) -> &str {
        &self.cursor
    }
}

/// Notices not yet read by `user_id`.
pub async fn unread(db: &Db, user_id: i64) -> Result<i64, AppError> {
    sqlx::query_scalar(
        "SELECT COUNT(*) FROM user_notifications WHERE user_id = $1 AND read_at IS NULL",
    )
    .bind(user_id)
    .fetch_one(&db.pool)
    .await
    .map_err(AppError::internal)
}

pub async fn list(after: Option<&str>) -> Result<NoticesPage, AppError> {
    let state = AppState::get()?;
    let db = &state.db;
    let user = require_user().await?;
    let cursor = BY_NEWEST.parse(after)?;
    let sql = format!(
        "SELECT n.id, n.kind, n.subject_id, n.created_at, n.read_at, {} FROM user_notifications n
          WHERE n.user_id = $1 AND {} ORDER BY {} LIMIT {}",
        BY_NEWEST.cursor_column(),
        BY_NEWEST.condition(cursor.as_ref(), 2),
        BY_NEWEST.order_by(),
        NOTICES_PAGE_SIZE + 1
    );
    let q = sqlx::query_as::<_, NoticeRow>(&sql).bind(user.id);
    let rows = keyset::bind_keys(q, cursor.as_ref())
        .fetch_all(&db.pool)
        .await
        .map_err(AppError::internal)?;
    Ok(NoticesPage {
        page: keyset::page(rows, NOTICES_PAGE_SIZE, |r| NoticeView {
            id: r.id,
            kind: r.kind,
            subject_id: r.subject_id,
            created_at: r.created_at,
            read: r.read_at.is_some(),
        }),
        unread: unread(db, user.id).await?,
    })
}

pub async fn mark_read(id: Option<i64>) -> Result<i64, AppError> {
    let state = AppState::get()?;
    let db = &state.db;
    let user = require_user().await?;
    // Only the user's own: another's id changes nothing and says not found.
    let changed = match id {
        Some(id) => sqlx::query(
            "UPDATE user_notifications SET read_at = $1 WHERE id = $2 AND user_id = $3 AND read_at IS NULL",
        )
        .bind(now())
        .bind(id)
        .bind(user.id)
        .execute(db.writer())
        .await
        .map_err(AppError::from)?
        .rows_affected(),
        None => sqlx::query(
            "UPDATE user_notifications SET read_at = $1 WHERE user_id = $2 AND read_at IS NULL",
        )
        .bind(now())
        .bind(user.id)
        .execute(db.writer())
        .await
        .map_err(AppError::from)?
        .rows_affected(),
    };
    if let Some(id) = id {
        if changed == 0 {
            let mine: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM user_notifications WHERE id = $1 AND user_id = $2",
            )
            .bind(id)
            .bind(user.id)
            .fetch_one(&db.pool)
            .await
            .map_err(AppError::internal)?;
            if mine == 0 {
                return Err(AppError::new(ErrorCode::NotFound));
            }
        }
    }
    unread(db, user.id).await
}
