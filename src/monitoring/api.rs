//! 防止返贫监测: self-reports (一键报贫), verification and identification, visits, exit, the
//! household file's monitoring part, cadres' households and the audit log.

use crate::domain::income::MonitoringStatus;
use crate::domain::monitoring::{
    Category, Conclusion, MeasureKind, ObjectState, Reason, Relation, ReportState, Reporter,
    TaskKind,
};
use crate::domain::page::Page;
use crate::error::AppError;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// What a reporter learns when checking a receipt: where the report stands, nothing personal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportProgress {
    pub receipt: String,
    pub state: ReportState,
    pub village: String,
    pub created_at: i64,
    /// When the village notice period began and ends (after verification).
    pub notice_from: Option<i64>,
    pub notice_until: Option<i64>,
}

/// Files a self-report (一键报贫): the household itself, a neighbour or a cadre. Anyone may,
/// without an account; limited per address and overall per hour (429). Answers the receipt
/// number to check its status with.
#[server(prefix = "/api", endpoint = "monitoring/report", output = crate::codec::Json)]
pub async fn submit_report(
    reporter: String,
    name: String,
    phone: String,
    village: String,
    reason: String,
    detail: String,
) -> Result<String, AppError> {
    crate::monitoring::server::submit_report(&reporter, &name, &phone, &village, &reason, &detail)
        .await
}

/// Where the report with this receipt number stands (404 for an unknown number).
#[server(prefix = "/api", endpoint = "monitoring/status", output = crate::codec::Json)]
pub async fn report_status(receipt: String) -> Result<ReportProgress, AppError> {
    crate::monitoring::server::report_status(&receipt).await
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueItem {
    pub id: i64,
    pub receipt: String,
    pub state: ReportState,
    pub reporter: Reporter,
    /// Masked unless the official is of the village's county.
    pub name: String,
    pub phone: String,
    pub village_code: String,
    pub village: String,
    pub reason: Reason,
    pub detail: String,
    pub household_id: Option<i64>,
    pub household: Option<String>,
    pub verification: Option<String>,
    pub consent: bool,
    pub notice_until: Option<i64>,
    /// The notice period has run: the county may identify.
    pub notice_over: bool,
    pub decision_note: Option<String>,
    pub created_at: i64,
    /// For a new report: the village's households (id, head), to say which one it concerns.
    pub candidates: Vec<(i64, String)>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CadreOption {
    pub id: i64,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Queue {
    pub region_code: String,
    pub region: String,
    /// The state shown (`open`: submitted and on notice).
    pub state: String,
    pub items: Page<QueueItem>,
    /// Reports in the region by state: submitted, notice, identified, dismissed.
    pub counts: Vec<(ReportState, i64)>,
    /// New reports in the last day and in the last week (日汇总、周核实).
    pub new_today: i64,
    pub new_this_week: i64,
    /// May this official verify, and decide (the county)?
    pub may_verify: bool,
    pub may_decide: bool,
    /// Cadres who may be assigned (the region's), for the identification form.
    pub cadres: Vec<CadreOption>,
}

/// Reports in a region (the official's own by default), oldest open first: `state` is `open`
/// (default), or one of the states. Officials of the region; admins.
#[server(prefix = "/api", endpoint = "monitoring/queue", output = crate::codec::Json)]
pub async fn report_queue(
    region: Option<String>,
    state: Option<String>,
    after: Option<String>,
) -> Result<Queue, AppError> {
    crate::monitoring::server::report_queue(region.as_deref(), state.as_deref(), after.as_deref())
        .await
}

/// Verification (核实): the visit and the comparison of income and expenses, the household
/// it concerns, and its consent (required). Starts the village notice period.
#[server(prefix = "/api", endpoint = "monitoring/verify", output = crate::codec::Json)]
pub async fn verify_report(
    report_id: i64,
    household_id: i64,
    verification: String,
    consent: Option<String>,
) -> Result<(), AppError> {
    let consent = matches!(consent.as_deref().map(str::trim), Some("true" | "1" | "on"));
    crate::monitoring::server::verify_report(report_id, household_id, &verification, consent).await
}

/// The county identifies the household as a monitoring object (识别纳入) once the notice
/// period has run, with its category and the cadre who will visit.
#[server(prefix = "/api", endpoint = "monitoring/identify", output = crate::codec::Json)]
pub async fn identify_report(
    report_id: i64,
    category: String,
    cadre_id: i64,
) -> Result<(), AppError> {
    crate::monitoring::server::identify_report(report_id, &category, cadre_id).await
}

/// The county dismisses a report, with the reason.
#[server(prefix = "/api", endpoint = "monitoring/dismiss", output = crate::codec::Json)]
pub async fn dismiss_report(report_id: i64, reason: String) -> Result<(), AppError> {
    crate::monitoring::server::dismiss_report(report_id, &reason).await
}

/// A paired cadre logs a visit: the date (not in the future), what was seen, the needs and the
/// next steps.
#[server(prefix = "/api", endpoint = "monitoring/visit", output = crate::codec::Json)]
pub async fn log_visit(
    household_id: i64,
    visited_on: String,
    seen: String,
    needs: String,
    next_steps: String,
) -> Result<(), AppError> {
    crate::monitoring::server::log_visit(household_id, &visited_on, &seen, &needs, &next_steps)
        .await
}

/// The county marks a monitoring object's risk eliminated (风险消除), only after six consecutive
/// months above the line; the record stays.
#[server(prefix = "/api", endpoint = "monitoring/exit", output = crate::codec::Json)]
pub async fn eliminate_risk(household_id: i64, note: String) -> Result<(), AppError> {
    crate::monitoring::server::eliminate(household_id, &note).await
}

/// The county reopens an eliminated risk.
#[server(prefix = "/api", endpoint = "monitoring/reopen", output = crate::codec::Json)]
pub async fn reopen_risk(household_id: i64, note: String) -> Result<(), AppError> {
    crate::monitoring::server::reopen(household_id, &note).await
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObjectInfo {
    pub category: Category,
    pub state: ObjectState,
    pub cadre: Option<String>,
    pub identified_at: i64,
    pub eliminated_at: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventItem {
    pub id: i64,
    pub event: String,
    pub category: Option<Category>,
    pub note: Option<String>,
    pub by: Option<String>,
    pub at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VisitItem {
    pub id: i64,
    pub visited_on: String,
    pub cadre: String,
    pub seen: String,
    pub needs: String,
    pub next_steps: String,
}

/// The monitoring part of a household's file (分户建档).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileView {
    pub household_id: i64,
    pub object: Option<ObjectInfo>,
    /// Cadres paired with the household (一对一帮扶).
    pub cadres: Vec<String>,
    pub rolling_per_capita_fen: Option<i64>,
    pub status: MonitoringStatus,
    /// The last six months, oldest first: was the rolling income at the month's end at or
    /// above the line?
    pub months_above: Vec<bool>,
    pub may_exit: bool,
    pub visit_overdue: bool,
    /// What the viewer may do here.
    pub may_decide: bool,
    pub may_visit: bool,
    pub events: Page<EventItem>,
    pub visits: Page<VisitItem>,
    pub members: Vec<MemberItem>,
    pub measures: Vec<MeasureItem>,
    /// Open early-warning tasks.
    pub tasks: Vec<TaskItem>,
    pub links: Vec<LinkPayout>,
    pub org_pairings: Vec<OrgPairing>,
    /// May the viewer add members and measures (officials whose region holds the household)?
    pub may_edit: bool,
    /// The county's cadres, for pairing (only for those who may decide).
    pub cadre_options: Vec<CadreOption>,
    /// Quarterly effect reviews, latest first (eight a page).
    pub reviews: Page<ReviewItem>,
    /// Whether this quarter's review is still to be done by the viewer's side.
    pub review_due: bool,
    /// This quarter (`2026-Q4`).
    pub quarter: String,
}

/// One quarterly effect review (季度帮扶成效评估).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReviewItem {
    pub quarter: String,
    pub reviewer: String,
    /// Rolling per-capita income when the review was written, and its change since the
    /// review before.
    pub rolling_per_capita_fen: Option<i64>,
    pub change_fen: Option<i64>,
    pub conclusion: Conclusion,
    pub measures_effective: bool,
    pub findings: String,
    pub next_steps: String,
}

/// This quarter's effect review of a monitored household, by its paired cadre: whether the measures work, what was found, what comes next. The rolling
/// income is recorded by the server. One per household and quarter (409 `review_done`).
#[server(prefix = "/api", endpoint = "monitoring/review", output = crate::codec::Json)]
pub async fn review_effect(
    household_id: i64,
    conclusion: String,
    measures_effective: Option<String>,
    findings: String,
    next_steps: String,
) -> Result<(), AppError> {
    crate::monitoring::review::review_effect(
        household_id,
        &conclusion,
        measures_effective.is_some_and(|v| !v.is_empty() && v != "0" && v != "false"),
        &findings,
        &next_steps,
    )
    .await
}

/// The county changes a monitored household's category, with a reason; the change joins the
/// household's history.
#[server(prefix = "/api", endpoint = "monitoring/category", output = crate::codec::Json)]
pub async fn change_category(
    household_id: i64,
    category: String,
    note: String,
) -> Result<(), AppError> {
    crate::monitoring::server::change_category(household_id, &category, &note).await
}

/// Monitoring history and visits of a household; each view is written to the audit log.
#[server(prefix = "/api", endpoint = "monitoring/file", output = crate::codec::Json)]
pub async fn household_file(
    household_id: i64,
    events_after: Option<String>,
    visits_after: Option<String>,
    reviews_after: Option<String>,
) -> Result<FileView, AppError> {
    crate::monitoring::server::household_file(
        household_id,
        events_after.as_deref(),
        visits_after.as_deref(),
        reviews_after.as_deref(),
    )
    .await
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CadreHousehold {
    pub id: i64,
    pub head_name: String,
    pub village: String,
    pub rolling_per_capita_fen: Option<i64>,
    pub status: MonitoringStatus,
    pub category: Option<Category>,
    pub last_visit: Option<String>,
    pub visit_overdue: bool,
    /// Early-warning tasks open for the household.
    pub open_tasks: i64,
    /// Under monitoring and this quarter's effect review not yet written.
    pub review_due: bool,
}

/// A cadre's paired households (一对一、手拉手) with their risk and last visit, most at risk
/// first.
#[server(prefix = "/api", endpoint = "monitoring/mine", output = crate::codec::Json)]
pub async fn cadre_households(after: Option<String>) -> Result<Page<CadreHousehold>, AppError> {
    crate::monitoring::server::cadre_households(after.as_deref()).await
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditItem {
    pub id: i64,
    pub at: i64,
    pub user: Option<String>,
    pub action: String,
    pub household_id: Option<i64>,
    pub household: Option<String>,
    pub detail: Option<String>,
}

/// Who viewed or changed files in a region (the official's county by default), newest first.
/// Admins; officials of the county or above.
#[server(prefix = "/api", endpoint = "monitoring/audit", output = crate::codec::Json)]
pub async fn audit_log(
    region: Option<String>,
    after: Option<String>,
) -> Result<Page<AuditItem>, AppError> {
    crate::monitoring::server::audit_log(region.as_deref(), after.as_deref()).await
}

/// Most members one household's file holds, and most assistance measures.
pub const MAX_MEMBERS: i64 = 20;
pub const MAX_MEASURES: i64 = 50;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberItem {
    pub id: i64,
    /// Masked (`王**`, `1101**********002X`, `138******34`) unless the viewer is an official
    /// of the household's county.
    pub name: String,
    pub relation: Relation,
    pub id_number: Option<String>,
    pub phone: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MeasureItem {
    pub id: i64,
    pub kind: MeasureKind,
    pub detail: String,
    pub starts_on: String,
    /// When support kept on after exit (延保渐退) ends.
    pub ends_on: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskItem {
    pub id: i64,
    pub kind: TaskKind,
    pub reason: String,
    pub created_at: i64,
}

/// A benefit link (利益联结) with what it declares a year and what the ledger shows its
/// organisation paid the household this year (its sales allocated to the household).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkPayout {
    pub organisation: String,
    pub link_type: String,
    pub declared_fen: Option<i64>,
    pub paid_fen: i64,
}

/// A social organisation paired with the household's village (阳光 1+1 牵手计划), with what it
/// bought there this year.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrgPairing {
    pub organisation_id: i64,
    pub organisation: String,
    pub since_year: i64,
    pub projects: String,
    pub bought_fen: i64,
}

/// A village an organisation is paired with under 阳光 1+1 牵手计划, with what the organisation
/// bought there this year.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PairedVillage {
    pub village_code: String,
    pub village: String,
    pub county: Option<String>,
    pub since_year: i64,
    pub projects: String,
    pub bought_fen: i64,
}

/// An organisation's side of its 1+1 pairings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrgPage {
    pub id: i64,
    pub name: String,
    pub year: i64,
    pub villages: Page<PairedVillage>,
    /// Bought from all its paired villages this year (paid orders of produce from them).
    pub bought_fen: i64,
}

/// An organisation's 1+1 paired villages (50 a page, by village code), with the projects it
/// runs there and what it bought from each this year: for its own people and admins (all its
/// villages) and officials (the villages in their region).
#[server(prefix = "/api", endpoint = "monitoring/organisation", output = crate::codec::Json)]
pub async fn organisation_pairings(id: i64, after: Option<String>) -> Result<OrgPage, AppError> {
    crate::monitoring::records::organisation_pairings(id, after.as_deref()).await
}

/// Adds a member to a household's file. `id_number` (18 characters, checked) and `phone` are
/// optional.
#[server(prefix = "/api", endpoint = "monitoring/add-member", output = crate::codec::Json)]
pub async fn add_member(
    household_id: i64,
    name: String,
    relation: String,
    id_number: Option<String>,
    phone: Option<String>,
) -> Result<(), AppError> {
    crate::monitoring::records::add_member(
        household_id,
        &name,
        &relation,
        id_number.as_deref(),
        phone.as_deref(),
    )
    .await
}

/// Removes a member entered by mistake.
#[server(prefix = "/api", endpoint = "monitoring/remove-member", output = crate::codec::Json)]
pub async fn remove_member(member_id: i64) -> Result<(), AppError> {
    crate::monitoring::records::remove_member(member_id).await
}

/// Records an assistance measure: `kind` (`industry`, `employment`, `social`, `dibao`,
/// `tekun`), `detail`, `starts_on`, and `ends_on` for support kept on after exit.
#[server(prefix = "/api", endpoint = "monitoring/add-measure", output = crate::codec::Json)]
pub async fn add_measure(
    household_id: i64,
    kind: String,
    detail: String,
    starts_on: String,
    ends_on: Option<String>,
) -> Result<(), AppError> {
    crate::monitoring::records::add_measure(
        household_id,
        &kind,
        &detail,
        &starts_on,
        ends_on.as_deref(),
    )
    .await
}

/// Pairs a cadre of the county with a household (一对一), or with `unpair` set, ends it.
#[server(prefix = "/api", endpoint = "monitoring/pair-cadre", output = crate::codec::Json)]
pub async fn pair_cadre(
    household_id: i64,
    cadre_id: i64,
    unpair: Option<String>,
) -> Result<(), AppError> {
    let unpair = matches!(unpair.as_deref().map(str::trim), Some("true" | "1" | "on"));
    crate::monitoring::records::pair_cadre(household_id, cadre_id, !unpair).await
}

/// 阳光 1+1: pairs a social organisation with a village (again: updates its projects).
#[server(prefix = "/api", endpoint = "monitoring/pair-organisation", output = crate::codec::Json)]
pub async fn pair_organisation(
    village: String,
    organisation_id: i64,
    since_year: i64,
    projects: String,
) -> Result<(), AppError> {
    crate::monitoring::records::pair_organisation(&village, organisation_id, since_year, &projects)
        .await
}
