//! The household file's records beyond the workflow (分户建档): members (identity numbers and
//! phones masked for all but officials of the county; names, like the head's on every list, are not), assistance measures, cadre pairings
//! (一对一), 1+1 pairings of social organisations with villages, what each benefit link
//! declared against what the ledger shows it paid, and the open early-warning tasks.

use super::api::{
    LinkPayout, MeasureItem, MemberItem, OrgPairing, TaskItem, MAX_MEASURES, MAX_MEMBERS,
};
use super::server::{audit, household_allowed, of_the_county, text};
use crate::auth::api::CurrentUser;
use crate::auth::server::require_user;
use crate::domain::calendar::day_number;
use crate::domain::monitoring::{
    self, mask_id_number, mask_phone, MeasureKind, Relation, TaskKind,
};
use crate::domain::page::Page;
use crate::domain::region::{RegionCode, RegionLevel};
use crate::domain::role::Role;
use crate::error::{AppError, ErrorCode};
use crate::policy::{self, Action};
use crate::server::db::{current_year, now, year_start, Db};
use crate::server::state::AppState;

fn bad(field: &str) -> AppError {
    AppError::new(ErrorCode::BadRequest).field(field)
}

#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn add_member(
    household_id: i64,
    name: &str,
    relation: &str,
    id_number: Option<&str>,
    phone: Option<&str>,
) -> Result<(), AppError> {
    let state = AppState::get()?;
    let user = require_user().await?;
    let village = household_allowed(&state.db, &user, household_id, Action::EditFile).await?;
    let name = text(name, monitoring::NAME_MAX, "name")?;
    let relation = Relation::parse(relation).ok_or_else(|| bad("relation"))?;
    let id_number = match id_number.map(str::trim).filter(|s| !s.is_empty()) {
        None => None,
        Some(s) => Some(monitoring::parse_id_number(s).ok_or_else(|| bad("id_number"))?),
    };
    let phone = match phone.map(str::trim).filter(|s| !s.is_empty()) {
        None => None,
        Some(s) => Some(monitoring::parse_phone(s).ok_or_else(|| bad("phone"))?),
    };
    let mut tx = state.db.begin_write().await?;
    // The count and the insert in one statement: concurrent adds cannot pass the cap together
    // (SQLite writes one at a time; PostgreSQL locks the household's row first).
    if state.db.backend == crate::server::db::Backend::Postgres {
        sqlx::query("SELECT id FROM households WHERE id = $1 FOR UPDATE")
            .bind(household_id)
            .execute(&mut *tx)
            .await?;
    }
    let added = sqlx::query(
        "INSERT INTO household_members (household_id, name, relation, id_number, phone, created_at)
         SELECT $1, $2, $3, $4, $5, $6
          WHERE (SELECT COUNT(*) FROM household_members WHERE household_id = $1) < $7",
    )
    .bind(household_id)
    .bind(&name)
    .bind(relation.as_str())
    .bind(&id_number)
    .bind(&phone)
    .bind(now())
    .bind(MAX_MEMBERS)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if added == 0 {
        return Err(AppError::new(ErrorCode::LimitExceeded).field("name"));
    }
    audit(
        &mut tx,
        &user,
        "member",
        Some(household_id),
        village.as_str(),
        Some(relation.as_str()),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn remove_member(member_id: i64) -> Result<(), AppError> {
    let state = AppState::get()?;
    let user = require_user().await?;
    let household: Option<i64> =
        sqlx::query_scalar("SELECT household_id FROM household_members WHERE id = $1")
            .bind(member_id)
            .fetch_optional(&state.db.pool)
            .await?;
    let household = household.ok_or_else(|| AppError::new(ErrorCode::NotFound))?;
    let village = household_allowed(&state.db, &user, household, Action::EditFile).await?;
    let mut tx = state.db.begin_write().await?;
    sqlx::query("DELETE FROM household_members WHERE id = $1")
        .bind(member_id)
        .execute(&mut *tx)
        .await?;
    audit(
        &mut tx,
        &user,
        "member_removed",
        Some(household),
        village.as_str(),
        None,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn add_measure(
    household_id: i64,
    kind: &str,
    detail: &str,
    starts_on: &str,
    ends_on: Option<&str>,
) -> Result<(), AppError> {
    let state = AppState::get()?;
    let user = require_user().await?;
    let village = household_allowed(&state.db, &user, household_id, Action::EditFile).await?;
    let kind = MeasureKind::parse(kind).ok_or_else(|| bad("kind"))?;
    let detail = text(detail, monitoring::NOTE_MAX, "detail")?;
    let starts = day_number(starts_on.trim()).ok_or_else(|| bad("starts_on"))?;
    let ends_on = match ends_on.map(str::trim).filter(|s| !s.is_empty()) {
        None => None,
        Some(e) => {
            let d = day_number(e).ok_or_else(|| bad("ends_on"))?;
            if d < starts {
                return Err(bad("ends_on"));
            }
            Some(e.to_owned())
        }
    };
    let mut tx = state.db.begin_write().await?;
    let n: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM assistance_measures WHERE household_id = $1")
            .bind(household_id)
            .fetch_one(&mut *tx)
            .await?;
    if n >= MAX_MEASURES {
        return Err(AppError::new(ErrorCode::LimitExceeded).field("detail"));
    }
    sqlx::query(
        "INSERT INTO assistance_measures (household_id, kind, detail, starts_on, ends_on, recorded_by, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(household_id)
    .bind(kind.as_str())
    .bind(&detail)
    .bind(starts_on.trim())
    .bind(&ends_on)
    .bind(user.id)
    .bind(now())
    .execute(&mut *tx)
    .await?;
    audit(
        &mut tx,
        &user,
        "measure",
        Some(household_id),
        village.as_str(),
        Some(kind.as_str()),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Pairs (or, with `pair` false, unpairs) a cadre of the county with a household.
#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn pair_cadre(household_id: i64, cadre_id: i64, pair: bool) -> Result<(), AppError> {
    let state = AppState::get()?;
    let user = require_user().await?;
    let village =
        household_allowed(&state.db, &user, household_id, Action::DecideMonitoring).await?;
    let county = village
        .county()
        .ok_or_else(|| AppError::internal("village without county"))?;
    // A new pairing is with a cadre of the county; an old one ends whoever it was with (the
    // cadre may have moved since).
    let ok: i64 = if pair {
        sqlx::query_scalar(
            "SELECT COUNT(*) FROM users WHERE id = $1 AND role = 'cadre' AND region_code LIKE $2",
        )
        .bind(cadre_id)
        .bind(county.like_pattern())
        .fetch_one(&state.db.pool)
        .await?
    } else {
        sqlx::query_scalar(
            "SELECT COUNT(*) FROM cadre_pairings WHERE user_id = $1 AND household_id = $2",
        )
        .bind(cadre_id)
        .bind(household_id)
        .fetch_one(&state.db.pool)
        .await?
    };
    if ok == 0 {
        return Err(bad("cadre_id"));
    }
    let mut tx = state.db.begin_write().await?;
    let sql = if pair {
        "INSERT INTO cadre_pairings (user_id, household_id) VALUES ($1, $2)
         ON CONFLICT (user_id, household_id) DO NOTHING"
    } else {
        "DELETE FROM cadre_pairings WHERE user_id = $1 AND household_id = $2"
    };
    sqlx::query(sql)
        .bind(cadre_id)
        .bind(household_id)
        .execute(&mut *tx)
        .await?;
    let what = if pair { "paired" } else { "unpaired" };
    audit(
        &mut tx,
        &user,
        what,
        Some(household_id),
        village.as_str(),
        Some(&cadre_id.to_string()),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// 1+1: pairs a social organisation with a village (again: updates its projects).
#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn pair_organisation(
    village: &str,
    organisation_id: i64,
    since_year: i64,
    projects: &str,
) -> Result<(), AppError> {
    let state = AppState::get()?;
    let user = require_user().await?;
    let village = RegionCode::parse(village)
        .ok()
        .filter(|v| v.level() == RegionLevel::Village)
        .ok_or_else(|| AppError::new(ErrorCode::InvalidRegion).field("village"))?;
    policy::require(
        &user,
        Action::DecideMonitoring,
        &policy::region_facts(village.clone()),
    )?;
    if !(2000..=current_year()).contains(&since_year) {
        return Err(bad("since_year"));
    }
    let projects = projects.trim();
    if projects.chars().count() > monitoring::NOTE_MAX {
        return Err(bad("projects"));
    }
    let known: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM regions WHERE code = $1")
        .bind(village.as_str())
        .fetch_one(&state.db.pool)
        .await?;
    let social: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM organisations WHERE id = $1 AND kind = 'social'")
            .bind(organisation_id)
            .fetch_one(&state.db.pool)
            .await?;
    if known == 0 {
        return Err(AppError::new(ErrorCode::InvalidRegion).field("village"));
    }
    if social == 0 {
        return Err(bad("organisation_id"));
    }
    let mut tx = state.db.begin_write().await?;
    sqlx::query(
        "INSERT INTO org_village_pairings (organisation_id, village_code, since_year, projects)
         VALUES ($1, $2, $3, $4)
         ON CONFLICT (organisation_id, village_code) DO UPDATE
            SET since_year = excluded.since_year, projects = excluded.projects",
    )
    .bind(organisation_id)
    .bind(village.as_str())
    .bind(since_year)
    .bind(projects)
    .execute(&mut *tx)
    .await?;
    audit(
        &mut tx,
        &user,
        "org_paired",
        None,
        village.as_str(),
        Some(&organisation_id.to_string()),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// The file's records for `viewer`: members (masked unless the viewer is an official of the
/// county), measures, open tasks, links with what they paid this year, the village's 1+1
/// organisations and what they bought there this year.
pub async fn file_records(
    db: &Db,
    viewer: &CurrentUser,
    household_id: i64,
    village: &RegionCode,
) -> Result<
    (
        Vec<MemberItem>,
        Vec<MeasureItem>,
        Vec<TaskItem>,
        Vec<LinkPayout>,
        Vec<OrgPairing>,
    ),
    AppError,
> {
    let unmasked = of_the_county(viewer, village);
    let members = sqlx::query_as::<_, (i64, String, String, Option<String>, Option<String>)>(
        "SELECT id, name, relation, id_number, phone FROM household_members
          WHERE household_id = $1 ORDER BY id LIMIT 50",
    )
    .bind(household_id)
    .fetch_all(&db.pool)
    .await?
    .into_iter()
    .map(|(id, name, relation, idn, phone)| MemberItem {
        id,
        name,
        relation: Relation::parse(&relation).unwrap_or(Relation::Other),
        id_number: idn.map(|s| if unmasked { s } else { mask_id_number(&s) }),
        phone: phone.map(|s| if unmasked { s } else { mask_phone(&s) }),
    })
    .collect();
    let measures = sqlx::query_as::<_, (i64, String, String, String, Option<String>)>(
        "SELECT id, kind, detail, starts_on, ends_on FROM assistance_measures
          WHERE household_id = $1 ORDER BY starts_on DESC, id DESC LIMIT 50",
    )
    .bind(household_id)
    .fetch_all(&db.pool)
    .await?
    .into_iter()
    .filter_map(|(id, kind, detail, starts_on, ends_on)| {
        Some(MeasureItem {
            id,
            kind: MeasureKind::parse(&kind)?,
            detail,
            starts_on,
            ends_on,
        })
    })
    .collect();
    let tasks = sqlx::query_as::<_, (i64, String, String, i64)>(
        "SELECT id, kind, reason, created_at FROM monitoring_tasks
          WHERE household_id = $1 AND done_at IS NULL ORDER BY id LIMIT 10",
    )
    .bind(household_id)
    .fetch_all(&db.pool)
    .await?
    .into_iter()
    .filter_map(|(id, kind, reason, created_at)| {
        Some(TaskItem {
            id,
            kind: TaskKind::parse(&kind)?,
            reason,
            created_at,
        })
    })
    .collect();
    let year = current_year();
    // What each link's organisation paid the household this year through the ledger: its
    // sales allocated to the household (and their reversals).
    let links = sqlx::query_as::<_, (String, String, Option<i64>, i64)>(
        "SELECT o.name, l.link_type, l.declared_fen,
                CAST(COALESCE((SELECT SUM(e.amount_fen) FROM ledger_entries e
                                 JOIN order_items i ON i.id = e.order_item_id
                                 JOIN orders od ON od.id = i.order_id
                                WHERE e.household_id = l.household_id
                                  AND od.seller_organisation_id = l.organisation_id
                                  AND e.occurred_at >= $2 AND e.occurred_at < $3), 0) AS BIGINT)
           FROM benefit_links l JOIN organisations o ON o.id = l.organisation_id
          WHERE l.household_id = $1 ORDER BY l.id LIMIT 50",
    )
    .bind(household_id)
    .bind(year_start(year))
    .bind(year_start(year + 1))
    .fetch_all(&db.pool)
    .await?
    .into_iter()
    .map(
        |(organisation, link_type, declared_fen, paid_fen)| LinkPayout {
            organisation,
            link_type,
            declared_fen,
            paid_fen,
        },
    )
    .collect();
    let pairings = sqlx::query_as::<_, (i64, String, i64, String, i64)>(&format!(
        "SELECT o.id, o.name, p.since_year, p.projects, {PAIRING_BOUGHT}
           FROM org_village_pairings p JOIN organisations o ON o.id = p.organisation_id
          WHERE p.village_code = $1 ORDER BY o.name LIMIT 50",
    ))
    .bind(village.as_str())
    .bind(year_start(year))
    .bind(year_start(year + 1))
    .fetch_all(&db.pool)
    .await?
    .into_iter()
    .map(
        |(organisation_id, organisation, since_year, projects, bought_fen)| OrgPairing {
            organisation_id,
            organisation,
            since_year,
            projects,
            bought_fen,
        },
    )
    .collect();
    Ok((members, measures, tasks, links, pairings))
}

/// What an organisation bought from a paired village `p` this year: paid orders placed for it
/// (`institution_id`) of produce from that village; `$2` and `$3` bound the year.
const PAIRING_BOUGHT: &str = "CAST(COALESCE((SELECT SUM(i.line_total_fen) FROM orders od
                                 JOIN order_items i ON i.order_id = od.id
                                 JOIN listings l ON l.id = i.listing_id
                                WHERE od.institution_id = p.organisation_id
                                  AND od.status IN ('paid', 'shipped', 'delivered')
                                  AND l.origin_code = p.village_code
                                  AND od.paid_at >= $2 AND od.paid_at < $3), 0) AS BIGINT)";

/// Villages of an organisation's page.
const ORG_PAGE: i64 = 50;

#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn organisation_pairings(
    id: i64,
    after: Option<&str>,
) -> Result<super::api::OrgPage, AppError> {
    let state = AppState::get()?;
    let db = &state.db;
    // The organisation's own people and admins see all its villages; an official, those in
    // their region; nobody else (what it bought in a small village is close to one
    // household's sales).
    let user = require_user().await?;
    let scope = if user.role == Role::Admin || user.organisation_id == Some(id) {
        String::from("%")
    } else if user.role == Role::Official {
        crate::auth::server::official_scope(&user)?.like_pattern()
    } else {
        return Err(AppError::new(ErrorCode::Forbidden));
    };
    let after = match after.map(str::trim).filter(|a| !a.is_empty()) {
        None => String::new(),
        Some(a) => RegionCode::parse(a)
            .map_err(|_| AppError::new(ErrorCode::BadRequest).field("after"))?
            .to_string(),
    };
    let name: String = sqlx::query_scalar("SELECT name FROM organisations WHERE id = $1")
        .bind(id)
        .fetch_optional(&db.pool)
        .await?
        .ok_or_else(|| AppError::new(ErrorCode::NotFound))?;
    let year = crate::server::db::current_year();
    let rows = sqlx::query_as::<_, (String, String, Option<String>, i64, String, i64)>(&format!(
        "SELECT p.village_code, v.name, c.name, p.since_year, p.projects, {PAIRING_BOUGHT}
           FROM org_village_pairings p JOIN regions v ON v.code = p.village_code
           LEFT JOIN regions c ON c.code = substr(p.village_code, 1, 6)
          WHERE p.organisation_id = $1 AND p.village_code > $4 AND p.village_code LIKE $5
          ORDER BY p.village_code LIMIT {}",
        ORG_PAGE + 1
    ))
    .bind(id)
    .bind(year_start(year))
    .bind(year_start(year + 1))
    .bind(&after)
    .bind(&scope)
    .fetch_all(&db.pool)
    .await?
    .into_iter()
    .map(
        |(village_code, village, county, since_year, projects, bought_fen)| {
            super::api::PairedVillage {
                village_code,
                village,
                county,
                since_year,
                projects,
                bought_fen,
            }
        },
    )
    .collect();
    let bought_fen: i64 = sqlx::query_scalar(&format!(
        "SELECT CAST(COALESCE(SUM({PAIRING_BOUGHT}), 0) AS BIGINT)
           FROM org_village_pairings p WHERE p.organisation_id = $1 AND p.village_code LIKE $4"
    ))
    .bind(id)
    .bind(year_start(year))
    .bind(year_start(year + 1))
    .bind(&scope)
    .fetch_one(&db.pool)
    .await?;
    Ok(super::api::OrgPage {
        id,
        name,
        year,
        villages: Page::from_rows(rows, ORG_PAGE, |v| v.village_code.clone()),
        bought_fen,
    })
}

/// Marks every open task of a household done (a visit was logged).
pub async fn close_tasks(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    household_id: i64,
) -> Result<(), AppError> {
    sqlx::query(
        "UPDATE monitoring_tasks SET done_at = $1 WHERE household_id = $2 AND done_at IS NULL",
    )
    .bind(now())
    .bind(household_id)
    .execute(&mut **tx)
    .await?;
    Ok(())
}
