//! The monitoring workflow's queries and transactions. Who may take each step is decided by
//! `policy`; the order of the steps by `domain::monitoring::next`.

use super::api::{
    AuditItem, CadreHousehold, CadreOption, EventItem, FileView, ObjectInfo, Queue, QueueItem,
    ReportProgress, VisitItem,
};
use crate::auth::api::CurrentUser;
use crate::auth::server::{client_ip, request_parts, require_user, too_many};
use crate::domain::calendar::{add_months, day_number, month_start_of};
use crate::domain::income::{self, MonitoringStatus};
use crate::domain::money::Fen;
use crate::domain::monitoring::{
    self, bounded_text, mask_name, mask_phone, Category, ObjectState, Reason, Refusal, ReportState,
    Reporter, Step,
};
use crate::domain::page::Page;
use crate::domain::region::{RegionCode, RegionLevel};
use crate::domain::role::Role;
use crate::error::{AppError, ErrorCode};
use crate::ledger::server::{rolling_table, rolling_window};
use crate::policy::{self, Action, Decision};
use crate::server::db::{date_of, monitoring_line, now, year_of, Db};
use crate::server::keyset::{self, asc, desc, Cursored, Keyset};
use crate::server::state::AppState;

pub(crate) type Tx = sqlx::Transaction<'static, sqlx::Any>;

/// Rows in one page of the queue, the file's history and visits, a cadre's list, the audit log.
pub const PAGE: i64 = 50;

/// Writes one audit entry: who did what to which household's file.
pub(crate) async fn audit(
    tx: &mut Tx,
    user: &CurrentUser,
    action: &str,
    household: Option<i64>,
    region: &str,
    detail: Option<&str>,
) -> Result<(), AppError> {
    sqlx::query(
        "INSERT INTO audit_log (user_id, action, household_id, region_code, detail, at)
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(user.id)
    .bind(action)
    .bind(household)
    .bind(region)
    .bind(detail)
    .bind(now())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

fn refusal(r: Refusal) -> AppError {
    AppError::new(match r {
        Refusal::WrongState => ErrorCode::InvalidStep,
        Refusal::NoticeRunning => ErrorCode::NoticeRunning,
    })
}

pub(crate) fn text(s: &str, max: usize, field: &str) -> Result<String, AppError> {
    bounded_text(s, max).ok_or_else(|| AppError::new(ErrorCode::BadRequest).field(field))
}

/// A receipt number from the OS's randomness.
fn new_receipt() -> String {
    use rand::Rng;
    let mut rng = rand::rngs::OsRng;
    let tail: String = (0..10)
        .map(|_| {
            let a = monitoring::RECEIPT_ALPHABET;
            a[rng.gen_range(0..a.len())] as char
        })
        .collect();
    format!("BP{tail}")
}

#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn submit_report(
    reporter: &str,
    name: &str,
    phone: &str,
    village: &str,
    reason: &str,
    detail: &str,
) -> Result<String, AppError> {
    let state = AppState::get()?;
    let reporter = Reporter::parse(reporter)
        .ok_or_else(|| AppError::new(ErrorCode::BadRequest).field("reporter"))?;
    // Only a logged-in cadre reports as a cadre.
    if reporter == Reporter::Cadre {
        let user = crate::auth::server::current_user().await?;
        if !user.is_some_and(|u| u.role == Role::Cadre) {
            return Err(AppError::new(ErrorCode::BadRequest).field("reporter"));
        }
    }
    let name = text(name, monitoring::NAME_MAX, "name")?;
    let phone = monitoring::parse_phone(phone)
        .ok_or_else(|| AppError::new(ErrorCode::BadRequest).field("phone"))?;
    let village = RegionCode::parse(village)
        .ok()
        .filter(|v| v.level() == RegionLevel::Village)
        .ok_or_else(|| AppError::new(ErrorCode::InvalidRegion).field("village"))?;
    let reason = Reason::parse(reason)
        .ok_or_else(|| AppError::new(ErrorCode::BadRequest).field("reason"))?;
    let detail = text(detail, monitoring::DETAIL_MAX, "detail")?;
    let known: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM regions WHERE code = $1 AND level = 'village'")
            .bind(village.as_str())
            .fetch_one(&state.db.pool)
            .await?;
    if known == 0 {
        return Err(AppError::new(ErrorCode::InvalidRegion).field("village"));
    }
    let ip = request_parts().and_then(|p| client_ip(&state, &p));
    state
        .limiter
        .begin_hourly(
            &state.db,
            crate::server::ratelimit::Hourly::Report,
            ip.as_deref(),
            now(),
        )
        .await?
        .map_err(too_many)?;
    let t = now();
    // A clash of two random 50-bit numbers is all but impossible; try again if it happens.
    for _ in 0..3 {
        let receipt = new_receipt();
        let mut tx = state.db.begin_write().await?;
        let inserted: Option<i64> = sqlx::query_scalar(
            "INSERT INTO monitoring_reports (receipt, reporter_kind, name, phone, village_code, reason,
                                             detail, state, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, 'submitted', $8, $8)
             ON CONFLICT (receipt) DO NOTHING RETURNING id",
        )
        .bind(&receipt)
        .bind(reporter.as_str())
        .bind(&name)
        .bind(&phone)
        .bind(village.as_str())
        .bind(reason.as_str())
        .bind(&detail)
        .bind(t)
        .fetch_optional(&mut *tx)
        .await?;
        if let Some(report_id) = inserted {
            // The officials over the village hear of it with the report, or neither happens.
            crate::notices::server::report_filed(&mut tx, report_id, &village, t).await?;
            tx.commit().await?;
            tracing::info!(village = village.as_str(), "monitoring: self-report filed");
            // A browser's form posted without a script: show the receipt on the status page
            // (a script's call gets the receipt as the answer and shows it in place).
            if crate::auth::server::from_plain_form() {
                leptos_axum::redirect(&format!("/report?receipt={receipt}"));
            }
            return Ok(receipt);
        }
    }
    Err(AppError::internal("three receipt numbers clashed"))
}

#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn report_status(receipt: &str) -> Result<ReportProgress, AppError> {
    let state = AppState::get()?;
    let receipt = monitoring::parse_receipt(receipt)
        .ok_or_else(|| AppError::new(ErrorCode::BadRequest).field("receipt"))?;
    let row: Option<(String, String, i64, Option<i64>)> = sqlx::query_as(
        "SELECT r.state, v.name, r.created_at, r.notice_from FROM monitoring_reports r
           JOIN regions v ON v.code = r.village_code WHERE r.receipt = $1",
    )
    .bind(&receipt)
    .fetch_optional(&state.db.pool)
    .await?;
    let (st, village, created_at, notice_from) =
        row.ok_or_else(|| AppError::new(ErrorCode::NotFound))?;
    Ok(ReportProgress {
        receipt,
        state: ReportState::parse(&st).ok_or_else(|| AppError::internal("report state"))?,
        village,
        created_at,
        notice_from,
        notice_until: notice_from.map(|t| t + monitoring::NOTICE_DAYS * 86_400),
    })
}

/// Whether `user` is an official of the county that `region` lies in (or of a township or
/// village within it): who sees names and phones unmasked.
pub(crate) fn of_the_county(user: &CurrentUser, region: &RegionCode) -> bool {
    let scope = user
        .region_code
        .as_deref()
        .and_then(|c| RegionCode::parse(c).ok());
    user.role == Role::Official
        && scope.is_some_and(|s| s.level() >= RegionLevel::County && s.county() == region.county())
}

/// Whether `action` on a thing in `region` is allowed (without failing).
fn allowed(user: &CurrentUser, action: Action, region: &RegionCode) -> bool {
    policy::decide(user, action, &policy::region_facts(region.clone())) == Decision::Allow
}

#[derive(sqlx::FromRow)]
struct ReportRow {
    id: i64,
    receipt: String,
    state: String,
    reporter_kind: String,
    name: String,
    phone: String,
    village_code: String,
    village: String,
    reason: String,
    detail: String,
    household_id: Option<i64>,
    household: Option<String>,
    verification: Option<String>,
    consent: i64,
    notice_from: Option<i64>,
    decision_note: Option<String>,
    created_at: i64,
    #[sqlx(default)]
    cursor: String,
}

impl Cursored for ReportRow {
    fn cursor(&self) -> &str {
        &self.cursor
    }
}

const REPORT_SELECT: &str =
    "SELECT r.id, r.receipt, r.state, r.reporter_kind, r.name, r.phone, r.village_code,
        v.name AS village, r.reason, r.detail, r.household_id, h.head_name AS household,
        r.verification, r.consent, r.notice_from, r.decision_note, r.created_at
   FROM monitoring_reports r
   JOIN regions v ON v.code = r.village_code
   LEFT JOIN households h ON h.id = r.household_id";

const OLDEST_FIRST: Keyset = Keyset(&[asc("x.id")]);

#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn report_queue(
    region: Option<&str>,
    state_filter: Option<&str>,
    after: Option<&str>,
) -> Result<Queue, AppError> {
    let state = AppState::get()?;
    let db = &state.db;
    let user = require_user().await?;
    let requested = crate::official::server::requested_region(&user, region)?;
    let filter = state_filter
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .unwrap_or("open");
    let condition = match filter {
        "open" => "x.state IN ('submitted', 'notice')".to_owned(),
        s => {
            let st = ReportState::parse(s)
                .ok_or_else(|| AppError::new(ErrorCode::BadRequest).field("state"))?;
            format!("x.state = '{}'", st.as_str())
        }
    };
    let cursor = OLDEST_FIRST.parse(after)?;
    let sql = format!(
        "SELECT x.*, {} FROM ({REPORT_SELECT} WHERE r.village_code LIKE $1) x
          WHERE {condition} AND {} ORDER BY {} LIMIT {}",
        OLDEST_FIRST.cursor_column(),
        OLDEST_FIRST.condition(cursor.as_ref(), 2),
        OLDEST_FIRST.order_by(),
        PAGE + 1
    );
    let q = sqlx::query_as::<_, ReportRow>(&sql).bind(requested.like_pattern());
    let rows = keyset::bind_keys(q, cursor.as_ref())
        .fetch_all(&db.pool)
        .await?;
    let t = now();
    let items = keyset::page(rows, PAGE, |r| {
        let village = RegionCode::parse(&r.village_code).ok();
        let unmasked = village.as_ref().is_some_and(|v| of_the_county(&user, v));
        let notice_until = r.notice_from.map(|f| f + monitoring::NOTICE_DAYS * 86_400);
        QueueItem {
            candidates: Vec::new(),
            id: r.id,
            receipt: r.receipt,
            state: ReportState::parse(&r.state).unwrap_or(ReportState::Submitted),
            reporter: Reporter::parse(&r.reporter_kind).unwrap_or(Reporter::SelfReport),
            name: if unmasked { r.name } else { mask_name(&r.name) },
            phone: if unmasked {
                r.phone
            } else {
                mask_phone(&r.phone)
            },
            village_code: r.village_code,
            village: r.village,
            reason: Reason::parse(&r.reason).unwrap_or(Reason::Other),
            detail: r.detail,
            household_id: r.household_id,
            household: r.household,
            verification: r.verification,
            consent: r.consent == 1,
            notice_until,
            notice_over: notice_until.is_some_and(|u| t >= u),
            decision_note: r.decision_note,
            created_at: r.created_at,
        }
    });
    let mut items = items;
    // Households of the village to choose from when verifying a new report.
    for item in items
        .items
        .iter_mut()
        .filter(|i| i.state == ReportState::Submitted)
    {
        item.candidates = sqlx::query_as(
            "SELECT id, head_name FROM households WHERE region_code = $1 ORDER BY head_name, id LIMIT 100",
        )
        .bind(&item.village_code)
        .fetch_all(&db.pool)
        .await?;
    }
    let counts_rows: Vec<(String, i64)> = sqlx::query_as(
        "SELECT state, COUNT(*) FROM monitoring_reports WHERE village_code LIKE $1 GROUP BY state",
    )
    .bind(requested.like_pattern())
    .fetch_all(&db.pool)
    .await?;
    let counts = ReportState::ALL
        .iter()
        .map(|s| {
            let n = counts_rows
                .iter()
                .find(|(k, _)| k == s.as_str())
                .map(|(_, n)| *n)
                .unwrap_or(0);
            (*s, n)
        })
        .collect();
    let (new_today, new_this_week): (i64, i64) = sqlx::query_as(
        "SELECT CAST(COALESCE(SUM(CASE WHEN created_at >= $2 THEN 1 ELSE 0 END), 0) AS BIGINT),
                COUNT(*)
           FROM monitoring_reports WHERE village_code LIKE $1 AND created_at >= $3",
    )
    .bind(requested.like_pattern())
    .bind(t - 86_400)
    .bind(t - 7 * 86_400)
    .fetch_one(&db.pool)
    .await?;
    let may_decide = allowed(&user, Action::DecideMonitoring, &requested);
    let cadres = if may_decide {
        county_cadres(db, &requested).await?
    } else {
        Vec::new()
    };
    let region_name: String = sqlx::query_scalar("SELECT name FROM regions WHERE code = $1")
        .bind(requested.as_str())
        .fetch_optional(&db.pool)
        .await?
        .ok_or_else(|| AppError::new(ErrorCode::NotFound))?;
    Ok(Queue {
        region_code: requested.to_string(),
        region: region_name,
        state: filter.to_owned(),
        items,
        counts,
        new_today,
        new_this_week,
        may_verify: allowed(&user, Action::VerifyReport, &requested),
        may_decide,
        cadres,
    })
}

/// The cadres of the county a region lies in (of the region itself above a county), by name;
/// at most 200.
async fn county_cadres(db: &Db, region: &RegionCode) -> Result<Vec<CadreOption>, AppError> {
    let scope = region.county().unwrap_or_else(|| region.clone());
    Ok(sqlx::query_as::<_, (i64, String)>(
        "SELECT id, display_name FROM users
          WHERE role = 'cadre' AND region_code LIKE $1 ORDER BY display_name, id LIMIT 200",
    )
    .bind(scope.like_pattern())
    .fetch_all(&db.pool)
    .await?
    .into_iter()
    .map(|(id, name)| CadreOption { id, name })
    .collect())
}

/// A report's state, village and notice start (404 if there is none).
async fn load_report(
    db: &Db,
    id: i64,
) -> Result<(ReportState, RegionCode, Option<i64>, Option<i64>), AppError> {
    let row: Option<(String, String, Option<i64>, Option<i64>)> = sqlx::query_as(
        "SELECT state, village_code, notice_from, household_id FROM monitoring_reports WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(&db.pool)
    .await?;
    let (st, village, notice_from, household) =
        row.ok_or_else(|| AppError::new(ErrorCode::NotFound))?;
    Ok((
        ReportState::parse(&st).ok_or_else(|| AppError::internal("report state"))?,
        RegionCode::parse(&village).map_err(AppError::internal)?,
        notice_from,
        household,
    ))
}

/// Moves a report from `from` to `to` with `set` (more assignments), only if it is still in
/// `from` (409 otherwise: another official got there first).
async fn move_report(
    tx: &mut Tx,
    id: i64,
    from: ReportState,
    to: ReportState,
    set: &str,
    binds: (Option<i64>, Option<String>),
) -> Result<(), AppError> {
    let n = sqlx::query(&format!(
        "UPDATE monitoring_reports SET state = $1, updated_at = $2{set} WHERE id = $3 AND state = $4"
    ))
    .bind(to.as_str())
    .bind(now())
    .bind(id)
    .bind(from.as_str())
    .bind(binds.0)
    .bind(binds.1)
    .execute(&mut **tx)
    .await?
    .rows_affected();
    if n == 1 {
        Ok(())
    } else {
        Err(AppError::new(ErrorCode::InvalidStep))
    }
}

#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn verify_report(
    id: i64,
    household_id: i64,
    verification: &str,
    consent: bool,
) -> Result<(), AppError> {
    let state = AppState::get()?;
    let user = require_user().await?;
    let (st, village, notice_from, _) = load_report(&state.db, id).await?;
    policy::require(
        &user,
        Action::VerifyReport,
        &policy::region_facts(village.clone()),
    )?;
    let verification = text(verification, monitoring::NOTE_MAX, "verification")?;
    if !consent {
        return Err(AppError::new(ErrorCode::ConsentRequired).field("consent"));
    }
    let t = now();
    let to = monitoring::next(st, Step::Verify, notice_from, t).map_err(refusal)?;
    // The household must be registered in the reported village.
    let in_village: Option<String> =
        sqlx::query_scalar("SELECT region_code FROM households WHERE id = $1")
            .bind(household_id)
            .fetch_optional(&state.db.pool)
            .await?;
    if in_village.as_deref() != Some(village.as_str()) {
        return Err(AppError::new(ErrorCode::BadRequest).field("household_id"));
    }
    let mut tx = state.db.begin_write().await?;
    move_report(
        &mut tx,
        id,
        st,
        to,
        ", household_id = $5, verification = $6, consent = 1, notice_from = $2",
        (Some(household_id), Some(verification)),
    )
    .await?;
    sqlx::query("UPDATE monitoring_reports SET verified_by = $1 WHERE id = $2")
        .bind(user.id)
        .bind(id)
        .execute(&mut *tx)
        .await?;
    audit(
        &mut tx,
        &user,
        "verify",
        Some(household_id),
        village.as_str(),
        None,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Adds an entry to a household's monitoring history.
pub(crate) async fn event(
    tx: &mut Tx,
    household_id: i64,
    what: &str,
    category: Option<Category>,
    note: Option<&str>,
    user: &CurrentUser,
) -> Result<(), AppError> {
    sqlx::query(
        "INSERT INTO monitoring_events (household_id, event, category, note, user_id, at)
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(household_id)
    .bind(what)
    .bind(category.map(Category::as_str))
    .bind(note)
    .bind(user.id)
    .bind(now())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn identify_report(id: i64, category: &str, cadre_id: i64) -> Result<(), AppError> {
    let state = AppState::get()?;
    let user = require_user().await?;
    let (st, village, notice_from, household) = load_report(&state.db, id).await?;
    policy::require(
        &user,
        Action::DecideMonitoring,
        &policy::region_facts(village.clone()),
    )?;
    let category = Category::parse(category)
        .ok_or_else(|| AppError::new(ErrorCode::BadRequest).field("category"))?;
    let to = monitoring::next(st, Step::Identify, notice_from, now()).map_err(refusal)?;
    let household =
        household.ok_or_else(|| AppError::internal("a report on notice names no household"))?;
    // The cadre must be one of the county's.
    let county = village
        .county()
        .ok_or_else(|| AppError::internal("village without county"))?;
    let cadre_ok: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM users WHERE id = $1 AND role = 'cadre' AND region_code LIKE $2",
    )
    .bind(cadre_id)
    .bind(county.like_pattern())
    .fetch_one(&state.db.pool)
    .await?;
    if cadre_ok == 0 {
        return Err(AppError::new(ErrorCode::BadRequest).field("cadre_id"));
    }
    // A household already monitored is not identified again (its cadre changes through its
    // file); one whose risk was eliminated is monitored again.
    if matches!(
        object_state(&state.db, household).await,
        Ok(ObjectState::Monitored)
    ) {
        return Err(AppError::new(ErrorCode::InvalidStep));
    }
    let t = now();
    let mut tx = state.db.begin_write().await?;
    move_report(
        &mut tx,
        id,
        st,
        to,
        ", decided_by = $5, decision_note = $6",
        (Some(user.id), Some(category.as_str().to_owned())),
    )
    .await?;
    sqlx::query(
        "INSERT INTO monitoring_objects (household_id, category, state, cadre_id, report_id, identified_at, updated_at)
         VALUES ($1, $2, 'monitored', $3, $4, $5, $5)
         ON CONFLICT (household_id) DO UPDATE
            SET category = excluded.category, state = 'monitored', cadre_id = excluded.cadre_id,
                report_id = excluded.report_id, identified_at = excluded.identified_at,
                eliminated_at = NULL, updated_at = excluded.updated_at
          WHERE monitoring_objects.state = 'eliminated'",
    )
    .bind(household)
    .bind(category.as_str())
    .bind(cadre_id)
    .bind(id)
    .bind(t)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "INSERT INTO cadre_pairings (user_id, household_id) VALUES ($1, $2)
         ON CONFLICT (user_id, household_id) DO NOTHING",
    )
    .bind(cadre_id)
    .bind(household)
    .execute(&mut *tx)
    .await?;
    event(
        &mut tx,
        household,
        "identified",
        Some(category),
        None,
        &user,
    )
    .await?;
    audit(
        &mut tx,
        &user,
        "identify",
        Some(household),
        village.as_str(),
        Some(category.as_str()),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn dismiss_report(id: i64, reason: &str) -> Result<(), AppError> {
    let state = AppState::get()?;
    let user = require_user().await?;
    let (st, village, notice_from, household) = load_report(&state.db, id).await?;
    policy::require(
        &user,
        Action::DecideMonitoring,
        &policy::region_facts(village.clone()),
    )?;
    let reason = text(reason, monitoring::NOTE_MAX, "reason")?;
    let to = monitoring::next(st, Step::Dismiss, notice_from, now()).map_err(refusal)?;
    let mut tx = state.db.begin_write().await?;
    move_report(
        &mut tx,
        id,
        st,
        to,
        ", decided_by = $5, decision_note = $6",
        (Some(user.id), Some(reason.clone())),
    )
    .await?;
    audit(
        &mut tx,
        &user,
        "dismiss",
        household,
        village.as_str(),
        Some(&reason),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// The household's village (404 if there is none), after the policy allowed `action` on it.
pub(crate) async fn household_allowed(
    db: &Db,
    user: &CurrentUser,
    household_id: i64,
    action: Action,
) -> Result<RegionCode, AppError> {
    let f = policy::household_facts(db, user, household_id).await?;
    policy::require(user, action, &f)?;
    f.region
        .ok_or_else(|| AppError::internal("household without a valid region"))
}

#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn log_visit(
    household_id: i64,
    visited_on: &str,
    seen: &str,
    needs: &str,
    next_steps: &str,
) -> Result<(), AppError> {
    let state = AppState::get()?;
    let user = require_user().await?;
    let village = household_allowed(&state.db, &user, household_id, Action::LogVisit).await?;
    let day = day_number(visited_on.trim())
        .ok_or_else(|| AppError::new(ErrorCode::BadRequest).field("visited_on"))?;
    let today = day_number(&date_of(now())).unwrap_or(0);
    // Not in the future, and not back-dated by more than a year.
    if day > today || day < today - 366 {
        return Err(AppError::new(ErrorCode::BadRequest).field("visited_on"));
    }
    let seen = text(seen, monitoring::NOTE_MAX, "seen")?;
    let needs = text(needs, monitoring::NOTE_MAX, "needs")?;
    let next_steps = text(next_steps, monitoring::NOTE_MAX, "next_steps")?;
    let mut tx = state.db.begin_write().await?;
    sqlx::query(
        "INSERT INTO visits (household_id, cadre_id, visited_on, seen, needs, next_steps, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(household_id)
    .bind(user.id)
    .bind(visited_on.trim())
    .bind(&seen)
    .bind(&needs)
    .bind(&next_steps)
    .bind(now())
    .execute(&mut *tx)
    .await?;
    super::records::close_tasks(&mut tx, household_id).await?;
    audit(
        &mut tx,
        &user,
        "visit",
        Some(household_id),
        village.as_str(),
        Some(visited_on.trim()),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// For the last [`monitoring::EXIT_MONTHS`] complete months, oldest first: was the
/// household's rolling income at the month's end at or above that year's line?
async fn months_above(db: &Db, household_id: i64) -> Result<Vec<bool>, AppError> {
    let current = month_start_of(now());
    let mut out = Vec::with_capacity(monitoring::EXIT_MONTHS);
    for k in (1..=monitoring::EXIT_MONTHS as i64).rev() {
        let month = add_months(current, -k);
        // The window ending with that month.
        let window = rolling_window(month);
        let line = monitoring_line(db, year_of(month + 8 * 3600)).await?;
        let pc: Option<i64> = sqlx::query_scalar(&format!(
            "SELECT x.rolling_pc FROM {} x",
            rolling_table(window, "h.id = $1")
        ))
        .bind(household_id)
        .fetch_one(&db.pool)
        .await?;
        out.push(matches!((pc, line), (Some(pc), Some(l)) if pc >= l.fen()));
    }
    Ok(out)
}

/// The monitoring object's state (404 when the household is not one).
pub(crate) async fn object_state(db: &Db, household_id: i64) -> Result<ObjectState, AppError> {
    let st: Option<String> =
        sqlx::query_scalar("SELECT state FROM monitoring_objects WHERE household_id = $1")
            .bind(household_id)
            .fetch_optional(&db.pool)
            .await?;
    st.as_deref()
        .and_then(ObjectState::parse)
        .ok_or_else(|| AppError::new(ErrorCode::InvalidStep))
}

/// Sets a monitoring object's state from `from` to `to` (409 if it was not in `from`).
async fn move_object(
    db: &Db,
    user: &CurrentUser,
    household_id: i64,
    village: &RegionCode,
    (from, to): (ObjectState, ObjectState),
    what: &str,
    note: &str,
) -> Result<(), AppError> {
    let t = now();
    let mut tx = db.begin_write().await?;
    let n = sqlx::query(
        "UPDATE monitoring_objects SET state = $1, updated_at = $2,
                eliminated_at = CASE WHEN $1 = 'eliminated' THEN $2 ELSE NULL END
          WHERE household_id = $3 AND state = $4",
    )
    .bind(to.as_str())
    .bind(t)
    .bind(household_id)
    .bind(from.as_str())
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if n != 1 {
        return Err(AppError::new(ErrorCode::InvalidStep));
    }
    event(&mut tx, household_id, what, None, Some(note), user).await?;
    audit(
        &mut tx,
        user,
        what,
        Some(household_id),
        village.as_str(),
        Some(note),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn eliminate(household_id: i64, note: &str) -> Result<(), AppError> {
    let state = AppState::get()?;
    let user = require_user().await?;
    let village =
        household_allowed(&state.db, &user, household_id, Action::DecideMonitoring).await?;
    let note = text(note, monitoring::NOTE_MAX, "note")?;
    if object_state(&state.db, household_id).await? != ObjectState::Monitored {
        return Err(AppError::new(ErrorCode::InvalidStep));
    }
    if !monitoring::may_exit(&months_above(&state.db, household_id).await?) {
        return Err(AppError::new(ErrorCode::ExitTooEarly));
    }
    move_object(
        &state.db,
        &user,
        household_id,
        &village,
        (ObjectState::Monitored, ObjectState::Eliminated),
        "eliminated",
        &note,
    )
    .await
}

/// The county changes a monitored household's category (脱贫不稳定户, 边缘易致贫户,
/// 突发严重困难户) with a reason: the change is an event in its history and in the audit log.
/// Refused (409) for a household not under monitoring, or when the category is the same.
#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn change_category(
    household_id: i64,
    category: &str,
    note: &str,
) -> Result<(), AppError> {
    let state = AppState::get()?;
    let user = require_user().await?;
    let village =
        household_allowed(&state.db, &user, household_id, Action::DecideMonitoring).await?;
    let category = Category::parse(category)
        .ok_or_else(|| AppError::new(ErrorCode::BadRequest).field("category"))?;
    let note = text(note, monitoring::NOTE_MAX, "note")?;
    let mut tx = state.db.begin_write().await?;
    let n = sqlx::query(
        "UPDATE monitoring_objects SET category = $1, updated_at = $2
          WHERE household_id = $3 AND state = 'monitored' AND category <> $1",
    )
    .bind(category.as_str())
    .bind(now())
    .bind(household_id)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if n != 1 {
        return Err(AppError::new(ErrorCode::InvalidStep));
    }
    event(
        &mut tx,
        household_id,
        "category",
        Some(category),
        Some(&note),
        &user,
    )
    .await?;
    audit(
        &mut tx,
        &user,
        "category",
        Some(household_id),
        village.as_str(),
        Some(&format!("{}: {note}", category.as_str())),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn reopen(household_id: i64, note: &str) -> Result<(), AppError> {
    let state = AppState::get()?;
    let user = require_user().await?;
    let village =
        household_allowed(&state.db, &user, household_id, Action::DecideMonitoring).await?;
    let note = text(note, monitoring::NOTE_MAX, "note")?;
    move_object(
        &state.db,
        &user,
        household_id,
        &village,
        (ObjectState::Eliminated, ObjectState::Monitored),
        "reopened",
        &note,
    )
    .await
}

/// A monitoring object as read for the file: category, state, cadre, identified, eliminated.
type ObjectRow = (String, String, Option<String>, i64, Option<i64>);

const NEWEST_FIRST: Keyset = Keyset(&[desc("x.id")]);

#[derive(sqlx::FromRow)]
struct EventRow {
    id: i64,
    event: String,
    category: Option<String>,
    note: Option<String>,
    by_name: Option<String>,
    at: i64,
    cursor: String,
}

impl Cursored for EventRow {
    fn cursor(&self) -> &str {
        &self.cursor
    }
}

#[derive(sqlx::FromRow)]
struct VisitRow {
    id: i64,
    visited_on: String,
    cadre: String,
    seen: String,
    needs: String,
    next_steps: String,
    cursor: String,
}

impl Cursored for VisitRow {
    fn cursor(&self) -> &str {
        &self.cursor
    }
}

/// Visits, the latest date first.
const LATEST_VISIT_FIRST: Keyset = Keyset(&[
    desc("CAST(REPLACE(x.visited_on, '-', '') AS BIGINT)"),
    desc("x.id"),
]);

/// A page of `inner` (a SELECT filtered by `$1`) in the order of `keys`.
fn page_sql(keys: Keyset, inner: &str, cursor: Option<&crate::domain::page::Cursor>) -> String {
    format!(
        "SELECT x.*, {} FROM ({inner}) x WHERE {} ORDER BY {} LIMIT {}",
        keys.cursor_column(),
        keys.condition(cursor, 2),
        keys.order_by(),
        PAGE + 1
    )
}

/// A page of one household's rows in the order of `keys`: `inner` selects them, its `$1` the
/// household.
async fn household_page<R, T>(
    db: &Db,
    keys: Keyset,
    inner: &str,
    household_id: i64,
    cursor: Option<&crate::domain::page::Cursor>,
    map: impl Fn(R) -> T,
) -> Result<Page<T>, AppError>
where
    R: for<'r> sqlx::FromRow<'r, sqlx::any::AnyRow> + Cursored + Send + Unpin,
{
    let sql = page_sql(keys, inner, cursor);
    let q = sqlx::query_as::<_, R>(&sql).bind(household_id);
    let rows = keyset::bind_keys(q, cursor).fetch_all(&db.pool).await?;
    Ok(keyset::page(rows, PAGE, map))
}

#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn household_file(
    household_id: i64,
    events_after: Option<&str>,
    visits_after: Option<&str>,
    reviews_after: Option<&str>,
) -> Result<FileView, AppError> {
    let state = AppState::get()?;
    let db = &state.db;
    let user = require_user().await?;
    let village = household_allowed(db, &user, household_id, Action::ViewHousehold).await?;
    let events_cursor = NEWEST_FIRST.parse(events_after)?;
    let visits_cursor = LATEST_VISIT_FIRST.parse(visits_after)?;
    // Each viewer's first view of the file in a day is recorded (not every reload).
    let today_start = day_number(&date_of(now())).unwrap_or(0) * 86_400 - 8 * 3600;
    let seen_today: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM audit_log WHERE household_id = $1 AND user_id = $2
            AND action = 'view' AND at >= $3",
    )
    .bind(household_id)
    .bind(user.id)
    .bind(today_start)
    .fetch_one(&db.pool)
    .await?;
    if seen_today == 0 {
        let mut tx = db.begin_write().await?;
        audit(
            &mut tx,
            &user,
            "view",
            Some(household_id),
            village.as_str(),
            None,
        )
        .await?;
        tx.commit().await?;
    }
    let object: Option<ObjectRow> = sqlx::query_as(
        "SELECT o.category, o.state, u.display_name, o.identified_at, o.eliminated_at
           FROM monitoring_objects o LEFT JOIN users u ON u.id = o.cadre_id
          WHERE o.household_id = $1",
    )
    .bind(household_id)
    .fetch_optional(&db.pool)
    .await?;
    let object = object.and_then(|(c, s, cadre, identified_at, eliminated_at)| {
        Some(ObjectInfo {
            category: Category::parse(&c)?,
            state: ObjectState::parse(&s)?,
            cadre,
            identified_at,
            eliminated_at,
        })
    });
    let cadres: Vec<String> = sqlx::query_scalar(
        "SELECT u.display_name FROM cadre_pairings p JOIN users u ON u.id = p.user_id
          WHERE p.household_id = $1 ORDER BY u.display_name LIMIT 20",
    )
    .bind(household_id)
    .fetch_all(&db.pool)
    .await?;
    let rolling: Option<i64> = sqlx::query_scalar(&format!(
        "SELECT x.rolling_pc FROM {} x",
        rolling_table(rolling_window(now()), "h.id = $1")
    ))
    .bind(household_id)
    .fetch_one(&db.pool)
    .await?;
    let line = monitoring_line(db, crate::server::db::current_year()).await?;
    let status = match line {
        Some(l) => income::status(rolling.map(Fen::new), l),
        None => MonitoringStatus::Unknown,
    };
    let above = months_above(db, household_id).await?;
    let last_visit: Option<String> =
        sqlx::query_scalar("SELECT MAX(visited_on) FROM visits WHERE household_id = $1")
            .bind(household_id)
            .fetch_one(&db.pool)
            .await?;
    let today = day_number(&date_of(now())).unwrap_or(0);
    let visit_overdue = object.as_ref().is_some_and(|o| {
        o.state == ObjectState::Monitored
            && monitoring::visit_overdue(
                last_visit.as_deref().and_then(day_number),
                day_number(&date_of(o.identified_at)).unwrap_or(today),
                today,
            )
    });
    let events = household_page(
        db,
        NEWEST_FIRST,
        "SELECT e.id, e.event, e.category, e.note, u.display_name AS by_name, e.at
           FROM monitoring_events e LEFT JOIN users u ON u.id = e.user_id WHERE e.household_id = $1",
        household_id,
        events_cursor.as_ref(),
        |r: EventRow| EventItem {
            id: r.id,
            event: r.event,
            category: r.category.as_deref().and_then(Category::parse),
            note: r.note,
            by: r.by_name,
            at: r.at,
        },
    )
    .await?;
    let visits = household_page(
        db,
        LATEST_VISIT_FIRST,
        "SELECT v.id, v.visited_on, u.display_name AS cadre, v.seen, v.needs, v.next_steps
           FROM visits v JOIN users u ON u.id = v.cadre_id WHERE v.household_id = $1",
        household_id,
        visits_cursor.as_ref(),
        |r: VisitRow| VisitItem {
            id: r.id,
            visited_on: r.visited_on,
            cadre: r.cadre,
            seen: r.seen,
            needs: r.needs,
            next_steps: r.next_steps,
        },
    )
    .await?;
    let may_decide = allowed(&user, Action::DecideMonitoring, &village);
    let f = policy::household_facts(db, &user, household_id).await?;
    let may_visit = policy::decide(&user, Action::LogVisit, &f) == Decision::Allow;
    let may_edit = policy::decide(&user, Action::EditFile, &f) == Decision::Allow;
    let (members, measures, tasks, links, org_pairings) =
        super::records::file_records(db, &user, household_id, &village).await?;
    let reviews = super::review::reviews(db, household_id, reviews_after).await?;
    let quarter = crate::domain::calendar::quarter_of(now());
    let review_due = may_visit
        && object
            .as_ref()
            .is_some_and(|o| o.state == ObjectState::Monitored)
        && !super::review::reviewed(db, household_id, &quarter).await?;
    let cadre_options = if may_decide {
        county_cadres(db, &village).await?
    } else {
        Vec::new()
    };
    Ok(FileView {
        household_id,
        may_exit: object
            .as_ref()
            .is_some_and(|o| o.state == ObjectState::Monitored)
            && monitoring::may_exit(&above),
        object,
        cadres,
        rolling_per_capita_fen: rolling,
        status,
        months_above: above,
        visit_overdue,
        may_decide,
        may_visit,
        events,
        visits,
        members,
        measures,
        tasks,
        links,
        org_pairings,
        may_edit,
        cadre_options,
        reviews,
        review_due,
        quarter,
    })
}

#[derive(sqlx::FromRow)]
struct CadreRow {
    id: i64,
    head_name: String,
    village: String,
    rolling_pc: Option<i64>,
    category: Option<String>,
    object_state: Option<String>,
    identified_at: Option<i64>,
    last_visit: Option<String>,
    open_tasks: i64,
    reviewed: i64,
    cursor: String,
}

impl Cursored for CadreRow {
    fn cursor(&self) -> &str {
        &self.cursor
    }
}

const CADRE_ORDER: Keyset = Keyset(&[
    asc("CASE WHEN x.rolling_pc IS NULL THEN 1 ELSE 0 END"),
    asc("COALESCE(x.rolling_pc, 0)"),
    asc("x.id"),
]);

#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn cadre_households(after: Option<&str>) -> Result<Page<CadreHousehold>, AppError> {
    let state = AppState::get()?;
    let db = &state.db;
    let user = require_user().await?;
    if user.role != Role::Cadre {
        return Err(AppError::new(ErrorCode::Forbidden));
    }
    let cursor = CADRE_ORDER.parse(after)?;
    let sql = format!(
        "SELECT x.*, {} FROM (
            SELECT h.id, h.head_name, v.name AS village, r.rolling_pc, o.category, o.state AS object_state,
                   o.identified_at,
                   (SELECT MAX(vs.visited_on) FROM visits vs WHERE vs.household_id = h.id) AS last_visit,
                   (SELECT COUNT(*) FROM monitoring_tasks tk WHERE tk.household_id = h.id AND tk.done_at IS NULL) AS open_tasks,
                   (SELECT COUNT(*) FROM effect_reviews er WHERE er.household_id = h.id AND er.quarter = '{}') AS reviewed
              FROM {} r
              JOIN households h ON h.id = r.household_id
              JOIN regions v ON v.code = h.region_code
              LEFT JOIN monitoring_objects o ON o.household_id = h.id) x
          WHERE {} ORDER BY {} LIMIT {}",
        CADRE_ORDER.cursor_column(),
        // A server-made `YYYY-Qn`.
        crate::domain::calendar::quarter_of(now()),
        rolling_table(
            rolling_window(now()),
            "h.id IN (SELECT p.household_id FROM cadre_pairings p WHERE p.user_id = $1)"
        ),
        CADRE_ORDER.condition(cursor.as_ref(), 2),
        CADRE_ORDER.order_by(),
        PAGE + 1
    );
    let q = sqlx::query_as::<_, CadreRow>(&sql).bind(user.id);
    let rows = keyset::bind_keys(q, cursor.as_ref())
        .fetch_all(&db.pool)
        .await?;
    let line = monitoring_line(db, crate::server::db::current_year()).await?;
    let today = day_number(&date_of(now())).unwrap_or(0);
    Ok(keyset::page(rows, PAGE, |r| {
        let monitored = r.object_state.as_deref() == Some("monitored");
        CadreHousehold {
            id: r.id,
            head_name: r.head_name,
            village: r.village,
            rolling_per_capita_fen: r.rolling_pc,
            status: match line {
                Some(l) => income::status(r.rolling_pc.map(Fen::new), l),
                None => MonitoringStatus::Unknown,
            },
            category: r
                .category
                .as_deref()
                .filter(|_| monitored)
                .and_then(Category::parse),
            visit_overdue: monitored
                && monitoring::visit_overdue(
                    r.last_visit.as_deref().and_then(day_number),
                    r.identified_at
                        .and_then(|t| day_number(&date_of(t)))
                        .unwrap_or(today),
                    today,
                ),
            last_visit: r.last_visit,
            open_tasks: r.open_tasks,
            review_due: monitored && r.reviewed == 0,
        }
    }))
}

#[derive(sqlx::FromRow)]
struct AuditRow {
    id: i64,
    at: i64,
    user_name: Option<String>,
    action: String,
    household_id: Option<i64>,
    household: Option<String>,
    detail: Option<String>,
    cursor: String,
}

impl Cursored for AuditRow {
    fn cursor(&self) -> &str {
        &self.cursor
    }
}

#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn audit_log(
    region: Option<&str>,
    after: Option<&str>,
) -> Result<Page<AuditItem>, AppError> {
    let state = AppState::get()?;
    let db = &state.db;
    let user = require_user().await?;
    let requested = crate::official::server::region_for(&user, region, Action::ViewAudit)?;
    let cursor = NEWEST_FIRST.parse(after)?;
    let sql = page_sql(
        NEWEST_FIRST,
        "SELECT a.id, a.at, u.display_name AS user_name, a.action, a.household_id,
                h.head_name AS household, a.detail
           FROM audit_log a LEFT JOIN users u ON u.id = a.user_id
           LEFT JOIN households h ON h.id = a.household_id
          WHERE a.region_code LIKE $1",
        cursor.as_ref(),
    );
    let q = sqlx::query_as::<_, AuditRow>(&sql).bind(requested.like_pattern());
    let rows = keyset::bind_keys(q, cursor.as_ref())
        .fetch_all(&db.pool)
        .await?;
    Ok(keyset::page(rows, PAGE, |r| AuditItem {
        id: r.id,
        at: r.at,
        user: r.user_name,
        action: r.action,
        household_id: r.household_id,
        household: r.household,
        detail: r.detail,
    }))
}

/// Writes an export of a region's list to the audit log.
pub async fn audit_export(
    db: &Db,
    user: &CurrentUser,
    region: &RegionCode,
    filter: Option<&str>,
) -> Result<(), AppError> {
    let mut tx = db.begin_write().await?;
    let detail = filter.map(|f| f.chars().take(120).collect::<String>());
    audit(
        &mut tx,
        user,
        "export",
        None,
        region.as_str(),
        detail.as_deref(),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}
