use super::api::{
    BenefitLinkItem, HouseholdListItem, HouseholdSummary, RegionHouseholdList, HOUSEHOLDS_PAGE_SIZE,
};
use crate::auth::server::{official_scope, require_user};
use crate::domain::income::{self, MonitoringStatus};
use crate::domain::money::Fen;
use crate::domain::region::RegionCode;
use crate::domain::role::Role;
use crate::error::{AppError, ErrorCode};
use crate::policy::{self, Action};
use crate::server::db::{current_year, monitoring_line, Db};
use crate::server::keyset::{self, asc, Cursored, Keyset};
use crate::server::state::AppState;

/// Most at risk first: the lowest per-capita income, households without a baseline last. The
/// keys name the columns of the derived table `x` (a row of `HOUSEHOLD_SELECT`).
const AT_RISK_FIRST: Keyset = Keyset(&[
    asc("CASE WHEN x.per_capita_fen IS NULL THEN 1 ELSE 0 END"),
    asc("COALESCE(x.per_capita_fen, 0)"),
    asc("x.id"),
]);

#[derive(sqlx::FromRow)]
struct HouseholdRow {
    id: i64,
    head_name: String,
    village_code: String,
    village_name: String,
    members: i64,
    per_capita_fen: Option<i64>,
    baseline_year: Option<i64>,
    link_count: i64,
    /// Present when the query selected it (lists).
    #[sqlx(default)]
    cursor: String,
}

impl Cursored for HouseholdRow {
    fn cursor(&self) -> &str {
        &self.cursor
    }
}

const HOUSEHOLD_SELECT: &str = "SELECT h.id, h.head_name, h.region_code AS village_code, v.name AS village_name, h.members,
        (SELECT b.per_capita_fen FROM household_baselines b WHERE b.household_id = h.id ORDER BY b.year DESC LIMIT 1) AS per_capita_fen,
        (SELECT b.year FROM household_baselines b WHERE b.household_id = h.id ORDER BY b.year DESC LIMIT 1) AS baseline_year,
        (SELECT COUNT(*) FROM benefit_links l WHERE l.household_id = h.id) AS link_count
   FROM households h
   JOIN regions v ON v.code = h.region_code";

impl HouseholdRow {
    fn into_item(self, line: Option<Fen>) -> HouseholdListItem {
        let pc = self.per_capita_fen.map(Fen::new);
        let status = match line {
            Some(line) => income::status(pc, line),
            None => MonitoringStatus::Unknown,
        };
        HouseholdListItem {
            id: self.id,
            head_name: self.head_name,
            village_code: self.village_code,
            village_name: self.village_name,
            members: self.members,
            per_capita_fen: self.per_capita_fen,
            baseline_year: self.baseline_year,
            status,
            link_count: self.link_count,
            verified_fen: 0,
            attested_fen: 0,
        }
    }
}

async fn region_name(db: &Db, code: &RegionCode) -> Result<Option<String>, AppError> {
    sqlx::query_scalar("SELECT name FROM regions WHERE code = $1")
        .bind(code.as_str())
        .fetch_optional(&db.pool)
        .await
        .map_err(AppError::internal)
}

/// This year's verified and attested ledger income of each household listed (one query).
async fn fill_income(db: &Db, items: &mut [HouseholdListItem], year: i64) -> Result<(), AppError> {
    if items.is_empty() {
        return Ok(());
    }
    let ids: Vec<String> = items.iter().map(|h| h.id.to_string()).collect();
    let attested = crate::ledger::server::ATTESTED;
    let rows: Vec<(i64, i64, i64)> = sqlx::query_as(&format!(
        "SELECT household_id,
                CAST(COALESCE(SUM(CASE WHEN {attested} THEN 0 ELSE amount_fen END), 0) AS BIGINT),
                CAST(COALESCE(SUM(CASE WHEN {attested} THEN amount_fen ELSE 0 END), 0) AS BIGINT)
           FROM ledger_entries
          WHERE household_id IN ({}) AND occurred_at >= $1 AND occurred_at < $2
          GROUP BY household_id",
        ids.join(",")
    ))
    .bind(crate::server::db::year_start(year))
    .bind(crate::server::db::year_start(year + 1))
    .fetch_all(&db.pool)
    .await?;
    for (id, verified, attested) in rows {
        if let Some(h) = items.iter_mut().find(|h| h.id == id) {
            h.verified_fen = verified;
            h.attested_fen = attested;
        }
    }
    Ok(())
}

#[tracing::instrument(skip_all, err)]
pub async fn region_households(
    region: Option<&str>,
    after: Option<&str>,
) -> Result<RegionHouseholdList, AppError> {
    let state = AppState::get()?;
    let user = require_user().await?;
    if !user.role.sees_region_records() {
        return Err(AppError::new(ErrorCode::Forbidden));
    }
    let requested = match region.map(str::trim).filter(|r| !r.is_empty()) {
        Some(r) => RegionCode::parse(r)
            .map_err(|_| AppError::new(ErrorCode::InvalidRegion).field("region"))?,
        None if user.role == Role::Official => official_scope(&user)?,
        None => RegionCode::parse("350000").map_err(AppError::internal)?,
    };
    policy::require(
        &user,
        Action::ViewRegion,
        &policy::region_facts(requested.clone()),
    )?;
    let name = region_name(&state.db, &requested)
        .await?
        .ok_or_else(|| AppError::new(ErrorCode::NotFound))?;
    let year = current_year();
    let line = monitoring_line(&state.db, year).await?;
    let cursor = AT_RISK_FIRST.parse(after)?;
    let sql = format!(
        "SELECT x.*, {} FROM ({HOUSEHOLD_SELECT} WHERE h.region_code LIKE $1) x
          WHERE {} ORDER BY {} LIMIT {}",
        AT_RISK_FIRST.cursor_column(),
        AT_RISK_FIRST.condition(cursor.as_ref(), 2),
        AT_RISK_FIRST.order_by(),
        HOUSEHOLDS_PAGE_SIZE + 1
    );
    let query = sqlx::query_as::<_, HouseholdRow>(&sql).bind(requested.like_pattern());
    let rows = keyset::bind_keys(query, cursor.as_ref())
        .fetch_all(&state.db.pool)
        .await
        .map_err(AppError::internal)?;
    let mut households = keyset::page(rows, HOUSEHOLDS_PAGE_SIZE, |r| r.into_item(line));
    fill_income(&state.db, &mut households.items, year).await?;
    // The counts are of the whole region, not of the page. Without a line no one is below
    // or near it: NULL bounds compare as unknown and count nothing.
    let (total, below, near): (i64, i64, i64) = sqlx::query_as(
        "SELECT COUNT(*),
                CAST(COALESCE(SUM(CASE WHEN x.pc < $2 THEN 1 ELSE 0 END), 0) AS BIGINT),
                CAST(COALESCE(SUM(CASE WHEN x.pc >= $2 AND x.pc <= $3 THEN 1 ELSE 0 END), 0) AS BIGINT)
           FROM (SELECT (SELECT b.per_capita_fen FROM household_baselines b WHERE b.household_id = h.id
                          ORDER BY b.year DESC LIMIT 1) AS pc
                   FROM households h WHERE h.region_code LIKE $1) x",
    )
    .bind(requested.like_pattern())
    .bind(line.map(Fen::fen))
    .bind(line.map(|l| income::near_ceiling(l).fen()))
    .fetch_one(&state.db.pool)
    .await
    .map_err(AppError::internal)?;
    Ok(RegionHouseholdList {
        region_code: requested.to_string(),
        region_name: name,
        year,
        line_fen: line.map(Fen::fen),
        households,
        total,
        below,
        near,
    })
}

#[tracing::instrument(skip_all, err)]
pub async fn household(id: i64) -> Result<HouseholdSummary, AppError> {
    let state = AppState::get()?;
    let user = require_user().await?;
    if !matches!(
        user.role,
        Role::Admin | Role::Official | Role::Household | Role::Cadre
    ) {
        return Err(AppError::new(ErrorCode::Forbidden));
    }
    let row = sqlx::query_as::<_, HouseholdRow>(&format!("{HOUSEHOLD_SELECT} WHERE h.id = $1"))
        .bind(id)
        .fetch_optional(&state.db.pool)
        .await
        .map_err(AppError::internal)?
        .ok_or_else(|| AppError::new(ErrorCode::NotFound))?;
    let pf = policy::household_facts(&state.db, &user, id).await?;
    policy::require(&user, Action::ViewHousehold, &pf)?;
    let village = RegionCode::parse(&row.village_code).map_err(AppError::internal)?;
    let line = monitoring_line(&state.db, current_year()).await?;
    let links = sqlx::query_as::<_, (String, String, String, i64)>(
        "SELECT o.name, l.link_type, l.terms, l.since_year FROM benefit_links l
           JOIN organisations o ON o.id = l.organisation_id
          WHERE l.household_id = $1 ORDER BY l.id",
    )
    .bind(id)
    .fetch_all(&state.db.pool)
    .await
    .map_err(AppError::internal)?
    .into_iter()
    .map(
        |(organisation, link_type, terms, since_year)| BenefitLinkItem {
            organisation,
            link_type,
            terms,
            since_year,
        },
    )
    .collect();
    let region_path = crate::server::db::region_names(&state.db, &village).await?;
    let mut item = [row.into_item(line)];
    fill_income(&state.db, &mut item, current_year()).await?;
    let [item] = item;
    Ok(HouseholdSummary {
        household: item,
        region_path,
        line_fen: line.map(Fen::fen),
        links,
    })
}
