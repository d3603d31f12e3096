//! Livestream sales on the server: events, their line-up and flash prices, the price of a
//! checkout line that came from an event, the counters and the report. The only writer of
//! `live_events` and `live_event_listings`; orders are written by `orders::server`, which asks
//! this module for a line's price and tells it when an event's order is paid or undone.

use super::api::{
    ConsoleView, EventReport, FeaturedListing, FlashOffer, LiveCounters, LiveEventCard,
    LiveEventList, LiveEventView, LiveOrder, LiveState, VillageResult, MAX_FEATURED,
    MAX_FLASH_SECS, MIN_FLASH_SECS, PAST_PAGE_SIZE,
};
use crate::auth::api::CurrentUser;
use crate::auth::server::{current_user, require_user};
use crate::domain::allocation::BenefitTerms;
use crate::domain::live::{flash_applies, parse_local_datetime, platform_of, valid_https_url};
use crate::domain::money::Fen;
use crate::domain::region::{RegionCode, RegionLevel};
use crate::domain::role::Role;
use crate::error::{AppError, ErrorCode, PriceChange};
use crate::policy::{self, Action, Decision};
use crate::server::db::{now, Db};
use crate::server::keyset::{desc, Keyset};
use crate::server::state::AppState;

type Tx = sqlx::Transaction<'static, sqlx::Any>;

/// The longest event.
const MAX_EVENT_SECS: i64 = 24 * 3600;
/// Live and upcoming events shown at once.
const MAX_CURRENT: i64 = 20;
/// Orders the console lists.
const CONSOLE_ORDERS: i64 = 20;
/// Villages in a report (a county has a few hundred).
pub const MAX_REPORT_VILLAGES: i64 = 1000;
/// Past events, newest first.
const PAST: Keyset = Keyset(&[desc("e.starts_at"), desc("e.id")]);

const CARD_SELECT: &str = "SELECT e.id, e.title, e.host_name, e.county_code, c.name AS county_name,
        e.starts_at, e.ends_at, e.status, e.replay_url,
        (SELECT p.thumb_path FROM listing_photos p WHERE p.listing_id = e.cover_listing_id
          ORDER BY p.position LIMIT 1) AS cover";
const CARD_FROM: &str = "FROM live_events e JOIN regions c ON c.code = e.county_code";

#[derive(sqlx::FromRow)]
struct CardRow {
    id: i64,
    title: String,
    host_name: String,
    county_code: String,
    county_name: String,
    starts_at: i64,
    ends_at: i64,
    status: String,
    replay_url: Option<String>,
    cover: Option<String>,
    #[sqlx(default)]
    cursor: String,
}

impl crate::server::keyset::Cursored for CardRow {
    fn cursor(&self) -> &str {
        &self.cursor
    }
}

impl From<CardRow> for LiveEventCard {
    fn from(r: CardRow) -> LiveEventCard {
        LiveEventCard {
            id: r.id,
            title: r.title,
            host_name: r.host_name,
            county_code: r.county_code,
            county_name: r.county_name,
            starts_at: r.starts_at,
            ends_at: r.ends_at,
            status: r.status,
            cover: r.cover.as_deref().map(crate::market::photos::public_url),
            results: None,
            replay_url: r.replay_url,
        }
    }
}

fn bad(field: &str) -> AppError {
    AppError::new(ErrorCode::BadRequest).field(field)
}

/// What a checkout line that came from an event costs and carries.
#[derive(Debug, Clone, Copy, Default)]
pub struct LivePrice {
    /// The event the order carries (None: the line is not in a running or coming event's
    /// line-up, and is an ordinary line).
    pub event_id: Option<i64>,
    /// The flash price, when it applied (a unit of its cap is reserved).
    pub flash_price_fen: Option<i64>,
}

/// The flash price of `qty` units of `listing` in `event` at `t` for `buyer`, if one applies
/// (for a quote: nothing is reserved): inside its window, while the cap has room for `qty`
/// units, and within the buyer's limit. Otherwise the line would go at the normal price.
pub async fn flash_price_at(
    db: &Db,
    event: i64,
    listing: i64,
    buyer: Option<i64>,
    qty: i64,
    t: i64,
) -> Result<Option<i64>, AppError> {
    type Row = (String, Option<i64>, Option<i64>, Option<i64>, Option<i64>);
    let row: Option<Row> = sqlx::query_as(
        "SELECT e.status, el.flash_price_fen, el.flash_starts_at, el.flash_ends_at, el.per_buyer_limit
           FROM live_event_listings el JOIN live_events e ON e.id = el.event_id
          WHERE el.event_id = $1 AND el.listing_id = $2 AND e.ends_at > $3
            AND (el.flash_cap IS NULL OR el.flash_sold + $4 <= el.flash_cap)",
    )
    .bind(event)
    .bind(listing)
    .bind(t)
    .bind(qty)
    .fetch_optional(&db.pool)
    .await?;
    let (price, since, limit) = match row {
        Some((status, Some(p), Some(s), Some(e), limit)) if flash_applies(&status, s, e, t) => {
            (p, s, limit)
        }
        _ => return Ok(None),
    };
    if let (Some(limit), Some(buyer)) = (limit, buyer) {
        let held = held_at_flash(&db.pool, event, listing, buyer, since).await?;
        if held.saturating_add(qty) > limit {
            return Ok(None);
        }
    }
    Ok(Some(price))
}

/// The units `buyer` already holds at the flash sale of `listing` in `event` that began at
/// `since` (orders not cancelled or refunded).
async fn held_at_flash<'e, E>(
    ex: E,
    event: i64,
    listing: i64,
    buyer: i64,
    since: i64,
) -> Result<i64, AppError>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    Ok(sqlx::query_scalar(
        "SELECT CAST(COALESCE(SUM(oi.quantity), 0) AS BIGINT) FROM order_items oi JOIN orders o ON o.id = oi.order_id
          WHERE oi.live_event_id = $1 AND oi.listing_id = $2 AND oi.flash = 1 AND o.buyer_id = $3
            AND o.status IN ('placed', 'paid', 'shipped', 'delivered') AND o.created_at >= $4",
    )
    .bind(event)
    .bind(listing)
    .bind(buyer)
    .bind(since)
    .fetch_one(ex)
    .await?)
}

/// The flash price a line of `qty` units gets, if any: a discount only (never above the normal
/// price, which a seller may lower during the sale), and only while it still pays the
/// households' terms (a seller may raise a per-unit share mid-sale). Otherwise the normal price
/// applies, and the buyer is shown it (409 `price_changed`) before anything is ordered. The
/// quote and the checkout both ask this.
pub fn flash_for_line(
    flash: Option<i64>,
    normal: i64,
    qty: i64,
    terms: &BenefitTerms,
) -> Option<i64> {
    flash
        .map(|p| p.min(normal))
        .filter(|&p| terms.allocate(Fen::new(p), qty).is_ok())
}

/// A checkout line that came from a livestream, as the checkout asks for its price.
pub struct EventLine<'a> {
    pub event: i64,
    pub listing: i64,
    pub buyer: i64,
    pub qty: i64,
    /// The listing's price now.
    pub normal_price: i64,
    pub terms: &'a BenefitTerms,
    /// The unit price the buyer was shown, when they sent it.
    pub seen: Option<i64>,
}

/// Prices a checkout line from `event` in the checkout's transaction: the flash price while it
/// applies (the buyer's limit checked, a unit of the cap reserved by a conditional update, so
/// concurrent checkouts cannot pass it), else the normal price; an ended event's line is an
/// ordinary one.
pub async fn price_line(tx: &mut Tx, line: EventLine<'_>, t: i64) -> Result<LivePrice, AppError> {
    let EventLine {
        event,
        listing,
        buyer,
        qty,
        normal_price,
        terms,
        seen,
    } = line;
    type Row = (
        String,
        i64,
        Option<i64>,
        Option<i64>,
        Option<i64>,
        Option<i64>,
    );
    let row: Option<Row> = sqlx::query_as(
        "SELECT e.status, e.ends_at, el.flash_price_fen, el.flash_starts_at, el.flash_ends_at, el.per_buyer_limit
           FROM live_event_listings el JOIN live_events e ON e.id = el.event_id
          WHERE el.event_id = $1 AND el.listing_id = $2",
    )
    .bind(event)
    .bind(listing)
    .fetch_optional(&mut **tx)
    .await?;
    let Some((status, event_ends, price, starts, ends, limit)) = row else {
        return Ok(LivePrice::default());
    };
    // An event that ended (or whose time is over) makes an ordinary line.
    if status == "ended" || t >= event_ends {
        return Ok(LivePrice::default());
    }
    let price = flash_for_line(price, normal_price, qty, terms);
    let flash = match (price, starts, ends) {
        (Some(p), Some(s), Some(e)) if flash_applies(&status, s, e, t) => Some((p, s)),
        _ => None,
    };
    let Some((price, since)) = flash else {
        return Ok(LivePrice {
            event_id: Some(event),
            flash_price_fen: None,
        });
    };
    // Past the buyer's limit or the cap, the line goes at the normal price, still from the
    // event. A buyer who was shown the flash price is told first (409 with the normal price),
    // so nobody pays more than they saw without seeing it; the next try is at the normal price.
    let refuse = |code: ErrorCode| {
        let mut e = AppError::new(code).field("items");
        e.price_change = Some(PriceChange {
            listing_id: listing,
            price_fen: normal_price,
        });
        e
    };
    let ordinary = LivePrice {
        event_id: Some(event),
        flash_price_fen: None,
    };
    if let Some(limit) = limit {
        // The buyer's checkouts run one at a time, so this count cannot race with their own.
        let held = held_at_flash(&mut **tx, event, listing, buyer, since).await?;
        if held.saturating_add(qty) > limit {
            return match seen {
                Some(p) if p == price && p != normal_price => Err(refuse(ErrorCode::FlashLimit)),
                _ => Ok(ordinary),
            };
        }
    }
    let reserved = sqlx::query(
        "UPDATE live_event_listings SET flash_sold = flash_sold + $1, version = version + 1
          WHERE event_id = $2 AND listing_id = $3 AND (flash_cap IS NULL OR flash_sold + $1 <= flash_cap)",
    )
    .bind(qty)
    .bind(event)
    .bind(listing)
    .execute(&mut **tx)
    .await?;
    if reserved.rows_affected() != 1 {
        return match seen {
            Some(p) if p == price && p != normal_price => Err(refuse(ErrorCode::FlashSoldOut)),
            _ => Ok(ordinary),
        };
    }
    Ok(LivePrice {
        event_id: Some(event),
        flash_price_fen: Some(price),
    })
}

/// An order was paid or refunded: if it came from an event, its viewers see the counters move.
pub async fn touch_order_event(tx: &mut Tx, order_id: i64) -> Result<(), AppError> {
    sqlx::query(
        "UPDATE live_events SET version = version + 1
          WHERE id = (SELECT live_event_id FROM orders WHERE id = $1)",
    )
    .bind(order_id)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// An order's units go back on sale: those bought at a flash price go back under its cap, if
/// they were bought in the flash sale that runs now (a later sale of the listing starts its
/// count afresh, so units of an earlier one never make room in it).
pub async fn release_flash(tx: &mut Tx, order_id: i64) -> Result<(), AppError> {
    let items: Vec<(i64, i64, i64, i64)> = sqlx::query_as(
        "SELECT oi.live_event_id, oi.listing_id, oi.quantity, o.created_at
           FROM order_items oi JOIN orders o ON o.id = oi.order_id
          WHERE oi.order_id = $1 AND oi.flash = 1 AND oi.live_event_id IS NOT NULL ORDER BY oi.listing_id",
    )
    .bind(order_id)
    .fetch_all(&mut **tx)
    .await?;
    for (event, listing, qty, placed_at) in items {
        sqlx::query(
            "UPDATE live_event_listings
                SET flash_sold = CASE WHEN flash_sold >= $1 THEN flash_sold - $1 ELSE 0 END,
                    version = version + 1
              WHERE event_id = $2 AND listing_id = $3 AND flash_starts_at <= $4",
        )
        .bind(qty)
        .bind(event)
        .bind(listing)
        .bind(placed_at)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

/// What an event has sold: the lines bought from it in paid orders, and the ledger rows of
/// those lines (net of refunds).
pub async fn counters(db: &Db, event: i64) -> Result<LiveCounters, AppError> {
    Ok(counters_of(db, &[event])
        .await?
        .remove(&event)
        .unwrap_or_default())
}

/// [`counters`] of several events, in two grouped queries.
pub async fn counters_of(
    db: &Db,
    events: &[i64],
) -> Result<std::collections::HashMap<i64, LiveCounters>, AppError> {
    let mut out = std::collections::HashMap::new();
    if events.is_empty() {
        return Ok(out);
    }
    // Server-made integers only.
    let list = events
        .iter()
        .map(i64::to_string)
        .collect::<Vec<_>>()
        .join(",");
    let sales: Vec<(i64, i64, i64, i64, i64)> = sqlx::query_as(&format!(
        "SELECT oi.live_event_id, COUNT(DISTINCT o.id), CAST(COALESCE(SUM(oi.quantity), 0) AS BIGINT),
                CAST(COALESCE(SUM(oi.line_total_fen), 0) AS BIGINT), COUNT(DISTINCT o.buyer_id)
           FROM order_items oi JOIN orders o ON o.id = oi.order_id
          WHERE oi.live_event_id IN ({list}) AND o.status IN ('paid', 'shipped', 'delivered')
          GROUP BY oi.live_event_id"
    ))
    .fetch_all(&db.pool)
    .await?;
    for (e, orders, units, gmv_fen, buyers) in sales {
        out.insert(
            e,
            LiveCounters {
                orders,
                units,
                gmv_fen,
                buyers,
                ..LiveCounters::default()
            },
        );
    }
    let income: Vec<(i64, i64, i64)> = sqlx::query_as(&format!(
        "SELECT x.event_id, CAST(COALESCE(SUM(CASE WHEN x.n > 0 THEN 1 ELSE 0 END), 0) AS BIGINT),
                CAST(COALESCE(SUM(x.n), 0) AS BIGINT)
           FROM (SELECT oi.live_event_id AS event_id, le.household_id, SUM(le.amount_fen) AS n
                   FROM ledger_entries le
                   JOIN order_items oi ON oi.id = le.order_item_id
                  WHERE oi.live_event_id IN ({list})
                  GROUP BY oi.live_event_id, le.household_id) x
          GROUP BY x.event_id"
    ))
    .fetch_all(&db.pool)
    .await?;
    for (e, households, income_fen) in income {
        let c = out.entry(e).or_default();
        c.households = households;
        c.income_fen = income_fen;
    }
    Ok(out)
}

/// What moves whenever a viewer's state changes (on `live_events e`): the event's version and
/// those of its lines (a flash unit reserved or given back moves only its line's).
pub const VERSION: &str = "e.version + COALESCE((SELECT SUM(el.version) FROM live_event_listings el WHERE el.event_id = e.id), 0)";

/// The event's state and version as every viewer sees it (404 if there is no such event).
pub async fn state_of(db: &Db, event: i64) -> Result<(i64, LiveState), AppError> {
    let row: Option<(String, Option<i64>, i64)> = sqlx::query_as(&format!(
        "SELECT e.status, e.pinned_listing_id, CAST({VERSION} AS BIGINT) FROM live_events e WHERE e.id = $1"
    ))
    .bind(event)
    .fetch_optional(&db.pool)
    .await?;
    let (status, pinned, version) = row.ok_or_else(|| AppError::new(ErrorCode::NotFound))?;
    type FlashRow = (i64, i64, i64, i64, Option<i64>, i64, Option<i64>);
    let flash: Vec<FlashRow> = sqlx::query_as(
        "SELECT listing_id, flash_price_fen, flash_starts_at, flash_ends_at, flash_cap, flash_sold, per_buyer_limit
           FROM live_event_listings
          WHERE event_id = $1 AND flash_price_fen IS NOT NULL ORDER BY position",
    )
    .bind(event)
    .fetch_all(&db.pool)
    .await?;
    Ok((
        version,
        LiveState {
            event_id: event,
            status,
            pinned_listing_id: pinned,
            flash: flash
                .into_iter()
                .map(|(l, p, s, e, cap, sold, limit)| FlashOffer {
                    listing_id: l,
                    price_fen: p,
                    starts_at: s,
                    ends_at: e,
                    cap,
                    sold,
                    per_buyer_limit: limit,
                })
                .collect(),
            counters: counters(db, event).await?,
            now: now(),
        },
    ))
}

/// Live now, to come, and a page of past events with their results; with `county` (a county's
/// code: its page), only that county's.
pub async fn events(after: Option<&str>, county: Option<&str>) -> Result<LiveEventList, AppError> {
    let state = AppState::get()?;
    let db = &state.reader();
    let t = now();
    let county = match county {
        Some(c) => match RegionCode::parse(c) {
            Ok(code) if code.level() == RegionLevel::County => Some(code.as_str().to_owned()),
            _ => return Err(bad("county")),
        },
        None => None,
    };
    // $1 is the county (or NULL for all of them).
    let current = |cond: &str| {
        format!(
            "{CARD_SELECT} {CARD_FROM} WHERE {cond} AND ($1 IS NULL OR e.county_code = $1)
              ORDER BY e.starts_at, e.id LIMIT {MAX_CURRENT}"
        )
    };
    let live: Vec<CardRow> = sqlx::query_as(&current("e.status = 'live'"))
        .bind(county.as_deref())
        .fetch_all(&db.pool)
        .await?;
    let upcoming: Vec<CardRow> =
        sqlx::query_as(&current("e.status = 'scheduled' AND e.ends_at > $2"))
            .bind(county.as_deref())
            .bind(t)
            .fetch_all(&db.pool)
            .await?;
    let cursor = PAST.parse(after)?;
    let sql = format!(
        "{CARD_SELECT}, {} {CARD_FROM} WHERE e.status = 'ended' AND ($1 IS NULL OR e.county_code = $1) AND {} ORDER BY {} LIMIT {}",
        PAST.cursor_column(),
        PAST.condition(cursor.as_ref(), 2),
        PAST.order_by(),
        PAST_PAGE_SIZE + 1
    );
    let rows: Vec<CardRow> = crate::server::keyset::bind_keys(
        sqlx::query_as(&sql).bind(county.as_deref()),
        cursor.as_ref(),
    )
    .fetch_all(&db.pool)
    .await?;
    let mut past = crate::server::keyset::page(rows, PAST_PAGE_SIZE, LiveEventCard::from);
    let ids: Vec<i64> = past.items.iter().map(|c| c.id).collect();
    let mut results = counters_of(db, &ids).await?;
    for card in &mut past.items {
        card.results = Some(results.remove(&card.id).unwrap_or_default());
    }
    let can_host = current_user()
        .await?
        .is_some_and(|u| matches!(u.role, Role::Official | Role::OrgManager | Role::Admin));
    Ok(LiveEventList {
        live: live.into_iter().map(Into::into).collect(),
        upcoming: upcoming.into_iter().map(Into::into).collect(),
        past,
        can_host,
    })
}

/// An event's card (404 if there is none).
pub async fn card_of(db: &Db, id: i64) -> Result<LiveEventCard, AppError> {
    let row: Option<CardRow> =
        sqlx::query_as(&format!("{CARD_SELECT} {CARD_FROM} WHERE e.id = $1"))
            .bind(id)
            .fetch_optional(&db.pool)
            .await?;
    row.map(Into::into)
        .ok_or_else(|| AppError::new(ErrorCode::NotFound))
}

/// Whether `user` may run the event.
async fn may_run(db: &Db, user: Option<&CurrentUser>, id: i64) -> Result<bool, AppError> {
    Ok(match user {
        Some(u) => {
            policy::decide(u, Action::RunEvent, &policy::event_facts(db, id).await?)
                == Decision::Allow
        }
        None => false,
    })
}

/// Passes when `user` runs the event (404 if there is none).
async fn require_run(db: &Db, user: &CurrentUser, id: i64) -> Result<(), AppError> {
    policy::require(user, Action::RunEvent, &policy::event_facts(db, id).await?)
}

/// The event's page. Public.
pub async fn event(id: i64) -> Result<LiveEventView, AppError> {
    let state = AppState::get()?;
    let db = &state.reader();
    let user = current_user().await?;
    event_view(db, user.as_ref(), id).await
}

async fn event_view(
    db: &Db,
    user: Option<&CurrentUser>,
    id: i64,
) -> Result<LiveEventView, AppError> {
    let card = card_of(db, id).await?;
    let (stream_url, external_url): (Option<String>, Option<String>) =
        sqlx::query_as("SELECT stream_url, external_url FROM live_events WHERE id = $1")
            .bind(id)
            .fetch_one(&db.pool)
            .await?;
    let ids: Vec<i64> = sqlx::query_scalar(
        "SELECT listing_id FROM live_event_listings WHERE event_id = $1 ORDER BY position LIMIT $2",
    )
    .bind(id)
    .bind(MAX_FEATURED)
    .fetch_all(&db.pool)
    .await?;
    let cards = crate::market::server::cards_by_ids(db, &ids).await?;
    // What this process's viewers have (at most a tick old), else read it.
    let live = match AppState::get().ok().and_then(|s| s.live.current(id)) {
        Some(s) => LiveState::clone(&s),
        None => state_of(db, id).await?.1,
    };
    let featured = cards
        .into_iter()
        .map(|card| FeaturedListing {
            flash: live.flash.iter().find(|f| f.listing_id == card.id).cloned(),
            card,
        })
        .collect();
    Ok(LiveEventView {
        card,
        external_platform: external_url.as_deref().map(platform_of),
        stream_url,
        external_url,
        featured,
        state: live,
        can_run: may_run(db, user, id).await?,
    })
}

/// Ends the events whose time ran out two hours ago and that nobody ended (housekeeping), so
/// "live now" never shows a forgotten event and no order is attributed to one. Returns how
/// many.
pub async fn end_overdue(db: &Db, t: i64) -> Result<u64, sqlx::Error> {
    Ok(sqlx::query(
        "UPDATE live_events SET status = 'ended', ended_at = ends_at, pinned_listing_id = NULL,
                version = version + 1
          WHERE status IN ('scheduled', 'live') AND ends_at < $1",
    )
    .bind(t - 2 * 3600)
    .execute(db.writer())
    .await?
    .rows_affected())
}

/// What the form to schedule an event sends.
pub struct EventForm {
    pub title: String,
    pub host_name: String,
    pub county: String,
    pub starts_at: String,
    pub ends_at: String,
    pub stream_url: Option<String>,
    pub external_url: Option<String>,
    pub host_login: Option<String>,
}

/// A text field, trimmed, of `min..=max` characters (400 naming it otherwise).
fn text(v: &str, field: &str, min: usize, max: usize) -> Result<String, AppError> {
    let v = v.trim();
    let n = v.chars().count();
    if n < min || n > max || v.contains(['\n', '\r', '\t']) {
        return Err(bad(field));
    }
    Ok(v.to_owned())
}

/// An optional https address (400 naming the field if it is not one).
fn url(v: Option<&str>, field: &str) -> Result<Option<String>, AppError> {
    match v.map(str::trim).filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(u) if valid_https_url(u) => Ok(Some(u.to_owned())),
        Some(_) => Err(bad(field)),
    }
}

/// Schedules an event.
pub async fn create(f: &EventForm) -> Result<i64, AppError> {
    let state = AppState::get()?;
    let db = &state.db;
    let user = require_user().await?;
    let county = RegionCode::parse(f.county.trim())
        .ok()
        .filter(|c| c.level() == RegionLevel::County)
        .ok_or_else(|| AppError::new(ErrorCode::InvalidRegion).field("county"))?;
    let known: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM regions WHERE code = $1")
        .bind(county.as_str())
        .fetch_one(&db.pool)
        .await?;
    if known == 0 {
        return Err(AppError::new(ErrorCode::InvalidRegion).field("county"));
    }
    policy::require(
        &user,
        Action::HostEvent,
        &policy::hosting_facts(db, &user, county.clone()).await?,
    )?;
    let title = text(&f.title, "title", 2, 60)?;
    let host_name = text(&f.host_name, "host_name", 1, 40)?;
    let t = now();
    let starts = parse_local_datetime(&f.starts_at).ok_or_else(|| bad("starts_at"))?;
    let ends = parse_local_datetime(&f.ends_at).ok_or_else(|| bad("ends_at"))?;
    if ends <= starts || ends - starts > MAX_EVENT_SECS || ends <= t {
        return Err(bad("ends_at"));
    }
    let stream_url = url(f.stream_url.as_deref(), "stream_url")?;
    let external_url = url(f.external_url.as_deref(), "external_url")?;
    let host = match f
        .host_login
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        None => user.id,
        Some(login) => {
            let login =
                crate::domain::account::LoginId::parse(login).map_err(|_| bad("host_login"))?;
            let id: Option<i64> = sqlx::query_scalar("SELECT id FROM users WHERE login = $1")
                .bind(login.as_str())
                .fetch_optional(&db.pool)
                .await?;
            id.ok_or_else(|| AppError::new(ErrorCode::UnknownAccount).field("host_login"))?
        }
    };
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO live_events (title, host_user_id, host_name, county_code, starts_at, ends_at,
                                  stream_url, external_url, created_by, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
    )
    .bind(&title)
    .bind(host)
    .bind(&host_name)
    .bind(county.as_str())
    .bind(starts)
    .bind(ends)
    .bind(stream_url)
    .bind(external_url)
    .bind(user.id)
    .bind(t)
    .fetch_one(db.writer())
    .await?;
    tracing::info!(event = id, by = user.id, "live event scheduled");
    Ok(id)
}

/// The host console.
pub async fn console(id: i64) -> Result<ConsoleView, AppError> {
    let state = AppState::get()?;
    let db = &state.db;
    let user = require_user().await?;
    require_run(db, &user, id).await?;
    let event = event_view(db, Some(&user), id).await?;
    let orders: Vec<(i64, String, i64, i64, i64, String)> = sqlx::query_as(
        "SELECT o.id, o.status, o.created_at,
                CAST(COALESCE((SELECT SUM(oi.quantity) FROM order_items oi WHERE oi.order_id = o.id), 0) AS BIGINT),
                CAST(COALESCE((SELECT SUM(oi.line_total_fen) FROM order_items oi WHERE oi.order_id = o.id), 0) AS BIGINT),
                COALESCE((SELECT l.title FROM order_items oi JOIN listings l ON l.id = oi.listing_id
                           WHERE oi.order_id = o.id ORDER BY oi.id LIMIT 1), '')
           FROM orders o WHERE o.live_event_id = $1 ORDER BY o.id DESC LIMIT $2",
    )
    .bind(id)
    .bind(CONSOLE_ORDERS)
    .fetch_all(&db.pool)
    .await?;
    // The county's produce, stalled first (the catalogue's order of need).
    let suggestions = crate::market::server::catalogue(&crate::market::api::CatalogueQuery {
        county: Some(event.card.county_code.clone()),
        ..Default::default()
    })
    .await?
    .items;
    Ok(ConsoleView {
        event,
        orders: orders
            .into_iter()
            .map(
                |(order_id, status, created_at, units, goods_fen, title)| LiveOrder {
                    order_id,
                    status,
                    created_at,
                    units,
                    goods_fen,
                    title,
                },
            )
            .collect(),
        suggestions,
    })
}

/// The caller, who must run the event, and the database.
async fn runner(event_id: i64) -> Result<(Db, CurrentUser), AppError> {
    let state = AppState::get()?;
    let user = require_user().await?;
    require_run(&state.db, &user, event_id).await?;
    Ok((state.db.clone(), user))
}

/// A write transaction holding the event's row, refused once the event has ended.
async fn open_event(db: &Db, event_id: i64) -> Result<Tx, AppError> {
    let mut tx = db.begin_write().await?;
    if status_of(&mut tx, event_id).await? == "ended" {
        return Err(AppError::new(ErrorCode::EventEnded));
    }
    Ok(tx)
}

/// The event's status, for a change by its host (404 if none).
async fn status_of(tx: &mut Tx, id: i64) -> Result<String, AppError> {
    // Locks the event's row on PostgreSQL (SQLite's write transaction already is one).
    let s: Option<String> = sqlx::query_scalar(
        "UPDATE live_events SET version = version + 1 WHERE id = $1 RETURNING status",
    )
    .bind(id)
    .fetch_optional(&mut **tx)
    .await?;
    s.ok_or_else(|| AppError::new(ErrorCode::NotFound))
}

/// Adds a listing of the county, on sale, to the line-up.
pub async fn feature(event_id: i64, listing_id: i64) -> Result<(), AppError> {
    let (db, _user) = runner(event_id).await?;
    let mut tx = open_event(&db, event_id).await?;
    let ok: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM listings l JOIN live_events e ON e.id = $1
          WHERE l.id = $2 AND l.status = 'on_sale' AND substr(l.origin_code, 1, 6) = e.county_code",
    )
    .bind(event_id)
    .bind(listing_id)
    .fetch_one(&mut *tx)
    .await?;
    if ok == 0 {
        return Err(AppError::new(ErrorCode::OriginOutsideCounty).field("listing_id"));
    }
    let (n, last): (i64, i64) = sqlx::query_as(
        "SELECT COUNT(*), CAST(COALESCE(MAX(position), 0) AS BIGINT) FROM live_event_listings WHERE event_id = $1",
    )
    .bind(event_id)
    .fetch_one(&mut *tx)
    .await?;
    if n >= MAX_FEATURED {
        return Err(AppError::new(ErrorCode::LimitExceeded).field("listing_id"));
    }
    sqlx::query(
        "INSERT INTO live_event_listings (event_id, listing_id, position) VALUES ($1, $2, $3)
         ON CONFLICT (event_id, listing_id) DO NOTHING",
    )
    .bind(event_id)
    .bind(listing_id)
    .bind(last + 1)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "UPDATE live_events SET cover_listing_id = $1 WHERE id = $2 AND cover_listing_id IS NULL
            AND EXISTS (SELECT 1 FROM listing_photos p WHERE p.listing_id = $1)",
    )
    .bind(listing_id)
    .bind(event_id)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Takes a listing off the line-up, unless units were sold at its flash price.
pub async fn unfeature(event_id: i64, listing_id: i64) -> Result<(), AppError> {
    let (db, _user) = runner(event_id).await?;
    let mut tx = open_event(&db, event_id).await?;
    // Only a line with no unit reserved at a flash price, checked by the delete itself.
    let gone = sqlx::query(
        "DELETE FROM live_event_listings WHERE event_id = $1 AND listing_id = $2 AND flash_sold = 0",
    )
    .bind(event_id)
    .bind(listing_id)
    .execute(&mut *tx)
    .await?;
    if gone.rows_affected() != 1 {
        return Err(if !is_featured(&mut tx, event_id, listing_id).await? {
            AppError::new(ErrorCode::NotFound).field("listing_id")
        } else {
            AppError::new(ErrorCode::InvalidStep).field("listing_id")
        });
    }
    sqlx::query(
        "UPDATE live_events SET pinned_listing_id = CASE WHEN pinned_listing_id = $1 THEN NULL ELSE pinned_listing_id END,
                                cover_listing_id = CASE WHEN cover_listing_id = $1 THEN NULL ELSE cover_listing_id END
          WHERE id = $2",
    )
    .bind(listing_id)
    .bind(event_id)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Goes live, or ends the event (and keeps its replay address).
pub async fn set_status(event_id: i64, to: &str, replay: Option<&str>) -> Result<(), AppError> {
    let (db, user) = runner(event_id).await?;
    let db = &db;
    let replay = url(replay, "replay_url")?;
    let t = now();
    let mut tx = db.begin_write().await?;
    let from = status_of(&mut tx, event_id).await?;
    match (from.as_str(), to) {
        ("scheduled", "live") => {
            sqlx::query("UPDATE live_events SET status = 'live', went_live_at = $1 WHERE id = $2")
                .bind(t)
                .bind(event_id)
                .execute(&mut *tx)
                .await?;
        }
        ("scheduled" | "live", "ended") => {
            sqlx::query(
                "UPDATE live_events SET status = 'ended', ended_at = $1, pinned_listing_id = NULL,
                        replay_url = COALESCE($2, replay_url) WHERE id = $3",
            )
            .bind(t)
            .bind(replay)
            .bind(event_id)
            .execute(&mut *tx)
            .await?;
        }
        // An ended event may still get its replay.
        ("ended", "ended") if replay.is_some() => {
            sqlx::query("UPDATE live_events SET replay_url = $1 WHERE id = $2")
                .bind(replay)
                .bind(event_id)
                .execute(&mut *tx)
                .await?;
        }
        (_, "live" | "ended") => return Err(AppError::new(ErrorCode::InvalidStep).field("status")),
        _ => return Err(bad("status")),
    }
    tx.commit().await?;
    tracing::info!(event = event_id, to, by = user.id, "live event status");
    Ok(())
}

/// Whether `listing` is in the event's line-up.
async fn is_featured(tx: &mut Tx, event_id: i64, listing: i64) -> Result<bool, AppError> {
    let n: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM live_event_listings WHERE event_id = $1 AND listing_id = $2",
    )
    .bind(event_id)
    .bind(listing)
    .fetch_one(&mut **tx)
    .await?;
    Ok(n > 0)
}

/// Pins a featured listing, or unpins.
pub async fn pin(event_id: i64, listing_id: Option<i64>) -> Result<(), AppError> {
    let (db, _user) = runner(event_id).await?;
    let mut tx = open_event(&db, event_id).await?;
    if let Some(l) = listing_id {
        if !is_featured(&mut tx, event_id, l).await? {
            return Err(AppError::new(ErrorCode::NotFound).field("listing_id"));
        }
    }
    sqlx::query("UPDATE live_events SET pinned_listing_id = $1 WHERE id = $2")
        .bind(listing_id)
        .bind(event_id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(())
}

/// Makes a featured listing's first photo the event's cover (on its card, and the video's
/// poster). The listing must be in the line-up and have a photo: covers are pictures of the
/// produce on sale, which the listing's seller uploaded.
pub async fn set_cover(event_id: i64, listing_id: i64) -> Result<(), AppError> {
    let (db, _user) = runner(event_id).await?;
    let mut tx = db.begin_write().await?;
    status_of(&mut tx, event_id).await?;
    if !is_featured(&mut tx, event_id, listing_id).await? {
        return Err(AppError::new(ErrorCode::NotFound).field("listing_id"));
    }
    let photos: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM listing_photos WHERE listing_id = $1")
            .bind(listing_id)
            .fetch_one(&mut *tx)
            .await?;
    if photos == 0 {
        return Err(AppError::new(ErrorCode::CoverNeedsPhoto).field("listing_id"));
    }
    sqlx::query("UPDATE live_events SET cover_listing_id = $1 WHERE id = $2")
        .bind(listing_id)
        .bind(event_id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    tracing::info!(
        event = event_id,
        listing = listing_id,
        "live event cover set"
    );
    Ok(())
}

/// A positive whole number of at most `max`, or nothing when the field is empty.
fn count(v: Option<&str>, field: &str, max: i64) -> Result<Option<i64>, AppError> {
    match v.map(str::trim).filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(s) => match s.parse::<i64>() {
            Ok(n) if (1..=max).contains(&n) => Ok(Some(n)),
            _ => Err(bad(field)),
        },
    }
}

/// Starts a flash sale of a featured listing now. The caller runs the event and sells the
/// listing; the price is below the normal one and still pays every household its terms.
pub async fn flash(
    event_id: i64,
    listing_id: i64,
    price: &str,
    seconds: &str,
    cap: Option<&str>,
    per_buyer_limit: Option<&str>,
) -> Result<(), AppError> {
    let (db, user) = runner(event_id).await?;
    let db = &db;
    policy::require(
        &user,
        Action::SellListing,
        &policy::listing_facts(db, &user, listing_id).await?,
    )?;
    let price = Fen::parse_yuan(price.trim())
        .ok()
        .filter(|p| p.fen() > 0)
        .ok_or_else(|| AppError::new(ErrorCode::InvalidAmount).field("price"))?;
    let seconds = count(Some(seconds), "seconds", MAX_FLASH_SECS)?
        .filter(|s| *s >= MIN_FLASH_SECS)
        .ok_or_else(|| bad("seconds"))?;
    let cap = count(cap, "cap", 1_000_000)?;
    let limit = count(per_buyer_limit, "per_buyer_limit", 9_999)?;
    let t = now();
    let mut tx = db.begin_write().await?;
    match status_of(&mut tx, event_id).await?.as_str() {
        "live" => {}
        "ended" => return Err(AppError::new(ErrorCode::EventEnded)),
        _ => return Err(AppError::new(ErrorCode::InvalidStep).field("status")),
    }
    let event_ends: i64 = sqlx::query_scalar("SELECT ends_at FROM live_events WHERE id = $1")
        .bind(event_id)
        .fetch_one(&mut *tx)
        .await?;
    if event_ends <= t {
        return Err(AppError::new(ErrorCode::EventEnded));
    }
    let row: Option<(i64, String, Option<i64>)> = sqlx::query_as(
        "SELECT l.price_fen, l.benefit_terms, el.flash_ends_at
           FROM live_event_listings el JOIN listings l ON l.id = el.listing_id
          WHERE el.event_id = $1 AND el.listing_id = $2",
    )
    .bind(event_id)
    .bind(listing_id)
    .fetch_optional(&mut *tx)
    .await?;
    let (normal, terms, running_until) =
        row.ok_or_else(|| AppError::new(ErrorCode::NotFound).field("listing_id"))?;
    if running_until.is_some_and(|e| e > t) {
        // One flash sale of a listing at a time.
        return Err(AppError::new(ErrorCode::InvalidStep).field("listing_id"));
    }
    if price.fen() >= normal {
        return Err(AppError::new(ErrorCode::InvalidAmount).field("price"));
    }
    let terms: BenefitTerms = serde_json::from_str(&terms).map_err(AppError::internal)?;
    if terms.allocate(price, 1).is_err() {
        // Per-unit terms that the flash price could not pay.
        return Err(AppError::new(ErrorCode::InvalidTerms).field("price"));
    }
    sqlx::query(
        "UPDATE live_event_listings
            SET flash_price_fen = $1, flash_starts_at = $2, flash_ends_at = $3, flash_cap = $4,
                per_buyer_limit = $5, flash_sold = 0
          WHERE event_id = $6 AND listing_id = $7",
    )
    .bind(price.fen())
    .bind(t)
    // Never past the event's end.
    .bind((t + seconds).min(event_ends))
    .bind(cap)
    .bind(limit)
    .bind(event_id)
    .bind(listing_id)
    .execute(&mut *tx)
    .await?;
    sqlx::query("UPDATE live_events SET pinned_listing_id = $1 WHERE id = $2")
        .bind(listing_id)
        .bind(event_id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    tracing::info!(
        event = event_id,
        listing = listing_id,
        by = user.id,
        "flash sale started"
    );
    Ok(())
}

/// The event's report (for its host, officials of the county and admins).
pub async fn report(id: i64) -> Result<EventReport, AppError> {
    let state = AppState::get()?;
    let db = &state.db;
    let user = require_user().await?;
    require_run(db, &user, id).await?;
    report_of(db, id).await
}

/// The report: totals, villages (most income first) and the county's ordinary day before it.
pub async fn report_of(db: &Db, id: i64) -> Result<EventReport, AppError> {
    let card = card_of(db, id).await?;
    let totals = counters(db, id).await?;
    let villages: Vec<(String, String, i64, i64)> = sqlx::query_as(
        "SELECT h.region_code, v.name,
                CAST(SUM(CASE WHEN x.n > 0 THEN 1 ELSE 0 END) AS BIGINT), CAST(SUM(x.n) AS BIGINT)
           FROM (SELECT le.household_id, SUM(le.amount_fen) AS n
                   FROM ledger_entries le
                   JOIN order_items oi ON oi.id = le.order_item_id
                  WHERE oi.live_event_id = $1
                  GROUP BY le.household_id) x
           JOIN households h ON h.id = x.household_id
           JOIN regions v ON v.code = h.region_code
          GROUP BY h.region_code, v.name
         HAVING SUM(x.n) <> 0
          ORDER BY SUM(x.n) DESC, h.region_code LIMIT $2",
    )
    .bind(id)
    .bind(MAX_REPORT_VILLAGES)
    .fetch_all(&db.pool)
    .await?;
    // The county's ordinary day: the 30 days before the event, orders not from an event.
    let from = card.starts_at - 30 * 86_400;
    let gmv: i64 = sqlx::query_scalar(
        "SELECT CAST(COALESCE(SUM(oi.line_total_fen), 0) AS BIGINT)
           FROM orders o JOIN order_items oi ON oi.order_id = o.id JOIN listings l ON l.id = oi.listing_id
          WHERE oi.live_event_id IS NULL AND o.status IN ('paid', 'shipped', 'delivered')
            AND o.paid_at >= $1 AND o.paid_at < $2 AND substr(l.origin_code, 1, 6) = $3",
    )
    .bind(from)
    .bind(card.starts_at)
    .bind(&card.county_code)
    .fetch_one(&db.pool)
    .await?;
    let income: i64 = sqlx::query_scalar(
        "SELECT CAST(COALESCE(SUM(le.amount_fen), 0) AS BIGINT)
           FROM ledger_entries le
           JOIN order_items oi ON oi.id = le.order_item_id
           JOIN listings l ON l.id = oi.listing_id
          WHERE oi.live_event_id IS NULL AND le.occurred_at >= $1 AND le.occurred_at < $2
            AND substr(l.origin_code, 1, 6) = $3",
    )
    .bind(from)
    .bind(card.starts_at)
    .bind(&card.county_code)
    .fetch_one(&db.pool)
    .await?;
    Ok(EventReport {
        card,
        totals,
        villages: villages
            .into_iter()
            .map(|(code, name, households, income_fen)| VillageResult {
                code,
                name,
                households,
                income_fen,
            })
            .collect(),
        baseline_gmv_per_day_fen: gmv / 30,
        baseline_income_per_day_fen: income / 30,
    })
}
