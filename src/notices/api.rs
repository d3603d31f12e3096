//! The notification centre (通知): what happened to the user's orders, and for officials and
//! cadres new self-reports and visit tasks.

use crate::domain::page::Page;
use crate::error::AppError;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// Notices in one page of the centre.
pub const NOTICES_PAGE_SIZE: i64 = 20;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NoticeView {
    pub id: i64,
    /// `crate::domain::notice::NoticeKind::as_str`.
    pub kind: String,
    /// The order's number for order events.
    pub subject_id: Option<i64>,
    pub created_at: i64,
    pub read: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NoticesPage {
    pub page: Page<NoticeView>,
    pub unread: i64,
}

/// The caller's notices, newest first (`after`: the previous page's `next`).
#[server(prefix = "/api", endpoint = "notices/list", output = crate::codec::Json)]
pub async fn notices(after: Option<String>) -> Result<NoticesPage, AppError> {
    super::server::list(after.as_deref()).await
}

/// Marks one of the caller's notices read (`id`), or all of them (no `id`); how many are left
/// unread.
#[server(prefix = "/api", endpoint = "notices/read", output = crate::codec::Json)]
pub async fn mark_read(id: Option<i64>) -> Result<i64, AppError> {
    super::server::mark_read(id).await
}
