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
    .fetch_all(&state.db.pool)
    .await
    .map_err(AppError::internal)?;
    Ok(rows
        .into_iter()
        .map(|r| CountySummary {
            code: r.code,
            name: r.name,
            name_en: r.name_en,
            city_name: r.city_name,
            city_name_en: r.city_name_en,
            households: r.households,
            organisations: r.organisations,
        })
        .collect())
}
