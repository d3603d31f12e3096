//! What a livestream pushes and hands out over plain HTTP: the viewers' state over server-sent
//! events, a calendar file, and the report as CSV or a workbook.
//!
//! **Counters across processes.** Every change a viewer should see moves the event's `version`
//! in the same transaction as the change (a paid or refunded order, a flash unit reserved or
//! given back, the status, the pin). Each server process keeps one watch channel per event that
//! has viewers and polls the versions of those events every [`TICK`] (one indexed query for all
//! of them); when one has moved it reads the state once and every viewer of that process gets
//! it. So several processes on one PostgreSQL all see a payment taken by any of them within a
//! tick plus a query, with nothing to lose if a process restarts: the version is in the
//! database, not in a message.

use super::api::LiveState;
use crate::error::{AppError, ErrorCode};
use crate::server::db::Db;
use crate::server::plain_error;
use crate::server::state::AppState;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{watch, Semaphore};

/// How often a process looks for changes of the events its viewers watch.
pub const TICK: Duration = Duration::from_millis(250);
/// Viewers one process serves at once (a 503 past it: the page still works, without the live
/// counters, and the browser's EventSource tries again).
pub const MAX_VIEWERS: usize = 20_000;
/// Streams one client address holds at once by default (`ZHUNONG_LIVE_STREAMS_PER_ADDRESS`): a
/// household's phones behind one village Wi-Fi, or many buyers behind a carrier's NAT, fit; one
/// client cannot take every slot.
pub const MAX_VIEWERS_PER_ADDRESS: usize = 200;
/// A stream ends after this long (the browser reconnects at once), so no connection is held
/// for ever.
pub const MAX_STREAM: Duration = Duration::from_secs(2 * 3600);
/// Events one process follows at once.
pub const MAX_EVENTS: usize = 1_000;

pub const STREAM_ROUTE: &str = "/live/{id}/stream";
pub const CALENDAR_ROUTE: &str = "/live/{id}/calendar.ics";
pub const REPORT_CSV_ROUTE: &str = "/live/{id}/report.csv";
pub const REPORT_XLSX_ROUTE: &str = "/live/{id}/report.xlsx";

struct Watched {
    tx: watch::Sender<Arc<LiveState>>,
    version: i64,
}

/// The events this process's viewers watch, and their latest state.
pub struct Hub {
    db: Db,
    events: Mutex<HashMap<i64, Watched>>,
    /// One event's first viewer reads its state; the others wait for it (not 20,000 reads).
    creating: tokio::sync::Mutex<()>,
    viewers: Arc<Semaphore>,
    per_address: Arc<Mutex<HashMap<String, usize>>>,
    per_address_limit: usize,
    closed: watch::Sender<bool>,
    ticking: AtomicBool,
}

/// A stream's hold on its client address's count, given back when the stream ends.
struct AddressSlot {
    counts: Arc<Mutex<HashMap<String, usize>>>,
    key: String,
}

impl Drop for AddressSlot {
    fn drop(&mut self) {
        let mut m = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = m.get_mut(&self.key) {
            *n -= 1;
            if *n == 0 {
                m.remove(&self.key);
            }
        }
    }
}

impl Hub {
    pub fn new(db: Db, per_address_limit: usize) -> Hub {
        Hub {
            db,
            events: Mutex::new(HashMap::new()),
            creating: tokio::sync::Mutex::new(()),
            viewers: Arc::new(Semaphore::new(MAX_VIEWERS)),
            per_address: Arc::new(Mutex::new(HashMap::new())),
            per_address_limit,
            closed: watch::channel(false).0,
            ticking: AtomicBool::new(false),
        }
    }

    /// Ends every stream (the server is shutting down: graceful shutdown waits for them).
    pub fn close(&self) {
        self.closed.send_replace(true);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<i64, Watched>> {
        // A panic while holding the lock cannot leave the map half-changed: keep going.
        self.events.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The state this process's viewers of `event` have now, if it has any (pages use it
    /// instead of reading the counters again).
    pub fn current(&self, event: i64) -> Option<Arc<LiveState>> {
        self.lock().get(&event).map(|w| w.tx.borrow().clone())
    }

    /// Counts a stream against its client address (None past the limit).
    fn enter(&self, key: String) -> Option<AddressSlot> {
        let mut m = self.per_address.lock().unwrap_or_else(|p| p.into_inner());
        let n = m.entry(key.clone()).or_insert(0);
        if *n >= self.per_address_limit {
            return None;
        }
        *n += 1;
        Some(AddressSlot {
            counts: self.per_address.clone(),
            key,
        })
    }

    /// A receiver of the event's state, current now (404 if there is no such event).
    async fn subscribe(
        self: &Arc<Self>,
        event: i64,
    ) -> Result<watch::Receiver<Arc<LiveState>>, AppError> {
        if let Some(w) = self.lock().get(&event) {
            return Ok(w.tx.subscribe());
        }
        let _one = self.creating.lock().await;
        if let Some(w) = self.lock().get(&event) {
            return Ok(w.tx.subscribe());
        }
        let (version, state) = super::server::state_of(&self.db, event).await?;
        let rx = {
            let mut map = self.lock();
            if map.len() >= MAX_EVENTS && !map.contains_key(&event) {
                return Err(AppError::new(ErrorCode::Busy));
            }
            map.entry(event)
                .or_insert_with(|| Watched {
                    tx: watch::channel(Arc::new(state)).0,
                    version,
                })
                .tx
                .subscribe()
        };
        if !self.ticking.swap(true, Ordering::SeqCst) {
            let hub = self.clone();
            tokio::spawn(async move { hub.run().await });
        }
        Ok(rx)
    }

    async fn run(self: Arc<Self>) {
        let mut closed = self.closed.subscribe();
        let mut tick = tokio::time::interval(TICK);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = closed.changed() => return,
            }
            if let Err(e) = self.tick().await {
                tracing::warn!(error = %e, "live counters: poll failed; next tick retries");
            }
        }
    }

    /// Sends the new state of every watched event whose version moved; forgets events nobody
    /// watches any more.
    async fn tick(&self) -> Result<(), AppError> {
        let ids: Vec<i64> = {
            let mut map = self.lock();
            map.retain(|_, w| w.tx.receiver_count() > 0);
            map.keys().copied().collect()
        };
        if ids.is_empty() {
            return Ok(());
        }
        // Server-made integers only.
        let list = ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",");
        let versions: Vec<(i64, i64)> = sqlx::query_as(&format!(
            "SELECT id, CAST({} AS BIGINT) FROM live_events e WHERE id IN ({list})",
            super::server::VERSION
        ))
        .fetch_all(&self.db.pool)
        .await?;
        for (id, version) in versions {
            let moved = self.lock().get(&id).is_some_and(|w| w.version != version);
            if !moved {
                continue;
            }
            // One event's failure does not hold back the others.
            match super::server::state_of(&self.db, id).await {
                Ok((version, state)) => {
                    if let Some(w) = self.lock().get_mut(&id) {
                        w.version = version;
                        w.tx.send_replace(Arc::new(state));
                    }
                }
                Err(e) => tracing::warn!(event = id, error = %e, "live state not read"),
            }
        }
        Ok(())
    }
}

fn event_id(raw: &str) -> Result<i64, AppError> {
    raw.parse::<i64>()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| AppError::new(ErrorCode::NotFound))
}

/// `GET /live/{id}/stream`: the event's state now, then again whenever it changes, as JSON in
/// server-sent events. Public, like the event page.
pub async fn stream(
    State(state): State<AppState>,
    headers: HeaderMap,
    axum::extract::ConnectInfo(peer): axum::extract::ConnectInfo<std::net::SocketAddr>,
    Path(id): Path<String>,
) -> Response {
    let id = match event_id(&id) {
        Ok(id) => id,
        Err(e) => return plain_error(&headers, e),
    };
    let address = crate::server::client::client_ip(
        Some(peer.ip()),
        &headers,
        &state.settings.trusted_proxies,
    )
    .map(crate::server::client::rate_key)
    .unwrap_or_default();
    let Some(slot) = state.live.enter(address) else {
        state.metrics.shed();
        return plain_error(&headers, AppError::new(ErrorCode::Busy));
    };
    let Ok(permit) = state.live.viewers.clone().try_acquire_owned() else {
        state.metrics.shed();
        return plain_error(&headers, AppError::new(ErrorCode::Busy));
    };
    let rx = match state.live.subscribe(id).await {
        Ok(rx) => rx,
        Err(e) => return plain_error(&headers, e),
    };
    let closed = state.live.closed.subscribe();
    let first = Some(rx.borrow().clone());
    let deadline = tokio::time::Instant::now() + MAX_STREAM;
    let hold = (permit, slot);
    // After an event's last state ("ended") the stream ends; the page then stops listening.
    let updates = futures_util::stream::unfold(
        (rx, closed, first, false, hold),
        move |(mut rx, mut closed, first, over, hold)| async move {
            if over {
                return None;
            }
            let s = match first {
                Some(s) => s,
                None => {
                    if *closed.borrow() {
                        return None;
                    }
                    tokio::select! {
                        changed = rx.changed() => changed.ok()?,
                        _ = closed.changed() => return None,
                        _ = tokio::time::sleep_until(deadline) => return None,
                    }
                    rx.borrow_and_update().clone()
                }
            };
            let over = s.status == "ended";
            Some((s, (rx, closed, None, over, hold)))
        },
    );
    let events = updates.map(|s| {
        Event::default()
            .retry(Duration::from_secs(3))
            .json_data(&*s)
            .map_err(|e| {
                tracing::warn!(error = %e, "live state not serialised");
                e
            })
    });
    Sse::new(events)
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
        .into_response()
}

/// `GET /live/{id}/calendar.ics`: a reminder of the event for the buyer's calendar. Public.
pub async fn calendar(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    use crate::domain::live::{ics_fold, ics_text, ics_time};
    let card = match event_id(&id) {
        Ok(id) => super::server::card_of(&state.db, id).await,
        Err(e) => Err(e),
    };
    let card = match card {
        Ok(c) => c,
        Err(e) => return plain_error(&headers, e),
    };
    let origin = state
        .settings
        .public_origin
        .clone()
        .unwrap_or_else(|| format!("http://{}", state.settings.site_addr));
    let summary = ics_text(&card.title);
    let lines = [
        "BEGIN:VCALENDAR".to_owned(),
        "VERSION:2.0".to_owned(),
        "PRODID:-//Zhunong//Live//ZH".to_owned(),
        "CALSCALE:GREGORIAN".to_owned(),
        "BEGIN:VEVENT".to_owned(),
        format!("UID:live-{}@zhunong", card.id),
        format!("DTSTAMP:{}", ics_time(crate::server::db::now())),
        format!("DTSTART:{}", ics_time(card.starts_at)),
        format!("DTEND:{}", ics_time(card.ends_at)),
        format!("SUMMARY:{summary}"),
        format!(
            "DESCRIPTION:{}",
            ics_text(&format!(
                "{} · {} · 助农集市直播",
                card.host_name, card.county_name
            ))
        ),
        format!("URL:{origin}/live/{}", card.id),
        "BEGIN:VALARM".to_owned(),
        "TRIGGER:-PT10M".to_owned(),
        "ACTION:DISPLAY".to_owned(),
        format!("DESCRIPTION:{summary}"),
        "END:VALARM".to_owned(),
        "END:VEVENT".to_owned(),
        "END:VCALENDAR".to_owned(),
    ];
    let body: String = lines.iter().map(|l| ics_fold(l) + "\r\n").collect();
    (
        [
            (
                header::CONTENT_TYPE,
                "text/calendar; charset=utf-8".to_owned(),
            ),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"live-{}.ics\"", card.id),
            ),
        ],
        body,
    )
        .into_response()
}

async fn report_table(
    state: &AppState,
    headers: &HeaderMap,
    id: &str,
) -> Result<crate::official::export::Table, AppError> {
    use crate::official::export::{Cell, Table};
    let id = event_id(id)?;
    let user = crate::auth::server::user_of_request(&state.db, headers)
        .await?
        .ok_or_else(|| AppError::new(ErrorCode::Unauthenticated))?;
    crate::policy::require(
        &user,
        crate::policy::Action::RunEvent,
        &crate::policy::event_facts(&state.db, id).await?,
    )?;
    let r = super::server::report_of(&state.db, id).await?;
    let mut rows: Vec<Vec<Cell>> = r
        .villages
        .iter()
        .map(|v| {
            vec![
                Cell::Text(v.code.clone()),
                Cell::Text(v.name.clone()),
                Cell::Int(v.households),
                Cell::Yuan(v.income_fen),
            ]
        })
        .collect();
    let t = &r.totals;
    rows.push(vec![
        Cell::Text("合计".into()),
        Cell::Text(format!(
            "订单 {} · 件数 {} · 买家 {} · 成交额 {}",
            t.orders,
            t.units,
            t.buyers,
            crate::official::export::plain_yuan(t.gmv_fen)
        )),
        Cell::Int(t.households),
        Cell::Yuan(t.income_fen),
    ]);
    rows.push(vec![
        Cell::Text("平日日均（前 30 天）".into()),
        Cell::Text(format!(
            "成交额 {}",
            crate::official::export::plain_yuan(r.baseline_gmv_per_day_fen)
        )),
        Cell::Empty,
        Cell::Yuan(r.baseline_income_per_day_fen),
    ]);
    Ok(Table::whole(
        format!("live-{id}"),
        vec!["村代码", "村", "受益户数", "增收（元）"],
        rows,
    ))
}

/// `GET /live/{id}/report.csv` and `.xlsx`: the report's villages, totals and the county's
/// ordinary day, for whoever runs the event.
pub async fn report_csv(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    match report_table(&state, &headers, &id).await {
        Ok(t) => crate::official::export::csv(t),
        Err(e) => plain_error(&headers, e),
    }
}

pub async fn report_xlsx(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    match report_table(&state, &headers, &id).await {
        Ok(t) => match crate::official::export::xlsx(t).await {
            Ok(r) => r,
            Err(e) => plain_error(&headers, e),
        },
        Err(e) => plain_error(&headers, e),
    }
}
