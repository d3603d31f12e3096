use super::api::{
    BenefitLinkItem, Dashboard, HouseholdListItem, HouseholdSummary, PledgeFigures, RegionFigures,
    RegionHouseholdList, CHILDREN_PAGE_SIZE, DISTRIBUTION_BUCKETS, HOUSEHOLDS_PAGE_SIZE,
};
use crate::auth::server::{official_scope, require_user};
use crate::domain::income::{self, MonitoringStatus};
use crate::domain::money::Fen;
use crate::domain::monitoring::{self, Category};
use crate::domain::page::Page;
use crate::domain::region::RegionCode;
use crate::domain::role::Role;
use crate::error::{AppError, ErrorCode};
use crate::ledger::rollup::{self, Sources};
use crate::ledger::server::{rolling_table, rolling_window};
use crate::policy::{self, Action};
use crate::server::db::{current_year, monitoring_line, now, Db};
use crate::server::keyset::{self, asc, desc, Cursored, Keyset};
use crate::server::state::AppState;

/// Most at risk first: the lowest rolling per-capita income, households without a figure
/// last. The keys name the columns of the derived table `x` (a row of [`household_select`]).
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
    category: Option<String>,
    /// Present when the query selected it (lists).
    #[sqlx(default)]
    cursor: String,
}

impl Cursored for HouseholdRow {
    fn cursor(&self) -> &str {
        &self.cursor
    }
}

/// The same order read from a roll-up epoch: its buckets rise with the income and put "no
/// figure" last, so (bucket, rank, id) is the order of [`AT_RISK_FIRST`], along an index.
const RANKED_AT_RISK_FIRST: Keyset = Keyset(&[asc("x.bucket"), asc("x.rank_pc"), asc("x.id")]);

/// The same order for a few households picked first (a filter on monitoring objects): the
/// unary `+` keeps SQLite from walking the whole rank index for the order's sake, so it looks
/// the picked households up and sorts them instead (at a million households, 1 ms against 4 s).
/// The keys and cursors are those of [`RANKED_AT_RISK_FIRST`].
const RANKED_PICKED: Keyset = Keyset(&[asc("+x.bucket"), asc("x.rank_pc"), asc("x.id")]);

/// The list columns of a household `h` whose row `r` has its rolling income as `rolling_pc`.
fn household_columns_from(r: &str) -> String {
    format!(
        "SELECT h.id, h.head_name, h.region_code AS village_code, v.name AS village_name, h.members,
                r.rolling_pc AS per_capita_fen,
                (SELECT MAX(b.year) FROM household_baselines b WHERE b.household_id = h.id) AS baseline_year,
                (SELECT COUNT(*) FROM benefit_links l WHERE l.household_id = h.id) AS link_count,
                o.category
           FROM {r}
           JOIN households h ON h.id = r.household_id
           JOIN regions v ON v.code = h.region_code
           LEFT JOIN monitoring_objects o ON o.household_id = h.id AND o.state = 'monitored'"
    )
}

/// One row per household matching `households_where` (on `h`): its list columns, with the
/// rolling per-capita income as `per_capita_fen`.
fn household_select(households_where: &str) -> String {
    household_columns_from(&format!(
        "{} r",
        rolling_table(rolling_window(now()), households_where)
    ))
}

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
            category: self.category.as_deref().and_then(Category::parse),
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
    let rows: Vec<(i64, i64, i64)> = sqlx::query_as(&format!(
        "SELECT household_id, CAST(COALESCE(SUM(verified_fen), 0) AS BIGINT),
                CAST(COALESCE(SUM(attested_fen), 0) AS BIGINT)
           FROM income_months
          WHERE household_id IN ({}) AND month_start >= $1 AND month_start < $2
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

/// The region a request is about: the one asked for, else the official's own (a province for
/// an admin); refused unless the user may see it.
pub(crate) fn requested_region(
    user: &crate::auth::api::CurrentUser,
    region: Option<&str>,
) -> Result<RegionCode, AppError> {
    region_for(user, region, Action::ViewRegion)
}

/// The region a request is about, as [`requested_region`], refused unless the policy allows
/// `action` there.
pub(crate) fn region_for(
    user: &crate::auth::api::CurrentUser,
    region: Option<&str>,
    action: Action,
) -> Result<RegionCode, AppError> {
    if !user.role.sees_region_records() {
        return Err(AppError::new(ErrorCode::Forbidden));
    }
    let requested = match region.map(str::trim).filter(|r| !r.is_empty()) {
        Some(r) => RegionCode::parse(r)
            .map_err(|_| AppError::new(ErrorCode::InvalidRegion).field("region"))?,
        None if user.role == Role::Official => official_scope(user)?,
        None => RegionCode::parse("350000").map_err(AppError::internal)?,
    };
    policy::require(user, action, &policy::region_facts(requested.clone()))?;
    Ok(requested)
}

/// A household-list filter: one of a fixed set, parsed once at the boundary (400 naming
/// `filter` otherwise).
#[derive(Clone, Copy)]
enum ListFilter {
    All,
    Below,
    Near,
    /// Monitoring objects, of one category or of all.
    Monitored(Option<Category>),
    Overdue,
}

impl ListFilter {
    fn parse(filter: Option<&str>) -> Result<Self, AppError> {
        Ok(match filter.map(str::trim).unwrap_or("") {
            "" => Self::All,
            "below" => Self::Below,
            "near" => Self::Near,
            "monitored" => Self::Monitored(None),
            "overdue" => Self::Overdue,
            other => Self::Monitored(Some(
                Category::parse(other)
                    .ok_or_else(|| AppError::new(ErrorCode::BadRequest).field("filter"))?,
            )),
        })
    }

    /// For a filter on monitoring objects: the SQL that selects their household ids, so that
    /// a list can start from those few households instead of walking the whole region.
    fn monitored_subset(self) -> Option<String> {
        let monitored =
            "SELECT o.household_id FROM monitoring_objects o WHERE o.state = 'monitored'";
        match self {
            Self::All | Self::Below | Self::Near => None,
            Self::Monitored(None) => Some(monitored.to_owned()),
            Self::Monitored(Some(c)) => {
                Some(format!("{monitored} AND o.category = '{}'", c.as_str()))
            }
            Self::Overdue => Some(format!(
                "SELECT o.household_id FROM monitoring_objects o WHERE {}",
                overdue_condition("o")
            )),
        }
    }

    /// The SQL condition (on `x`, a row of [`household_select`]). Values are server-made.
    fn condition(self, line: Option<Fen>) -> String {
        // Without a line nobody is below or near it.
        let (l, n) = match line {
            Some(l) => (
                l.fen().to_string(),
                income::near_ceiling(l).fen().to_string(),
            ),
            None => ("NULL".into(), "NULL".into()),
        };
        match self {
            Self::Below => format!("x.per_capita_fen < {l}"),
            Self::Near => format!("x.per_capita_fen >= {l} AND x.per_capita_fen <= {n}"),
            other => match other.monitored_subset() {
                Some(subset) => format!("x.id IN ({subset})"),
                None => "1 = 1".into(),
            },
        }
    }
}

/// The SQL condition (on `x`, a row of [`household_select`]) of a list filter; 400 naming
/// `filter` for one outside the fixed set.
pub(crate) fn filter_condition(
    filter: Option<&str>,
    line: Option<Fen>,
) -> Result<String, AppError> {
    Ok(ListFilter::parse(filter)?.condition(line))
}

/// Whether the monitoring object `o` (state monitored) has gone more than
/// [`monitoring::VISIT_DUE_DAYS`] days without a visit, counted from when it was identified:
/// the rule of [`monitoring::visit_overdue`] in SQL (values are server-made).
pub fn overdue_condition(o: &str) -> String {
    let t = now();
    let today = crate::server::db::date_of(t);
    let today_n = crate::domain::calendar::day_number(&today).unwrap_or(0);
    let cutoff_n = today_n - monitoring::VISIT_DUE_DAYS;
    let (y, m, d) = crate::domain::calendar::civil_from_days(cutoff_n);
    let cutoff_date = format!("{y:04}-{m:02}-{d:02}");
    // The first instant of the cutoff day, China time.
    let cutoff_t = cutoff_n * 86_400 - 8 * 3600;
    format!(
        "{o}.state = 'monitored' AND {o}.identified_at < {cutoff_t}
         AND NOT EXISTS (SELECT 1 FROM visits vv WHERE vv.household_id = {o}.household_id
                          AND vv.visited_on >= '{cutoff_date}')"
    )
}

#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn region_households(
    region: Option<&str>,
    after: Option<&str>,
    filter: Option<&str>,
) -> Result<RegionHouseholdList, AppError> {
    let state = AppState::get()?;
    let user = require_user().await?;
    let requested = requested_region(&user, region)?;
    region_household_page(&state.reader(), &requested, after, filter).await
}

/// A page of a region's households, most at risk first, with the region's counts.
pub async fn region_household_page(
    db: &Db,
    requested: &RegionCode,
    after: Option<&str>,
    filter: Option<&str>,
) -> Result<RegionHouseholdList, AppError> {
    let name = region_name(db, requested)
        .await?
        .ok_or_else(|| AppError::new(ErrorCode::NotFound))?;
    let year = current_year();
    let line = monitoring_line(db, year).await?;
    let parsed = ListFilter::parse(filter)?;
    let condition = parsed.condition(line);
    let src = rollup::sources(db, line).await?;
    // A filter on monitoring objects starts from their few households (the condition above
    // still holds; this only narrows where the query looks).
    let subset = parsed.monitored_subset();
    let narrow = |id: &str| match &subset {
        Some(subset) => format!(" AND {id} IN ({subset})"),
        None => String::new(),
    };
    // From the epoch's ranks where it is current (a walk along an index), else live.
    let (keyset, select, first) = match src.epoch {
        Some(e) => {
            let band = match parsed {
                ListFilter::Below => band_buckets(Band::Below),
                ListFilter::Near => band_buckets(Band::Near),
                _ => bucket_list(0..rollup::BUCKETS),
            };
            let ranked = household_columns_from("rollup_households r").replacen(
                "o.category",
                "o.category, r.bucket, r.rank_pc",
                1,
            );
            (
                match subset {
                    Some(_) => RANKED_PICKED,
                    None => RANKED_AT_RISK_FIRST,
                },
                format!(
                    "{ranked} WHERE r.epoch = {e} AND r.bucket IN ({band}) AND {}{}",
                    rollup::within("r.village_code", requested),
                    narrow("r.household_id")
                ),
                1,
            )
        }
        None => (
            AT_RISK_FIRST,
            household_select(&format!("h.region_code LIKE $1{}", narrow("h.id"))),
            2,
        ),
    };
    let cursor = keyset.parse(after)?;
    let sql = format!(
        "SELECT x.*, {} FROM ({select}) x
          WHERE {condition} AND {} ORDER BY {} LIMIT {}",
        keyset.cursor_column(),
        keyset.condition(cursor.as_ref(), first),
        keyset.order_by(),
        HOUSEHOLDS_PAGE_SIZE + 1
    );
    let mut query = sqlx::query_as::<_, HouseholdRow>(&sql);
    if src.epoch.is_none() {
        query = query.bind(requested.like_pattern());
    }
    let rows = keyset::bind_keys(query, cursor.as_ref())
        .fetch_all(&db.pool)
        .await
        .map_err(AppError::internal)?;
    let mut households = keyset::page(rows, HOUSEHOLDS_PAGE_SIZE, |r| r.into_item(line));
    fill_income(db, &mut households.items, year).await?;
    // The counts are of the whole region, not of the page. Without a line no one is below
    // or near it: NULL bounds compare as unknown and count nothing.
    let (total, below, near) = match src.epoch {
        Some(e) => sqlx::query_as(&format!(
            "SELECT CAST(COALESCE(SUM({}), 0) AS BIGINT), CAST(COALESCE(SUM({}), 0) AS BIGINT),
                    CAST(COALESCE(SUM({}), 0) AS BIGINT)
               FROM rollup_regions v WHERE v.epoch = {e} AND {}",
            bucket_columns("v", |_| true),
            bucket_columns("v", |b| b == Band::Below),
            bucket_columns("v", |b| b == Band::Near),
            rollup::at_level("v", prefix_lengths(requested).0, requested)
        ))
        .fetch_one(&db.pool)
        .await
        .map_err(AppError::internal)?,
        None => live_counts(db, requested, line).await?,
    };
    Ok(RegionHouseholdList {
        region_code: requested.to_string(),
        region_name: name,
        year,
        line_fen: line.map(Fen::fen),
        households,
        filter: filter
            .map(str::trim)
            .filter(|f| !f.is_empty())
            .map(str::to_owned),
        total,
        below,
        near,
    })
}

/// A region's households, and those below and near the line, computed live.
async fn live_counts(
    db: &Db,
    requested: &RegionCode,
    line: Option<Fen>,
) -> Result<(i64, i64, i64), AppError> {
    sqlx::query_as(&format!(
        "SELECT COUNT(*),
                CAST(COALESCE(SUM(CASE WHEN x.rolling_pc < $2 THEN 1 ELSE 0 END), 0) AS BIGINT),
                CAST(COALESCE(SUM(CASE WHEN x.rolling_pc >= $2 AND x.rolling_pc <= $3 THEN 1 ELSE 0 END), 0) AS BIGINT)
           FROM {} x",
        rolling_table(rolling_window(now()), "h.region_code LIKE $1")
    ))
    .bind(requested.like_pattern())
    .bind(line.map(Fen::fen))
    .bind(line.map(|l| income::near_ceiling(l).fen()))
    .fetch_one(&db.pool)
    .await
    .map_err(AppError::internal)
}

#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn household(id: i64) -> Result<HouseholdSummary, AppError> {
    let state = AppState::get()?;
    let user = require_user().await?;
    if !matches!(
        user.role,
        Role::Admin | Role::Official | Role::Household | Role::Cadre
    ) {
        return Err(AppError::new(ErrorCode::Forbidden));
    }
    let row = sqlx::query_as::<_, HouseholdRow>(&household_select("h.id = $1"))
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

/// The orders of a dashboard's children (keys on the columns of `y`, a row of the figures).
const CHILD_SORTS: [(&str, Keyset); 5] = [
    ("code", Keyset(&[asc("CAST(y.code AS BIGINT)")])),
    (
        "below",
        Keyset(&[desc("y.below"), asc("CAST(y.code AS BIGINT)")]),
    ),
    (
        "monitored",
        Keyset(&[desc("y.monitored"), asc("CAST(y.code AS BIGINT)")]),
    ),
    (
        "overdue",
        Keyset(&[desc("y.overdue_visits"), asc("CAST(y.code AS BIGINT)")]),
    ),
    (
        "verified",
        Keyset(&[desc("y.verified_fen"), asc("CAST(y.code AS BIGINT)")]),
    ),
];

#[derive(sqlx::FromRow)]
struct FiguresRow {
    code: String,
    name: String,
    households: i64,
    below: i64,
    near: i64,
    monitored: i64,
    unstable: i64,
    marginal: i64,
    sudden: i64,
    verified_fen: i64,
    attested_fen: i64,
    with_sale: i64,
    gmv_fen: i64,
    stalled: i64,
    linked_organisations: i64,
    linked_households: i64,
    paired: i64,
    overdue_visits: i64,
    open_reports: i64,
    org_pairings: i64,
    org_bought_fen: i64,
    unpaid_links: i64,
    #[sqlx(default)]
    cursor: String,
}

impl Cursored for FiguresRow {
    fn cursor(&self) -> &str {
        &self.cursor
    }
}

impl From<FiguresRow> for RegionFigures {
    fn from(r: FiguresRow) -> RegionFigures {
        RegionFigures {
            code: r.code,
            name: r.name,
            households: r.households,
            below: r.below,
            near: r.near,
            monitored: r.monitored,
            unstable: r.unstable,
            marginal: r.marginal,
            sudden: r.sudden,
            verified_fen: r.verified_fen,
            attested_fen: r.attested_fen,
            with_sale: r.with_sale,
            gmv_fen: r.gmv_fen,
            stalled: r.stalled,
            linked_organisations: r.linked_organisations,
            linked_households: r.linked_households,
            paired: r.paired,
            overdue_visits: r.overdue_visits,
            open_reports: r.open_reports,
            org_pairings: r.org_pairings,
            org_bought_fen: r.org_bought_fen,
            unpaid_links: r.unpaid_links,
        }
    }
}

/// The figures of the regions `c` chosen by `regions_where` (on `c`, the `regions` row; `$2`
/// is bound to a region code), each grouped over the codes starting with its first `k` digits,
/// inside the region whose LIKE pattern is `$1`. All sums are done by the database, one
/// grouped query per measure. `year` bounds the year's figures; the line (if any) the risk
/// counts.
fn figures_sql(
    k: usize,
    regions_where: &str,
    year: i64,
    line: Option<Fen>,
    scope: &RegionCode,
    src: Sources,
) -> String {
    let (y0, y1) = (
        crate::server::db::year_start(year),
        crate::server::db::year_start(year + 1),
    );
    let (l, n) = match line {
        Some(l) => (
            l.fen().to_string(),
            income::near_ceiling(l).fen().to_string(),
        ),
        None => ("NULL".into(), "NULL".into()),
    };
    let rolling = rolling_table(rolling_window(now()), "h.region_code LIKE $1");
    let overdue = overdue_condition("o");
    let sum = |e: &str| format!("CAST(COALESCE(SUM({e}), 0) AS BIGINT)");
    // Households and their risk: from the epoch's village buckets, else live.
    let households = match src.epoch {
        Some(e) => format!(
            "SELECT v.prefix AS g, {} AS households, {} AS below, {} AS near
               FROM rollup_regions v WHERE v.epoch = {e} AND {}
              GROUP BY v.prefix",
            sum(&bucket_columns("v", |_| true)),
            sum(&bucket_columns("v", |b| b == Band::Below)),
            sum(&bucket_columns("v", |b| b == Band::Near)),
            rollup::at_level("v", k, scope)
        ),
        None => format!(
            "SELECT substr(x.region_code, 1, {k}) AS g, COUNT(*) AS households,
                    {} AS below, {} AS near
               FROM {rolling} x GROUP BY substr(x.region_code, 1, {k})",
            sum(&format!("CASE WHEN x.rolling_pc < {l} THEN 1 ELSE 0 END")),
            sum(&format!(
                "CASE WHEN x.rolling_pc >= {l} AND x.rolling_pc <= {n} THEN 1 ELSE 0 END"
            )),
        ),
    };
    // The year's income, households with a sale and GMV: from the maintained sums, else live.
    let (income, with_sale, gmv) = if src.sums {
        let vy = |col: &str, alias: &str| {
            format!(
                "SELECT vy.prefix AS g, {} AS {alias}
                   FROM region_years vy WHERE vy.year = {year} AND {}
                  GROUP BY vy.prefix",
                sum(&format!("vy.{col}")),
                rollup::at_level("vy", k, scope)
            )
        };
        (
            format!(
                "SELECT m.prefix AS g, {} AS verified_fen, {} AS attested_fen
                   FROM region_months m
                  WHERE m.month_start >= {y0} AND m.month_start < {y1} AND {}
                  GROUP BY m.prefix",
                sum("m.verified_fen"),
                sum("m.attested_fen"),
                rollup::at_level("m", k, scope)
            ),
            vy("sale_households", "with_sale"),
            vy("gmv_fen", "gmv_fen"),
        )
    } else {
        (
            format!(
                "SELECT substr(h.region_code, 1, {k}) AS g, {} AS verified_fen, {} AS attested_fen
                   FROM income_months i JOIN households h ON h.id = i.household_id
                  WHERE h.region_code LIKE $1 AND i.month_start >= {y0} AND i.month_start < {y1}
                  GROUP BY substr(h.region_code, 1, {k})",
                sum("i.verified_fen"),
                sum("i.attested_fen")
            ),
            format!(
                "SELECT substr(h.region_code, 1, {k}) AS g, COUNT(DISTINCT e.household_id) AS with_sale
                   FROM ledger_entries e JOIN households h ON h.id = e.household_id
                  WHERE h.region_code LIKE $1 AND e.source_type = 'sale'
                    AND e.occurred_at >= {y0} AND e.occurred_at < {y1}
                  GROUP BY substr(h.region_code, 1, {k})"
            ),
            format!(
                "SELECT substr(l.origin_code, 1, {k}) AS g, {} AS gmv_fen
                   FROM order_items oi JOIN orders od ON od.id = oi.order_id
                   JOIN listings l ON l.id = oi.listing_id
                  WHERE l.origin_code LIKE $1 AND od.status IN ('paid', 'shipped', 'delivered')
                    AND od.paid_at >= {y0} AND od.paid_at < {y1}
                  GROUP BY substr(l.origin_code, 1, {k})",
                sum("oi.line_total_fen")
            ),
        )
    };
    format!(
        "SELECT c.code, c.name,
                COALESCE(hh.households, 0) AS households, COALESCE(hh.below, 0) AS below,
                COALESCE(hh.near, 0) AS near, COALESCE(mo.monitored, 0) AS monitored,
                COALESCE(mo.unstable, 0) AS unstable, COALESCE(mo.marginal, 0) AS marginal,
                COALESCE(mo.sudden, 0) AS sudden, COALESCE(mo.paired, 0) AS paired,
                COALESCE(mo.overdue_visits, 0) AS overdue_visits,
                COALESCE(inc.verified_fen, 0) AS verified_fen, COALESCE(inc.attested_fen, 0) AS attested_fen,
                COALESCE(sal.with_sale, 0) AS with_sale, COALESCE(gmv.gmv_fen, 0) AS gmv_fen,
                COALESCE(st.stalled, 0) AS stalled,
                COALESCE(lk.linked_organisations, 0) AS linked_organisations,
                COALESCE(lk.linked_households, 0) AS linked_households,
                COALESCE(rp.open_reports, 0) AS open_reports,
                COALESCE(op.org_pairings, 0) AS org_pairings,
                COALESCE(ob.org_bought_fen, 0) AS org_bought_fen,
                COALESCE(ul.unpaid_links, 0) AS unpaid_links
           FROM regions c
           LEFT JOIN ({households}) hh ON hh.g = substr(c.code, 1, {k})
           LEFT JOIN (SELECT substr(h.region_code, 1, {k}) AS g, COUNT(*) AS monitored,
                             {} AS unstable, {} AS marginal, {} AS sudden,
                             {} AS paired, {} AS overdue_visits
                        FROM monitoring_objects o JOIN households h ON h.id = o.household_id
                       WHERE o.state = 'monitored' AND h.region_code LIKE $1
                       GROUP BY substr(h.region_code, 1, {k})) mo
                  ON mo.g = substr(c.code, 1, {k})
           LEFT JOIN ({income}) inc ON inc.g = substr(c.code, 1, {k})
           LEFT JOIN ({with_sale}) sal ON sal.g = substr(c.code, 1, {k})
           LEFT JOIN ({gmv}) gmv ON gmv.g = substr(c.code, 1, {k})
           LEFT JOIN (SELECT substr(l.origin_code, 1, {k}) AS g, COUNT(*) AS stalled
                        FROM listings l WHERE l.origin_code LIKE $1 AND l.stalled = 1 AND l.status = 'on_sale'
                       GROUP BY substr(l.origin_code, 1, {k})) st
                  ON st.g = substr(c.code, 1, {k})
           LEFT JOIN (SELECT substr(h.region_code, 1, {k}) AS g,
                             COUNT(DISTINCT b.organisation_id) AS linked_organisations,
                             COUNT(DISTINCT b.household_id) AS linked_households
                        FROM benefit_links b JOIN households h ON h.id = b.household_id
                       WHERE h.region_code LIKE $1
                       GROUP BY substr(h.region_code, 1, {k})) lk
                  ON lk.g = substr(c.code, 1, {k})
           LEFT JOIN (SELECT substr(r.village_code, 1, {k}) AS g, COUNT(*) AS open_reports
                        FROM monitoring_reports r
                       WHERE r.village_code LIKE $1 AND r.state IN ('submitted', 'notice')
                       GROUP BY substr(r.village_code, 1, {k})) rp
                  ON rp.g = substr(c.code, 1, {k})
           LEFT JOIN (SELECT substr(p.village_code, 1, {k}) AS g, COUNT(*) AS org_pairings
                        FROM org_village_pairings p WHERE p.village_code LIKE $1
                       GROUP BY substr(p.village_code, 1, {k})) op
                  ON op.g = substr(c.code, 1, {k})
           LEFT JOIN (SELECT substr(l.origin_code, 1, {k}) AS g, {} AS org_bought_fen
                        FROM order_items oi JOIN orders od ON od.id = oi.order_id
                        JOIN listings l ON l.id = oi.listing_id
                        JOIN org_village_pairings p ON p.organisation_id = od.institution_id
                                                   AND p.village_code = l.origin_code
                       WHERE l.origin_code LIKE $1 AND od.status IN ('paid', 'shipped', 'delivered')
                         AND od.paid_at >= {y0} AND od.paid_at < {y1}
                       GROUP BY substr(l.origin_code, 1, {k})) ob
                  ON ob.g = substr(c.code, 1, {k})
           LEFT JOIN (SELECT substr(h.region_code, 1, {k}) AS g, COUNT(*) AS unpaid_links
                        FROM benefit_links b JOIN households h ON h.id = b.household_id
                       WHERE h.region_code LIKE $1 AND b.declared_fen IS NOT NULL
                         AND NOT EXISTS (SELECT 1 FROM ledger_entries e
                                           JOIN order_items i ON i.id = e.order_item_id
                                           JOIN orders od ON od.id = i.order_id
                                          WHERE e.household_id = b.household_id
                                            AND od.seller_organisation_id = b.organisation_id
                                            AND e.source_type = 'sale'
                                            AND e.occurred_at >= {y0} AND e.occurred_at < {y1})
                       GROUP BY substr(h.region_code, 1, {k})) ul
                  ON ul.g = substr(c.code, 1, {k})
          WHERE {regions_where}",
        sum("CASE WHEN o.category = 'unstable' THEN 1 ELSE 0 END"),
        sum("CASE WHEN o.category = 'marginal' THEN 1 ELSE 0 END"),
        sum("CASE WHEN o.category = 'sudden' THEN 1 ELSE 0 END"),
        sum("CASE WHEN EXISTS (SELECT 1 FROM cadre_pairings p WHERE p.household_id = o.household_id) THEN 1 ELSE 0 END"),
        sum(&format!("CASE WHEN {overdue} THEN 1 ELSE 0 END")),
        sum("oi.line_total_fen"),
    )
}

/// Where a bucket of the distribution lies against the line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Band {
    Below,
    Near,
    Above,
    Unknown,
}

/// The band of bucket `i` (of [`DISTRIBUTION_BUCKETS`], then above, then no figure): a bucket
/// is below when its upper bound is at most the line, near when it is at most the near
/// ceiling.
fn band(i: usize) -> Band {
    match DISTRIBUTION_BUCKETS.get(i) {
        Some(&pct) if pct <= 100 => Band::Below,
        Some(&pct) if pct <= income::NEAR_LINE_PERCENT => Band::Near,
        Some(_) => Band::Above,
        None if i == DISTRIBUTION_BUCKETS.len() => Band::Above,
        None => Band::Unknown,
    }
}

/// The buckets of a band, as an SQL list (`0, 1, 2`).
fn band_buckets(b: Band) -> String {
    bucket_list((0..rollup::BUCKETS).filter(|&i| band(i) == b))
}

fn bucket_list(buckets: impl Iterator<Item = usize>) -> String {
    buckets
        .map(|i| i.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// `v.b0 + v.b1 + ...` over the buckets whose band passes `keep`.
fn bucket_columns(v: &str, keep: impl Fn(Band) -> bool) -> String {
    (0..rollup::BUCKETS)
        .filter(|&i| keep(band(i)))
        .map(|i| format!("{v}.b{i}"))
        .collect::<Vec<_>>()
        .join(" + ")
}

/// How many leading digits group the households of `r` itself, and of the regions directly
/// below it (none below a village).
fn prefix_lengths(r: &RegionCode) -> (usize, Option<usize>) {
    use crate::domain::region::RegionLevel::*;
    let own = r.scope_prefix().len();
    let below = match r.level() {
        Province => Some(4),
        City => Some(6),
        County => Some(9),
        Township => Some(12),
        Village => None,
    };
    (own, below)
}

/// A year asked for (this year when empty): 2000 up to this year.
pub(crate) fn parse_year(year: Option<&str>) -> Result<i64, AppError> {
    let this_year = current_year();
    match year.map(str::trim).filter(|y| !y.is_empty()) {
        None => Ok(this_year),
        Some(y) => y
            .parse::<i64>()
            .ok()
            .filter(|y| (2000..=this_year).contains(y))
            .ok_or_else(|| AppError::new(ErrorCode::BadRequest).field("year")),
    }
}

/// Most regions directly below one that an export lists (far more than any real region has).
const MAX_CHILDREN: usize = 10_000;

/// The figures of every region directly below `region` for `year`, in code order: the
/// dashboard's table, whole, for an export. Empty below a village.
pub(crate) async fn child_figures(
    db: &Db,
    region: &RegionCode,
    year: i64,
) -> Result<Vec<RegionFigures>, AppError> {
    let Some(k) = prefix_lengths(region).1 else {
        return Ok(Vec::new());
    };
    let line = monitoring_line(db, year).await?;
    let src = rollup::sources(db, line).await?;
    let sql = format!(
        "SELECT y.* FROM ({}) y ORDER BY y.code LIMIT {MAX_CHILDREN}",
        figures_sql(k, "c.parent_code = $2", year, line, region, src)
    );
    Ok(sqlx::query_as::<_, FiguresRow>(&sql)
        .bind(region.like_pattern())
        .bind(region.as_str())
        .fetch_all(&db.pool)
        .await?
        .into_iter()
        .map(RegionFigures::from)
        .collect())
}

#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn region_dashboard(
    region: Option<&str>,
    year: Option<&str>,
    sort: Option<&str>,
    after: Option<&str>,
) -> Result<Dashboard, AppError> {
    let state = AppState::get()?;
    let user = require_user().await?;
    let requested = requested_region(&user, region)?;
    let year = parse_year(year)?;
    // The trail starts at the official's own region (a province for an admin).
    let top = match user.role {
        Role::Official => official_scope(&user)?,
        _ => RegionCode::parse(&format!("{}0000", &requested.as_str()[..2]))
            .map_err(AppError::internal)?,
    };
    dashboard_of(&state.reader(), &top, &requested, year, sort, after).await
}

/// The dashboard of `requested` for `year`, its trail starting at `top`: the region's own
/// figures, a page of the regions below, the monthly income and the distribution against the
/// line, and the pledges. Read from the maintained roll-ups where they are current.
pub async fn dashboard_of(
    db: &Db,
    top: &RegionCode,
    requested: &RegionCode,
    year: i64,
    sort: Option<&str>,
    after: Option<&str>,
) -> Result<Dashboard, AppError> {
    let this_year = current_year();
    let sort_name = sort
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .unwrap_or("below");
    let keyset = CHILD_SORTS
        .iter()
        .find(|(n, _)| *n == sort_name)
        .map(|(_, k)| *k)
        .ok_or_else(|| AppError::new(ErrorCode::BadRequest).field("sort"))?;
    let cursor = keyset.parse(after)?;
    let line = monitoring_line(db, year).await?;
    let src = rollup::sources(db, line).await?;
    let (own, below) = prefix_lengths(requested);
    let pattern = requested.like_pattern();
    let row = sqlx::query_as::<_, FiguresRow>(&figures_sql(
        own,
        "c.code = $2",
        year,
        line,
        requested,
        src,
    ))
    .bind(&pattern)
    .bind(requested.as_str())
    .fetch_optional(&db.pool)
    .await?
    .ok_or_else(|| AppError::new(ErrorCode::NotFound))?;
    let children = match below {
        None => Page {
            items: Vec::new(),
            next: None,
            page_size: CHILDREN_PAGE_SIZE,
        },
        Some(k) => {
            let sql = format!(
                "SELECT y.*, {} FROM ({}) y WHERE {} ORDER BY {} LIMIT {}",
                keyset.cursor_column(),
                figures_sql(k, "c.parent_code = $2", year, line, requested, src),
                keyset.condition(cursor.as_ref(), 3),
                keyset.order_by(),
                CHILDREN_PAGE_SIZE + 1
            );
            let q = sqlx::query_as::<_, FiguresRow>(&sql)
                .bind(&pattern)
                .bind(requested.as_str());
            let rows = keyset::bind_keys(q, cursor.as_ref())
                .fetch_all(&db.pool)
                .await?;
            keyset::page(rows, CHILDREN_PAGE_SIZE, RegionFigures::from)
        }
    };
    // Monthly income added, by China-time month of the year.
    let months_sql = if src.sums {
        format!(
            "SELECT m.month_start, CAST(COALESCE(SUM(m.verified_fen), 0) AS BIGINT),
                    CAST(COALESCE(SUM(m.attested_fen), 0) AS BIGINT)
               FROM region_months m
              WHERE $1 = $1 AND m.month_start >= $2 AND m.month_start < $3 AND {}
              GROUP BY m.month_start",
            rollup::at_level("m", own, requested)
        )
    } else {
        "SELECT i.month_start, CAST(COALESCE(SUM(i.verified_fen), 0) AS BIGINT),
                CAST(COALESCE(SUM(i.attested_fen), 0) AS BIGINT)
           FROM income_months i JOIN households h ON h.id = i.household_id
          WHERE h.region_code LIKE $1 AND i.month_start >= $2 AND i.month_start < $3
          GROUP BY i.month_start"
            .to_owned()
    };
    let months: Vec<(i64, i64, i64)> = sqlx::query_as(&months_sql)
        .bind(&pattern)
        .bind(crate::server::db::year_start(year))
        .bind(crate::server::db::year_start(year + 1))
        .fetch_all(&db.pool)
        .await?;
    let mut monthly = vec![(0i64, 0i64); 12];
    for (start, v, a) in months {
        let m = crate::server::db::month_of(start);
        if let Some(slot) = monthly.get_mut(m) {
            *slot = (v, a);
        }
    }
    // The distribution of rolling income against the line.
    let mut distribution = vec![0i64; rollup::BUCKETS];
    match (line, src.epoch) {
        (Some(_), Some(e)) => {
            let columns: Vec<String> = (0..rollup::BUCKETS)
                .map(|i| format!("CAST(COALESCE(SUM(v.b{i}), 0) AS BIGINT)"))
                .collect();
            let sql = format!(
                "SELECT {} FROM rollup_regions v WHERE v.epoch = {e} AND {}",
                columns.join(", "),
                rollup::at_level("v", own, requested)
            );
            let row = sqlx::query(&sql).fetch_one(&db.pool).await?;
            for (i, slot) in distribution.iter_mut().enumerate() {
                *slot = sqlx::Row::try_get::<i64, _>(&row, i)?;
            }
        }
        (Some(l), None) => distribution = live_distribution(db, &pattern, l).await?,
        (None, _) => {}
    }
    let pledges: (i64, i64, i64, i64) = sqlx::query_as(
        "SELECT COUNT(*), CAST(COALESCE(SUM(p.amount_fen), 0) AS BIGINT),
                CAST(COALESCE(SUM(COALESCE(x.bought, 0)), 0) AS BIGINT),
                CAST(COALESCE(SUM(CASE WHEN COALESCE(x.bought, 0) >= p.amount_fen THEN 1 ELSE 0 END), 0) AS BIGINT)
           FROM pledges p JOIN organisations g ON g.id = p.organisation_id
           LEFT JOIN (SELECT institution_id, CAST(SUM(total_fen) AS BIGINT) AS bought FROM orders
                       WHERE status IN ('paid', 'shipped', 'delivered') AND paid_at >= $3 AND paid_at < $4
                         AND institution_id IS NOT NULL
                       GROUP BY institution_id) x ON x.institution_id = p.organisation_id
          WHERE p.year = $2 AND g.region_code LIKE $1",
    )
    .bind(&pattern)
    .bind(year)
    .bind(crate::server::db::year_start(year))
    .bind(crate::server::db::year_start(year + 1))
    .fetch_one(&db.pool)
    .await?;
    // The trail from the official's own region (a province for an admin) down to this one.
    let mut trail = Vec::new();
    for code in requested.ancestors().into_iter().rev() {
        if top.contains(&code) {
            if let Some(name) = region_name(db, &code).await? {
                trail.push((code.to_string(), name));
            }
        }
    }
    Ok(Dashboard {
        region: row.into(),
        level: requested.level().as_str().to_owned(),
        trail,
        year,
        this_year,
        line_fen: line.map(Fen::fen),
        near_ceiling_fen: line.map(|l| income::near_ceiling(l).fen()),
        children,
        sort: sort_name.to_owned(),
        monthly,
        distribution,
        pledges: PledgeFigures {
            pledges: pledges.0,
            pledged_fen: pledges.1,
            bought_fen: pledges.2,
            fulfilled: pledges.3,
        },
    })
}

#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn import_result(id: i64) -> Result<super::api::ImportSummary, AppError> {
    let state = AppState::get()?;
    let user = require_user().await?;
    let row: Option<(i64, i64, i64, i64, String)> = sqlx::query_as(
        "SELECT rows_read, inserted, updated, failed, errors FROM registry_imports
          WHERE id = $1 AND user_id = $2",
    )
    .bind(id)
    .bind(user.id)
    .fetch_optional(&state.db.pool)
    .await?;
    let (rows_read, inserted, updated, failed, errors) =
        row.ok_or_else(|| AppError::new(ErrorCode::NotFound))?;
    let errors = serde_json::from_str(&errors).map_err(AppError::internal)?;
    Ok(super::api::ImportSummary {
        rows_read,
        inserted,
        updated,
        failed,
        errors,
    })
}

/// The distribution of rolling income against `line` over the households matching `pattern`,
/// computed live (when no current epoch of the roll-ups is ready).
async fn live_distribution(db: &Db, pattern: &str, line: Fen) -> Result<Vec<i64>, AppError> {
    let mut case = String::from("CASE WHEN x.rolling_pc IS NULL THEN -1");
    for (i, (bound, inclusive)) in super::api::bucket_bounds(line).iter().enumerate() {
        let op = if *inclusive { "<=" } else { "<" };
        case.push_str(&format!(" WHEN x.rolling_pc {op} {bound} THEN {i}"));
    }
    case.push_str(&format!(" ELSE {} END", DISTRIBUTION_BUCKETS.len()));
    let buckets: Vec<(i64, i64)> = sqlx::query_as(&format!(
        "SELECT b, COUNT(*) FROM (SELECT {case} AS b FROM {} x) d GROUP BY b",
        rolling_table(rolling_window(now()), "h.region_code LIKE $1")
    ))
    .bind(pattern)
    .fetch_all(&db.pool)
    .await?;
    let mut distribution = vec![0i64; rollup::BUCKETS];
    for (b, n) in buckets {
        let i = usize::try_from(b).unwrap_or(rollup::BUCKETS - 1);
        if let Some(slot) = distribution.get_mut(i) {
            *slot = n;
        }
    }
    Ok(distribution)
}

/// For `zhunong bench --explain`: the plan of the dashboard's main query (the region's own
/// figures) as the database gives it (SQLite's EXPLAIN QUERY PLAN; PostgreSQL's EXPLAIN
/// ANALYZE, which runs it), one line per row.
pub async fn explain_rollup(db: &Db, region: &RegionCode) -> Result<Vec<String>, AppError> {
    let year = current_year();
    let line = monitoring_line(db, year).await?;
    let src = rollup::sources(db, line).await?;
    let (own, _) = prefix_lengths(region);
    let explain = match db.backend {
        crate::server::db::Backend::Sqlite => "EXPLAIN QUERY PLAN",
        crate::server::db::Backend::Postgres => "EXPLAIN ANALYZE",
    };
    let sql = format!(
        "{explain} {}",
        figures_sql(own, "c.code = $2", year, line, region, src)
    );
    let rows = sqlx::query(&sql)
        .bind(region.like_pattern())
        .bind(region.as_str())
        .fetch_all(&db.pool)
        .await?;
    let mut out = Vec::new();
    for row in rows {
        let last = sqlx::Row::len(&row) - 1;
        out.push(sqlx::Row::try_get::<String, _>(&row, last)?);
    }
    Ok(out)
}

/// For `zhunong bench --rollup`: the dashboard of `region` this year (its own figures, the
/// first page below, the monthly income, the distribution and the pledges), timed; returns
/// (ms, regions below on the page, whether it read the maintained roll-ups).
pub async fn time_rollup(db: &Db, region: &RegionCode) -> Result<(f64, usize, bool), AppError> {
    let line = monitoring_line(db, current_year()).await?;
    let maintained = rollup::sources(db, line).await?.epoch.is_some();
    let started = std::time::Instant::now();
    let d = dashboard_of(db, region, region, current_year(), None, None).await?;
    Ok((
        started.elapsed().as_secs_f64() * 1000.0,
        d.children.items.len(),
        maintained,
    ))
}
