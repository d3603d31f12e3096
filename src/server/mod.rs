//! The server half: configuration, database, sessions, routing and the CLI's commands.

pub mod admin;
pub mod assets;
pub mod batch;
pub mod bench;
pub mod bounded;
pub mod client;
pub mod codes;
pub mod config;
pub mod db;
pub mod demo_art;
pub mod guard;
pub mod keyset;
pub mod maintenance;
pub mod metrics;
pub mod notify;
pub mod pagecache;
pub mod qr;
pub mod ratelimit;
pub mod seed;
pub mod seed_live;
pub mod seed_market;
pub mod seed_monitoring;
pub mod session;
pub mod state;

use crate::app::{shell, App};
use crate::error::{AppError, ErrorCode};
use crate::i18n::Lang;
use crate::market::photos;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use axum::serve::ListenerExt;
use axum::{Json, Router};
use bounded::WorkQueue;
use config::Settings;
use db::Db;
use leptos::config::LeptosOptions;
use leptos::prelude::provide_context;
use leptos_axum::{generate_route_list, LeptosRoutes};
use ratelimit::Limiter;
use secrecy::ExposeSecret;
use state::AppState;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::trace::{DefaultMakeSpan, DefaultOnResponse, TraceLayer};

/// Sets up logging once (`RUST_LOG` or `ZHUNONG_LOG`, default `info`).
pub fn init_tracing() {
    use tracing_subscriber::EnvFilter;
    let filter = std::env::var("ZHUNONG_LOG")
        .ok()
        .and_then(|v| EnvFilter::try_new(v).ok())
        .or_else(|| EnvFilter::try_from_default_env().ok())
        .unwrap_or_else(|| EnvFilter::new("info,sqlx=warn,tower_http=info"));
    let filter = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false);
    // `ZHUNONG_LOG_FORMAT=json`: one JSON object a line, for log collectors.
    let _ = if std::env::var("ZHUNONG_LOG_FORMAT").as_deref() == Ok("json") {
        filter_builder_json()
    } else {
        filter.try_init()
    };
}

fn filter_builder_json() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    use tracing_subscriber::EnvFilter;
    let filter = std::env::var("ZHUNONG_LOG")
        .ok()
        .and_then(|v| EnvFilter::try_new(v).ok())
        .or_else(|| EnvFilter::try_from_default_env().ok())
        .unwrap_or_else(|| EnvFilter::new("info,sqlx=warn,tower_http=info"));
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_current_span(true)
        .try_init()
}

/// Connects to the database the settings name and applies migrations.
pub async fn open_database(settings: &Settings) -> Result<Db, db::DbError> {
    let db = Db::connect(settings.database_url.expose_secret()).await?;
    db.migrate().await?;
    match &settings.database_read_url {
        Some(url) => {
            db.with_replica(settings.database_url.expose_secret(), url.expose_secret())
                .await
        }
        None => Ok(db),
    }
}

/// The Leptos options: site root and package names from the environment (`LEPTOS_SITE_ROOT`,
/// `LEPTOS_OUTPUT_NAME`, …), else the defaults `zhunong-sitebuild` builds to.
pub fn leptos_options(site_addr: SocketAddr) -> LeptosOptions {
    let mut opts = leptos::config::get_configuration(None)
        .map(|c| c.leptos_options)
        .unwrap_or_else(|_| {
            LeptosOptions::builder()
                .output_name(env!("CARGO_PKG_NAME"))
                .site_root("target/site")
                .site_pkg_dir("pkg")
                .build()
        });
    opts.site_addr = site_addr;
    // The files under /pkg/ have plain names; `server::assets` puts them under the build's
    // directory instead of per-file hashes.
    opts.hash_files = false;
    opts
}

/// The stylesheet's address (for pages that are not rendered by the app, like the local fake
/// payment provider's).
pub fn stylesheet_href(opts: &LeptosOptions) -> String {
    assets::Assets::get(opts).css.clone()
}

/// How long browsers and proxies may keep an answer: the built files a year when addressed
/// under the running build's directory (see [`assets`]; a new build has a new one), any other
/// file under /pkg/ is revalidated each time; other static files (the icon) a day; pages never
/// without asking, and only the browser (they show who is logged in). Answers that set their own
/// (photos, exports, streams) keep it.
async fn cache_control(
    State(build): State<Option<String>>,
    mut req: Request,
    next: Next,
) -> Response {
    use header::{CACHE_CONTROL, CONTENT_TYPE, LAST_MODIFIED};
    let (pkg, hashed) = match assets::classify(req.uri().path(), build.as_deref()) {
        assets::PkgPath::Other => (false, false),
        assets::PkgPath::Plain => (true, false),
        assets::PkgPath::Build { rest, current } => {
            // The file itself is in /pkg/, not in a directory of the build's name.
            let query = req
                .uri()
                .query()
                .map(|q| format!("?{q}"))
                .unwrap_or_default();
            match format!("/pkg/{rest}{query}").parse() {
                Ok(uri) => {
                    *req.uri_mut() = uri;
                    (true, current)
                }
                Err(_) => (true, false),
            }
        }
    };
    let mut res = next.run(req).await;
    if res.headers().contains_key(CACHE_CONTROL) {
        return res;
    }
    let html = res
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    let value = if pkg && res.status().is_success() {
        if hashed {
            "public, max-age=31536000, immutable"
        } else {
            "no-cache"
        }
    } else if html {
        "private, no-cache"
    } else if res.status().is_success() && res.headers().contains_key(LAST_MODIFIED) {
        "public, max-age=86400"
    } else {
        return res;
    };
    res.headers_mut()
        .insert(CACHE_CONTROL, header::HeaderValue::from_static(value));
    if pkg {
        // The same address answers brotli, gzip or plain bytes by Accept-Encoding: a shared
        // cache must keep them apart (the file handler that picks the precompressed copy does
        // not say so itself).
        res.headers_mut().append(
            header::VARY,
            header::HeaderValue::from_static("accept-encoding"),
        );
    }
    res
}

/// The largest request body accepted (413 above it).
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// Gives Leptos this request's CSP nonce (made by [`guard::security_headers`]), so the
/// hydration scripts carry the nonce that the response's policy names.
fn provide_request_nonce() {
    if let Some(nonce) = leptos::prelude::use_context::<http::request::Parts>()
        .and_then(|p| p.extensions.get::<guard::CspNonce>().cloned())
    {
        provide_context(leptos::nonce::Nonce::from_value(nonce.0));
    }
}

/// The app's page routes, found once per process. Finding them runs the app with a
/// process-wide flag set (leptos_router's `RouteList::generate` holds `SuppressResourceLoad`),
/// and a resource first polled on another thread meanwhile never loads: its page waited until
/// the request timed out (503), which happened in the tests, where many apps start in one
/// process while others serve pages (leptos issue 4773).
fn app_routes() -> Vec<leptos_axum::AxumRouteListing> {
    static ROUTES: std::sync::OnceLock<Vec<leptos_axum::AxumRouteListing>> =
        std::sync::OnceLock::new();
    ROUTES.get_or_init(|| generate_route_list(App)).clone()
}

/// Builds the whole app: pages, server functions under `/api/`, static files, `/healthz`,
/// `/metrics`, stored photos, and the guards every request passes (see [`guard`]).
pub fn router(state: AppState) -> Router {
    let routes = app_routes();
    let ctx_state = state.clone();
    let err_state = state.clone();
    let shell_opts = state.leptos_options.clone();
    let in_flight = Arc::new(guard::InFlight::new(
        state.settings.max_concurrent_requests,
        state.settings.max_requests_per_address,
    ));
    Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics::metrics))
        .route(
            "/api/payments/wechat/notify",
            axum::routing::post(crate::payments::server::wechat_notify),
        )
        .route(
            "/api/payments/alipay/notify",
            axum::routing::post(crate::payments::server::alipay_notify),
        )
        .merge(if state.payments.fake() {
            crate::payments::fake::routes()
        } else {
            Router::new()
        })
        .route(
            crate::official::export::ROUTE,
            get(crate::official::export::export),
        )
        .route(
            crate::live::stream::STREAM_ROUTE,
            get(crate::live::stream::stream),
        )
        .route(
            crate::live::stream::CALENDAR_ROUTE,
            get(crate::live::stream::calendar),
        )
        .route(
            crate::live::stream::REPORT_CSV_ROUTE,
            get(crate::live::stream::report_csv),
        )
        .route(
            crate::live::stream::REPORT_XLSX_ROUTE,
            get(crate::live::stream::report_xlsx),
        )
        .route(
            crate::orders::BUY_PATH,
            axum::routing::post(crate::orders::server::buy_form),
        )
        .route(
            crate::shops::server::SHORT_ROUTE,
            get(crate::shops::server::short_link),
        )
        .route(
            crate::shops::server::QR_ROUTE,
            get(crate::shops::server::qr_svg),
        )
        .route("/api/{*rest}", any(unknown_endpoint))
        .leptos_routes_with_context(
            &state,
            routes,
            move || {
                provide_context(ctx_state.clone());
                provide_request_nonce();
            },
            move || shell(shell_opts.clone()),
        )
        .fallback(leptos_axum::file_and_error_handler_with_context::<
            AppState,
            _,
        >(
            move || {
                provide_context(err_state.clone());
                provide_request_nonce();
            },
            shell,
        ))
        // Inner to outer: the body limit answers 413 before a handler reads a byte; api_errors
        // (outside it) turns that, like every /api error, into JSON with the right status.
        .layer(RequestBodyLimitLayer::new(MAX_BODY_BYTES))
        // Added after the 1 MiB limit, so only their own limits apply: photo uploads, and the
        // stored photos (only files the upload wrote; immutable: each has a fresh random name).
        .route(
            photos::UPLOAD_PATH,
            axum::routing::post(photos::upload).layer((
                axum::extract::DefaultBodyLimit::disable(),
                RequestBodyLimitLayer::new(photos::MAX_UPLOAD_BYTES),
            )),
        )
        .route(
            crate::market::api::NEW_LISTING_PATH,
            axum::routing::post(photos::create).layer((
                axum::extract::DefaultBodyLimit::disable(),
                RequestBodyLimitLayer::new(photos::MAX_UPLOAD_BYTES),
            )),
        )
        .route(
            crate::official::import::PATH,
            axum::routing::post(crate::official::import::upload).layer((
                axum::extract::DefaultBodyLimit::disable(),
                RequestBodyLimitLayer::new(crate::official::import::MAX_BYTES),
            )),
        )
        .route(
            &format!("{}{{*path}}", photos::PUBLIC_PREFIX),
            get(photos::serve_photo),
        )
        .layer(middleware::from_fn(api_errors))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            self::state::mark_writes,
        ))
        .layer(middleware::from_fn_with_state(
            assets::Assets::get(&state.leptos_options).build.clone(),
            cache_control,
        ))
        // gzip for whoever asks (pages, JSON, the 2 MB WebAssembly, scripts and styles); photos,
        // already JPEG, are left as they are.
        // Inside compression (a kept page is compressed like a fresh one), outside cache_control
        // (whose headers are kept with the page); after security_headers made the nonce.
        .layer(middleware::from_fn_with_state(
            state.pages.clone(),
            pagecache::serve,
        ))
        .layer(tower_http::compression::CompressionLayer::new())
        .layer(middleware::from_fn(guard::clean_text))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            guard::same_origin,
        ))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            guard::security_headers,
        ))
        .layer(middleware::from_fn_with_state(
            (state.clone(), in_flight),
            guard::load,
        ))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            metrics::record,
        ))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(DefaultMakeSpan::new().level(tracing::Level::INFO))
                .on_response(
                    DefaultOnResponse::new()
                        .level(tracing::Level::INFO)
                        .latency_unit(tower_http::LatencyUnit::Micros),
                ),
        )
        .with_state(state)
}

/// Builds the state for `settings` on an open database.
pub fn app_state(settings: Settings, db: Db) -> AppState {
    let live = Arc::new(crate::live::stream::Hub::new(
        db.clone(),
        settings.live_streams_per_address,
    ));
    let limiter = Limiter::new(
        settings.login_max_failures_per_account,
        settings.login_max_failures_per_ip,
        settings.login_window_secs,
        settings.register_per_ip_per_hour,
        settings.register_global_per_hour,
    );
    AppState {
        leptos_options: leptos_options(settings.site_addr),
        db,
        hashing: Arc::new(WorkQueue::new(
            "password_hashing",
            settings.hash_workers,
            settings.hash_queue,
        )),
        images: Arc::new(WorkQueue::new(
            "photo_decoding",
            settings.image_workers,
            settings.image_queue,
        )),
        metrics: Arc::new(metrics::Metrics::default()),
        payments: Arc::new(crate::payments::server::Payments::new(
            settings.payments.clone(),
            settings.public_origin.clone(),
        )),
        pages: Arc::new(pagecache::PageCache::new(
            settings.page_cache_ms,
            settings.public_origin.is_none(),
        )),
        settings: Arc::new(settings),
        limiter: Arc::new(limiter),
        live,
    }
}

/// Serves the app on `listener` until the future `shutdown` completes, then lets the requests
/// in flight finish (axum's graceful shutdown) before returning. Accepted sockets get
/// TCP_NODELAY, so a streamed page is not held back by delayed ACKs.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    if let Ok(addr) = listener.local_addr() {
        state.payments.set_local_addr(addr);
    }
    // The dashboard's roll-ups of this month, if not built yet (housekeeping keeps them so).
    let rollup_db = state.db.clone();
    tokio::spawn(async move {
        if let Err(e) = crate::ledger::rollup::keep_current(&rollup_db).await {
            tracing::warn!(error = ?e, "building the roll-ups failed; housekeeping will retry");
        }
    });
    if state.payments.fake() {
        // The fake provider's RSA test keys take a while to make: not inside a request.
        tokio::task::spawn_blocking(|| {
            crate::payments::fake::test_keys();
        });
    }
    // Open event streams end when the server shuts down, so the graceful shutdown is not held.
    let hub = state.live.clone();
    let shutdown = async move {
        shutdown.await;
        hub.close();
    };
    let app = router(state);
    axum::serve(
        listener.tap_io(|tcp| {
            if let Err(e) = tcp.set_nodelay(true) {
                tracing::debug!(error = %e, "TCP_NODELAY");
            }
        }),
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
}

/// Why `serve` refuses to start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("ZHUNONG_ENV=production, but the database holds {0} demo accounts (with the README's known password). Use a database without the demo data, or unset ZHUNONG_ENV for a demonstration")]
    DemoAccountsInProduction(i64),
}

/// `zhunong serve`: open and migrate the database (never seeding it), then serve until Ctrl-C
/// or SIGTERM. In production, demo accounts stop it from starting.
pub async fn run(settings: Settings) -> Result<(), Box<dyn std::error::Error>> {
    // One server per SQLite file, and no restore under it (held until this returns).
    let _serving = admin::lock_serving(settings.database_url.expose_secret())?;
    let db = open_database(&settings).await?;
    let demo_accounts: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users WHERE is_demo = 1")
        .fetch_one(&db.pool)
        .await?;
    if settings.production && demo_accounts > 0 {
        return Err(StartError::DemoAccountsInProduction(demo_accounts).into());
    }
    if settings.production && settings.notify_dir.is_none() && settings.notify_url.is_none() {
        tracing::warn!("no notification sender (ZHUNONG_NOTIFY_URL or ZHUNONG_NOTIFY_DIR): codes and order messages stay queued in the notifications table");
    }
    if seed::is_empty(&db).await? {
        tracing::info!("the database is empty: `zhunong create-admin` makes the first administrator, `zhunong seed --demo` loads the demo");
    }
    let addr = settings.site_addr;
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|e| format!("cannot listen on {addr}: {e}"))?;
    tracing::info!(
        backend = db.backend.name(),
        production = settings.production,
        "listening on http://{}",
        listener.local_addr()?
    );
    let housekeeping = tokio::spawn(maintenance::run_periodically(
        db.clone(),
        settings.auto_receive_days,
        settings.warning_margin_percent,
    ));
    let state = app_state(settings, db);
    // The outbox's sender: what is due, every few seconds (failures wait their backoff).
    let notifier = tokio::spawn(notify::run_periodically(state.clone()));
    serve(listener, state, shutdown_signal()).await?;
    housekeeping.abort();
    notifier.abort();
    tracing::info!("stopped");
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
}

/// `GET /healthz`: 200 with the backend when the database answers, 503 when it does not.
async fn healthz(State(state): State<AppState>) -> Response {
    let ok = state.db.ping().await;
    let body = serde_json::json!({
        "status": if ok { "ok" } else { "unavailable" },
        "database": { "backend": state.db.backend.name(), "ok": ok },
        "version": env!("CARGO_PKG_VERSION"),
    });
    let status = if ok {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(body)).into_response()
}

/// The language a plain (non-server-function) request asks for: cookie, then Accept-Language.
pub fn request_lang(headers: &HeaderMap) -> Lang {
    let h = |n: header::HeaderName| headers.get(n).and_then(|v| v.to_str().ok());
    Lang::from_headers(h(header::COOKIE), h(header::ACCEPT_LANGUAGE))
}

/// An error of a plain (non-server-function) route as text in the request's language, with its
/// status (503 with `Retry-After`).
pub fn plain_error(headers: &HeaderMap, e: AppError) -> Response {
    let lang = request_lang(headers);
    let status = StatusCode::from_u16(e.code.status()).unwrap_or(StatusCode::BAD_REQUEST);
    let mut res = (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        e.code.text().t(lang).to_owned(),
    )
        .into_response();
    if status == StatusCode::SERVICE_UNAVAILABLE {
        res.headers_mut()
            .insert(header::RETRY_AFTER, header::HeaderValue::from_static("5"));
    }
    res
}

/// Whether a browser's form sent the request (it accepts HTML): the plain upload routes answer
/// it with a redirect, any other client with JSON.
pub fn wants_html(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("text/html"))
}

/// An error of a plain route as JSON in the request's language, keeping its field: what a
/// script gets from the upload routes, like a server function's error.
pub fn json_error(headers: &HeaderMap, e: AppError) -> Response {
    let e = AppError {
        field: e.field,
        ..AppError::in_lang(e.code, request_lang(headers))
    };
    let status = StatusCode::from_u16(e.status).unwrap_or(StatusCode::BAD_REQUEST);
    (status, Json(e)).into_response()
}

fn error_response(code: ErrorCode, status: StatusCode, lang: Lang) -> Response {
    (status, Json(AppError::in_lang(code, lang))).into_response()
}

/// Any `/api/…` path that names no server function.
async fn unknown_endpoint(headers: HeaderMap) -> Response {
    error_response(
        ErrorCode::UnknownEndpoint,
        StatusCode::NOT_FOUND,
        request_lang(&headers),
    )
}

/// The largest error body we re-read to take its status from.
const ERROR_BODY_LIMIT: usize = 64 * 1024;

/// Gives server-function errors their real status (server_fn answers every error with 500; our
/// `AppError` JSON carries the right one) and turns an empty 405 into a JSON error.
async fn api_errors(req: Request, next: Next) -> Response {
    let is_api = req.uri().path().starts_with("/api/");
    let lang = request_lang(req.headers());
    let res = next.run(req).await;
    if !is_api {
        return res;
    }
    if res.status() == StatusCode::METHOD_NOT_ALLOWED {
        let mut r = error_response(ErrorCode::BadRequest, StatusCode::METHOD_NOT_ALLOWED, lang);
        if let Some(allow) = res.headers().get(header::ALLOW) {
            r.headers_mut().insert(header::ALLOW, allow.clone());
        }
        return r;
    }
    let is_json = res
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if res.status() == StatusCode::PAYLOAD_TOO_LARGE && !is_json {
        return error_response(ErrorCode::TooLarge, StatusCode::PAYLOAD_TOO_LARGE, lang);
    }
    if res.status() != StatusCode::INTERNAL_SERVER_ERROR
        || !res.headers().contains_key("serverfnerror")
    {
        return res;
    }
    let (mut parts, body) = res.into_parts();
    let bytes = match tokio::time::timeout(
        Duration::from_secs(5),
        axum::body::to_bytes(body, ERROR_BODY_LIMIT),
    )
    .await
    {
        Ok(Ok(b)) => b,
        _ => return error_response(ErrorCode::Internal, StatusCode::INTERNAL_SERVER_ERROR, lang),
    };
    if let Ok(err) = serde_json::from_slice::<AppError>(&bytes) {
        if let Ok(status) = StatusCode::from_u16(err.status) {
            parts.status = status;
        }
    }
    // Busy (503) and too many attempts (429): say when to come back, if nobody has yet.
    if matches!(parts.status.as_u16(), 429 | 503)
        && !parts.headers.contains_key(header::RETRY_AFTER)
    {
        parts
            .headers
            .insert(header::RETRY_AFTER, header::HeaderValue::from_static("1"));
    }
    parts.headers.insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/json"),
    );
    Response::from_parts(parts, Body::from(bytes))
}
