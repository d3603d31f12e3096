//! Livestream sales (县长带你买好货): the types both targets share and the server functions.

use crate::domain::page::Page;
use crate::error::AppError;
use crate::market::api::ListingCard;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// Events of a page of past ones.
pub const PAST_PAGE_SIZE: i64 = 12;
/// The most listings an event features.
pub const MAX_FEATURED: i64 = 30;
/// The shortest and the longest flash sale (秒杀), in seconds.
pub const MIN_FLASH_SECS: i64 = 10;
pub const MAX_FLASH_SECS: i64 = 4 * 3600;

/// What an event has sold: paid orders (refunds taken back) and what the ledger added.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LiveCounters {
    pub orders: i64,
    pub units: i64,
    pub gmv_fen: i64,
    pub buyers: i64,
    /// Households whose income the event's sales added to (net of refunds).
    pub households: i64,
    /// What the ledger posted to households for the event's orders, net of refunds.
    pub income_fen: i64,
}

/// A flash price of one featured listing, as the server enforces it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FlashOffer {
    pub listing_id: i64,
    pub price_fen: i64,
    pub starts_at: i64,
    pub ends_at: i64,
    /// The most units sold at the flash price (None: only the stock limits it).
    pub cap: Option<i64>,
    pub sold: i64,
    /// The most units one buyer may buy at it (None: no limit).
    pub per_buyer_limit: Option<i64>,
}

/// What every viewer sees change, pushed over server-sent events (`GET /live/{id}/stream`,
/// one JSON object per `data:` line) whenever it changes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LiveState {
    pub event_id: i64,
    /// `scheduled`, `live` or `ended`.
    pub status: String,
    pub pinned_listing_id: Option<i64>,
    /// Flash prices set for this event (running, to come, or over; the page compares with the
    /// clock).
    pub flash: Vec<FlashOffer>,
    pub counters: LiveCounters,
    /// The server's clock when this state was made (the countdown's reference).
    pub now: i64,
}

/// An event in a list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LiveEventCard {
    pub id: i64,
    pub title: String,
    pub host_name: String,
    pub county_code: String,
    pub county_name: String,
    pub starts_at: i64,
    pub ends_at: i64,
    pub status: String,
    pub cover: Option<String>,
    /// Past events: what they sold.
    pub results: Option<LiveCounters>,
    pub replay_url: Option<String>,
}

/// The events page: live now, to come, and a page of past ones.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LiveEventList {
    pub live: Vec<LiveEventCard>,
    pub upcoming: Vec<LiveEventCard>,
    pub past: Page<LiveEventCard>,
    /// Whether the viewer may schedule an event.
    pub can_host: bool,
}

/// One featured listing: its card (normal price) and its flash price, if any.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeaturedListing {
    pub card: ListingCard,
    pub flash: Option<FlashOffer>,
}

/// An event's page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LiveEventView {
    pub card: LiveEventCard,
    /// An HLS (`.m3u8`) or MP4 address played in the page.
    pub stream_url: Option<String>,
    /// Where it is broadcast otherwise (抖音, 快手, 视频号, 淘宝直播…), and that platform's name.
    pub external_url: Option<String>,
    pub external_platform: Option<String>,
    pub featured: Vec<FeaturedListing>,
    pub state: LiveState,
    /// Whether the viewer runs it (the console and the report).
    pub can_run: bool,
}

/// An order of the event, as its console lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LiveOrder {
    pub order_id: i64,
    pub status: String,
    pub created_at: i64,
    pub units: i64,
    pub goods_fen: i64,
    /// The first item's title.
    pub title: String,
}

/// The host console: the event, its orders (newest first, a page), and listings of the county
/// to feature (stalled first).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsoleView {
    pub event: LiveEventView,
    pub orders: Vec<LiveOrder>,
    pub suggestions: Vec<ListingCard>,
}

/// One village's part of an event's results.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VillageResult {
    pub code: String,
    pub name: String,
    pub households: i64,
    pub income_fen: i64,
}

/// An event's report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventReport {
    pub card: LiveEventCard,
    pub totals: LiveCounters,
    pub villages: Vec<VillageResult>,
    /// The county's ordinary day over the 30 days before the event (orders not from an
    /// event): GMV and income added per day.
    pub baseline_gmv_per_day_fen: i64,
    pub baseline_income_per_day_fen: i64,
}

/// Live now, to come, and past events (a page, newest first). Public.
#[server(prefix = "/api", endpoint = "live/list", output = crate::codec::Json)]
pub async fn live_events(
    after: Option<String>,
    county: Option<String>,
) -> Result<LiveEventList, AppError> {
    crate::live::server::events(after.as_deref(), county.as_deref()).await
}

/// An event with its line-up and state. Public.
#[server(prefix = "/api", endpoint = "live/get", output = crate::codec::Json)]
pub async fn live_event(id: i64) -> Result<LiveEventView, AppError> {
    crate::live::server::event(id).await
}

/// Schedules an event. Times are China time, `YYYY-MM-DDTHH:MM` (a datetime-local field).
/// `host_login`: the account that runs it (an invited guest), else the caller.
#[server(prefix = "/api", endpoint = "live/create", output = crate::codec::Json)]
#[allow(clippy::too_many_arguments)]
pub async fn create_event(
    title: String,
    host_name: String,
    county: String,
    starts_at: String,
    ends_at: String,
    stream_url: Option<String>,
    external_url: Option<String>,
    host_login: Option<String>,
) -> Result<i64, AppError> {
    crate::live::server::create(&crate::live::server::EventForm {
        title,
        host_name,
        county,
        starts_at,
        ends_at,
        stream_url,
        external_url,
        host_login,
    })
    .await
}

/// The host console.
#[server(prefix = "/api", endpoint = "live/console", output = crate::codec::Json)]
pub async fn live_console(id: i64) -> Result<ConsoleView, AppError> {
    crate::live::server::console(id).await
}

/// Adds a listing of the event's county to its line-up.
#[server(prefix = "/api", endpoint = "live/feature", output = crate::codec::Json)]
pub async fn feature_listing(event_id: i64, listing_id: i64) -> Result<(), AppError> {
    crate::live::server::feature(event_id, listing_id).await
}

/// Takes a listing off the line-up (not one that has sold at a flash price).
#[server(prefix = "/api", endpoint = "live/unfeature", output = crate::codec::Json)]
pub async fn unfeature_listing(event_id: i64, listing_id: i64) -> Result<(), AppError> {
    crate::live::server::unfeature(event_id, listing_id).await
}

/// Goes live (`live`) or ends the event (`ended`, with a replay address if there is one).
#[server(prefix = "/api", endpoint = "live/status", output = crate::codec::Json)]
pub async fn set_event_status(
    event_id: i64,
    status: String,
    replay_url: Option<String>,
) -> Result<(), AppError> {
    crate::live::server::set_status(event_id, &status, replay_url.as_deref()).await
}

/// Pins a featured listing (the product being shown), or unpins (no `listing_id`).
#[server(prefix = "/api", endpoint = "live/pin", output = crate::codec::Json)]
pub async fn pin_listing(event_id: i64, listing_id: Option<i64>) -> Result<(), AppError> {
    crate::live::server::pin(event_id, listing_id).await
}

/// Makes a featured listing's photo the event's cover picture (its host, or whoever may run it).
#[server(prefix = "/api", endpoint = "live/cover", output = crate::codec::Json)]
pub async fn set_cover(event_id: i64, listing_id: i64) -> Result<(), AppError> {
    crate::live::server::set_cover(event_id, listing_id).await
}

/// Starts a flash sale of a featured listing now, for `seconds`: its price (yuan, as typed),
/// a cap on the units sold at it and a per-buyer limit (empty: none). The host must also be
/// the listing's seller: a flash price lowers what its households receive.
#[server(prefix = "/api", endpoint = "live/flash", output = crate::codec::Json)]
pub async fn start_flash(
    event_id: i64,
    listing_id: i64,
    price: String,
    seconds: String,
    cap: Option<String>,
    per_buyer_limit: Option<String>,
) -> Result<(), AppError> {
    crate::live::server::flash(
        event_id,
        listing_id,
        &price,
        &seconds,
        cap.as_deref(),
        per_buyer_limit.as_deref(),
    )
    .await
}

/// The event's report.
#[server(prefix = "/api", endpoint = "live/report", output = crate::codec::Json)]
pub async fn live_report(id: i64) -> Result<EventReport, AppError> {
    crate::live::server::report(id).await
}
