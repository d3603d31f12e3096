//! `POST /import/households`: the household registry from CSV. A browser form sends the file as
//! `multipart/form-data` (field `file`); a script may send `text/csv` itself. The body is read
//! as it arrives, line by line, never whole; rows are validated one by one and written 500 to a
//! transaction. A bad row is reported by its line and skipped; the others are imported. Rows
//! match on the registry's household number (`registry_id`): importing again updates, never
//! duplicates. Every row must lie in the importing official's region.
//!
//! Columns, in this order, after a header line:
//! `registry_id,village_code,head_name,members,baseline_year,baseline_per_capita_yuan`
//! (the last two may be empty together).

use crate::auth::api::CurrentUser;
use crate::domain::money::Fen;
use crate::domain::region::{RegionCode, RegionLevel};
use crate::error::{AppError, ErrorCode};
use crate::i18n::Lang;
use crate::policy::{self, Action, Decision};
use crate::server::db::{current_year, now, Db};
use crate::server::state::AppState;
use axum::extract::{FromRequest, Multipart, Request, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Json, Redirect, Response};
use futures_util::StreamExt;
use serde::Serialize;
use std::collections::HashMap;

pub const PATH: &str = "/import/households";
/// The largest file accepted (a registry of 100,000 households is about 6 MB).
pub const MAX_BYTES: usize = 32 * 1024 * 1024;
/// The longest line.
const MAX_LINE: usize = 1000;
/// Rows per transaction.
const BATCH: usize = 500;
/// Refusals kept by line; the rest are only counted.
const MAX_ERRORS: usize = 200;
/// Most members a household may have.
const MAX_MEMBERS: i64 = 30;
/// The largest baseline per-capita income (yuan).
const MAX_BASELINE_YUAN: i64 = 10_000_000;

pub const HEADER: &str = super::api::IMPORT_HEADER;

#[derive(Debug, Clone, Serialize)]
pub struct RowError {
    pub line: u64,
    pub field: &'static str,
    pub message: String,
}

#[derive(Debug, Default, Serialize)]
pub struct Outcome {
    pub id: i64,
    pub rows_read: u64,
    pub inserted: u64,
    pub updated: u64,
    pub failed: u64,
    pub errors: Vec<RowError>,
}

#[derive(Debug, Clone)]
struct Row {
    line: u64,
    registry_id: String,
    village: RegionCode,
    head_name: String,
    members: i64,
    baseline: Option<(i64, i64)>,
}

/// Splits one CSV line into fields (double quotes around a field, `""` inside one).
pub fn split_csv(line: &str) -> Option<Vec<String>> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut chars = line.chars().peekable();
    let mut quoted = false;
    let mut at_start = true;
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (false, '"') if at_start => {
                quoted = true;
                at_start = false;
            }
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                cur.push('"');
            }
            (true, '"') => {
                quoted = false;
                // Only a separator (or the end) may follow a closing quote.
                if !matches!(chars.peek(), None | Some(',')) {
                    return None;
                }
            }
            (false, ',') => {
                out.push(std::mem::take(&mut cur));
                at_start = true;
            }
            (_, c) => {
                cur.push(c);
                at_start = false;
            }
        }
    }
    if quoted {
        return None;
    }
    out.push(cur);
    Some(out)
}

fn text(lang: Lang, code: ErrorCode) -> String {
    code.text().t(lang).to_owned()
}

/// Validates one line's fields into a row, or says which field is wrong.
fn parse_row(
    line: u64,
    fields: &[String],
    user: &CurrentUser,
    lang: Lang,
) -> Result<Row, RowError> {
    let err = |field: &'static str, code: ErrorCode| RowError {
        line,
        field,
        message: text(lang, code),
    };
    if fields.len() != 6 {
        return Err(err("line", ErrorCode::BadRequest));
    }
    let f: Vec<&str> = fields.iter().map(|s| s.trim()).collect();
    if !crate::domain::text::is_clean(&fields.concat()) {
        return Err(err("line", ErrorCode::ControlCharacter));
    }
    let registry_id = f[0];
    if registry_id.is_empty()
        || registry_id.len() > 40
        || !registry_id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err(err("registry_id", ErrorCode::BadRequest));
    }
    let village = RegionCode::parse(f[1])
        .ok()
        .filter(|v| v.level() == RegionLevel::Village)
        .ok_or_else(|| err("village_code", ErrorCode::InvalidRegion))?;
    if policy::decide(
        user,
        Action::EditFile,
        &policy::region_facts(village.clone()),
    ) != Decision::Allow
    {
        return Err(err("village_code", ErrorCode::OutOfRegion));
    }
    let head_name =
        crate::domain::monitoring::bounded_text(f[2], crate::domain::monitoring::NAME_MAX)
            .ok_or_else(|| err("head_name", ErrorCode::BadRequest))?;
    let members = f[3]
        .parse::<i64>()
        .ok()
        .filter(|m| (1..=MAX_MEMBERS).contains(m))
        .ok_or_else(|| err("members", ErrorCode::BadRequest))?;
    let baseline = match (f[4], f[5]) {
        ("", "") => None,
        (y, v) => {
            let year = y
                .parse::<i64>()
                .ok()
                .filter(|y| (2000..=current_year()).contains(y))
                .ok_or_else(|| err("baseline_year", ErrorCode::BadRequest))?;
            let fen = Fen::parse_yuan(v)
                .ok()
                .filter(|f| f.fen() >= 0 && f.fen() <= MAX_BASELINE_YUAN * 100)
                .ok_or_else(|| err("baseline_per_capita_yuan", ErrorCode::InvalidAmount))?;
            Some((year, fen.fen()))
        }
    };
    Ok(Row {
        line,
        registry_id: registry_id.to_owned(),
        village,
        head_name,
        members,
        baseline,
    })
}

/// Writes a batch in one transaction: new households inserted, known ones updated (only when
/// they lie in the official's region), baselines set. Refusals go to `out`.
async fn write_batch(
    db: &Db,
    user: &CurrentUser,
    rows: &mut Vec<Row>,
    out: &mut Outcome,
    lang: Lang,
) -> Result<(), AppError> {
    if rows.is_empty() {
        return Ok(());
    }
    let t = now();
    let mut tx = db.begin_write().await?;
    // Which of these are known already, and where.
    let mut known: HashMap<String, (i64, String)> = HashMap::new();
    let placeholders: Vec<String> = (1..=rows.len()).map(|i| format!("${i}")).collect();
    let sql = format!(
        "SELECT registry_id, id, region_code FROM households WHERE registry_id IN ({})",
        placeholders.join(",")
    );
    let mut q = sqlx::query_as::<_, (String, i64, String)>(&sql);
    for r in rows.iter() {
        q = q.bind(&r.registry_id);
    }
    for (rid, id, region) in q.fetch_all(&mut *tx).await? {
        known.insert(rid, (id, region));
    }
    for r in rows.drain(..) {
        let mut what = "updated";
        let id = match known.get(&r.registry_id) {
            Some((id, region)) => {
                let inside = RegionCode::parse(region).is_ok_and(|rc| {
                    policy::decide(user, Action::EditFile, &policy::region_facts(rc))
                        == Decision::Allow
                });
                if !inside {
                    push_error(
                        out,
                        RowError {
                            line: r.line,
                            field: "registry_id",
                            message: text(lang, ErrorCode::OutOfRegion),
                        },
                    );
                    continue;
                }
                sqlx::query("UPDATE households SET region_code = $1, head_name = $2, members = $3 WHERE id = $4")
                    .bind(r.village.as_str())
                    .bind(&r.head_name)
                    .bind(r.members)
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                out.updated += 1;
                *id
            }
            None => {
                let id: i64 = sqlx::query_scalar(
                    "INSERT INTO households (region_code, head_name, members, registry_id, is_demo, created_at)
                     VALUES ($1, $2, $3, $4, 0, $5) RETURNING id",
                )
                .bind(r.village.as_str())
                .bind(&r.head_name)
                .bind(r.members)
                .bind(&r.registry_id)
                .bind(t)
                .fetch_one(&mut *tx)
                .await?;
                // The same number twice in one file: the second line updates the first.
                known.insert(r.registry_id.clone(), (id, r.village.to_string()));
                out.inserted += 1;
                what = "added";
                id
            }
        };
        if let Some((year, fen)) = r.baseline {
            sqlx::query(
                "INSERT INTO household_baselines (household_id, year, per_capita_fen) VALUES ($1, $2, $3)
                 ON CONFLICT (household_id, year) DO UPDATE SET per_capita_fen = excluded.per_capita_fen",
            )
            .bind(id)
            .bind(year)
            .bind(fen)
            .execute(&mut *tx)
            .await?;
        }
        // Every household the import touched, with its baseline, is in the audit log.
        let detail = match r.baseline {
            Some((year, fen)) => format!("{what}; baseline {year}: {fen}"),
            None => what.to_owned(),
        };
        crate::monitoring::server::audit(
            &mut tx,
            user,
            "import",
            Some(id),
            r.village.as_str(),
            Some(&detail),
        )
        .await?;
    }
    tx.commit().await?;
    update_record(db, out).await
}

fn push_error(out: &mut Outcome, e: RowError) {
    out.failed += 1;
    if out.errors.len() < MAX_ERRORS {
        out.errors.push(e);
    }
}

/// Reads the CSV from a stream of chunks, line by line.
async fn import_stream<S, E>(
    db: &Db,
    user: &CurrentUser,
    id: i64,
    mut chunks: S,
    lang: Lang,
) -> Result<Outcome, AppError>
where
    S: futures_util::Stream<Item = Result<axum::body::Bytes, E>> + Unpin,
    E: std::fmt::Display,
{
    let mut out = Outcome {
        id,
        ..Outcome::default()
    };
    let mut pending: Vec<u8> = Vec::new();
    let mut batch: Vec<Row> = Vec::with_capacity(BATCH);
    let mut line_no: u64 = 0;
    let mut done = false;
    while !done {
        match chunks.next().await {
            Some(Ok(bytes)) => pending.extend_from_slice(&bytes),
            Some(Err(e)) => {
                tracing::warn!(error = %e, "import: the upload broke off");
                return Err(AppError::new(ErrorCode::BadRequest));
            }
            None => {
                done = true;
                if !pending.is_empty() && !pending.ends_with(b"\n") {
                    pending.push(b'\n');
                }
            }
        }
        // The complete lines of what has arrived, read in place; the rest waits for the next
        // chunk (one move per chunk, not one per line).
        let mut start = 0;
        while let Some(rel) = pending[start..].iter().position(|b| *b == b'\n') {
            let raw = &pending[start..start + rel];
            start += rel + 1;
            line_no += 1;
            if line_no.is_multiple_of(1000) {
                tokio::task::yield_now().await;
            }
            let line = match std::str::from_utf8(raw) {
                Ok(s) => s
                    .trim_end_matches(['\n', '\r'])
                    .trim_start_matches('\u{feff}'),
                Err(_) if line_no == 1 => {
                    return Err(AppError::new(ErrorCode::BadRequest).field("file"));
                }
                Err(_) => {
                    push_error(
                        &mut out,
                        RowError {
                            line: line_no,
                            field: "line",
                            message: text(lang, ErrorCode::BadRequest),
                        },
                    );
                    continue;
                }
            };
            if line_no == 1 {
                if line.replace(' ', "") != HEADER {
                    return Err(AppError::new(ErrorCode::BadRequest).field("file"));
                }
                continue;
            }
            if line.trim().is_empty() {
                continue;
            }
            out.rows_read += 1;
            if line.len() > MAX_LINE {
                push_error(
                    &mut out,
                    RowError {
                        line: line_no,
                        field: "line",
                        message: text(lang, ErrorCode::TooLarge),
                    },
                );
                continue;
            }
            match split_csv(line).ok_or(()).and_then(|f| {
                parse_row(line_no, &f, user, lang).map_err(|e| {
                    push_error(&mut out, e);
                })
            }) {
                Ok(row) => {
                    batch.push(row);
                    if batch.len() == BATCH {
                        write_batch(db, user, &mut batch, &mut out, lang).await?;
                    }
                }
                Err(()) if out.errors.last().is_some_and(|e| e.line == line_no) => {}
                Err(()) => push_error(
                    &mut out,
                    RowError {
                        line: line_no,
                        field: "line",
                        message: text(lang, ErrorCode::BadRequest),
                    },
                ),
            }
        }
        pending.drain(..start);
        if pending.len() > MAX_LINE * 4 {
            // No line break in sight: a line far too long. Refuse the rest of it.
            return Err(AppError::new(ErrorCode::TooLarge).field("file"));
        }
    }
    write_batch(db, user, &mut batch, &mut out, lang).await?;
    if line_no == 0 {
        return Err(AppError::new(ErrorCode::BadRequest).field("file"));
    }
    Ok(out)
}

/// The import's record, written before its first row, so that even an import cut short
/// (a broken upload, a timeout) leaves one with what it did by then.
async fn begin_record(db: &Db, user: &CurrentUser) -> Result<i64, AppError> {
    Ok(sqlx::query_scalar(
        "INSERT INTO registry_imports (user_id, rows_read, inserted, updated, failed, errors, created_at)
         VALUES ($1, 0, 0, 0, 0, '[]', $2) RETURNING id",
    )
    .bind(user.id)
    .bind(now())
    .fetch_one(&db.pool)
    .await?)
}

/// Brings the import's record up to date (after each batch, and at the end).
async fn update_record(db: &Db, out: &Outcome) -> Result<(), AppError> {
    let errors = serde_json::to_string(&out.errors).map_err(AppError::internal)?;
    sqlx::query(
        "UPDATE registry_imports SET rows_read = $1, inserted = $2, updated = $3, failed = $4, errors = $5
          WHERE id = $6",
    )
    .bind(out.rows_read as i64)
    .bind(out.inserted as i64)
    .bind(out.updated as i64)
    .bind(out.failed as i64)
    .bind(errors)
    .bind(out.id)
    .execute(&db.pool)
    .await?;
    Ok(())
}

async fn record(db: &Db, user: &CurrentUser, out: &mut Outcome) -> Result<(), AppError> {
    update_record(db, out).await?;
    let mut tx = db.begin_write().await?;
    let scope = user.region_code.clone().unwrap_or_default();
    crate::monitoring::server::audit(
        &mut tx,
        user,
        "import",
        None,
        &scope,
        Some(&format!(
            "+{} ~{} !{}",
            out.inserted, out.updated, out.failed
        )),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

async fn receive(state: &AppState, request: Request, lang: Lang) -> Result<Outcome, AppError> {
    let headers = request.headers().clone();
    let user = crate::auth::server::user_of_request(&state.db, &headers)
        .await?
        .ok_or_else(|| AppError::new(ErrorCode::Unauthenticated))?;
    if user.role != crate::domain::role::Role::Official {
        return Err(AppError::new(ErrorCode::Forbidden));
    }
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let id = begin_record(&state.db, &user).await?;
    let mut out = if content_type.starts_with("multipart/form-data") {
        let mut form = Multipart::from_request(request, state)
            .await
            .map_err(|_| AppError::new(ErrorCode::BadRequest))?;
        let mut result = None;
        while let Some(field) = form
            .next_field()
            .await
            .map_err(|_| AppError::new(ErrorCode::BadRequest))?
        {
            if field.name() == Some("file") && result.is_none() {
                result = Some(import_stream(&state.db, &user, id, Box::pin(field), lang).await?);
            }
        }
        result.ok_or_else(|| AppError::new(ErrorCode::BadRequest).field("file"))?
    } else if content_type.starts_with("text/csv") {
        let stream = request.into_body().into_data_stream();
        import_stream(&state.db, &user, id, Box::pin(stream), lang).await?
    } else {
        return Err(AppError::new(ErrorCode::BadRequest).field("file"));
    };
    record(&state.db, &user, &mut out).await?;
    tracing::info!(
        rows = out.rows_read,
        inserted = out.inserted,
        updated = out.updated,
        failed = out.failed,
        "registry import"
    );
    Ok(out)
}

pub async fn upload(State(state): State<AppState>, request: Request) -> Response {
    let lang = crate::server::request_lang(request.headers());
    let from_form = request
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("text/html"));
    match (from_form, receive(&state, request, lang).await) {
        (true, Ok(out)) => Redirect::to(&format!("/import?id={}", out.id)).into_response(),
        (true, Err(e)) => {
            Redirect::to(&format!("/import?error={}", e.code.as_str())).into_response()
        }
        (false, Ok(out)) => Json(out).into_response(),
        (false, Err(e)) => {
            let e = AppError {
                field: e.field,
                ..AppError::in_lang(e.code, lang)
            };
            let status = StatusCode::from_u16(e.status).unwrap_or(StatusCode::BAD_REQUEST);
            (status, Json(e)).into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::split_csv;

    #[test]
    fn csv_lines_split_with_quotes() {
        assert_eq!(split_csv("a,b,,c").unwrap(), ["a", "b", "", "c"]);
        assert_eq!(
            split_csv(r#""王,五","say ""hi""",3"#).unwrap(),
            ["王,五", r#"say "hi""#, "3"]
        );
        assert_eq!(split_csv(r#""open"#), None);
        assert_eq!(split_csv(r#""a"b,c"#), None);
    }
}
