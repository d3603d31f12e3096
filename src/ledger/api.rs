//! The income ledger (收入台账): a household's income record, and other income recorded by
//! officials. Rows are append-only; corrections are new rows.

use crate::domain::income::MonitoringStatus;
use crate::domain::page::Page;
use crate::error::AppError;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LedgerRow {
    pub id: i64,
    pub amount_fen: i64,
    pub source_type: String,
    pub note: Option<String>,
    pub order_item_id: Option<i64>,
    pub occurred_at: i64,
    /// Who recorded it by hand (an official's name); none for sales posted by orders.
    pub recorded_by: Option<String>,
    /// What it rests on: `provider` (a verified payment notification), `transfer` (a transfer
    /// the seller confirmed), `official` (an official's record); none for rows from before
    /// evidence was recorded.
    pub evidence: Option<String>,
    /// The provider's transaction id (`wechat:…`) or the transfer's reference.
    pub evidence_ref: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IncomeRecord {
    pub household_id: i64,
    pub head_name: String,
    pub region_path: Vec<String>,
    pub members: i64,
    pub year: i64,
    pub total_fen: i64,
    /// Of the total: verified (a provider's notification, an official's record) and attested
    /// (a seller's word: confirmed transfers). Per capita and the status count verified only.
    pub verified_fen: i64,
    pub attested_fen: i64,
    /// (source type, amount) for this year, largest first.
    pub by_source: Vec<(String, i64)>,
    /// Twelve monthly totals for this year (January first).
    pub by_month: Vec<i64>,
    /// Verified income per person this year.
    pub per_capita_fen: Option<i64>,
    pub baseline_per_capita_fen: Option<i64>,
    pub baseline_year: Option<i64>,
    pub line_fen: Option<i64>,
    /// Rolling 12-month per-capita income (`domain::monitoring::rolling_per_capita`): what
    /// the status and the distance to the line are judged by, on every page.
    pub rolling_per_capita_fen: Option<i64>,
    /// Of the 12 months, how many have verified ledger rows (the rest count the baseline).
    pub rolling_months: i64,
    /// The rolling per-capita income minus the line (negative: below it).
    pub distance_to_line_fen: Option<i64>,
    pub status: MonitoringStatus,
    /// The household's ledger rows, newest first, a page of [`LEDGER_PAGE_SIZE`].
    pub recent: Page<LedgerRow>,
}

/// Ledger rows in one page of a household's record.
pub const LEDGER_PAGE_SIZE: i64 = 50;

/// A household's income record for this year. For the household, its paired cadres, officials
/// whose region contains it, and admins.
/// `after` pages through the ledger rows (the previous page's `recent.next`).
#[server(prefix = "/api", endpoint = "ledger/household", output = crate::codec::Json)]
pub async fn household_income(
    household_id: i64,
    after: Option<String>,
) -> Result<IncomeRecord, AppError> {
    crate::ledger::server::household_income(household_id, after.as_deref()).await
}

/// Records other income (wages, subsidies, other business) for a household: an official whose
/// region contains it, or an admin. `amount` in yuan; negative amounts correct earlier rows.
/// An amount beyond `ZHUNONG_LARGE_RECORD_LINES` × the monitoring line, either way, needs a
/// `note` and `confirm` = true (422 `confirmation_required` otherwise).
#[server(prefix = "/api", endpoint = "ledger/record", output = crate::codec::Json)]
pub async fn record_income(
    household_id: i64,
    amount: String,
    source_type: String,
    note: Option<String>,
    confirm: Option<String>,
) -> Result<LedgerRow, AppError> {
    let confirm = matches!(confirm.as_deref().map(str::trim), Some("true" | "1" | "on"));
    crate::ledger::server::record_income(
        household_id,
        &amount,
        &source_type,
        note.as_deref(),
        confirm,
    )
    .await
}
