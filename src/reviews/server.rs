//! Reviews on the server: the only writer of `listing_reviews`.

use super::api::{RatingSummary, ReviewView, ReviewsPage, MAX_REVIEW_CHARS, REVIEWS_PAGE_SIZE};
use crate::auth::api::CurrentUser;
use crate::auth::server::{current_user, require_user};
use crate::domain::monitoring::bounded_text;
use crate::error::{AppError, ErrorCode};
use crate::policy::{self, Action, Decision, Facts};
use crate::server::db::{now, Db};
use crate::server::keyset::{self, desc, Cursored, Keyset};
use crate::server::state::AppState;

/// Newest first.
const BY_NEWEST: Keyset = Keyset(&[desc("r.id")]);

const REVIEW_COLUMNS: &str =
    "r.id, r.rating, r.body, u.display_name, r.created_at, r.reply, r.hidden_at";

#[derive(sqlx::FromRow)]
struct ReviewRow {
    id: i64,
    rating: i64,
    body: String,
    display_name: String,
    created_at: i64,
    reply: Option<String>,
    hidden_at: Option<i64>,
    #[sqlx(default)]
    cursor: String,
}

impl Cursored for ReviewRow {
    fn cursor(&self) -> &str {
        &self.cursor
    }
}

/// A buyer's name as others see it: the first character, then `**`.
fn masked(name: &str) -> String {
    let first: String = name.chars().take(1).collect();
    format!("{first}**")
}

impl From<ReviewRow> for ReviewView {
    fn from(r: ReviewRow) -> ReviewView {
        ReviewView {
            id: r.id,
            rating: r.rating,
            body: r.body,
            reviewer: masked(&r.display_name),
            created_at: r.created_at,
            reply: r.reply,
            hidden: r.hidden_at.is_some(),
        }
    }
}

async fn one(db: &Db, id: i64) -> Result<ReviewView, AppError> {
    let row: Option<ReviewRow> = sqlx::query_as(&format!(
        "SELECT {REVIEW_COLUMNS} FROM listing_reviews r JOIN users u ON u.id = r.buyer_id WHERE r.id = $1"
    ))
    .bind(id)
    .fetch_optional(&db.pool)
    .await
    .map_err(AppError::internal)?;
    row.map(ReviewView::from)
        .ok_or_else(|| AppError::new(ErrorCode::NotFound))
}

fn allowed(user: &CurrentUser, action: Action, f: &Facts) -> bool {
    policy::decide(user, action, f) == Decision::Allow
}

pub async fn listing_reviews(
    listing_id: i64,
    after: Option<&str>,
) -> Result<ReviewsPage, AppError> {
    let state = AppState::get()?;
    let db = state.reader();
    let user = current_user().await?;
    let status: Option<String> = sqlx::query_scalar("SELECT status FROM listings WHERE id = $1")
        .bind(listing_id)
        .fetch_optional(&db.pool)
        .await
        .map_err(AppError::internal)?;
    let status = status.ok_or_else(|| AppError::new(ErrorCode::ListingUnavailable))?;
    let (can_reply, can_hide) = match &user {
        Some(u) => (
            allowed(
                u,
                Action::ReplyReview,
                &policy::listing_facts(&state.db, u, listing_id).await?,
            ),
            allowed(u, Action::HideReview, &Facts::default()),
        ),
        None => (false, false),
    };
    // Reviews of a listing no longer shown are for its seller (and support) only.
    if !matches!(status.as_str(), "on_sale" | "sold_out") && !can_reply && !can_hide {
        return Err(AppError::new(ErrorCode::ListingUnavailable));
    }
    let (count, sum): (i64, i64) = sqlx::query_as(
        "SELECT COUNT(*), CAST(COALESCE(SUM(rating), 0) AS BIGINT) FROM listing_reviews
          WHERE listing_id = $1 AND hidden_at IS NULL",
    )
    .bind(listing_id)
    .fetch_one(&db.pool)
    .await
    .map_err(AppError::internal)?;
    let cursor = BY_NEWEST.parse(after)?;
    let hidden = if can_hide {
        ""
    } else {
        " AND r.hidden_at IS NULL"
    };
    let sql = format!(
        "SELECT {REVIEW_COLUMNS}, {} FROM listing_reviews r JOIN users u ON u.id = r.buyer_id
          WHERE r.listing_id = $1{hidden} AND {} ORDER BY {} LIMIT {}",
        BY_NEWEST.cursor_column(),
        BY_NEWEST.condition(cursor.as_ref(), 2),
        BY_NEWEST.order_by(),
        REVIEWS_PAGE_SIZE + 1
    );
    let q = sqlx::query_as::<_, ReviewRow>(&sql).bind(listing_id);
    let rows = keyset::bind_keys(q, cursor.as_ref())
        .fetch_all(&db.pool)
        .await
        .map_err(AppError::internal)?;
    Ok(ReviewsPage {
        summary: RatingSummary::of(count, sum),
        page: keyset::page(rows, REVIEWS_PAGE_SIZE, ReviewView::from),
        can_reply,
        can_hide,
    })
}

fn review_text(raw: &str, field: &'static str, required: bool) -> Result<String, AppError> {
    let t = raw.trim();
    if t.is_empty() && !required {
        return Ok(String::new());
    }
    bounded_text(t, MAX_REVIEW_CHARS)
        .ok_or_else(|| AppError::new(ErrorCode::BadRequest).field(field))
}

pub async fn write(order_item_id: i64, rating: &str, body: &str) -> Result<ReviewView, AppError> {
    let state = AppState::get()?;
    let db = &state.db;
    let user = require_user().await?;
    let rating: i64 = rating
        .trim()
        .parse()
        .ok()
        .filter(|r| (1..=5).contains(r))
        .ok_or_else(|| AppError::new(ErrorCode::BadRequest).field("rating"))?;
    let body = review_text(body, "body", false)?;
    let item: Option<(i64, i64, String)> = sqlx::query_as(
        "SELECT i.order_id, i.listing_id, o.status FROM order_items i JOIN orders o ON o.id = i.order_id WHERE i.id = $1",
    )
    .bind(order_item_id)
    .fetch_optional(&db.pool)
    .await
    .map_err(AppError::internal)?;
    let (order_id, listing_id, status) = item.ok_or_else(|| AppError::new(ErrorCode::NotFound))?;
    policy::require(
        &user,
        Action::WriteReview,
        &policy::order_facts(db, &user, order_id).await?,
    )?;
    if status != "delivered" {
        return Err(AppError::new(ErrorCode::NotDelivered));
    }
    let id: Option<i64> = sqlx::query_scalar(
        "INSERT INTO listing_reviews (order_item_id, listing_id, buyer_id, rating, body, created_at)
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (order_item_id) DO NOTHING RETURNING id",
    )
    .bind(order_item_id)
    .bind(listing_id)
    .bind(user.id)
    .bind(rating)
    .bind(body)
    .bind(now())
    .fetch_optional(db.writer())
    .await
    .map_err(AppError::from)?;
    let id = id.ok_or_else(|| AppError::new(ErrorCode::AlreadyReviewed))?;
    one(db, id).await
}

pub async fn reply(review_id: i64, text: &str) -> Result<ReviewView, AppError> {
    let state = AppState::get()?;
    let db = &state.db;
    let user = require_user().await?;
    let text = review_text(text, "reply", true)?;
    let found: Option<(i64, Option<i64>)> =
        sqlx::query_as("SELECT listing_id, hidden_at FROM listing_reviews WHERE id = $1")
            .bind(review_id)
            .fetch_optional(&db.pool)
            .await
            .map_err(AppError::internal)?;
    // A hidden review is not there for the seller (its text is for administrators only).
    let listing_id = match found {
        Some((listing, None)) => listing,
        _ => return Err(AppError::new(ErrorCode::NotFound)),
    };
    policy::require(
        &user,
        Action::ReplyReview,
        &policy::listing_facts(db, &user, listing_id).await?,
    )?;
    let changed = sqlx::query(
        "UPDATE listing_reviews SET reply = $1, replied_by = $2, replied_at = $3
          WHERE id = $4 AND reply IS NULL AND hidden_at IS NULL",
    )
    .bind(text)
    .bind(user.id)
    .bind(now())
    .bind(review_id)
    .execute(db.writer())
    .await
    .map_err(AppError::from)?
    .rows_affected();
    if changed == 0 {
        return Err(AppError::new(ErrorCode::AlreadyReplied));
    }
    one(db, review_id).await
}

pub async fn hide(review_id: i64, hidden: bool) -> Result<ReviewView, AppError> {
    let state = AppState::get()?;
    let db = &state.db;
    let user = require_user().await?;
    policy::require(&user, Action::HideReview, &Facts::default())?;
    let changed =
        sqlx::query("UPDATE listing_reviews SET hidden_at = $1, hidden_by = $2 WHERE id = $3")
            .bind(hidden.then(now))
            .bind(hidden.then_some(user.id))
            .bind(review_id)
            .execute(db.writer())
            .await
            .map_err(AppError::from)?
            .rows_affected();
    if changed == 0 {
        return Err(AppError::new(ErrorCode::NotFound));
    }
    tracing::info!(
        review_id,
        hidden,
        admin = user.id,
        "review visibility changed"
    );
    one(db, review_id).await
}
