//! Household income records for those allowed to see them: officials (their region and
//! everything under it), admins, the household itself and its paired cadres.

use crate::domain::income::MonitoringStatus;
use crate::domain::monitoring::Category;
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
    /// Rolling 12-month per-capita income (`domain::monitoring::rolling_per_capita`).
    pub per_capita_fen: Option<i64>,
    pub baseline_year: Option<i64>,
    /// Judged by the rolling figure against the line in force.
    pub status: MonitoringStatus,
    /// The monitoring category, while the household is a monitoring object.
    pub category: Option<Category>,
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
    /// The filter applied (`below`, `near`, `monitored`, a category, `overdue`), if any.
    pub filter: Option<String>,
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
#[server(prefix = "/api", endpoint = "official/households", output = crate::codec::Json)]
pub async fn region_households(
    region: Option<String>,
    after: Option<String>,
    filter: Option<String>,
) -> Result<RegionHouseholdList, AppError> {
    crate::official::server::region_households(
        region.as_deref(),
        after.as_deref(),
        filter.as_deref(),
    )
    .await
}

/// The figures of one region (or of one child region in a drill-down), for the year asked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegionFigures {
    pub code: String,
    pub name: String,
    /// Households registered, and of them below / near the line by rolling income.
    pub households: i64,
    pub below: i64,
    pub near: i64,
    /// Monitoring objects (监测对象) now, by category.
    pub monitored: i64,
    pub unstable: i64,
    pub marginal: i64,
    pub sudden: i64,
    /// Income added through the platform this year: verified and attested apart.
    pub verified_fen: i64,
    pub attested_fen: i64,
    /// Households with at least one sale this year.
    pub with_sale: i64,
    /// Paid orders of produce from here this year (GMV).
    pub gmv_fen: i64,
    /// Listings on sale flagged as stalled (滞销).
    pub stalled: i64,
    /// 利益联结: organisations linked, households linked.
    pub linked_organisations: i64,
    pub linked_households: i64,
    /// Monitoring objects with a paired cadre, and those whose monthly visit is overdue.
    pub paired: i64,
    pub overdue_visits: i64,
    /// Self-reports not yet decided.
    pub open_reports: i64,
    /// 阳光 1+1: social organisations' pairings with villages here, and what those
    /// organisations bought from their paired villages this year.
    pub org_pairings: i64,
    pub org_bought_fen: i64,
    /// Benefit links that declare a yearly payout but show no sale to the household this year.
    pub unpaid_links: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PledgeFigures {
    pub pledges: i64,
    pub pledged_fen: i64,
    pub bought_fen: i64,
    pub fulfilled: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dashboard {
    pub region: RegionFigures,
    /// `province` … `village`.
    pub level: String,
    /// The regions from the official's own down to this one, (code, name).
    pub trail: Vec<(String, String)>,
    pub year: i64,
    /// The current year (the latest that may be asked for).
    pub this_year: i64,
    pub line_fen: Option<i64>,
    /// The highest rolling income still "near" the line.
    pub near_ceiling_fen: Option<i64>,
    /// The regions directly below, a page at a time, sorted as asked.
    pub children: Page<RegionFigures>,
    pub sort: String,
    /// Verified and attested income added in each month of the year (January first).
    pub monthly: Vec<(i64, i64)>,
    /// Households by rolling income against the line: counts in the buckets of
    /// [`DISTRIBUTION_BUCKETS`] (percent of the line), then those with no figure.
    pub distribution: Vec<i64>,
    pub pledges: PledgeFigures,
}

/// Upper bounds (percent of the line, exclusive) of the distribution's buckets; the last bucket
/// is everything from 200% up. 150 is inclusive, as "near" is.
pub const DISTRIBUTION_BUCKETS: [i64; 6] = [50, 75, 100, 125, 150, 200];

/// The bounds of the distribution's buckets against `line`, in fen: bucket `i` holds the
/// incomes below (or, for the "near" ceiling, up to and including) `bounds[i]`; above the last
/// is the bucket after. The one definition, used by the live query and the maintained one.
pub fn bucket_bounds(line: crate::domain::money::Fen) -> [(i64, bool); DISTRIBUTION_BUCKETS.len()] {
    use crate::domain::income;
    DISTRIBUTION_BUCKETS.map(|pct| {
        if pct == income::NEAR_LINE_PERCENT {
            (income::near_ceiling(line).fen(), true)
        } else {
            ((line.fen() as i128 * pct as i128 / 100) as i64, false)
        }
    })
}

/// The bucket of a rolling per-capita income: `0..=6` against the line's
/// [`bucket_bounds`], 7 for no figure. Without a line every figure is in bucket 6 (no one is
/// below or near a line that is not set).
pub fn bucket_of(pc: Option<i64>, line: Option<crate::domain::money::Fen>) -> usize {
    let Some(pc) = pc else {
        return DISTRIBUTION_BUCKETS.len() + 1;
    };
    let Some(line) = line else {
        return DISTRIBUTION_BUCKETS.len();
    };
    bucket_bounds(line)
        .iter()
        .position(|&(bound, inclusive)| if inclusive { pc <= bound } else { pc < bound })
        .unwrap_or(DISTRIBUTION_BUCKETS.len())
}

/// The orders a dashboard's child regions can be listed in.
pub const DASHBOARD_SORTS: [&str; 5] = ["code", "below", "monitored", "overdue", "verified"];

/// Child regions in one page of a dashboard.
pub const CHILDREN_PAGE_SIZE: i64 = 50;

/// A region's dashboard (the official's own by default): its figures for `year` (this year by
/// default), and the same figures for each region directly below, sorted by `sort`
/// ([`DASHBOARD_SORTS`]) and paged by `after`.
#[server(prefix = "/api", endpoint = "official/dashboard", output = crate::codec::Json)]
pub async fn region_dashboard(
    region: Option<String>,
    year: Option<String>,
    sort: Option<String>,
    after: Option<String>,
) -> Result<Dashboard, AppError> {
    crate::official::server::region_dashboard(
        region.as_deref(),
        year.as_deref(),
        sort.as_deref(),
        after.as_deref(),
    )
    .await
}

/// One household's summary: members, baseline income, status and benefit links.
#[server(prefix = "/api", endpoint = "households/get", output = crate::codec::Json)]
pub async fn household(id: i64) -> Result<HouseholdSummary, AppError> {
    crate::official::server::household(id).await
}

/// The registry import's columns: the header line a file must start with.
pub const IMPORT_HEADER: &str =
    "registry_id,village_code,head_name,members,baseline_year,baseline_per_capita_yuan";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportLineError {
    pub line: u64,
    pub field: String,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportSummary {
    pub rows_read: i64,
    pub inserted: i64,
    pub updated: i64,
    pub failed: i64,
    /// The first 200 refused lines.
    pub errors: Vec<ImportLineError>,
}

/// What an import did (`POST /import/households` answers its id). Only for whoever ran it.
#[server(prefix = "/api", endpoint = "official/import-result", output = crate::codec::Json)]
pub async fn import_result(id: i64) -> Result<ImportSummary, AppError> {
    crate::official::server::import_result(id).await
}
