//! `/metrics` in the Prometheus text format: requests by route and status, latency histograms
//! by route, requests shed by the in-flight bound, the database pool, the bounded work queues,
//! and orders and payments by state (counted in the database, so every process reports the same).
//!
//! Readable from the machine itself (a loopback peer that no proxy forwarded), or with
//! `Authorization: Bearer <ZHUNONG_METRICS_TOKEN>` when that is set.

use super::state::AppState;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Instant;

/// Upper bounds of the latency buckets, in seconds.
const BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
];

#[derive(Default)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    sum: f64,
    count: u64,
}

#[derive(Default)]
pub struct Metrics {
    requests: Mutex<BTreeMap<(String, u16), u64>>,
    latency: Mutex<BTreeMap<String, Histogram>>,
    shed: AtomicU64,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

/// Routes are labelled by their pattern (`/listing/{id}`), never by the raw path, so the number
/// of series stays bounded whatever clients send.
fn route_label(req: &Request) -> String {
    match req.extensions().get::<MatchedPath>() {
        Some(p) => p.as_str().to_owned(),
        None if req.uri().path().starts_with("/pkg/") => "/pkg/*".to_owned(),
        None if req.uri().path().starts_with("/uploads/") => "/uploads/*".to_owned(),
        None => "other".to_owned(),
    }
}

impl Metrics {
    pub fn shed(&self) {
        self.shed.fetch_add(1, Ordering::Relaxed);
    }

    fn record(&self, route: String, status: u16, seconds: f64) {
        {
            let mut r = self.requests.lock().unwrap_or_else(|p| p.into_inner());
            *r.entry((route.clone(), status)).or_default() += 1;
        }
        let mut l = self.latency.lock().unwrap_or_else(|p| p.into_inner());
        let h = l.entry(route).or_default();
        for (i, b) in BUCKETS.iter().enumerate() {
            if seconds <= *b {
                h.counts[i] += 1;
            }
        }
        h.sum += seconds;
        h.count += 1;
    }

    fn render_http(&self, out: &mut String) {
        out.push_str("# HELP zhunong_http_requests_total Requests answered, by route pattern and status.\n# TYPE zhunong_http_requests_total counter\n");
        for ((route, status), n) in self
            .requests
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
        {
            let _ = writeln!(
                out,
                "zhunong_http_requests_total{{route=\"{}\",status=\"{status}\"}} {n}",
                esc(route)
            );
        }
        out.push_str("# HELP zhunong_http_request_duration_seconds Time to the response head, by route pattern.\n# TYPE zhunong_http_request_duration_seconds histogram\n");
        for (route, h) in self
            .latency
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
        {
            let r = esc(route);
            for (i, b) in BUCKETS.iter().enumerate() {
                let _ = writeln!(
                    out,
                    "zhunong_http_request_duration_seconds_bucket{{route=\"{r}\",le=\"{b}\"}} {}",
                    h.counts[i]
                );
            }
            let _ = writeln!(
                out,
                "zhunong_http_request_duration_seconds_bucket{{route=\"{r}\",le=\"+Inf\"}} {}",
                h.count
            );
            let _ = writeln!(
                out,
                "zhunong_http_request_duration_seconds_sum{{route=\"{r}\"}} {}",
                h.sum
            );
            let _ = writeln!(
                out,
                "zhunong_http_request_duration_seconds_count{{route=\"{r}\"}} {}",
                h.count
            );
        }
        let _ = writeln!(out, "# HELP zhunong_http_requests_shed_total Requests refused at once because too many were in flight.\n# TYPE zhunong_http_requests_shed_total counter\nzhunong_http_requests_shed_total {}", self.shed.load(Ordering::Relaxed));
    }
}

fn esc(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// Records every request's route, status and latency.
pub async fn record(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let route = route_label(&req);
    let start = Instant::now();
    let res = next.run(req).await;
    state
        .metrics
        .record(route, res.status().as_u16(), start.elapsed().as_secs_f64());
    res
}

fn allowed(state: &AppState, req_headers: &HeaderMap, peer_loopback: bool) -> bool {
    match std::env::var("ZHUNONG_METRICS_TOKEN") {
        Ok(token) if !token.is_empty() => req_headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .is_some_and(|t| constant_time_eq(t.as_bytes(), token.as_bytes())),
        _ => {
            peer_loopback
                && !req_headers.contains_key("x-forwarded-for")
                && !state.settings.production
        }
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// `GET /metrics`.
pub async fn metrics(State(state): State<AppState>, req: Request) -> Response {
    let loopback = super::client::peer_of(req.extensions()).is_some_and(|p| p.is_loopback());
    if !allowed(&state, req.headers(), loopback) {
        return StatusCode::NOT_FOUND.into_response();
    }
    let mut out = String::new();
    state.metrics.render_http(&mut out);
    let (hits, misses) = state.pages.counts();
    let _ = writeln!(out, "# HELP zhunong_page_cache_total Anonymous public pages answered from the page cache (hit) or rendered (miss).\n# TYPE zhunong_page_cache_total counter\nzhunong_page_cache_total{{result=\"hit\"}} {hits}\nzhunong_page_cache_total{{result=\"miss\"}} {misses}");
    let pool = &state.db.pool;
    let _ = writeln!(out, "# HELP zhunong_db_pool_connections Database connections by state.\n# TYPE zhunong_db_pool_connections gauge\nzhunong_db_pool_connections{{state=\"open\"}} {}\nzhunong_db_pool_connections{{state=\"idle\"}} {}", pool.size(), pool.num_idle());
    if let Some((batches, pieces)) = state.db.batch_counts() {
        let _ = writeln!(out, "# HELP zhunong_write_batches_total SQLite's group commits, and the writes they carried.\n# TYPE zhunong_write_batches_total counter\nzhunong_write_batches_total {batches}\n# HELP zhunong_write_batch_pieces_total Writes committed (or failed) in SQLite's group commits.\n# TYPE zhunong_write_batch_pieces_total counter\nzhunong_write_batch_pieces_total {pieces}");
    }
    if let Some(replica) = &state.db.replica {
        let _ = writeln!(out, "# HELP zhunong_read_replica_usable Whether reads that may be a moment old go to the replica (1) or, while it is down or behind, to the primary (0).\n# TYPE zhunong_read_replica_usable gauge\nzhunong_read_replica_usable {}", u8::from(replica.usable()));
    }
    let queues = [state.hashing.stats(), state.images.stats()];
    type Read = fn(&crate::server::bounded::QueueStats) -> u64;
    let series: [(&str, &str, &str, Read); 4] = [
        (
            "zhunong_work_in_flight",
            "Jobs running or waiting, by queue.",
            "gauge",
            |q| q.in_flight as u64,
        ),
        (
            "zhunong_work_workers",
            "Jobs that may run at once, by queue.",
            "gauge",
            |q| q.workers as u64,
        ),
        (
            "zhunong_work_done_total",
            "Jobs finished, by queue.",
            "counter",
            |q| q.done,
        ),
        (
            "zhunong_work_refused_total",
            "Jobs refused because the queue was full.",
            "counter",
            |q| q.refused,
        ),
    ];
    for (name, help, kind, read) in series {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
        for q in &queues {
            let _ = writeln!(out, "{name}{{queue=\"{}\"}} {}", q.name, read(q));
        }
    }
    match sqlx::query_as::<_, (String, i64)>(
        "SELECT status, COUNT(*) FROM orders GROUP BY status ORDER BY status",
    )
    .fetch_all(pool)
    .await
    {
        Ok(rows) => {
            out.push_str("# HELP zhunong_orders Orders by state.\n# TYPE zhunong_orders gauge\n");
            for (status, n) in rows {
                let _ = writeln!(out, "zhunong_orders{{state=\"{}\"}} {n}", esc(&status));
            }
        }
        Err(e) => tracing::warn!(error = %e, "metrics: orders by state"),
    }
    match sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM payment_notifications")
        .fetch_one(pool)
        .await
    {
        Ok(n) => {
            let _ = writeln!(out, "# HELP zhunong_payment_notices Verified payment notifications recorded (WeChat Pay, Alipay).\n# TYPE zhunong_payment_notices gauge\nzhunong_payment_notices {n}");
        }
        Err(e) => tracing::warn!(error = %e, "metrics: payment notices"),
    }
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        out,
    )
        .into_response()
}
