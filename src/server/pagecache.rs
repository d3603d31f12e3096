//! A short-lived cache of the public pages as an anonymous visitor sees them (micro-caching).
//!
//! - Only `GET` requests without a session cookie, for the public pages ([`cacheable_path`]),
//!   are served from it; a signed-in user always gets a fresh render (read-your-own-writes).
//! - A page is kept for `ZHUNONG_PAGE_CACHE_MS` (default 2,000 ms; 0 turns the cache off), keyed
//!   by host, path and query, and the page's language. A write is seen by anonymous visitors at
//!   most that long after it commits, on every process; nothing a buyer pays or a seller
//!   records waits on it (checkout and every server function read the database).
//! - Only complete `200 text/html` answers that set no cookie are kept. The response's CSP nonce
//!   is cut out when it is stored and each hit gets its own request's nonce, so no two answers
//!   share a nonce.
//! - Bounded: at most [`MAX_ENTRIES`] pages, [`MAX_PAGE_BYTES`] each and [`MAX_TOTAL_BYTES`] in
//!   all; past either the oldest pages go. Keys are bounded in length too, so no client can grow
//!   it; a client that varies the address only makes its own requests miss (rendered as without
//!   the cache) and pushes older pages out sooner.
//! - With `ZHUNONG_PUBLIC_ORIGIN` set the page does not depend on the `Host` header, which is
//!   then left out of the key.
//! - A response marked `Cache-Control: no-store` is never kept.

use super::guard::CspNonce;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

/// Pages kept at once.
pub const MAX_ENTRIES: usize = 256;
/// A larger page is served but not kept.
pub const MAX_PAGE_BYTES: usize = 1024 * 1024;
/// All kept pages together.
pub const MAX_TOTAL_BYTES: usize = 32 * 1024 * 1024;
/// Host plus path plus query longer than this is not kept.
const MAX_KEY_BYTES: usize = 512;

#[derive(Clone, PartialEq, Eq, Hash)]
struct Key {
    host: String,
    target: String,
    lang: crate::i18n::Lang,
}

struct Entry {
    /// The page cut at each occurrence of the nonce it was rendered with.
    parts: Vec<Bytes>,
    headers: HeaderMap,
    stored: Instant,
}

impl Entry {
    fn bytes(&self) -> usize {
        self.parts.iter().map(Bytes::len).sum()
    }
}

/// The cache, shared by every request of one process.
pub struct PageCache {
    ttl: Duration,
    /// Whether the `Host` header is part of the key (no public origin configured).
    by_host: bool,
    pages: RwLock<HashMap<Key, Arc<Entry>>>,
    hits: AtomicU64,
    misses: AtomicU64,
}

impl std::fmt::Debug for PageCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PageCache").field("ttl", &self.ttl).finish()
    }
}

/// The public pages whose anonymous render depends only on the address and the language.
/// Sign-in, account, seller, office and payment pages are never kept.
pub fn cacheable_path(path: &str) -> bool {
    let seg: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    matches!(seg.as_slice(), [""] | ["market"] | ["live"] | ["cart"])
        || matches!(seg.as_slice(), ["listing", id] | ["live", id] | ["county", id] | ["shop", id]
        if !id.is_empty() && id.len() <= 32 && *id != "new")
}

impl PageCache {
    /// A cache keeping each page for `ttl_ms` milliseconds; 0 keeps nothing. `by_host`: pages
    /// name the request's host (no public origin is configured), so it is part of the key.
    pub fn new(ttl_ms: u64, by_host: bool) -> PageCache {
        PageCache {
            ttl: Duration::from_millis(ttl_ms),
            by_host,
            pages: RwLock::new(HashMap::new()),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
        }
    }

    pub fn enabled(&self) -> bool {
        !self.ttl.is_zero()
    }

    /// Pages answered from the cache, and renders it had to wait for.
    pub fn counts(&self) -> (u64, u64) {
        (
            self.hits.load(Ordering::Relaxed),
            self.misses.load(Ordering::Relaxed),
        )
    }

    fn get(&self, key: &Key, now: Instant) -> Option<Arc<Entry>> {
        let pages = self.pages.read().unwrap_or_else(|e| e.into_inner());
        pages
            .get(key)
            .filter(|e| now.duration_since(e.stored) < self.ttl)
            .cloned()
    }

    fn put(&self, key: Key, entry: Entry) {
        let mut pages = self.pages.write().unwrap_or_else(|e| e.into_inner());
        pages.remove(&key);
        let size = entry.bytes();
        let full = |pages: &HashMap<Key, Arc<Entry>>| {
            pages.len() >= MAX_ENTRIES
                || pages.values().map(|e| e.bytes()).sum::<usize>() + size > MAX_TOTAL_BYTES
        };
        if full(&pages) {
            // Expired pages go first; then the oldest, until the new one fits.
            let ttl = self.ttl;
            pages.retain(|_, e| e.stored.elapsed() < ttl);
            while full(&pages) {
                let Some(oldest) = pages
                    .iter()
                    .min_by_key(|(_, e)| e.stored)
                    .map(|(k, _)| k.clone())
                else {
                    break;
                };
                pages.remove(&oldest);
            }
        }
        pages.insert(key, Arc::new(entry));
    }
}

/// The key of a request that may be answered from the cache, or `None`.
fn key_of(req: &Request, by_host: bool) -> Option<Key> {
    if req.method() != Method::GET {
        return None;
    }
    let headers = req.headers();
    // Signed in, or just wrote something (and must see it): rendered afresh.
    let own_view = super::client::has_cookie(headers, super::session::SESSION_COOKIE)
        || super::client::has_cookie(headers, super::state::WROTE_COOKIE);
    if own_view || !cacheable_path(req.uri().path()) {
        return None;
    }
    // As the page names it (`ui::meta::site_origin` takes the header as sent).
    let host = if by_host {
        headers
            .get(header::HOST)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned()
    } else {
        String::new()
    };
    let target = req
        .uri()
        .path_and_query()
        .map_or_else(|| req.uri().path().to_owned(), |p| p.as_str().to_owned());
    if host.len() + target.len() > MAX_KEY_BYTES {
        return None;
    }
    Some(Key {
        host,
        target,
        lang: super::request_lang(headers),
    })
}

/// Splits `page` at every occurrence of `nonce`.
fn cut(page: &Bytes, nonce: &[u8]) -> Vec<Bytes> {
    let mut parts = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while !nonce.is_empty() && i + nonce.len() <= page.len() {
        if &page[i..i + nonce.len()] == nonce {
            parts.push(page.slice(start..i));
            i += nonce.len();
            start = i;
        } else {
            i += 1;
        }
    }
    parts.push(page.slice(start..));
    parts
}

/// The stored page with `nonce` put back where the render's own nonce was.
fn join(parts: &[Bytes], nonce: &[u8]) -> Bytes {
    let len = parts.iter().map(Bytes::len).sum::<usize>() + nonce.len() * parts.len();
    let mut out = Vec::with_capacity(len);
    for (i, p) in parts.iter().enumerate() {
        if i > 0 {
            out.extend_from_slice(nonce);
        }
        out.extend_from_slice(p);
    }
    Bytes::from(out)
}

fn keepable(res: &Response) -> bool {
    res.status() == StatusCode::OK
        && !res.headers().contains_key(header::SET_COOKIE)
        && !res
            .headers()
            .get_all(header::CACHE_CONTROL)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .any(|v| v.contains("no-store"))
        && res
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("text/html"))
}

/// The middleware: answers a public page from the cache, or renders it and keeps it.
pub async fn serve(State(cache): State<Arc<PageCache>>, req: Request, next: Next) -> Response {
    if !cache.enabled() {
        return next.run(req).await;
    }
    let (Some(key), Some(nonce)) = (
        key_of(&req, cache.by_host),
        req.extensions().get::<CspNonce>().map(|n| n.0.clone()),
    ) else {
        return next.run(req).await;
    };
    if let Some(entry) = cache.get(&key, Instant::now()) {
        cache.hits.fetch_add(1, Ordering::Relaxed);
        let mut res = Response::new(Body::from(join(&entry.parts, nonce.as_bytes())));
        *res.headers_mut() = entry.headers.clone();
        return res;
    }
    cache.misses.fetch_add(1, Ordering::Relaxed);
    // A GET carries no body: the request can be rebuilt if the page must be rendered again.
    let retry = {
        let mut r = Request::new(Body::empty());
        *r.method_mut() = req.method().clone();
        *r.uri_mut() = req.uri().clone();
        *r.version_mut() = req.version();
        *r.headers_mut() = req.headers().clone();
        *r.extensions_mut() = req.extensions().clone();
        r
    };
    let res = next.clone().run(req).await;
    if !keepable(&res) {
        return res;
    }
    let (mut parts, body) = res.into_parts();
    let page = match axum::body::to_bytes(body, MAX_PAGE_BYTES).await {
        Ok(page) => page,
        Err(e) => {
            // Larger than a page may be, or the render failed part-way: render it once more
            // and send it as it comes, without keeping it.
            tracing::warn!(path = retry.uri().path(), error = %e, "page not kept");
            return next.run(retry).await;
        }
    };
    parts.headers.remove(header::CONTENT_LENGTH);
    cache.put(
        key,
        Entry {
            parts: cut(&page, nonce.as_bytes()),
            headers: parts.headers.clone(),
            stored: Instant::now(),
        },
    );
    Response::from_parts(parts, Body::from(page))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_public_pages_are_kept() {
        for p in [
            "/",
            "/market",
            "/live",
            "/cart",
            "/listing/12",
            "/live/3",
            "/county/350725",
            "/shop/c1",
            "/shop/v350725100201",
        ] {
            assert!(cacheable_path(p), "{p}");
        }
        for p in [
            "/login",
            "/account",
            "/orders",
            "/seller/listings",
            "/listing/12/edit",
            "/live/new",
            "/live/3/console",
            "/live/3/report",
            "/households/1",
            "/region",
            "/api/x",
            "/listing/",
            "/orders/1/pay",
        ] {
            assert!(!cacheable_path(p), "{p}");
        }
    }

    #[test]
    fn the_nonce_is_cut_out_and_each_answer_gets_its_own() {
        let page = Bytes::from_static(b"<script nonce=\"N0\">a</script><link nonce=\"N0\">end");
        let parts = cut(&page, b"N0");
        assert_eq!(parts.len(), 3);
        assert_eq!(join(&parts, b"N0"), page);
        assert_eq!(
            join(&parts, b"XYZ"),
            Bytes::from_static(b"<script nonce=\"XYZ\">a</script><link nonce=\"XYZ\">end")
        );
        // A page without the nonce is kept whole.
        assert_eq!(cut(&Bytes::from_static(b"plain"), b"N0").len(), 1);
    }

    #[test]
    fn the_cache_is_bounded_and_pages_expire() {
        let cache = PageCache::new(60_000, true);
        let key = |i: usize| Key {
            host: "h".into(),
            target: format!("/listing/{i}"),
            lang: crate::i18n::Lang::Zh,
        };
        let entry = || Entry {
            parts: vec![Bytes::from_static(b"p")],
            headers: HeaderMap::new(),
            stored: Instant::now(),
        };
        for i in 0..MAX_ENTRIES + 10 {
            cache.put(key(i), entry());
        }
        assert_eq!(cache.pages.read().unwrap().len(), MAX_ENTRIES);
        assert!(cache.get(&key(MAX_ENTRIES + 9), Instant::now()).is_some());
        assert!(
            cache.get(&key(0), Instant::now()).is_none(),
            "the oldest went"
        );
        // The byte budget: pages of a quarter of it each, so only four fit.
        let big = PageCache::new(60_000, true);
        for i in 0..6 {
            big.put(
                key(i),
                Entry {
                    parts: vec![Bytes::from(vec![b'x'; MAX_TOTAL_BYTES / 4])],
                    headers: HeaderMap::new(),
                    stored: Instant::now(),
                },
            );
        }
        let kept = big.pages.read().unwrap();
        assert_eq!(kept.len(), 4);
        assert!(kept.values().map(|e| e.bytes()).sum::<usize>() <= MAX_TOTAL_BYTES);
        assert!(kept.contains_key(&key(5)) && !kept.contains_key(&key(0)));
        drop(kept);
        let later = Instant::now() + Duration::from_secs(61);
        assert!(cache.get(&key(MAX_ENTRIES + 9), later).is_none(), "expired");
    }
}
