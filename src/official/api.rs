//! Household income records for those allowed to see them: officials (their region and
//! everything under it), admins, the household itself and its paired cadres.

use crate::domain::income::MonitoringStatus;
use crate::domain::page::Page;
use crate::error::AppError;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HouseholdListItem {
    pub id: i64,
    pub head_name: String,
    pub village_code: String,
    pub village_name: String,
    pub members: i64,
    pub per_capita_fen: Option<i64>,
    pub baseline_year: Option<i64>,
    pub status: MonitoringStatus,
    pub link_count: i64,
    /// This year's ledger income: verified (providers' notifications, officials' records) and
    /// attested (seller-confirmed transfers).
    pub verified_fen: i64,
    pub attested_fen: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegionHouseholdList {
    pub region_code: String,
    pub region_name: String,
    pub year: i64,
    /// The monitoring line in force this year, in fen per person per year.
    pub line_fen: Option<i64>,
    /// A page of the region's households, most at risk first.
    pub households: Page<HouseholdListItem>,
    /// Households in the whole region, and how many of them are below or near the line.
    pub total: i64,
    pub below: i64,
    pub near: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BenefitLinkItem {
    pub organisation: String,
    pub link_type: String,
    pub terms: String,
    pub since_year: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HouseholdSummary {
    pub household: HouseholdListItem,
    pub region_path: Vec<String>,
    pub line_fen: Option<i64>,
    pub links: Vec<BenefitLinkItem>,
}

/// Households in one page of a region's list.
pub const HOUSEHOLDS_PAGE_SIZE: i64 = 50;

/// The households of a region, most at risk first, [`HOUSEHOLDS_PAGE_SIZE`] a page (`after` is
/// the previous page's `next`). `region` defaults to the official's own; asking for a region
/// outside one's own is refused (403).
#[server(prefix = "/api", endpoint = "official/households")]
pub async fn region_households(
    region: Option<String>,
    after: Option<String>,
) -> Result<RegionHouseholdList, AppError> {
    crate::official::server::region_households(region.as_deref(), after.as_deref()).await
}

/// One household's summary: members, baseline income, status and benefit links.
#[server(prefix = "/api", endpoint = "households/get")]
pub async fn household(id: i64) -> Result<HouseholdSummary, AppError> {
    crate::official::server::household(id).await
}
