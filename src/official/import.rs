//! `POST /import/households`: the household registry from a CSV file or an Excel workbook
//! (XLSX, its first worksheet), told apart by their first bytes. A browser form sends the file
//! as `multipart/form-data` (field `file`); a script may send `text/csv` or the workbook's media
//! type itself. A CSV is read as it arrives, line by line, never whole; a workbook is spooled
//! to a temporary file (a zip archive is read from its end), checked for what it inflates to,
//! and read cell by cell. Either way rows are validated one by one and written 500 to a
//! transaction. A bad row is reported by its line and skipped; the others are imported. Rows
//! match on the registry's household number (`registry_id`): importing again updates, never
//! duplicates. Every row must lie in the importing official's region.
//!
//! Columns, in this order, after a header line (a workbook's first row):
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
use axum::http::header;
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
/// The media type of a workbook.
pub const XLSX_TYPE: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

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
    let mut touched = Vec::with_capacity(rows.len());
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
        touched.push(id);
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
    // Village, members and baseline feed the dashboard's roll-ups.
    crate::ledger::rollup::refresh(&mut tx, &touched).await?;
    tx.commit().await?;
    update_record(db, out).await
}

fn push_error(out: &mut Outcome, e: RowError) {
    out.failed += 1;
    if out.errors.len() < MAX_ERRORS {
        out.errors.push(e);
    }
}

/// The records of one import (CSV lines or worksheet rows) as they come: the first is the
/// header; each other is validated on its own and written [`BATCH`] to a transaction.
struct Importer<'a> {
    db: &'a Db,
    user: &'a CurrentUser,
    lang: Lang,
    out: Outcome,
    batch: Vec<Row>,
    header_seen: bool,
}

impl<'a> Importer<'a> {
    fn new(db: &'a Db, user: &'a CurrentUser, id: i64, lang: Lang) -> Self {
        Importer {
            db,
            user,
            lang,
            out: Outcome {
                id,
                ..Outcome::default()
            },
            batch: Vec::with_capacity(BATCH),
            header_seen: false,
        }
    }

    fn refuse(&mut self, line: u64, field: &'static str, code: ErrorCode) {
        let message = text(self.lang, code);
        push_error(
            &mut self.out,
            RowError {
                line,
                field,
                message,
            },
        );
    }

    /// Takes record `line`: its fields, or why they could not be read. A wrong header (or an
    /// unreadable first record) refuses the whole file; a bad row is reported and skipped;
    /// an empty one is passed over.
    async fn record(
        &mut self,
        line: u64,
        fields: Result<Vec<String>, ErrorCode>,
    ) -> Result<(), AppError> {
        if !self.header_seen {
            if fields
                .as_ref()
                .is_ok_and(|f| f.iter().all(|x| x.trim().is_empty()))
            {
                return Ok(());
            }
            let header = fields.map_err(|_| AppError::new(ErrorCode::BadRequest).field("file"))?;
            if header.join(",").replace(' ', "") != HEADER {
                return Err(AppError::new(ErrorCode::BadRequest).field("file"));
            }
            self.header_seen = true;
            return Ok(());
        }
        if let Ok(f) = &fields {
            if f.iter().all(|x| x.trim().is_empty()) {
                return Ok(());
            }
        }
        self.out.rows_read += 1;
        let fields = match fields {
            Ok(f) => f,
            Err(code) => {
                self.refuse(line, "line", code);
                return Ok(());
            }
        };
        match parse_row(line, &fields, self.user, self.lang) {
            Ok(row) => {
                self.batch.push(row);
                if self.batch.len() == BATCH {
                    self.flush().await?;
                }
            }
            Err(e) => push_error(&mut self.out, e),
        }
        Ok(())
    }

    /// Writes the rows waiting in the batch.
    async fn flush(&mut self) -> Result<(), AppError> {
        write_batch(
            self.db,
            self.user,
            &mut self.batch,
            &mut self.out,
            self.lang,
        )
        .await
    }

    async fn finish(mut self) -> Result<Outcome, AppError> {
        self.flush().await?;
        if !self.header_seen {
            return Err(AppError::new(ErrorCode::BadRequest).field("file"));
        }
        Ok(self.out)
    }
}

/// Reads a CSV from a stream of chunks, line by line.
async fn import_csv<S, E>(mut importer: Importer<'_>, mut chunks: S) -> Result<Outcome, AppError>
where
    S: futures_util::Stream<Item = Result<axum::body::Bytes, E>> + Unpin,
    E: std::fmt::Display,
{
    let mut pending: Vec<u8> = Vec::new();
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
            let fields = match std::str::from_utf8(raw) {
                Ok(s) => {
                    let line = s
                        .trim_end_matches(['\n', '\r'])
                        .trim_start_matches('\u{feff}');
                    if line.trim().is_empty() && line_no > 1 {
                        continue;
                    }
                    if line.len() > MAX_LINE {
                        Err(ErrorCode::TooLarge)
                    } else {
                        split_csv(line).ok_or(ErrorCode::BadRequest)
                    }
                }
                Err(_) => Err(ErrorCode::BadRequest),
            };
            importer.record(line_no, fields).await?;
        }
        pending.drain(..start);
        if pending.len() > MAX_LINE * 4 {
            // No line break in sight: a line far too long. Refuse the rest of it.
            return Err(AppError::new(ErrorCode::TooLarge).field("file"));
        }
    }
    importer.finish().await
}

/// Bytes the parts of an uploaded workbook that are read may inflate to in all (a registry of
/// 100,000 households is about 20 MB of XML): counted by inflating each part once before the
/// workbook is opened, so a small file that expands without end (a zip bomb) is refused
/// without being held.
const MAX_INFLATED: u64 = 256 * 1024 * 1024;
/// The shared-strings part: inflated bytes and strings (each string is held while the sheet is
/// read).
const MAX_STRINGS_BYTES: u64 = 64 * 1024 * 1024;
const MAX_STRINGS: u64 = 1_000_000;
/// Each of the small parts (content types, relationships, the workbook's sheet list).
const MAX_SMALL_PART: u64 = 1024 * 1024;
/// Parts a workbook may have.
const MAX_PARTS: usize = 1000;
/// Rows a workbook may have (a CSV's 32 MB holds about as many).
pub const MAX_WORKBOOK_ROWS: u64 = 200_000;
/// Columns read from a worksheet row (the registry has six; more is an error).
const MAX_COLUMNS: usize = 16;
/// Workbook imports at once (each holds its shared strings); another waits up to 5 s, then is
/// told to retry (503).
const WORKBOOK_IMPORTS: usize = 1;

static WORKBOOK_TURNS: std::sync::LazyLock<tokio::sync::Semaphore> =
    std::sync::LazyLock::new(|| tokio::sync::Semaphore::new(WORKBOOK_IMPORTS));

/// What a part of a workbook is to the import.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Part {
    /// Content types, relationships, the workbook's sheet list.
    Small,
    SharedStrings,
    Worksheet,
}

/// The parts the import reads; everything else (styles, themes, pictures, ...) is left out of
/// the copy the spreadsheet reader opens, so nothing in them can make it allocate.
fn part_kind(name: &str) -> Option<Part> {
    let lower = name.to_ascii_lowercase();
    if lower == "[content_types].xml"
        || lower == "_rels/.rels"
        || lower.ends_with("workbook.xml")
        || lower.ends_with("_rels/workbook.xml.rels")
    {
        Some(Part::Small)
    } else if lower.ends_with("sharedstrings.xml") {
        Some(Part::SharedStrings)
    } else if lower.contains("worksheets/") && lower.ends_with(".xml") && !lower.contains("_rels") {
        Some(Part::Worksheet)
    } else {
        None
    }
}

/// Inflates `part` once, at most `limit` bytes (TooLarge past it); for the shared strings,
/// counts the strings (`<si`) and checks the count the part declares, which the reader would
/// reserve room for.
fn check_part(part: &mut impl std::io::Read, kind: Part, limit: u64) -> Result<u64, AppError> {
    let too_large = || AppError::new(ErrorCode::TooLarge).field("file");
    let bad = || AppError::new(ErrorCode::BadRequest).field("file");
    let mut buf = vec![0u8; 64 * 1024];
    let mut total: u64 = 0;
    let mut strings: u64 = 0;
    let mut tail: Vec<u8> = Vec::new();
    let mut head: Vec<u8> = Vec::new();
    loop {
        let n = part.read(&mut buf).map_err(|_| bad())?;
        if n == 0 {
            break;
        }
        total += n as u64;
        if total > limit {
            return Err(too_large());
        }
        if kind == Part::SharedStrings {
            if head.len() < 4096 {
                head.extend_from_slice(&buf[..n.min(4096 - head.len())]);
            }
            // `<si` across the chunk boundary too.
            tail.extend_from_slice(&buf[..n]);
            strings += tail.windows(3).filter(|w| *w == b"<si").count() as u64;
            let keep = tail.len().min(2);
            tail.drain(..tail.len() - keep);
            if strings > MAX_STRINGS {
                return Err(too_large());
            }
        }
    }
    if kind == Part::SharedStrings {
        let text = String::from_utf8_lossy(&head);
        // The reader reserves room for `uniqueCount` strings up front; `count` (references to
        // them) it only reads.
        for (attribute, most) in [
            ("uniqueCount=\"", MAX_STRINGS),
            ("count=\"", MAX_STRINGS * 8),
        ] {
            if let Some(at) = text.find(attribute) {
                let digits: String = text[at + attribute.len()..]
                    .chars()
                    .take_while(|c| c.is_ascii_digit())
                    .collect();
                if digits.parse::<u64>().map_or(true, |n| n > most) {
                    return Err(too_large());
                }
            }
        }
    }
    Ok(total)
}

/// Copies the parts the import reads into a new archive, each inflated once and counted first
/// (see [`check_part`]); the copy is what the spreadsheet reader opens.
fn sanitise(file: &std::fs::File) -> Result<std::fs::File, AppError> {
    let bad = || AppError::new(ErrorCode::BadRequest).field("file");
    let mut archive = zip::ZipArchive::new(file).map_err(|_| bad())?;
    if archive.len() > MAX_PARTS {
        return Err(AppError::new(ErrorCode::TooLarge).field("file"));
    }
    let out = tempfile::tempfile().map_err(AppError::internal)?;
    let mut writer = zip::ZipWriter::new(&out);
    let mut total: u64 = 0;
    for i in 0..archive.len() {
        let kind = {
            let part = archive.by_index(i).map_err(|_| bad())?;
            match part_kind(&part.name().map_err(|_| bad())?) {
                Some(k) => k,
                None => continue,
            }
        };
        let limit = match kind {
            Part::Small => MAX_SMALL_PART,
            Part::SharedStrings => MAX_STRINGS_BYTES,
            Part::Worksheet => MAX_INFLATED,
        }
        .min(MAX_INFLATED - total);
        let mut part = archive.by_index(i).map_err(|_| bad())?;
        total += check_part(&mut part, kind, limit)?;
        drop(part);
        let part = archive.by_index(i).map_err(|_| bad())?;
        writer.raw_copy_file(part).map_err(|_| bad())?;
    }
    writer.finish().map_err(AppError::internal)?;
    Ok(out)
}

/// Whether an upload that starts with `bytes` is a workbook (a zip archive) rather than a CSV.
pub fn is_workbook(bytes: &[u8]) -> bool {
    bytes.starts_with(b"PK\x03\x04")
}

/// Writes the upload to a temporary file (at most [`MAX_BYTES`]).
async fn spool<S, E>(mut chunks: S) -> Result<std::fs::File, AppError>
where
    S: futures_util::Stream<Item = Result<axum::body::Bytes, E>> + Unpin,
    E: std::fmt::Display,
{
    use tokio::io::AsyncWriteExt;
    let std_file = tempfile::tempfile().map_err(AppError::internal)?;
    let mut file = tokio::fs::File::from_std(std_file.try_clone().map_err(AppError::internal)?);
    let mut total = 0usize;
    while let Some(chunk) = chunks.next().await {
        let bytes = chunk.map_err(|e| {
            tracing::warn!(error = %e, "import: the upload broke off");
            AppError::new(ErrorCode::BadRequest)
        })?;
        total += bytes.len();
        if total > MAX_BYTES {
            return Err(AppError::new(ErrorCode::TooLarge).field("file"));
        }
        file.write_all(&bytes).await.map_err(AppError::internal)?;
    }
    file.flush().await.map_err(AppError::internal)?;
    Ok(std_file)
}

/// The text of a worksheet cell as a CSV would hold it (whole numbers without a decimal
/// point: a village code or a year typed as a number).
fn cell_text(v: &calamine::DataRef<'_>) -> Result<String, ErrorCode> {
    use calamine::DataRef as D;
    Ok(match v {
        D::Int(n) => n.to_string(),
        D::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{f:.0}"),
        D::Float(f) => f.to_string(),
        D::String(s) => s.clone(),
        D::SharedString(s) => (*s).to_owned(),
        D::Bool(b) => b.to_string(),
        D::DateTimeIso(s) | D::DurationIso(s) => s.clone(),
        D::DateTime(_) | D::Error(_) => return Err(ErrorCode::BadRequest),
        D::Empty => String::new(),
    })
}

/// A record's row number and its fields, or why they could not be read.
type Record = (u64, Result<Vec<String>, ErrorCode>);

/// The first worksheet's rows of the (sanitised) workbook in `file`, each given to `each`
/// with its row number (from 1, as the spreadsheet shows it) until it answers `false`.
/// Answers the number of rows read. Runs on a blocking thread.
fn read_workbook(
    file: &std::fs::File,
    mut each: impl FnMut(Record) -> bool,
) -> Result<u64, AppError> {
    use calamine::Reader;
    let bad = || AppError::new(ErrorCode::BadRequest).field("file");
    let mut book: calamine::Xlsx<_> =
        calamine::Xlsx::new(std::io::BufReader::new(file)).map_err(|_| bad())?;
    let sheet = book.sheet_names().first().cloned().ok_or_else(bad)?;
    let mut cells = book.worksheet_cells_reader(&sheet).map_err(|_| bad())?;
    let mut current: Option<(u32, Vec<String>, Option<ErrorCode>)> = None;
    let rows = std::cell::Cell::new(0u64);
    let mut send = |row: Option<(u32, Vec<String>, Option<ErrorCode>)>| -> bool {
        match row {
            None => true,
            Some((r, mut fields, problem)) => {
                rows.set(rows.get() + 1);
                // Trailing empty cells are no column; a short row is padded.
                while fields.last().is_some_and(|f| f.trim().is_empty()) {
                    fields.pop();
                }
                if fields.len() < 6 {
                    fields.resize(6, String::new());
                }
                let record = match problem {
                    Some(code) => Err(code),
                    None => Ok(fields),
                };
                each((u64::from(r) + 1, record))
            }
        }
    };
    loop {
        let cell = cells.next_cell().map_err(|_| bad())?;
        let Some(cell) = cell else { break };
        let (r, c) = cell.get_position();
        if current.as_ref().is_some_and(|(cr, _, _)| *cr != r) && !send(current.take()) {
            return Ok(rows.get());
        }
        let (_, fields, problem) = current.get_or_insert_with(|| (r, Vec::new(), None));
        let c = c as usize;
        if c >= MAX_COLUMNS {
            problem.get_or_insert(ErrorCode::BadRequest);
            continue;
        }
        match cell_text(cell.get_value()) {
            Ok(t) if t.len() > MAX_LINE => {
                problem.get_or_insert(ErrorCode::TooLarge);
            }
            Ok(t) => {
                if fields.len() <= c {
                    fields.resize(c + 1, String::new());
                }
                fields[c] = t;
            }
            Err(code) => {
                problem.get_or_insert(code);
            }
        }
    }
    send(current.take());
    Ok(rows.get())
}

/// Checks and reads a spooled workbook on a blocking thread: sanitised, read once whole (a
/// broken sheet or too many rows is refused before any row is written), then read again with
/// each row sent on `tx`.
fn workbook_rows(file: std::fs::File, tx: tokio::sync::mpsc::Sender<Result<Record, AppError>>) {
    let result = (|| -> Result<(), AppError> {
        let clean = sanitise(&file)?;
        drop(file);
        let rows = read_workbook(&clean, |_| true)?;
        if rows > MAX_WORKBOOK_ROWS + 1 {
            return Err(AppError::new(ErrorCode::TooLarge).field("file"));
        }
        read_workbook(&clean, |record| tx.blocking_send(Ok(record)).is_ok())?;
        Ok(())
    })();
    if let Err(e) = result {
        let _ = tx.blocking_send(Err(e));
    }
}

/// Reads a workbook: spooled to a temporary file (a zip archive is read from its end), then
/// its first worksheet row by row on a blocking thread, each row taken as a CSV line would be.
async fn import_xlsx<S, E>(mut importer: Importer<'_>, chunks: S) -> Result<Outcome, AppError>
where
    S: futures_util::Stream<Item = Result<axum::body::Bytes, E>> + Unpin,
    E: std::fmt::Display,
{
    let _turn = tokio::time::timeout(std::time::Duration::from_secs(5), WORKBOOK_TURNS.acquire())
        .await
        .map_err(|_| AppError::new(ErrorCode::Busy))?
        .map_err(AppError::internal)?;
    let file = spool(chunks).await?;
    let (tx, mut rx) = tokio::sync::mpsc::channel(256);
    let reader = tokio::task::spawn_blocking(move || workbook_rows(file, tx));
    let mut result = Ok(());
    while let Some(message) = rx.recv().await {
        match message {
            Ok((line, fields)) => {
                if let Err(e) = importer.record(line, fields).await {
                    result = Err(e);
                    break;
                }
            }
            Err(e) => {
                result = Err(e);
                break;
            }
        }
    }
    drop(rx);
    reader.await.map_err(AppError::internal)?;
    result?;
    importer.finish().await
}

/// Reads an upload as a workbook or a CSV, by its first bytes.
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
    // Enough of the start to tell a workbook (a zip archive: `PK\x03\x04`) from a CSV.
    let mut start: Vec<u8> = Vec::new();
    while start.len() < 4 {
        match chunks.next().await {
            Some(Ok(b)) => start.extend_from_slice(&b),
            Some(Err(e)) => {
                tracing::warn!(error = %e, "import: the upload broke off");
                return Err(AppError::new(ErrorCode::BadRequest));
            }
            None if start.is_empty() => {
                return Err(AppError::new(ErrorCode::BadRequest).field("file"))
            }
            None => break,
        }
    }
    let first = axum::body::Bytes::from(start);
    let workbook = is_workbook(&first);
    let all = futures_util::stream::once(async move { Ok::<_, E>(first) }).chain(chunks);
    let importer = Importer::new(db, user, id, lang);
    if workbook {
        import_xlsx(importer, Box::pin(all)).await
    } else {
        import_csv(importer, Box::pin(all)).await
    }
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
    .fetch_one(db.writer())
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
    .execute(db.writer())
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
    } else if content_type.starts_with("text/csv")
        || content_type.starts_with(XLSX_TYPE)
        || content_type.starts_with("application/octet-stream")
    {
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
    let headers = request.headers().clone();
    let lang = crate::server::request_lang(&headers);
    let from_form = crate::server::wants_html(&headers);
    match (from_form, receive(&state, request, lang).await) {
        (true, Ok(out)) => Redirect::to(&format!("/import?id={}", out.id)).into_response(),
        (true, Err(e)) => {
            Redirect::to(&format!("/import?error={}", e.code.as_str())).into_response()
        }
        (false, Ok(out)) => Json(out).into_response(),
        (false, Err(e)) => crate::server::json_error(&headers, e),
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
