//! Application state, handed to axum routes and (through context) to server functions.

use super::{bounded::WorkQueue, config::Settings, db::Db, metrics::Metrics, ratelimit::Limiter};
use axum::extract::FromRef;
use leptos::config::LeptosOptions;
use std::sync::Arc;

#[derive(Clone, FromRef)]
pub struct AppState {
    pub leptos_options: LeptosOptions,
    pub db: Db,
    pub settings: Arc<Settings>,
    #[from_ref(skip)]
    pub limiter: Arc<Limiter>,
    /// Password hashing: bounded in concurrency and queue.
    #[from_ref(skip)]
    pub hashing: Arc<WorkQueue>,
    /// Photo decoding and re-encoding: bounded the same way.
    #[from_ref(skip)]
    pub images: Arc<WorkQueue>,
    #[from_ref(skip)]
    pub metrics: Arc<Metrics>,
    /// The payment providers offered, and the fake one's trades.
    #[from_ref(skip)]
    pub payments: Arc<crate::payments::server::Payments>,
    /// Livestream viewers' state, pushed over server-sent events.
    #[from_ref(skip)]
    pub live: Arc<crate::live::stream::Hub>,
    /// Anonymous visitors' public pages, kept for a moment.
    #[from_ref(skip)]
    pub pages: Arc<super::pagecache::PageCache>,
}

impl AppState {
    /// The state of the request being served, from the server function's context. Missing
    /// only when the request has ended (its client went away mid-render and Leptos disposed
    /// the page, while a resource of it was still running): 503, logged at debug level, since
    /// nobody is waiting for the answer. (Were it missing in a live request, every page would
    /// fail, which the tests would show at once.)
    pub fn get() -> Result<AppState, crate::error::AppError> {
        leptos::prelude::use_context::<AppState>().ok_or_else(|| {
            tracing::debug!("no AppState in context: the request has ended");
            crate::error::AppError::new(crate::error::ErrorCode::Unavailable)
        })
    }

    /// The database for reads that may be a moment old: the catalogue, the public pages and
    /// the officials' reports. That is the read replica while it is usable, unless this client
    /// wrote something in the last [`WROTE_COOKIE_SECS`] (the buyer who just paid, the seller
    /// who just saved a listing): they read the primary, and see their own writes at once.
    /// Everything else (sessions, a user's own orders and records, every write) uses `db`.
    pub fn reader(&self) -> Db {
        if self.db.replica.is_none() || wrote_recently() {
            self.db.clone()
        } else {
            self.db.for_reads()
        }
    }
}

/// The cookie that marks a client that wrote in the last [`WROTE_COOKIE_SECS`]. It only steers
/// reads to the primary: a client that forges or drops it reads a moment-old page, no more.
pub const WROTE_COOKIE: &str = "zn_wrote";
/// Longer than the replica may lag ([`super::db::MAX_REPLICA_LAG_MS`]) plus one check.
pub const WROTE_COOKIE_SECS: u64 = 15;

fn wrote_recently() -> bool {
    leptos::prelude::use_context::<http::request::Parts>()
        .is_some_and(|p| super::client::has_cookie(&p.headers, WROTE_COOKIE))
}

/// Server functions that only read (the pages' data, called with POST like every server
/// function when the app navigates in the browser): they do not mark the client. Any endpoint
/// not listed is taken to write; leaving a read out costs a client 15 s on the primary, no more.
const READ_ONLY_ENDPOINTS: &[&str] = &[
    "/api/auth/me",
    "/api/auth/session",
    "/api/delivery/regions",
    "/api/home/counties",
    "/api/home/county",
    "/api/live/list",
    "/api/live/get",
    "/api/market/catalogue",
    "/api/market/search",
    "/api/market/listing",
    "/api/shops/shop",
    "/api/shops/profile",
    "/api/reviews/listing",
    "/api/notices/list",
    "/api/official/dashboard",
    "/api/official/households",
    "/api/orders/pledge",
    "/api/orders/shared-impact",
];

/// Middleware: with a read replica, a request that may have written (any method but GET, HEAD
/// and OPTIONS, to an endpoint not in [`READ_ONLY_ENDPOINTS`]) and succeeded gets the
/// [`WROTE_COOKIE`].
pub async fn mark_writes(
    axum::extract::State(state): axum::extract::State<AppState>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let may_write = !matches!(
        *req.method(),
        http::Method::GET | http::Method::HEAD | http::Method::OPTIONS
    ) && !READ_ONLY_ENDPOINTS.contains(&req.uri().path());
    let https = super::client::served_over_https(&state.settings, req.extensions(), req.headers());
    let mut res = next.run(req).await;
    let status = res.status();
    if may_write && state.db.replica.is_some() && (status.is_success() || status.is_redirection()) {
        let secure = if https { "; Secure" } else { "" };
        let cookie = format!(
            "{WROTE_COOKIE}=1; Path=/; HttpOnly; SameSite=Lax; Max-Age={WROTE_COOKIE_SECS}{secure}"
        );
        if let Ok(v) = http::HeaderValue::from_str(&cookie) {
            res.headers_mut().append(http::header::SET_COOKIE, v);
        }
    }
    res
}
