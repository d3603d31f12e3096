//! `GET /export/{table}.{csv|xlsx}`: the tables an official sees, as CSV or as an Excel
//! workbook, for their region (or any region below it):
//!
//! - `households`: the household list (`?region=…&filter=…`), its columns on screen;
//! - `regions`: the dashboard's table of the regions directly below (`?region=…&year=…`);
//! - `national`: the monitoring objects in the column layout of the national 防返贫 monitoring
//!   system's household file (全国防返贫监测信息系统 · 监测对象信息), for hand-over. ID numbers
//!   and phones in it are masked unless the official is of the household's county, as on the
//!   household file.
//!
//! Rows are read a thousand at a time in key order, so a province's export never sits in memory
//! whole: a CSV streams as it is read; a workbook is written in the spreadsheet library's
//! constant-memory mode to a temporary file (at most [`MAX_XLSX_BUILDS`] at once), then sent.
//! Every export is written to the audit log before its first row.

use crate::auth::api::CurrentUser;
use crate::domain::calendar::date_of;
use crate::domain::income;
use crate::domain::money::Fen;
use crate::domain::monitoring::{mask_id_number, mask_phone, Category, MeasureKind, Reason};
use crate::domain::region::RegionCode;
use crate::error::{AppError, ErrorCode};
use crate::i18n::{Lang, T};
use crate::ledger::server::{rolling_table, rolling_window};
use crate::server::db::{current_year, monitoring_line, now, year_start, Db};
use crate::server::state::AppState;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use futures_util::stream::BoxStream;
use futures_util::StreamExt;
use std::collections::HashMap;
use std::sync::LazyLock;

/// The route; `{file}` is `households.csv`, `national.xlsx` and so on.
pub const ROUTE: &str = "/export/{file}";
pub const PREFIX: &str = "/export/";

/// Rows fetched per step.
const CHUNK: i64 = 1000;
/// Workbooks being built at once; another export waits its turn or is told to retry.
pub const MAX_XLSX_BUILDS: usize = 2;
/// The most rows a workbook holds (413 past it: a CSV has no limit). A workbook is built whole
/// on disk before it is sent, about 1 KB a row before compression.
pub const MAX_XLSX_ROWS: usize = 300_000;
/// The longest a workbook's download may take once it has started.
const SEND_DEADLINE: std::time::Duration = std::time::Duration::from_secs(600);

static XLSX_BUILDS: LazyLock<std::sync::Arc<tokio::sync::Semaphore>> =
    LazyLock::new(|| std::sync::Arc::new(tokio::sync::Semaphore::new(MAX_XLSX_BUILDS)));

/// The two file formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv,
    Xlsx,
}

/// One cell of an exported table.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Text(String),
    Int(i64),
    /// Money, written as yuan with two decimals (a number in a workbook).
    Yuan(i64),
    Empty,
}

impl Cell {
    fn opt_text(s: Option<String>) -> Cell {
        s.map(Cell::Text).unwrap_or(Cell::Empty)
    }
}

type Chunk = Vec<Vec<Cell>>;
type Chunks = BoxStream<'static, Result<Chunk, AppError>>;

/// A table to send: its file name (without extension), its header, and its rows in chunks.
pub struct Table {
    name: String,
    columns: Vec<&'static str>,
    chunks: Chunks,
}

impl Table {
    /// A small table whose rows are all at hand (one chunk).
    pub fn whole(name: String, columns: Vec<&'static str>, rows: Vec<Vec<Cell>>) -> Table {
        Table {
            name,
            columns,
            chunks: futures_util::stream::iter([Ok(rows)]).boxed(),
        }
    }
}

#[derive(serde::Deserialize)]
pub struct Params {
    region: Option<String>,
    filter: Option<String>,
    year: Option<String>,
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

/// One CSV line of cells.
fn csv_line(row: &[Cell], out: &mut String) {
    for (i, c) in row.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        match c {
            Cell::Text(s) => out.push_str(&field(s)),
            Cell::Int(n) => out.push_str(&n.to_string()),
            Cell::Yuan(f) => out.push_str(&plain_yuan(*f)),
            Cell::Empty => {}
        }
    }
    out.push('\n');
}

fn error(lang: Lang, e: AppError) -> Response {
    let status = StatusCode::from_u16(e.code.status()).unwrap_or(StatusCode::BAD_REQUEST);
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        e.code.text().t(lang).to_owned(),
    )
        .into_response()
}

/// The table and format a file name asks for.
pub fn parse_file(file: &str) -> Option<(&str, Format)> {
    let (table, ext) = file.rsplit_once('.')?;
    let format = match ext {
        "csv" => Format::Csv,
        "xlsx" => Format::Xlsx,
        _ => return None,
    };
    ["households", "regions", "national"]
        .contains(&table)
        .then_some((table, format))
}

pub async fn export(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(file): Path<String>,
    Query(p): Query<Params>,
) -> Response {
    let lang = crate::server::request_lang(&headers);
    match build(&state, &headers, &file, p).await {
        Ok((table, Format::Csv)) => csv(table),
        Ok((table, Format::Xlsx)) => match xlsx(table).await {
            Ok(r) => r,
            Err(e) => error(lang, e),
        },
        Err(e) => error(lang, e),
    }
}

/// Checks who asks and for what, writes the audit entry, and starts the table's rows.
async fn build(
    state: &AppState,
    headers: &HeaderMap,
    file: &str,
    p: Params,
) -> Result<(Table, Format), AppError> {
    let (table, format) = parse_file(file).ok_or_else(|| AppError::new(ErrorCode::NotFound))?;
    let db = state.db.clone();
    let user = crate::auth::server::user_of_request(&db, headers)
        .await?
        .ok_or_else(|| AppError::new(ErrorCode::Unauthenticated))?;
    let region = crate::official::server::requested_region(&user, p.region.as_deref())?;
    let table = match table {
        "households" => households(db.clone(), &region, p.filter.as_deref()).await?,
        "regions" => regions(&db, &region, p.year.as_deref()).await?,
        _ => national(db.clone(), user.clone(), &region).await?,
    };
    // What was exported, as what, with which filter or year, and whether ID numbers and
    // phones went out in full (the national layout, to an official of the county).
    let detail = format!(
        "{}.{}{}{}{}",
        table.name,
        match format {
            Format::Csv => "csv",
            Format::Xlsx => "xlsx",
        },
        p.filter
            .as_deref()
            .map(|f| format!(" filter={}", f.chars().take(20).collect::<String>()))
            .unwrap_or_default(),
        p.year
            .as_deref()
            .map(|y| format!(" year={}", y.chars().take(4).collect::<String>()))
            .unwrap_or_default(),
        if table.name.starts_with("national")
            && crate::monitoring::server::of_the_county(&user, &region)
        {
            " unmasked"
        } else {
            ""
        }
    );
    crate::monitoring::server::audit_export(&db, &user, &region, Some(&detail)).await?;
    Ok((table, format))
}

/// Rows of a keyset query, a chunk at a time: `sql` takes the region's LIKE pattern as `$1`
/// and the last key seen as `$2` and returns at most [`CHUNK`] rows in key order; `key` gives a
/// row's key and `cells` turns a chunk of rows into cells (it may query more, once per chunk).
fn keyset_chunks<R, F, Fut>(
    db: Db,
    sql: String,
    pattern: String,
    key: fn(&R) -> i64,
    cells: F,
) -> Chunks
where
    R: for<'r> sqlx::FromRow<'r, sqlx::any::AnyRow> + Send + Unpin + 'static,
    F: Fn(Db, Vec<R>) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<Chunk, AppError>> + Send + 'static,
{
    let cells = std::sync::Arc::new(cells);
    futures_util::stream::unfold(Some(0i64), move |after| {
        let (db, sql, pattern, cells) = (db.clone(), sql.clone(), pattern.clone(), cells.clone());
        async move {
            let after = after?;
            let rows: Vec<R> = match sqlx::query_as(&sql)
                .bind(&pattern)
                .bind(after)
                .fetch_all(&db.pool)
                .await
            {
                Ok(rows) => rows,
                Err(e) => return Some((Err(AppError::from(e)), None)),
            };
            if rows.is_empty() {
                return None;
            }
            let next = (rows.len() as i64 == CHUNK).then(|| key(&rows[rows.len() - 1]));
            Some((cells(db, rows).await, next))
        }
    })
    .boxed()
}

/// The household list's columns (nothing masked there is in it: no phones, no ID numbers).
async fn households(db: Db, region: &RegionCode, filter: Option<&str>) -> Result<Table, AppError> {
    let year = current_year();
    let line = monitoring_line(&db, year).await?;
    let condition = crate::official::server::filter_condition(filter, line)?;
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
        y0 = year_start(year),
        y1 = year_start(year + 1),
    );
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
    let chunks = keyset_chunks(
        db,
        sql,
        region.like_pattern(),
        |r: &Row| r.0,
        move |_, rows: Vec<Row>| async move {
            Ok(rows
                .into_iter()
                .map(
                    |(id, head, village, members, pc, category, verified, attested)| {
                        let status = match line {
                            Some(l) => income::status(pc.map(Fen::new), l),
                            None => income::MonitoringStatus::Unknown,
                        };
                        vec![
                            Cell::Int(id),
                            Cell::Text(head),
                            Cell::Text(village),
                            Cell::Int(members),
                            pc.map(Cell::Yuan).unwrap_or(Cell::Empty),
                            Cell::Text(status.as_str().to_owned()),
                            Cell::opt_text(category),
                            Cell::Yuan(verified),
                            Cell::Yuan(attested),
                        ]
                    },
                )
                .collect())
        },
    );
    Ok(Table {
        name: format!("households-{}", region.as_str()),
        columns: vec![
            "id",
            "户主/head",
            "村/village",
            "人口/members",
            "滚动12个月人均收入(元)/rolling per capita (yuan)",
            "状态/status",
            "监测类别/category",
            "今年核实收入(元)/verified this year (yuan)",
            "卖家确认转账(元)/attested (yuan)",
        ],
        chunks,
    })
}

/// The dashboard's table of the regions directly below `region`.
async fn regions(db: &Db, region: &RegionCode, year: Option<&str>) -> Result<Table, AppError> {
    let year = crate::official::server::parse_year(year)?;
    let rows = crate::official::server::child_figures(db, region, year).await?;
    let chunk: Chunk = rows
        .into_iter()
        .map(|r| {
            vec![
                Cell::Text(r.code),
                Cell::Text(r.name),
                Cell::Int(r.households),
                Cell::Int(r.below),
                Cell::Int(r.near),
                Cell::Int(r.monitored),
                Cell::Int(r.unstable),
                Cell::Int(r.marginal),
                Cell::Int(r.sudden),
                Cell::Yuan(r.verified_fen),
                Cell::Yuan(r.attested_fen),
                Cell::Int(r.with_sale),
                Cell::Yuan(r.gmv_fen),
                Cell::Int(r.stalled),
                Cell::Int(r.linked_organisations),
                Cell::Int(r.linked_households),
                Cell::Int(r.paired),
                Cell::Int(r.overdue_visits),
                Cell::Int(r.open_reports),
                Cell::Int(r.org_pairings),
                Cell::Yuan(r.org_bought_fen),
                Cell::Int(r.unpaid_links),
            ]
        })
        .collect();
    Ok(Table {
        name: format!("regions-{}-{year}", region.as_str()),
        columns: vec![
            "区划代码/code",
            "名称/name",
            "户数/households",
            "低于监测线/below line",
            "接近监测线/near line",
            "监测对象/monitored",
            "脱贫不稳定户/unstable",
            "边缘易致贫户/marginal",
            "突发严重困难户/sudden",
            "核实收入(元)/verified (yuan)",
            "卖家确认转账(元)/attested (yuan)",
            "有销售的户/households with a sale",
            "销售额(元)/GMV (yuan)",
            "滞销/stalled",
            "联结主体/linked organisations",
            "联结农户/linked households",
            "已结对/paired",
            "走访逾期/visits overdue",
            "待处理报告/open reports",
            "1+1 结对/1+1 pairings",
            "结对采购(元)/bought by paired organisations (yuan)",
            "申报未兑现/links declared, unpaid",
        ],
        chunks: futures_util::stream::once(async move { Ok(chunk) }).boxed(),
    })
}

/// The national 防返贫 system's household file columns, in its order.
pub const NATIONAL_COLUMNS: [&str; 22] = [
    "省(区、市)",
    "市(地、州、盟)",
    "县(市、区、旗)",
    "乡(镇)",
    "行政村",
    "户编号",
    "户主姓名",
    "户主证件号码",
    "联系电话",
    "家庭人口数",
    "监测对象类别",
    "识别监测时间",
    "主要风险类型",
    "家庭年人均纯收入(元)",
    "基线家庭人均纯收入(元)",
    "当年平台销售等核实收入(元)",
    "帮扶措施",
    "帮扶责任人",
    "风险是否已消除",
    "风险消除时间",
    "平台户ID",
    "区划代码",
];

/// The monitoring objects (under monitoring or with their risk eliminated) in the national
/// layout.
async fn national(db: Db, viewer: CurrentUser, region: &RegionCode) -> Result<Table, AppError> {
    let year = current_year();
    let sql = format!(
        "SELECT h.id, h.region_code, h.registry_id, h.head_name, h.members, o.category, o.state,
                o.identified_at, o.eliminated_at,
                (SELECT rp.reason FROM monitoring_reports rp WHERE rp.id = o.report_id) AS reason,
                (SELECT m.id_number FROM household_members m WHERE m.household_id = h.id AND m.relation = 'head' ORDER BY m.id LIMIT 1) AS id_number,
                (SELECT m.phone FROM household_members m WHERE m.household_id = h.id AND m.relation = 'head' ORDER BY m.id LIMIT 1) AS phone,
                r.rolling_pc, r.base_pc,
                CAST(COALESCE((SELECT SUM(i.verified_fen) FROM income_months i WHERE i.household_id = h.id AND i.month_start >= {y0} AND i.month_start < {y1}), 0) AS BIGINT) AS verified,
                (SELECT u.display_name FROM users u WHERE u.id = o.cadre_id) AS cadre,
                (SELECT g.name FROM regions g WHERE g.code = substr(h.region_code, 1, 2) || '0000') AS province,
                (SELECT g.name FROM regions g WHERE g.code = substr(h.region_code, 1, 4) || '00') AS city,
                (SELECT g.name FROM regions g WHERE g.code = substr(h.region_code, 1, 6)) AS county,
                (SELECT g.name FROM regions g WHERE g.code = substr(h.region_code, 1, 9)) AS township,
                (SELECT g.name FROM regions g WHERE g.code = h.region_code) AS village
           FROM {} r JOIN households h ON h.id = r.household_id
           JOIN monitoring_objects o ON o.household_id = h.id
          ORDER BY h.id LIMIT {CHUNK}",
        rolling_table(rolling_window(now()), "h.region_code LIKE $1 AND h.id > $2"),
        y0 = year_start(year),
        y1 = year_start(year + 1),
    );
    let chunks = keyset_chunks(
        db,
        sql,
        region.like_pattern(),
        |r: &NationalRow| r.id,
        move |db, rows: Vec<NationalRow>| {
            let viewer = viewer.clone();
            async move {
                // The chunk's measures, in one query (the ids are this query's own integers).
                let ids = rows
                    .iter()
                    .map(|r| r.id.to_string())
                    .collect::<Vec<_>>()
                    .join(",");
                let measures: Vec<(i64, String)> = sqlx::query_as(&format!(
                "SELECT household_id, kind FROM assistance_measures WHERE household_id IN ({ids})
                  ORDER BY household_id, starts_on, id"
            ))
                .fetch_all(&db.pool)
                .await?;
                let mut by_household: HashMap<i64, Vec<&'static str>> = HashMap::new();
                for (h, kind) in measures {
                    if let Some(k) = MeasureKind::parse(&kind) {
                        let list = by_household.entry(h).or_default();
                        let text = crate::monitoring::measure_text(k).t(Lang::Zh);
                        if !list.contains(&text) {
                            list.push(text);
                        }
                    }
                }
                Ok(rows
                    .into_iter()
                    .map(|r| national_row(&viewer, r, &by_household))
                    .collect())
            }
        },
    );
    Ok(Table {
        name: format!("national-{}", region.as_str()),
        columns: NATIONAL_COLUMNS.to_vec(),
        chunks,
    })
}

#[derive(sqlx::FromRow)]
struct NationalRow {
    id: i64,
    region_code: String,
    registry_id: Option<String>,
    head_name: String,
    members: i64,
    category: String,
    state: String,
    identified_at: i64,
    eliminated_at: Option<i64>,
    reason: Option<String>,
    id_number: Option<String>,
    phone: Option<String>,
    rolling_pc: Option<i64>,
    base_pc: Option<i64>,
    verified: i64,
    cadre: Option<String>,
    province: Option<String>,
    city: Option<String>,
    county: Option<String>,
    township: Option<String>,
    village: Option<String>,
}

fn national_row(
    viewer: &CurrentUser,
    r: NationalRow,
    measures: &HashMap<i64, Vec<&'static str>>,
) -> Vec<Cell> {
    let unmasked = RegionCode::parse(&r.region_code)
        .is_ok_and(|v| crate::monitoring::server::of_the_county(viewer, &v));
    let zh = |t: T| t.t(Lang::Zh).to_owned();
    let eliminated = r.state == "eliminated";
    vec![
        Cell::opt_text(r.province),
        Cell::opt_text(r.city),
        Cell::opt_text(r.county),
        Cell::opt_text(r.township),
        Cell::opt_text(r.village),
        Cell::opt_text(r.registry_id),
        Cell::Text(r.head_name),
        Cell::opt_text(
            r.id_number
                .map(|s| if unmasked { s } else { mask_id_number(&s) }),
        ),
        Cell::opt_text(r.phone.map(|s| if unmasked { s } else { mask_phone(&s) })),
        Cell::Int(r.members),
        Cell::opt_text(
            Category::parse(&r.category).map(|c| zh(crate::monitoring::category_text(c))),
        ),
        Cell::Text(date_of(r.identified_at)),
        Cell::opt_text(
            r.reason
                .as_deref()
                .and_then(Reason::parse)
                .map(|c| zh(crate::monitoring::reason_text(c))),
        ),
        r.rolling_pc.map(Cell::Yuan).unwrap_or(Cell::Empty),
        r.base_pc.map(Cell::Yuan).unwrap_or(Cell::Empty),
        Cell::Yuan(r.verified),
        Cell::Text(
            measures
                .get(&r.id)
                .map(|m| m.join("；"))
                .unwrap_or_default(),
        ),
        Cell::opt_text(r.cadre),
        Cell::Text(if eliminated { "是" } else { "否" }.to_owned()),
        Cell::opt_text(r.eliminated_at.filter(|_| eliminated).map(date_of)),
        Cell::Int(r.id),
        Cell::Text(r.region_code),
    ]
}

fn attachment(name: &str, content_type: &str, body: Body) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type.to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
            (header::CACHE_CONTROL, "no-store".to_owned()),
        ],
        body,
    )
        .into_response()
}

/// A CSV streamed as its rows are read (UTF-8 with a byte-order mark, which spreadsheets need
/// to read Chinese). A failure part-way ends the file early and is logged.
pub fn csv(table: Table) -> Response {
    let mut head = String::from("\u{feff}");
    csv_line(
        &table
            .columns
            .iter()
            .map(|c| Cell::Text((*c).to_owned()))
            .collect::<Vec<_>>(),
        &mut head,
    );
    let first = futures_util::stream::once(async move {
        Ok::<_, std::io::Error>(axum::body::Bytes::from(head))
    });
    let rows = table.chunks.map(|chunk| match chunk {
        Ok(rows) => {
            let mut out = String::new();
            for row in &rows {
                csv_line(row, &mut out);
            }
            Ok(axum::body::Bytes::from(out))
        }
        Err(e) => {
            tracing::error!(error = %e, "export: query failed; the file ends early");
            Err(std::io::Error::other("export query failed"))
        }
    });
    attachment(
        &format!("{}.csv", table.name),
        "text/csv; charset=utf-8",
        // Fused: a layer (compression) may poll a body again after its end.
        Body::from_stream(first.chain(rows).fuse()),
    )
}

/// What the writer of a workbook receives: rows, then the word that they are all there.
enum ToWriter {
    Rows(Chunk),
    Done,
}

/// Writes a workbook from chunks received on `rx` to a temporary file, in constant memory.
/// Nothing is saved unless [`ToWriter::Done`] arrives (the table was read to its end).
fn write_workbook(
    columns: Vec<&'static str>,
    mut rx: tokio::sync::mpsc::Receiver<ToWriter>,
) -> Result<Option<std::fs::File>, rust_xlsxwriter::XlsxError> {
    use rust_xlsxwriter::{Format as Style, Workbook};
    let mut book = Workbook::new();
    let bold = Style::new().set_bold();
    let money = Style::new().set_num_format("0.00");
    let sheet = book.add_worksheet_with_constant_memory()?;
    let head = |sheet: &mut rust_xlsxwriter::Worksheet| -> Result<(), rust_xlsxwriter::XlsxError> {
        for (i, c) in columns.iter().enumerate() {
            sheet.write_string_with_format(0, i as u16, *c, &bold)?;
        }
        Ok(())
    };
    head(sheet)?;
    let mut row: u32 = 0;
    loop {
        let chunk = match rx.blocking_recv() {
            Some(ToWriter::Rows(chunk)) => chunk,
            Some(ToWriter::Done) => break,
            // The reading side gave up (an error, a refusal): nothing to save.
            None => return Ok(None),
        };
        for cells in chunk {
            row += 1;
            for (i, c) in cells.iter().enumerate() {
                let col = i as u16;
                match c {
                    Cell::Text(s) => {
                        sheet.write_string(row, col, s)?;
                    }
                    Cell::Int(n) => {
                        sheet.write_number(row, col, *n as f64)?;
                    }
                    Cell::Yuan(f) => {
                        sheet.write_number_with_format(row, col, *f as f64 / 100.0, &money)?;
                    }
                    Cell::Empty => {}
                }
            }
        }
    }
    let file = tempfile::tempfile()?;
    book.save_to_writer(&file)?;
    Ok(Some(file))
}

/// A workbook, built whole before the answer starts, so a failure is a clear error status
/// rather than a broken file.
pub async fn xlsx(table: Table) -> Result<Response, AppError> {
    // The turn is held until the file is sent (it moves into the body), so at most
    // MAX_XLSX_BUILDS workbooks are on disk at once.
    let turn = tokio::time::timeout(
        std::time::Duration::from_secs(5),
        XLSX_BUILDS.clone().acquire_owned(),
    )
    .await
    .map_err(|_| AppError::new(ErrorCode::Busy))?
    .map_err(AppError::internal)?;
    let (tx, rx) = tokio::sync::mpsc::channel::<ToWriter>(2);
    let columns = table.columns.clone();
    let writer = tokio::task::spawn_blocking(move || write_workbook(columns, rx));
    let mut chunks = table.chunks;
    let mut rows = 0usize;
    let read = async {
        while let Some(chunk) = chunks.next().await {
            let chunk = chunk?;
            rows += chunk.len();
            if rows > MAX_XLSX_ROWS {
                return Err(AppError::new(ErrorCode::TooLarge));
            }
            if tx.send(ToWriter::Rows(chunk)).await.is_err() {
                return Err(AppError::new(ErrorCode::Unavailable));
            }
        }
        tx.send(ToWriter::Done)
            .await
            .map_err(|_| AppError::new(ErrorCode::Unavailable))
    };
    let outcome = read.await;
    // Closes the channel: a writer without Done saves nothing.
    drop(tx);
    let written = writer.await.map_err(AppError::internal)?;
    outcome?;
    let file = match written {
        Ok(Some(file)) => file,
        Ok(None) => return Err(AppError::new(ErrorCode::Unavailable)),
        Err(e) => {
            tracing::error!(error = %e, "export: the workbook could not be written");
            return Err(AppError::new(ErrorCode::Unavailable));
        }
    };
    use std::io::Seek;
    let mut file = file;
    file.rewind().map_err(AppError::internal)?;
    let file = tokio::fs::File::from_std(file);
    let deadline = tokio::time::Instant::now() + SEND_DEADLINE;
    let body = futures_util::stream::unfold(Some((file, turn)), move |state| async move {
        use tokio::io::AsyncReadExt;
        let (mut file, turn) = state?;
        if tokio::time::Instant::now() > deadline {
            tracing::warn!("export: the download took too long; cut off");
            return Some((Err(std::io::Error::other("download too slow")), None));
        }
        let mut buf = vec![0u8; 64 * 1024];
        match file.read(&mut buf).await {
            Ok(0) => None,
            Ok(n) => {
                buf.truncate(n);
                Some((
                    Ok::<_, std::io::Error>(axum::body::Bytes::from(buf)),
                    Some((file, turn)),
                ))
            }
            Err(e) => Some((Err(e), None)),
        }
    });
    Ok(attachment(
        &format!("{}.xlsx", table.name),
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        Body::from_stream(body.fuse()),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_choose_table_and_format() {
        assert_eq!(
            parse_file("households.csv"),
            Some(("households", Format::Csv))
        );
        assert_eq!(
            parse_file("national.xlsx"),
            Some(("national", Format::Xlsx))
        );
        assert_eq!(parse_file("regions.xls"), None);
        assert_eq!(parse_file("users.csv"), None);
        assert_eq!(parse_file("households"), None);
    }

    #[test]
    fn csv_cells_are_escaped_and_money_is_yuan() {
        let mut out = String::new();
        csv_line(
            &[
                Cell::Text("=SUM(A1)".into()),
                Cell::Int(-3),
                Cell::Yuan(-123_450),
                Cell::Empty,
                Cell::Text("a,\"b\"".into()),
            ],
            &mut out,
        );
        assert_eq!(out, "'=SUM(A1),-3,-1234.50,,\"a,\"\"b\"\"\"\n");
    }
}
