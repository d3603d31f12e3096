use super::api::CountySummary;
use crate::error::AppError;
use crate::server::state::AppState;

#[derive(sqlx::FromRow)]
struct CountyRow {
    code: String,
    name: String,
    name_en: Option<String>,
    city_name: Option<String>,
    city_name_en: Option<String>,
    households: i64,
    organisations: i64,
}

pub async fn county_summaries() -> Result<Vec<CountySummary>, AppError> {
    let state = AppState::get()?;
    let rows = sqlx::query_as::<_, CountyRow>(
        "SELECT c.code, c.name, c.name_en, p.name AS city_name, p.name_en AS city_name_en,
                COALESCE(hc.n, 0) AS households,
                (SELECT COUNT(*) FROM organisations o
                  WHERE substr(o.region_code, 1, 6) = c.code AND o.kind IN ('coop', 'enterprise')) AS organisations
           FROM regions c
           LEFT JOIN regions p ON p.code = c.parent_code
           LEFT JOIN (SELECT substr(region_code, 1, 6) AS county, COUNT(*) AS n FROM households GROUP BY substr(region_code, 1, 6)) hc
                  ON hc.county = c.code
          WHERE c.level = 'county'
          ORDER BY c.code",
    )
    .fetch_all(&state.reader().pool)
    .await
    .map_err(AppError::internal)?;
    Ok(rows.into_iter().map(CountySummary::from).collect())
}

/// One county's summary, for its page: 404 if `code` is not a county in the data.
pub async fn county_summary(code: &str) -> Result<CountySummary, AppError> {
    use crate::domain::region::{RegionCode, RegionLevel};
    use crate::error::ErrorCode;
    let not_found = || AppError::new(ErrorCode::NotFound);
    let code = RegionCode::parse(code).map_err(|_| not_found())?;
    if code.level() != RegionLevel::County {
        return Err(not_found());
    }
    let state = AppState::get()?;
    // Its households and co-ops by a range of the region index (codes begin with the county's).
    let row = sqlx::query_as::<_, CountyRow>(
        "SELECT c.code, c.name, c.name_en, p.name AS city_name, p.name_en AS city_name_en,
                (SELECT COUNT(*) FROM households h WHERE h.region_code >= $1 AND h.region_code <= $2) AS households,
                (SELECT COUNT(*) FROM organisations o
                  WHERE o.region_code >= $1 AND o.region_code <= $2 AND o.kind IN ('coop', 'enterprise')) AS organisations
           FROM regions c
           LEFT JOIN regions p ON p.code = c.parent_code
          WHERE c.level = 'county' AND c.code = $1",
    )
    .bind(code.as_str())
    .bind(format!("{}999999", code.as_str()))
    .fetch_optional(&state.reader().pool)
    .await
    .map_err(AppError::internal)?;
    row.map(CountySummary::from).ok_or_else(not_found)
}

impl From<CountyRow> for CountySummary {
    fn from(r: CountyRow) -> CountySummary {
        CountySummary {
            code: r.code,
            name: r.name,
            name_en: r.name_en,
            city_name: r.city_name,
            city_name_en: r.city_name_en,
            households: r.households,
            organisations: r.organisations,
        }
    }
}
