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
    /// The state of the request being served, from the server function's context.
    pub fn get() -> Result<AppState, crate::error::AppError> {
        leptos::prelude::use_context::<AppState>()
            .ok_or_else(|| crate::error::AppError::internal("AppState missing from context"))
    }
}
