//! Application state, handed to axum routes and (through context) to server functions.

use super::{config::Settings, db::Db, ratelimit::LoginLimiter};
use axum::extract::FromRef;
use leptos::config::LeptosOptions;
use std::sync::Arc;

#[derive(Clone, FromRef)]
pub struct AppState {
    pub leptos_options: LeptosOptions,
    pub db: Db,
    pub settings: Arc<Settings>,
    pub limiter: Arc<LoginLimiter>,
}

impl AppState {
    /// The state of the request being served, from the server function's context.
    pub fn get() -> Result<AppState, crate::error::AppError> {
        leptos::prelude::use_context::<AppState>()
            .ok_or_else(|| crate::error::AppError::internal("AppState missing from context"))
    }
}
