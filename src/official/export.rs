//! `GET /export/households.csv?region=…&filter=…`: a region's households as CSV, the columns of
//! the list on screen (nothing masked there is in it: no phones, no ID numbers). Streamed a
//! thousand rows at a time in household order, so a province's export never sits in memory
//! whole; each export is written to the audit log.

use crate::auth::api::CurrentUser;
use crate::domain::income;
use crate::domain::money::Fen;
use crate::domain::region::RegionCode;
use crate::error::{AppError, ErrorCode};
use crate::ledger::server::{rolling_table, rolling_window};
use crate::server::db::{current_year, monitoring_line, now, Db};
use crate::server::state::AppState;
use axum::body::Body;
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

pub const PATH: &str = "/export/households.csv";

/// Rows fetched per step of the stream.
const CHUNK: i64 = 1000;

#[derive(serde::Deserialize)]
pub struct Params {
    region: Option<String>,
    filter: Option<String>,
}

/// One CSV field: quoted when it holds a comma, a quote or a line break; and a leading
/// `=`, `+`, `-` or `@` neutralised with an apostrophe, so a spreadsheet never runs a name as a
/// formula.
pub fn field(s: &str) -> String {
    let s = if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{s}")
    } else {
        s.to_owned()
    };
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

/// Yuan with two decimals and no grouping (`-1234.50`), as a spreadsheet reads a number.
pub fn plain_yuan(fen: i64) -> String {
    let sign = if fen < 0 { "-" } else { "" };
    let a = fen.unsigned_abs();
    format!("{sign}{}.{:02}", a / 100, a % 100)
}

fn error(lang: crate::i18n::Lang, e: AppError) -> Response {
    let status = StatusCode::from_u16(e.code.status()).unwrap_or(StatusCode::BAD_REQUEST);
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        e.code.text().t(lang).to_owned(),
    )
        .into_response()
}

async fn user_and_region(
    db: &Db,
    headers: &HeaderMap,
    region: Option<&str>,
) -> Result<(CurrentUser, RegionCode), AppError> {
    let user = crate::auth::server::user_of_request(db, headers)
        .await?
        .ok_or_else(|| AppError::new(ErrorCode::Unauthenticated))?;
    let region = crate::official::server::requested_region(&user, region)?;
    Ok((user, region))
}

type Row = (
    i64,
    String,
    String,
    i64,
    Option<i64>,
    Option<String>,
    i64,
    i64,
);

pub async fn households_csv(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(p): Query<Params>,
) -> Response {
    let lang = crate::i18n::Lang::from_headers(
        headers.get(header::COOKIE).and_then(|v| v.to_str().ok()),
        headers
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok()),
    );
    let db = state.db.clone();
    let (user, region) = match user_and_region(&db, &headers, p.region.as_deref()).await {
        Ok(x) => x,
        Err(e) => return error(lang, e),
    };
    let year = current_year();
    let line = match monitoring_line(&db, year).await {
        Ok(l) => l,
        Err(e) => return error(lang, e),
    };
    let condition = match crate::official::server::filter_condition(p.filter.as_deref(), line) {
        Ok(c) => c,
        Err(e) => return error(lang, e),
    };
    if let Err(e) =
        crate::monitoring::server::audit_export(&db, &user, &region, p.filter.as_deref()).await
    {
        return error(lang, e);
    }
    let header_row = "id,户主/head,村/village,人口/members,滚动12个月人均收入(元)/rolling per capita (yuan),状态/status,监测类别/category,今年核实收入(元)/verified this year (yuan),卖家确认转账(元)/attested (yuan)\n";
    let sql = format!(
        "SELECT x.id, x.head_name, x.village_name, x.members, x.per_capita_fen, x.category,
                CAST(COALESCE((SELECT SUM(i.verified_fen) FROM income_months i WHERE i.household_id = x.id AND i.month_start >= {y0} AND i.month_start < {y1}), 0) AS BIGINT),
                CAST(COALESCE((SELECT SUM(i.attested_fen) FROM income_months i WHERE i.household_id = x.id AND i.month_start >= {y0} AND i.month_start < {y1}), 0) AS BIGINT)
           FROM (SELECT h.id, h.head_name, v.name AS village_name, h.members, r.rolling_pc AS per_capita_fen, o.category
                   FROM {} r JOIN households h ON h.id = r.household_id
                   JOIN regions v ON v.code = h.region_code
                   LEFT JOIN monitoring_objects o ON o.household_id = h.id AND o.state = 'monitored') x
          WHERE {condition} ORDER BY x.id LIMIT {CHUNK}",
        rolling_table(rolling_window(now()), "h.region_code LIKE $1 AND h.id > $2"),
        y0 = crate::server::db::year_start(year),
        y1 = crate::server::db::year_start(year + 1),
    );
    let pattern = region.like_pattern();
    let first = futures_util::stream::once(async move {
        Ok::<_, std::io::Error>(axum::body::Bytes::from(format!("\u{feff}{header_row}")))
    });
    let rows = futures_util::stream::unfold(Some(0i64), move |after| {
        let (db, sql, pattern) = (db.clone(), sql.clone(), pattern.clone());
        async move {
            let after = after?;
            let rows: Result<Vec<Row>, _> = sqlx::query_as(&sql)
                .bind(&pattern)
                .bind(after)
                .fetch_all(&db.pool)
                .await;
            match rows {
                Err(e) => {
                    tracing::error!(error = %e, "export: query failed; the file ends early");
                    Some((Err(std::io::Error::other("export query failed")), None))
                }
                Ok(rows) if rows.is_empty() => None,
                Ok(rows) => {
                    let next = (rows.len() as i64 == CHUNK).then(|| rows[rows.len() - 1].0);
                    let mut out = String::new();
                    for (id, head, village, members, pc, category, verified, attested) in rows {
                        let status = match line {
                            Some(l) => income::status(pc.map(Fen::new), l),
                            None => income::MonitoringStatus::Unknown,
                        };
                        out.push_str(&format!(
                            "{id},{},{},{members},{},{},{},{},{}\n",
                            field(&head),
                            field(&village),
                            pc.map(plain_yuan).unwrap_or_default(),
                            serde_json::to_value(status)
                                .ok()
                                .and_then(|v| v.as_str().map(str::to_owned))
                                .unwrap_or_default(),
                            category.unwrap_or_default(),
                            plain_yuan(verified),
                            plain_yuan(attested),
                        ));
                    }
                    Some((Ok(axum::body::Bytes::from(out)), next))
                }
            }
        }
    });
    let name = format!("households-{}.csv", region.as_str());
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
            (header::CACHE_CONTROL, "no-store".to_owned()),
        ],
        Body::from_stream(futures_util::StreamExt::chain(first, rows)),
    )
        .into_response()
}
