//! The request guards every route passes, outermost first:
//! - [`load`]: a global bound on requests in flight (503 at once past it) and a time limit;
//! - [`security_headers`]: CSP with a per-request nonce for the hydration scripts, nosniff,
//!   frame-ancestors, Referrer-Policy, and HSTS when served over https;
//! - [`same_origin`]: a state-changing request from another site's page is refused (403);
//! - [`clean_text`]: control characters in the query string or in a form or JSON body are
//!   refused (400) before any handler or server function sees them.

use super::client::{client_ip, peer_of, rate_key, served_over_https};
use super::state::AppState;
use crate::domain::text::is_clean;
use crate::error::{AppError, ErrorCode};
use crate::i18n::Lang;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Semaphore;

/// The nonce of this request's inline scripts, set by [`security_headers`] and given to Leptos
/// (which puts it on the hydration scripts).
#[derive(Clone, Debug)]
pub struct CspNonce(pub String);

/// When this request's time is up and its client is answered 503 ([`load`]); set on every
/// request but `/healthz` and `/metrics`. Work that outlives the request (a batched write, run
/// in another task) reads it so that it never commits what the client was told failed.
#[derive(Clone, Copy, Debug)]
pub struct Deadline(pub tokio::time::Instant);

tokio::task_local! {
    /// The deadline of the request whose handler this task runs, set by [`load`].
    static DEADLINE: tokio::time::Instant;
}

impl Deadline {
    /// This request's deadline: set around every handler by [`load`] (plain routes, like the
    /// checkout form's, and server functions alike), else read from the request Leptos renders
    /// for (work that Leptos runs in a task of its own).
    pub fn current() -> Option<tokio::time::Instant> {
        DEADLINE.try_with(|d| *d).ok().or_else(|| {
            leptos::prelude::use_context::<http::request::Parts>()
                .and_then(|p| p.extensions.get::<Deadline>().map(|d| d.0))
        })
    }
}

/// A refusal in the caller's language: JSON for `/api/…`, a short page otherwise.
pub fn refuse(path: &str, lang: Lang, code: ErrorCode) -> Response {
    let e = AppError::in_lang(code, lang);
    let status = StatusCode::from_u16(e.status).unwrap_or(StatusCode::BAD_REQUEST);
    let mut res = if path.starts_with("/api/") {
        (status, Json(e)).into_response()
    } else {
        let body = format!(
            "<!DOCTYPE html><html lang=\"{}\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>{}</title></head><body><main><h1>{}</h1><p><a href=\"/\">{}</a></p></main></body></html>",
            lang.tag(),
            status.as_u16(),
            crate::ui::escape_text(&e.message),
            crate::ui::escape_text(crate::i18n::T::nav_home.t(lang)),
        );
        (
            status,
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            body,
        )
            .into_response()
    };
    if status == StatusCode::SERVICE_UNAVAILABLE || status == StatusCode::TOO_MANY_REQUESTS {
        res.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    }
    res
}

fn lang_of(req: &Request) -> Lang {
    super::request_lang(req.headers())
}

/// Requests in flight, shared by every connection.
#[derive(Debug)]
/// The requests in flight: in all, and per client address.
pub struct InFlight {
    all: Semaphore,
    per_address: std::sync::Mutex<std::collections::HashMap<String, usize>>,
    per_address_max: usize,
}

impl InFlight {
    pub fn new(all: usize, per_address: usize) -> InFlight {
        InFlight {
            all: Semaphore::new(all),
            per_address: Default::default(),
            per_address_max: per_address,
        }
    }

    /// A slot for one request from `address`, or `None` when that address already has
    /// `per_address_max` requests in flight. The slot is given back when dropped.
    fn enter(&self, address: String) -> Option<AddressSlot<'_>> {
        let mut map = self.per_address.lock().unwrap_or_else(|p| p.into_inner());
        let n = map.entry(address.clone()).or_insert(0);
        if *n >= self.per_address_max {
            return None;
        }
        *n += 1;
        Some(AddressSlot {
            in_flight: self,
            address,
        })
    }
}

struct AddressSlot<'a> {
    in_flight: &'a InFlight,
    address: String,
}

impl Drop for AddressSlot<'_> {
    fn drop(&mut self) {
        let mut map = self
            .in_flight
            .per_address
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if let Some(n) = map.get_mut(&self.address) {
            *n -= 1;
            if *n == 0 {
                map.remove(&self.address);
            }
        }
    }
}

/// Bounds the requests in flight, in all and per client address (503 with `Retry-After` past
/// either bound, at once, so a flood queues nowhere and one address's slow requests cannot
/// hold every slot), and the time one may take (503 after `ZHUNONG_REQUEST_TIMEOUT_SECS`; photo
/// uploads get ten times as long). `/healthz` and `/metrics` are always answered.
pub async fn load(
    State((state, in_flight)): State<(AppState, Arc<InFlight>)>,
    mut req: Request,
    next: Next,
) -> Response {
    let path = req.uri().path().to_owned();
    if path == "/healthz" || path == "/metrics" {
        return next.run(req).await;
    }
    let lang = lang_of(&req);
    let address = client_ip(
        peer_of(req.extensions()),
        req.headers(),
        &state.settings.trusted_proxies,
    )
    .map(rate_key);
    let _slot = match address {
        Some(a) => match in_flight.enter(a) {
            Some(slot) => Some(slot),
            None => {
                state.metrics.shed();
                return refuse(&path, lang, ErrorCode::Busy);
            }
        },
        None => None,
    };
    let Ok(_permit) = in_flight.all.try_acquire() else {
        state.metrics.shed();
        return refuse(&path, lang, ErrorCode::Busy);
    };
    let mut limit = Duration::from_secs(state.settings.request_timeout_secs);
    // Uploads, and workbooks (built whole before they are sent).
    if path == crate::market::photos::UPLOAD_PATH
        || path == crate::market::api::NEW_LISTING_PATH
        || path == crate::official::import::PATH
        || (path.starts_with(crate::official::export::PREFIX) && path.ends_with(".xlsx"))
    {
        limit *= 10;
    }
    let deadline = tokio::time::Instant::now() + limit;
    req.extensions_mut().insert(Deadline(deadline));
    match DEADLINE
        .scope(deadline, tokio::time::timeout(limit, next.run(req)))
        .await
    {
        Ok(res) => res,
        Err(_) => {
            tracing::warn!(path, "request timed out");
            refuse(&path, lang, ErrorCode::Unavailable)
        }
    }
}

/// A fresh nonce: 128 random bits, base64url.
fn new_nonce() -> String {
    use base64::Engine;
    use rand::RngCore;
    let mut bytes = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// The policy of HTML pages: scripts only from this site or carrying this response's nonce
/// (WebAssembly compiled from this site), nothing framed, forms only to this site.
pub fn page_csp(nonce: &str) -> String {
    format!(
        "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; \
         style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; font-src 'self'; \
         connect-src 'self'; media-src 'self' https:; object-src 'none'; base-uri 'none'; \
         form-action 'self'; frame-ancestors 'none'"
    )
}

/// The policy of everything else (JSON, photos, files): nothing may run or be framed.
pub const OTHER_CSP: &str = "default-src 'none'; frame-ancestors 'none'; sandbox";

/// Security headers on every response; the CSP nonce for the page is made here.
pub async fn security_headers(
    State(state): State<AppState>,
    mut req: Request,
    next: Next,
) -> Response {
    let nonce = new_nonce();
    req.extensions_mut().insert(CspNonce(nonce.clone()));
    let https = served_over_https(&state.settings, req.extensions(), req.headers());
    let mut res = next.run(req).await;
    let is_html = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    let h = res.headers_mut();
    let csp = if is_html {
        page_csp(&nonce)
    } else {
        OTHER_CSP.to_owned()
    };
    if let Ok(v) = HeaderValue::from_str(&csp) {
        h.insert(header::CONTENT_SECURITY_POLICY, v);
    }
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("strict-origin-when-cross-origin"),
    );
    h.insert(
        "cross-origin-opener-policy",
        HeaderValue::from_static("same-origin"),
    );
    h.insert(
        "permissions-policy",
        HeaderValue::from_static("camera=(), microphone=(), geolocation=(), payment=()"),
    );
    if https {
        h.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000; includeSubDomains"),
        );
    }
    res
}

/// Whether a state-changing request may come from where it says it comes from.
fn same_origin_ok(req: &Request, public_origin: Option<&str>) -> bool {
    let headers = req.headers();
    if let Some(site) = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        // `none`: typed into the address bar or a bookmark, never a cross-site page.
        return matches!(site, "same-origin" | "none");
    }
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        // No browser sends a cross-site POST without Origin; other clients carry no ambient
        // cookie from a page, so there is nothing to forge.
        return true;
    };
    match public_origin {
        Some(o) => origin.eq_ignore_ascii_case(o),
        None => {
            let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
            let origin_host = origin
                .strip_prefix("https://")
                .or_else(|| origin.strip_prefix("http://"));
            matches!((origin_host, host), (Some(a), Some(b)) if a.eq_ignore_ascii_case(b))
        }
    }
}

/// Whether a request must come from this site's own pages (or no page at all): everything but
/// reads, and the exports too, which are reads but write the audit log and build files (another
/// site's link must not make an official's browser do either).
pub fn needs_same_origin(method: &Method, path: &str) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
        || path.starts_with(crate::official::export::PREFIX)
}

/// Refuses (403) a state-changing request sent by another site's page: log-in and every server
/// function included, and the exports. Payment notifications (signed, server to server) are
/// exempt.
pub async fn same_origin(State(state): State<AppState>, req: Request, next: Next) -> Response {
    if !needs_same_origin(req.method(), req.uri().path())
        || crate::payments::server::is_notify_path(req.uri().path())
        || same_origin_ok(&req, state.settings.public_origin.as_deref())
    {
        return next.run(req).await;
    }
    tracing::warn!(path = req.uri().path(), "cross-site request refused");
    refuse(req.uri().path(), lang_of(&req), ErrorCode::CrossSite)
}

/// Every text value in a form-encoded body or a query string.
fn form_values_clean(bytes: &[u8]) -> bool {
    match serde_urlencoded::from_bytes::<Vec<(String, String)>>(bytes) {
        Ok(pairs) => pairs.iter().all(|(k, v)| is_clean(k) && is_clean(v)),
        // Not decodable: the handler answers 400 itself.
        Err(_) => true,
    }
}

fn json_clean(v: &serde_json::Value) -> bool {
    match v {
        serde_json::Value::String(s) => is_clean(s),
        serde_json::Value::Array(a) => a.iter().all(json_clean),
        serde_json::Value::Object(o) => o.iter().all(|(k, v)| is_clean(k) && json_clean(v)),
        _ => true,
    }
}

/// Refuses (400) control characters anywhere in the query string or the body (read as a form
/// and as text, or as JSON), so no handler, server function or query ever sees them.
/// Multipart bodies (photos) carry no free text: their one text field is a number, parsed as
/// such.
pub async fn clean_text(req: Request, next: Next) -> Response {
    let path = req.uri().path().to_owned();
    let lang = lang_of(&req);
    if let Some(q) = req.uri().query() {
        if !form_values_clean(q.as_bytes()) {
            return refuse(&path, lang, ErrorCode::ControlCharacter);
        }
    }
    let kind = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        })
        .unwrap_or_default();
    // Multipart bodies are photo uploads and registry imports, checked by their own routes. Every other body is
    // checked whatever its declared type: server functions decode a form body even when the
    // Content-Type says something else, so the type cannot be trusted to skip the check.
    let is_json = kind == "application/json" || kind.ends_with("+json");
    if kind.starts_with("multipart/") || matches!(*req.method(), Method::GET | Method::HEAD) {
        return next.run(req).await;
    }
    // The registry import streams its CSV (up to 32 MB) and checks every line itself.
    if path == crate::official::import::PATH {
        return next.run(req).await;
    }
    let (parts, body) = req.into_parts();
    let bytes = match axum::body::to_bytes(body, super::MAX_BODY_BYTES).await {
        Ok(b) => b,
        Err(_) => return refuse(&path, lang, ErrorCode::TooLarge),
    };
    let clean = if is_json {
        serde_json::from_slice::<serde_json::Value>(&bytes)
            .map(|v| json_clean(&v))
            .unwrap_or(true)
    } else {
        // As a form (what server functions read) and as raw text.
        form_values_clean(&bytes) && std::str::from_utf8(&bytes).map_or(true, is_clean)
    };
    if !clean {
        return refuse(&path, lang, ErrorCode::ControlCharacter);
    }
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(method: &str, headers: &[(&str, &str)]) -> Request {
        let mut b = Request::builder()
            .method(method)
            .uri("/api/orders/checkout");
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        b.body(Body::empty()).unwrap()
    }

    #[test]
    fn exports_need_this_site_like_posts() {
        assert!(needs_same_origin(&Method::GET, "/export/national.xlsx"));
        assert!(needs_same_origin(&Method::POST, "/api/auth/login"));
        assert!(!needs_same_origin(&Method::GET, "/market"));
        assert!(!needs_same_origin(&Method::HEAD, "/households"));
    }

    #[test]
    fn cross_site_posts_are_told_apart_from_same_site_ones() {
        let host = ("host", "shop.example.cn");
        assert!(same_origin_ok(
            &req("POST", &[host, ("sec-fetch-site", "same-origin")]),
            None
        ));
        assert!(!same_origin_ok(
            &req("POST", &[host, ("sec-fetch-site", "cross-site")]),
            None
        ));
        assert!(!same_origin_ok(
            &req("POST", &[host, ("sec-fetch-site", "same-site")]),
            None
        ));
        assert!(same_origin_ok(
            &req("POST", &[host, ("origin", "https://shop.example.cn")]),
            None
        ));
        assert!(!same_origin_ok(
            &req("POST", &[host, ("origin", "https://evil.example")]),
            None
        ));
        assert!(!same_origin_ok(
            &req("POST", &[host, ("origin", "null")]),
            None
        ));
        let public = Some("https://shop.example.cn");
        assert!(same_origin_ok(
            &req("POST", &[("origin", "https://shop.example.cn")]),
            public
        ));
        assert!(!same_origin_ok(
            &req("POST", &[host, ("origin", "http://shop.example.cn")]),
            public
        ));
        // API clients without a browser's headers.
        assert!(same_origin_ok(&req("POST", &[host]), None));
    }

    #[test]
    fn control_characters_are_found_in_forms_and_json() {
        assert!(form_values_clean(b"login=a%40b.cn&password=x+y"));
        assert!(!form_values_clean(b"login=a%00b"));
        assert!(!form_values_clean(b"q%00=1"));
        assert!(form_values_clean(b"note=line%0Aline"));
        assert!(json_clean(&serde_json::json!({"a": ["x", {"b": "y"}]})));
        assert!(!json_clean(
            &serde_json::json!({"a": ["x", {"b": "y\u{0}"}]})
        ));
    }

    #[test]
    fn pages_allow_only_their_own_scripts() {
        let csp = page_csp("abc");
        assert!(csp.contains("script-src 'self' 'nonce-abc' 'wasm-unsafe-eval';"));
        assert!(csp.contains("frame-ancestors 'none'"));
        assert!(!csp
            .split(';')
            .any(|d| d.contains("script-src") && d.contains("unsafe-inline")));
    }
}
