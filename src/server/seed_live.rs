//! The demo's livestream sales in 政和县: a past 县长带你买好货 event with its results, one
//! live now with a flash sale, and one to come. Its orders go through the real order and
//! payment code, so their income is in the ledger like any other. On every later run the live
//! and the coming event are moved to "now", so `make run` always shows all three states.

use super::db::{now, Db};
use super::seed::{marker, set_marker, SeedError};
use super::seed_market::user_id;
use crate::auth::server::user_by_id;
use crate::orders::api::CartLine;
use crate::orders::server::{pay_by_transfer, place, DeliveryRequest, Hold};

const MARKER: &str = "demo_live_seeded";
const HOST: &str = "coop.zhenghe@demo.zhunong.cn";
const COUNTY: &str = "350725";
const PAST: &str = "县长带你买好货 · 政和白茶专场（演示）";
const LIVE: &str = "县长带你买好货 · 冬季山货节（演示）";
const NEXT: &str = "县长带你买好货 · 年货直播预告（演示）";

fn err(e: crate::error::AppError) -> SeedError {
    SeedError::Other(format!("{:?}: {}", e.code, e.message))
}

/// Times of the live and the coming event, from `t`: live since half an hour, for two hours;
/// the next one tomorrow at 19:30 China time; the live flash sale from five minutes ago for
/// half an hour.
fn windows(t: i64) -> [(i64, i64); 3] {
    let tomorrow = (t + 8 * 3600).div_euclid(86_400) + 1;
    let next = tomorrow * 86_400 + 19 * 3600 + 1800 - 8 * 3600;
    [
        (t - 1800, t + 5400),
        (next, next + 7200),
        (t - 300, t + 1500),
    ]
}

async fn event_id(db: &Db, title: &str) -> Result<Option<i64>, SeedError> {
    Ok(
        sqlx::query_scalar("SELECT id FROM live_events WHERE title = $1 ORDER BY id LIMIT 1")
            .bind(title)
            .fetch_optional(&db.pool)
            .await?,
    )
}

/// Seeds the events once; later runs move the live and the coming one to now.
pub async fn seed_live(db: &Db) -> Result<usize, SeedError> {
    let t = now();
    let [live, next, flash] = windows(t);
    if marker(db, MARKER).await? {
        if let Some(id) = event_id(db, LIVE).await? {
            sqlx::query(
                "UPDATE live_events SET status = 'live', starts_at = $1, ends_at = $2, went_live_at = $1,
                        ended_at = NULL, version = version + 1 WHERE id = $3",
            )
            .bind(live.0)
            .bind(live.1)
            .bind(id)
            .execute(db.writer())
            .await?;
            sqlx::query(
                "UPDATE live_event_listings SET flash_starts_at = $1, flash_ends_at = $2
                  WHERE event_id = $3 AND flash_price_fen IS NOT NULL",
            )
            .bind(flash.0)
            .bind(flash.1)
            .bind(id)
            .execute(db.writer())
            .await?;
        }
        if let Some(id) = event_id(db, NEXT).await? {
            sqlx::query(
                "UPDATE live_events SET status = 'scheduled', starts_at = $1, ends_at = $2, version = version + 1 WHERE id = $3",
            )
            .bind(next.0)
            .bind(next.1)
            .bind(id)
            .execute(db.writer())
            .await?;
        }
        return Ok(0);
    }
    let host: Option<(i64, i64)> =
        sqlx::query_as("SELECT id, organisation_id FROM users WHERE login = $1")
            .bind(HOST)
            .fetch_optional(&db.pool)
            .await?;
    let Some((host, org)) = host else {
        return Ok(0);
    };
    let listings: Vec<(i64, i64)> = sqlx::query_as(
        "SELECT id, price_fen FROM listings
          WHERE organisation_id = $1 AND status = 'on_sale' AND substr(origin_code, 1, 6) = $2
          ORDER BY id LIMIT 3",
    )
    .bind(org)
    .bind(COUNTY)
    .fetch_all(&db.pool)
    .await?;
    if listings.is_empty() {
        return Ok(0);
    }
    let buyers = [
        user_id(db, "buyer@demo.zhunong.cn").await?,
        user_id(db, "school@demo.zhunong.cn").await?,
    ];
    let past_start = (t - 20 * 86_400).div_euclid(86_400) * 86_400 + 11 * 3600 + 1800;
    let plan = [
        (PAST, (past_start, past_start + 7200), "live", None, 3),
        (
            LIVE,
            live,
            "live",
            Some("https://live.douyin.com/zhunong-demo"),
            1,
        ),
        (
            NEXT,
            next,
            "scheduled",
            Some("https://live.douyin.com/zhunong-demo"),
            0,
        ),
    ];
    let mut made = 0;
    for (n, (title, (starts, ends), status, external, orders)) in plan.into_iter().enumerate() {
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO live_events (title, host_user_id, host_name, county_code, starts_at, ends_at, external_url,
                                      cover_listing_id, status, went_live_at, created_by, created_at)
             VALUES ($1, $2, '政和县县长 · 茶叶合作社（演示）', $3, $4, $5, $6, $7, $8, $9, $2, $10) RETURNING id",
        )
        .bind(title)
        .bind(host)
        .bind(COUNTY)
        .bind(starts)
        .bind(ends)
        .bind(external)
        .bind(listings[0].0)
        .bind(status)
        .bind((status == "live").then_some(starts))
        .bind(starts.min(t) - 3 * 86_400)
        .fetch_one(db.writer())
        .await?;
        made += 1;
        for (pos, (listing, price)) in listings.iter().enumerate() {
            // The first listing has a flash price: 80% of its price, 50 units, 5 a buyer.
            let (fp, fs, fe) = if pos == 0 && status == "live" {
                let window = if n == 0 {
                    (starts + 600, starts + 2400)
                } else {
                    flash
                };
                (Some(price * 8 / 10), Some(window.0), Some(window.1))
            } else {
                (None, None, None)
            };
            sqlx::query(
                "INSERT INTO live_event_listings (event_id, listing_id, position, flash_price_fen, flash_starts_at,
                                                  flash_ends_at, flash_cap, per_buyer_limit)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(id)
            .bind(listing)
            .bind(pos as i64 + 1)
            .bind(fp)
            .bind(fs)
            .bind(fe)
            .bind(fp.map(|_| 50i64))
            .bind(fp.map(|_| 5i64))
            .execute(db.writer())
            .await?;
        }
        sqlx::query(
            "UPDATE live_events SET pinned_listing_id = $1 WHERE id = $2 AND status = 'live'",
        )
        .bind(listings[0].0)
        .bind(id)
        .execute(db.writer())
        .await?;
        // Orders from the event, paid by transfer a minute after: during the flash sale for
        // the first listing, at the normal price for the others.
        for k in 0..orders {
            for (b, buyer) in buyers.iter().enumerate() {
                let user = user_by_id(db, *buyer)
                    .await
                    .map_err(err)?
                    .ok_or_else(|| SeedError::Other("no demo buyer".into()))?;
                let listing = listings[(k + b) % listings.len()].0;
                let at = if n == 0 {
                    starts + 900 + k as i64 * 600 + b as i64 * 60
                } else {
                    t - 120 + b as i64 * 30
                };
                let r = place(
                    db,
                    &user,
                    &format!("demo-live-{n}-{k}-{b}"),
                    &[CartLine {
                        listing_id: listing,
                        quantity: 2 + b as i64,
                        price_fen: None,
                        event_id: Some(id),
                    }],
                    &DeliveryRequest::default(),
                    at,
                    Hold::default(),
                )
                .await
                .map_err(err)?;
                for o in &r.orders {
                    pay_by_transfer(
                        db,
                        o.id,
                        &format!("演示直播转账{id}-{}", o.id),
                        None,
                        at + 60,
                    )
                    .await
                    .map_err(err)?;
                }
            }
        }
        if n == 0 {
            sqlx::query(
                "UPDATE live_events SET status = 'ended', ended_at = $1, pinned_listing_id = NULL,
                        replay_url = 'https://live.douyin.com/zhunong-demo-replay' WHERE id = $2",
            )
            .bind(ends)
            .bind(id)
            .execute(db.writer())
            .await?;
        }
    }
    set_marker(db, MARKER).await?;
    Ok(made)
}
