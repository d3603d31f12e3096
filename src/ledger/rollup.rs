//! Maintained roll-ups of the ledger for the officials' dashboard (migration
//! `20261202000001_rollup`). The one writer of `rollup_epochs`, `rollup_households`,
//! `rollup_regions`, `rollup_places`, `region_months`, `region_years` and
//! `household_sale_years` (migrations `20261202000001_rollup`, `20261203000001_rollup_levels`).
//! Each figure is kept per region of every level: a village's figures are added under the first
//! 2, 4, 6, 9 and 12 digits of its code ([`LEVELS`]), so a region's dashboard reads one row per
//! region directly below it instead of every village, household and ledger row inside it.
//!
//! - Income per region and month, households with a sale and GMV per region and year are
//!   kept by the posting itself ([`posted`], [`order_posted`]), in its transaction, under the
//!   ledger's head lock, so they always equal the live sums. A household moved to another
//!   village by an import has its sums moved with it ([`refresh`]); a listing whose origin
//!   changes moves its GMV ([`listing_moved`]).
//! - Rolling per-capita income against the line depends on the 12-month window (it moves
//!   every month) and on the year's line, so it is kept per *epoch*, one (window, line) pair.
//!   [`keep_current`] builds the epoch of now in short chunks in the background while every
//!   posting keeps every epoch in the table current; the dashboard uses an epoch only once it
//!   is ready and is the epoch of now ([`sources`]) and computes the figures live otherwise.
//!   In the last [`AHEAD`] seconds of a month it also builds next month's epoch, so that one is
//!   ready when the window moves and the dashboard never falls back to the live figures at a
//!   month's turn (only when the line changes, or after the server was down over a turn).
//! - [`check`] (`zhunong check-rollup`, and the tests) compares all of it with the live
//!   queries.
//!
//! Every writer holds the ledger's head lock (postings already do), so writers are serialised
//! and the diffs below never race.

use super::post::lock_head;
use super::server::{rolling_table, rolling_window};
use crate::domain::calendar::{add_months, month_start_of, year_of};
use crate::domain::money::Fen;
use crate::domain::region::RegionCode;
use crate::error::AppError;
use crate::official::api::{bucket_of, DISTRIBUTION_BUCKETS};
use crate::server::db::{monitoring_line, now, year_start, Db};
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::Ordering;

type Tx = sqlx::Transaction<'static, sqlx::Any>;

/// How many leading digits of a village's code name the region of each level it lies in:
/// province, city, county, township, village. Every sum is kept under each.
pub const LEVELS: [usize; 5] = [2, 4, 6, 9, 12];

/// The regions a code's figures are counted under: (k, its first k digits) for each level (the
/// whole code where it is shorter, as SQL's `substr` gives).
fn prefixes(code: &str) -> [(i64, &str); 5] {
    LEVELS.map(|k| (k as i64, code.get(..k).unwrap_or(code)))
}

/// An SQL condition that the row `alias` (of `region_months`, `region_years` or
/// `rollup_regions`) is a region of `k` digits inside `region` (`region` itself when `k` is its
/// own level).
pub fn at_level(alias: &str, k: usize, region: &RegionCode) -> String {
    format!(
        "{alias}.k = {k} AND {}",
        within(&format!("{alias}.prefix"), region)
    )
}

/// A sum kept per region of every level: its table, its key besides the region (k, prefix),
/// and the two values it adds up.
struct LevelSum {
    table: &'static str,
    key: &'static str,
    values: [&'static str; 2],
}

/// Ledger income per region and China-time month.
const MONTHS: LevelSum = LevelSum {
    table: "region_months",
    key: "month_start",
    values: ["verified_fen", "attested_fen"],
};

/// Households with a sale and GMV per region and year.
const YEARS: LevelSum = LevelSum {
    table: "region_years",
    key: "year",
    values: ["sale_households", "gmv_fen"],
};

/// An upsert adding to `sum`'s rows under every level's prefix of one code: `$1`..`$5` are the
/// prefixes, `$6` the key, `$7` and `$8` the values added.
fn level_upsert(sum: &LevelSum) -> String {
    let LevelSum { table, key, values } = sum;
    let n = LEVELS.len();
    let rows: Vec<String> = LEVELS
        .iter()
        .enumerate()
        .map(|(i, k)| format!("({k}, ${}, ${}, ${}, ${})", i + 1, n + 1, n + 2, n + 3))
        .collect();
    let sets: Vec<String> = values
        .iter()
        .map(|c| format!("{c} = {table}.{c} + excluded.{c}"))
        .collect();
    format!(
        "INSERT INTO {table} (k, prefix, {key}, {}) VALUES {} ON CONFLICT (k, prefix, {key}) DO UPDATE SET {}",
        values.join(", "),
        rows.join(", "),
        sets.join(", ")
    )
}

/// Fills the other levels of `sum`'s table from its village rows (k = 12), whose prefix is the
/// whole code.
async fn fill_levels(tx: &mut Tx, sum: &LevelSum) -> Result<(), AppError> {
    let LevelSum { table, key, values } = sum;
    let sums: Vec<String> = values
        .iter()
        .map(|c| format!("CAST(SUM({c}) AS BIGINT)"))
        .collect();
    for k in LEVELS.iter().filter(|&&k| k != 12) {
        sqlx::query(&format!(
            "INSERT INTO {table} (k, prefix, {key}, {cols})
             SELECT {k}, substr(prefix, 1, {k}), {key}, {sums} FROM {table} WHERE k = 12
              GROUP BY substr(prefix, 1, {k}), {key}",
            cols = values.join(", "),
            sums = sums.join(", ")
        ))
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

/// Buckets per region: those of [`DISTRIBUTION_BUCKETS`], then "no figure" (`b7`).
pub const BUCKETS: usize = DISTRIBUTION_BUCKETS.len() + 2;

/// Households per chunk of an epoch's build: each chunk is one short write transaction.
const CHUNK: i64 = 2_000;

/// Rows per multi-row INSERT (6 bound values each).
const INSERT_ROWS: usize = 400;

/// Order statuses whose items count as GMV (as the live query says).
const GMV_STATUSES: &str = "'paid', 'shipped', 'delivered'";

/// What the dashboard may read from the maintained tables now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sources {
    /// The ready epoch of now's window and of the line asked for.
    pub epoch: Option<i64>,
    /// Whether the income, sale and GMV sums are filled.
    pub sums: bool,
}

impl Sources {
    /// Everything computed live from the ledger (for the tests' comparison).
    pub const LIVE: Sources = Sources {
        epoch: None,
        sums: false,
    };
}

/// What the dashboard may read, for figures judged against `line`.
pub async fn sources(db: &Db, line: Option<Fen>) -> Result<Sources, AppError> {
    sources_at(db, line, now()).await
}

/// [`sources`] at the time `at` (the tests look past a month's turn).
pub async fn sources_at(db: &Db, line: Option<Fen>, at: i64) -> Result<Sources, AppError> {
    Ok(Sources {
        epoch: ready_epoch(&db.pool, line, at).await?,
        sums: sums_current(&db.pool).await?,
    })
}

/// The ready epoch of the window at `at`, if it was built for `line`.
async fn ready_epoch<'e, E>(db: E, line: Option<Fen>, at: i64) -> Result<Option<i64>, AppError>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    let ready: Option<(i64, Option<i64>)> = sqlx::query_as(
        "SELECT id, line_fen FROM rollup_epochs WHERE state = 'ready' AND window_from = $1
          ORDER BY id DESC LIMIT 1",
    )
    .bind(rolling_window(at).0)
    .fetch_optional(db)
    .await?;
    Ok(ready.filter(|r| r.1 == line.map(Fen::fen)).map(|r| r.0))
}

/// Whether the sums count every ledger row (their watermark is the last row's id).
async fn sums_current<'e, E>(db: E) -> Result<bool, AppError>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    let current: i64 = sqlx::query_scalar(
        "SELECT CAST(COUNT(*) AS BIGINT) FROM rollup_state
          WHERE id = 1 AND sums_through = (SELECT COALESCE(MAX(id), 0) FROM ledger_entries)",
    )
    .fetch_one(db)
    .await?;
    Ok(current == 1)
}

/// An SQL condition that `col` (a region code column) lies inside `region`: a range on the
/// code's digits, which both backends answer from an index (unlike LIKE). The bounds are the
/// region's own digits.
pub fn within(col: &str, region: &RegionCode) -> String {
    let prefix = region.scope_prefix();
    match next_prefix(prefix) {
        Some(upper) => format!("{col} >= '{prefix}' AND {col} < '{upper}'"),
        None => format!("{col} >= '{prefix}'"),
    }
}

/// The smallest digit string of the same length above `prefix` (None for all nines).
fn next_prefix(prefix: &str) -> Option<String> {
    let mut digits: Vec<u8> = prefix.bytes().collect();
    for i in (0..digits.len()).rev() {
        if digits[i] < b'9' {
            digits[i] += 1;
            return String::from_utf8(digits).ok();
        }
        digits[i] = b'0';
    }
    None
}

/// The China-time year of a Unix time (the years of `year_start`).
fn china_year(t: i64) -> i64 {
    year_of(t + 8 * 3600)
}

/// Adds ledger row `id` (already in `income_months`; `verified_fen` and `attested_fen` are its
/// amount, by kind) to its household's `village` month and, for a sale, marks the household's
/// year; moves the sums' watermark on (if it was current); then refreshes the household's
/// rolling income in every live epoch. Runs in the posting's transaction, which holds the head
/// lock.
pub(super) async fn posted(
    tx: &mut Tx,
    id: i64,
    village: &str,
    row: &super::post::RowContent,
    verified_fen: i64,
    attested_fen: i64,
) -> Result<(), AppError> {
    let (household_id, occurred_at) = (row.household_id, row.occurred_at);
    let is_sale = row.source_type == "sale";
    add_region_month(
        tx,
        village,
        month_start_of(occurred_at),
        verified_fen,
        attested_fen,
    )
    .await?;
    if is_sale {
        let year = china_year(occurred_at);
        let marked = sqlx::query(
            "INSERT INTO household_sale_years (household_id, year) VALUES ($1, $2)
             ON CONFLICT (household_id, year) DO NOTHING",
        )
        .bind(household_id)
        .bind(year)
        .execute(&mut **tx)
        .await?
        .rows_affected();
        if marked == 1 {
            add_region_year(tx, year, village, 1, 0).await?;
        }
    }
    // The sums now count through this row, if they counted through the row before it.
    sqlx::query(
        "UPDATE rollup_state SET sums_through = $1
          WHERE id = 1 AND sums_through = (SELECT COALESCE(MAX(e.id), 0) FROM ledger_entries e WHERE e.id < $1)",
    )
    .bind(id)
    .execute(&mut **tx)
    .await?;
    refresh_epochs(tx, &[household_id]).await
}

/// Adds (sign 1) or takes away (sign -1) an order's items from the GMV of their listings'
/// origins, in the year it was paid: called when its sale or its reversal is posted.
pub(super) async fn order_posted(tx: &mut Tx, order_id: i64, sign: i64) -> Result<(), AppError> {
    let paid_at: Option<i64> = sqlx::query_scalar("SELECT paid_at FROM orders WHERE id = $1")
        .bind(order_id)
        .fetch_one(&mut **tx)
        .await?;
    let paid_at = paid_at.ok_or_else(|| AppError::internal("a posted order has no paid_at"))?;
    let lines: Vec<(String, i64)> = sqlx::query_as(
        "SELECT l.origin_code, CAST(SUM(oi.line_total_fen) AS BIGINT)
           FROM order_items oi JOIN listings l ON l.id = oi.listing_id
          WHERE oi.order_id = $1 GROUP BY l.origin_code",
    )
    .bind(order_id)
    .fetch_all(&mut **tx)
    .await?;
    for (origin, fen) in lines {
        add_region_year(tx, china_year(paid_at), &origin, 0, sign * fen).await?;
    }
    Ok(())
}

/// A listing's origin changed from `old` to `new`: the GMV of its paid orders moves with it
/// (the dashboard counts sales under the listing's origin). Takes the head lock.
pub async fn listing_moved(
    tx: &mut Tx,
    listing_id: i64,
    old: &str,
    new: &str,
) -> Result<(), AppError> {
    if old == new {
        return Ok(());
    }
    lock_head(tx).await?;
    let years: Vec<(i64, i64)> = sqlx::query_as(&format!(
        "SELECT od.paid_at, oi.line_total_fen FROM order_items oi JOIN orders od ON od.id = oi.order_id
          WHERE oi.listing_id = $1 AND od.status IN ({GMV_STATUSES}) AND od.paid_at IS NOT NULL"
    ))
    .bind(listing_id)
    .fetch_all(&mut **tx)
    .await?;
    let mut per_year = BTreeMap::<i64, i64>::new();
    for (paid_at, fen) in years {
        let sum = per_year.entry(china_year(paid_at)).or_default();
        *sum = sum
            .checked_add(fen)
            .ok_or_else(|| AppError::internal("GMV overflow"))?;
    }
    for (year, fen) in per_year {
        add_region_year(tx, year, old, 0, -fen).await?;
        add_region_year(tx, year, new, 0, fen).await?;
    }
    Ok(())
}

/// Brings these households' rows up to date after a change of their village, members or
/// baseline (an import): their sums move to their village, their rolling income is
/// recomputed in every epoch. Takes the head lock.
pub async fn refresh(tx: &mut Tx, household_ids: &[i64]) -> Result<(), AppError> {
    if household_ids.is_empty() {
        return Ok(());
    }
    lock_head(tx).await?;
    for id in household_ids {
        place(tx, *id).await?;
    }
    refresh_epochs(tx, household_ids).await
}

/// [`refresh`] for every household, a chunk per transaction; returns how many.
pub async fn refresh_all(db: &Db) -> Result<i64, AppError> {
    let mut after = 0i64;
    let mut n = 0i64;
    loop {
        let ids: Vec<i64> =
            sqlx::query_scalar("SELECT id FROM households WHERE id > $1 ORDER BY id LIMIT $2")
                .bind(after)
                .bind(CHUNK)
                .fetch_all(&db.pool)
                .await?;
        let Some(&last) = ids.last() else {
            return Ok(n);
        };
        let mut tx = db.begin_write().await?;
        refresh(&mut tx, &ids).await?;
        tx.commit().await?;
        n += ids.len() as i64;
        after = last;
    }
}

/// Rebuilds everything from the ledger: the sums, then the epoch of now from scratch
/// (`zhunong rebuild-rollup`, and the benchmark after generating its data).
pub async fn rebuild(db: &Db) -> Result<Vec<Built>, AppError> {
    rebuild_sums(db).await?;
    let mut tx = db.begin_write().await?;
    lock_head(&mut tx).await?;
    retire(&mut tx, "id <> $1", 0).await?;
    tx.commit().await?;
    keep_current(db).await
}

async fn add_region_month(
    tx: &mut Tx,
    village: &str,
    month_start: i64,
    verified_fen: i64,
    attested_fen: i64,
) -> Result<(), AppError> {
    add_at_levels(
        tx,
        &MONTHS,
        village,
        month_start,
        [verified_fen, attested_fen],
    )
    .await
}

async fn add_region_year(
    tx: &mut Tx,
    year: i64,
    region: &str,
    sale_households: i64,
    gmv_fen: i64,
) -> Result<(), AppError> {
    add_at_levels(tx, &YEARS, region, year, [sale_households, gmv_fen]).await
}

/// Adds `values` to `sum`'s rows at `key` of every region `code` lies in, in one statement.
async fn add_at_levels(
    tx: &mut Tx,
    sum: &LevelSum,
    code: &str,
    key: i64,
    values: [i64; 2],
) -> Result<(), AppError> {
    let sql = level_upsert(sum);
    let mut q = sqlx::query(&sql);
    for (_, prefix) in prefixes(code) {
        q = q.bind(prefix);
    }
    q.bind(key)
        .bind(values[0])
        .bind(values[1])
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// The household's village for the roll-ups, its sums moved there first if they were counted
/// under another: called before a ledger row of it counts anywhere, and after an import.
pub(super) async fn place(tx: &mut Tx, household_id: i64) -> Result<String, AppError> {
    let village: String = sqlx::query_scalar("SELECT region_code FROM households WHERE id = $1")
        .bind(household_id)
        .fetch_one(&mut **tx)
        .await?;
    let placed: Option<String> =
        sqlx::query_scalar("SELECT village_code FROM rollup_places WHERE household_id = $1")
            .bind(household_id)
            .fetch_optional(&mut **tx)
            .await?;
    match placed {
        None => {
            sqlx::query("INSERT INTO rollup_places (household_id, village_code) VALUES ($1, $2)")
                .bind(household_id)
                .bind(&village)
                .execute(&mut **tx)
                .await?;
        }
        Some(old) if old != village => {
            let months: Vec<(i64, i64, i64)> = sqlx::query_as(
                "SELECT month_start, verified_fen, attested_fen FROM income_months WHERE household_id = $1",
            )
            .bind(household_id)
            .fetch_all(&mut **tx)
            .await?;
            for (month, v, a) in months {
                add_region_month(tx, &old, month, -v, -a).await?;
                add_region_month(tx, &village, month, v, a).await?;
            }
            let years: Vec<i64> =
                sqlx::query_scalar("SELECT year FROM household_sale_years WHERE household_id = $1")
                    .bind(household_id)
                    .fetch_all(&mut **tx)
                    .await?;
            for year in years {
                add_region_year(tx, year, &old, -1, 0).await?;
                add_region_year(tx, year, &village, 1, 0).await?;
            }
            sqlx::query("UPDATE rollup_places SET village_code = $1 WHERE household_id = $2")
                .bind(&village)
                .bind(household_id)
                .execute(&mut **tx)
                .await?;
        }
        Some(_) => {}
    }
    Ok(village)
}

/// Recomputes these households in every epoch in the table (ready or being built).
async fn refresh_epochs(tx: &mut Tx, household_ids: &[i64]) -> Result<(), AppError> {
    let epochs: Vec<(i64, i64, Option<i64>)> = sqlx::query_as(
        "SELECT id, window_from, line_fen FROM rollup_epochs WHERE state <> 'retired' ORDER BY id",
    )
    .fetch_all(&mut **tx)
    .await?;
    for (id, from, line) in epochs {
        refresh_epoch(tx, id, from, line, household_ids).await?;
    }
    Ok(())
}

/// Recomputes the rolling income of `household_ids` for the epoch `(window_from, line)`, and
/// moves each from its old bucket (and village) to its new one in `rollup_regions`, at every level.
async fn refresh_epoch(
    tx: &mut Tx,
    epoch: i64,
    window_from: i64,
    line: Option<i64>,
    household_ids: &[i64],
) -> Result<(), AppError> {
    let ids: Vec<String> = household_ids.iter().map(i64::to_string).collect();
    let ids = ids.join(",");
    let window = (window_from, add_months(window_from, 12));
    let fresh: Vec<(i64, String, Option<i64>)> = sqlx::query_as(&format!(
        "SELECT x.household_id, x.region_code, x.rolling_pc FROM {} x",
        rolling_table(window, &format!("h.id IN ({ids})"))
    ))
    .fetch_all(&mut **tx)
    .await?;
    let old: Vec<(i64, String, i64)> = sqlx::query_as(&format!(
        "SELECT household_id, village_code, bucket FROM rollup_households
          WHERE epoch = $1 AND household_id IN ({ids})"
    ))
    .bind(epoch)
    .fetch_all(&mut **tx)
    .await?;
    let line = line.map(Fen::new);
    let mut delta: HashMap<(String, usize), i64> = HashMap::new();
    let old_of: HashMap<i64, (String, i64)> =
        old.into_iter().map(|(h, v, b)| (h, (v, b))).collect();
    let mut changed = Vec::new();
    for (h, village, pc) in fresh {
        let bucket = bucket_of(pc, line);
        match old_of.get(&h) {
            Some((v, b)) if *v == village && *b == bucket as i64 => {}
            Some((v, b)) => {
                *delta.entry((v.clone(), *b as usize)).or_default() -= 1;
                *delta.entry((village.clone(), bucket)).or_default() += 1;
                changed.push((h, village, pc, bucket));
            }
            None => {
                *delta.entry((village.clone(), bucket)).or_default() += 1;
                changed.push((h, village, pc, bucket));
            }
        }
    }
    for rows in changed.chunks(INSERT_ROWS) {
        let values: Vec<String> = (0..rows.len())
            .map(|i| {
                let p = i * 6;
                format!(
                    "(${}, ${}, ${}, ${}, ${}, ${})",
                    p + 1,
                    p + 2,
                    p + 3,
                    p + 4,
                    p + 5,
                    p + 6
                )
            })
            .collect();
        let sql = format!(
            "INSERT INTO rollup_households (epoch, household_id, village_code, rolling_pc, bucket, rank_pc)
             VALUES {}
             ON CONFLICT (epoch, household_id) DO UPDATE
                SET village_code = excluded.village_code, rolling_pc = excluded.rolling_pc,
                    bucket = excluded.bucket, rank_pc = excluded.rank_pc",
            values.join(",")
        );
        let mut q = sqlx::query(&sql);
        for (h, village, pc, bucket) in rows {
            q = q
                .bind(epoch)
                .bind(*h)
                .bind(village.as_str())
                .bind(*pc)
                .bind(*bucket as i64)
                .bind(pc.unwrap_or(0));
        }
        q.execute(&mut **tx).await?;
    }
    let mut by_region: BTreeMap<(i64, String, usize), i64> = BTreeMap::new();
    for ((village, bucket), d) in delta {
        for (k, prefix) in prefixes(&village) {
            *by_region.entry((k, prefix.to_owned(), bucket)).or_default() += d;
        }
    }
    for ((k, prefix, bucket), d) in by_region {
        if d == 0 || bucket >= BUCKETS {
            continue;
        }
        // The column is one of b0..b7, made here.
        sqlx::query(&format!(
            "INSERT INTO rollup_regions (epoch, k, prefix, b{bucket}) VALUES ($1, $2, $3, $4)
             ON CONFLICT (epoch, k, prefix) DO UPDATE SET b{bucket} = rollup_regions.b{bucket} + excluded.b{bucket}"
        ))
        .bind(epoch)
        .bind(k)
        .bind(&prefix)
        .bind(d)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

/// What a build did.
#[derive(Debug, Clone, Copy)]
pub struct Built {
    pub epoch: i64,
    pub households: i64,
    pub seconds: f64,
}

/// How long before a month turns its next month's epoch is built (a build at a million
/// households takes minutes; the live figures of a province, tens of seconds per request).
pub const AHEAD: i64 = 24 * 3600;

/// The windows whose epochs are kept at `at`: this month's, and next month's in the last
/// [`AHEAD`] seconds of the month.
pub fn kept_windows(at: i64) -> Vec<i64> {
    let current = rolling_window(at).0;
    let next = rolling_window(at + AHEAD).0;
    if next == current {
        vec![current]
    } else {
        vec![current, next]
    }
}

/// Builds the epoch of now (this month's window, this year's line) unless it is ready, and
/// next month's near the turn ([`kept_windows`]), in chunks of [`CHUNK`] households; retires
/// the epochs of other windows and purges old retired ones. Returns what it built: nothing
/// when all was ready (or another build in this process is under way). Housekeeping runs it
/// every minute; so does the server at start.
pub async fn keep_current(db: &Db) -> Result<Vec<Built>, AppError> {
    keep_current_at(db, now()).await
}

/// [`keep_current`] as if the time were `at` (the tests build next month's epoch).
pub async fn keep_current_at(db: &Db, at: i64) -> Result<Vec<Built>, AppError> {
    if db.rollup_building.swap(true, Ordering::SeqCst) {
        return Ok(Vec::new());
    }
    // Cleared however the build ends (also if its task is dropped).
    struct Done<'a>(&'a std::sync::atomic::AtomicBool);
    impl Drop for Done<'_> {
        fn drop(&mut self) {
            self.0.store(false, Ordering::SeqCst);
        }
    }
    let _done = Done(&db.rollup_building);
    prepare(db).await?;
    let windows = kept_windows(at);
    let mut built = Vec::new();
    for &from in &windows {
        built.extend(build(db, from, &windows).await?);
    }
    retire_outdated(db, &windows).await?;
    purge(db).await?;
    Ok(built)
}

/// Retires the epochs of windows no longer kept (last month's, once the month has turned).
async fn retire_outdated(db: &Db, windows: &[i64]) -> Result<(), AppError> {
    let list = windows
        .iter()
        .map(i64::to_string)
        .collect::<Vec<_>>()
        .join(", ");
    let outdated = format!("id <> $1 AND window_from NOT IN ({list})");
    let n: i64 = sqlx::query_scalar(&format!(
        "SELECT CAST(COUNT(*) AS BIGINT) FROM rollup_epochs WHERE {outdated} AND state <> 'retired'"
    ))
    .bind(0i64)
    .fetch_one(&db.pool)
    .await?;
    if n > 0 {
        let mut tx = db.begin_write().await?;
        lock_head(&mut tx).await?;
        retire(&mut tx, &outdated, 0).await?;
        tx.commit().await?;
    }
    Ok(())
}

/// How long a retired epoch's rows stay (a request reading it finishes long before).
const RETIRED_FOR: i64 = 3600;

/// Builds the epoch of the window starting at `from` for the line of its last month's year,
/// unless it is ready; `windows` are all the windows kept now.
async fn build(db: &Db, from: i64, windows: &[i64]) -> Result<Option<Built>, AppError> {
    let started = std::time::Instant::now();
    let to = add_months(from, 12);
    let line = monitoring_line(db, china_year(to - 1)).await?.map(Fen::fen);
    let epochs: Vec<(i64, i64, Option<i64>, String)> =
        sqlx::query_as("SELECT id, window_from, line_fen, state FROM rollup_epochs")
            .fetch_all(&db.pool)
            .await?;
    let mine = |e: &(i64, i64, Option<i64>, String)| e.1 == from && e.2 == line;
    // A build for another line of this window (the line changed, perhaps back), or of a window
    // no longer kept, that never finished is given up.
    let abandoned: Vec<i64> = epochs
        .iter()
        .filter(|e| !mine(e) && e.3 == "building" && (e.1 == from || !windows.contains(&e.1)))
        .map(|e| e.0)
        .collect();
    if epochs.iter().any(|e| mine(e) && e.3 == "ready") {
        if !abandoned.is_empty() {
            let mut tx = db.begin_write().await?;
            lock_head(&mut tx).await?;
            for id in abandoned {
                retire(&mut tx, "id = $1", id).await?;
            }
            tx.commit().await?;
        }
        return Ok(None);
    }
    let epoch = {
        let mut tx = db.begin_write().await?;
        lock_head(&mut tx).await?;
        for &id in &abandoned {
            retire(&mut tx, "id = $1", id).await?;
        }
        let existing = epochs
            .iter()
            .find(|e| mine(e) && e.3 != "retired")
            .map(|e| e.0);
        let id = match existing {
            Some(id) => id,
            None => {
                sqlx::query_scalar(
                    "INSERT INTO rollup_epochs (window_from, line_fen, state, created_at)
                     VALUES ($1, $2, 'building', $3) RETURNING id",
                )
                .bind(from)
                .bind(line)
                .bind(now())
                .fetch_one(&mut *tx)
                .await?
            }
        };
        tx.commit().await?;
        id
    };
    let mut after = 0i64;
    let mut households = 0i64;
    loop {
        let mut tx = db.begin_write().await?;
        lock_head(&mut tx).await?;
        let alive: Option<i64> =
            sqlx::query_scalar("SELECT id FROM rollup_epochs WHERE id = $1 AND state <> 'retired'")
                .bind(epoch)
                .fetch_optional(&mut *tx)
                .await?;
        if alive.is_none() {
            // Given up by a newer build (another process): nothing more to do here.
            return Ok(None);
        }
        let ids: Vec<i64> =
            sqlx::query_scalar("SELECT id FROM households WHERE id > $1 ORDER BY id LIMIT $2")
                .bind(after)
                .bind(CHUNK)
                .fetch_all(&mut *tx)
                .await?;
        let Some(&last) = ids.last() else {
            sqlx::query("UPDATE rollup_epochs SET state = 'ready', ready_at = $1 WHERE id = $2")
                .bind(now())
                .bind(epoch)
                .execute(&mut *tx)
                .await?;
            retire(
                &mut tx,
                &format!("id <> $1 AND window_from = {from}"),
                epoch,
            )
            .await?;
            tx.commit().await?;
            break;
        };
        refresh_epoch(&mut tx, epoch, from, line, &ids).await?;
        tx.commit().await?;
        households += ids.len() as i64;
        after = last;
    }
    let seconds = started.elapsed().as_secs_f64();
    tracing::info!(epoch, households, seconds, "roll-up epoch built");
    Ok(Some(Built {
        epoch,
        households,
        seconds,
    }))
}

/// Retires the epochs matching `which` (with `$1` bound to `id`): no longer read or kept.
async fn retire(tx: &mut Tx, which: &str, id: i64) -> Result<(), AppError> {
    sqlx::query(&format!(
        "UPDATE rollup_epochs SET state = 'retired', retired_at = $2 WHERE {which} AND state <> 'retired'"
    ))
    .bind(id)
    .bind(now())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Deletes the epochs retired more than [`RETIRED_FOR`] ago with their rows, a chunk of rows
/// per statement.
async fn purge(db: &Db) -> Result<(), AppError> {
    let old: Vec<i64> = sqlx::query_scalar(
        "SELECT id FROM rollup_epochs WHERE state = 'retired' AND retired_at < $1",
    )
    .bind(now() - RETIRED_FOR)
    .fetch_all(&db.pool)
    .await?;
    for epoch in old {
        loop {
            let n = sqlx::query(&format!(
                "DELETE FROM rollup_households WHERE epoch = $1 AND household_id IN
                   (SELECT household_id FROM rollup_households WHERE epoch = $1 LIMIT {})",
                CHUNK * 5
            ))
            .bind(epoch)
            .execute(db.writer())
            .await?
            .rows_affected();
            if n == 0 {
                break;
            }
        }
        sqlx::query("DELETE FROM rollup_regions WHERE epoch = $1")
            .bind(epoch)
            .execute(db.writer())
            .await?;
        sqlx::query("DELETE FROM rollup_epochs WHERE id = $1")
            .bind(epoch)
            .execute(db.writer())
            .await?;
    }
    Ok(())
}

/// Fills the sums (places, region months, sale years, GMV) from the ledger and the orders,
/// replacing what they held: at the first start after the migration, and for the benchmark's
/// generated data. Holds the head lock for the whole transaction.
pub async fn rebuild_sums(db: &Db) -> Result<(), AppError> {
    let mut tx = db.begin_write().await?;
    lock_head(&mut tx).await?;
    for table in [
        "rollup_places",
        "region_months",
        "region_years",
        "household_sale_years",
    ] {
        sqlx::query(&format!("DELETE FROM {table}"))
            .execute(&mut *tx)
            .await?;
    }
    sqlx::query("INSERT INTO rollup_places (household_id, village_code) SELECT id, region_code FROM households")
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        "INSERT INTO region_months (k, prefix, month_start, verified_fen, attested_fen)
         SELECT 12, h.region_code, i.month_start, CAST(SUM(i.verified_fen) AS BIGINT), CAST(SUM(i.attested_fen) AS BIGINT)
           FROM income_months i JOIN households h ON h.id = i.household_id
          GROUP BY i.month_start, h.region_code",
    )
    .execute(&mut *tx)
    .await?;
    fill_levels(&mut tx, &MONTHS).await?;
    for year in years_of(
        &mut tx,
        "SELECT MIN(occurred_at), MAX(occurred_at) FROM ledger_entries WHERE source_type = 'sale'",
    )
    .await?
    {
        sqlx::query(
            "INSERT INTO household_sale_years (household_id, year)
             SELECT DISTINCT household_id, $1 FROM ledger_entries
              WHERE source_type = 'sale' AND occurred_at >= $2 AND occurred_at < $3",
        )
        .bind(year)
        .bind(year_start(year))
        .bind(year_start(year + 1))
        .execute(&mut *tx)
        .await?;
    }
    sqlx::query(
        "INSERT INTO region_years (k, prefix, year, sale_households)
         SELECT 12, h.region_code, s.year, COUNT(*) FROM household_sale_years s
           JOIN households h ON h.id = s.household_id GROUP BY s.year, h.region_code",
    )
    .execute(&mut *tx)
    .await?;
    for year in years_of(
        &mut tx,
        "SELECT MIN(paid_at), MAX(paid_at) FROM orders WHERE paid_at IS NOT NULL",
    )
    .await?
    {
        sqlx::query(&format!(
            "INSERT INTO region_years (k, prefix, year, gmv_fen)
             SELECT 12, l.origin_code, $1, CAST(SUM(oi.line_total_fen) AS BIGINT)
               FROM order_items oi JOIN orders od ON od.id = oi.order_id
               JOIN listings l ON l.id = oi.listing_id
              WHERE od.status IN ({GMV_STATUSES}) AND od.paid_at >= $2 AND od.paid_at < $3
              GROUP BY l.origin_code
             ON CONFLICT (k, prefix, year) DO UPDATE SET gmv_fen = excluded.gmv_fen"
        ))
        .bind(year)
        .bind(year_start(year))
        .bind(year_start(year + 1))
        .execute(&mut *tx)
        .await?;
    }
    fill_levels(&mut tx, &YEARS).await?;
    sqlx::query(
        "UPDATE rollup_state SET sums_through = (SELECT COALESCE(MAX(id), 0) FROM ledger_entries)
          WHERE id = 1",
    )
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}

/// The China-time years from the first to the last time `sql` returns (none when empty).
async fn years_of(
    conn: &mut sqlx::AnyConnection,
    sql: &str,
) -> Result<std::ops::RangeInclusive<i64>, AppError> {
    let (first, last): (Option<i64>, Option<i64>) = sqlx::query_as(sql).fetch_one(conn).await?;
    Ok(match (first, last) {
        (Some(a), Some(b)) => china_year(a)..=china_year(b),
        #[allow(clippy::reversed_empty_ranges)]
        _ => 1..=0,
    })
}

/// Fills the sums from the ledger if they do not count every row: after the migration that
/// made them, or after rows were posted by something that does not keep them (an older server
/// still running after the migration). At start, and before every build check.
pub async fn prepare(db: &Db) -> Result<(), AppError> {
    if !sums_current(&db.pool).await? {
        rebuild_sums(db).await?;
        tracing::info!("roll-up sums filled from the ledger");
    }
    Ok(())
}

/// Every difference between the maintained tables and the live queries over the ledger, at
/// every level: income per region and month, sale households and GMV per region and year, and
/// every ready epoch's buckets per region, against its own window and line. Empty when they
/// agree.
pub async fn check(db: &Db) -> Result<Vec<String>, AppError> {
    let mut problems = Vec::new();
    // One snapshot: a posting committed meanwhile is in all of it or none.
    let mut tx = db.pool.begin().await?;
    if db.backend == crate::server::db::Backend::Postgres {
        sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            .execute(&mut *tx)
            .await?;
    }
    let live_months: Vec<(i64, String, i64, i64)> = sqlx::query_as(
        "SELECT i.month_start, h.region_code, CAST(SUM(i.verified_fen) AS BIGINT), CAST(SUM(i.attested_fen) AS BIGINT)
           FROM income_months i JOIN households h ON h.id = i.household_id
          GROUP BY i.month_start, h.region_code",
    )
    .fetch_all(&mut *tx)
    .await?;
    let kept_months: Vec<(i64, String, i64, i64, i64)> = sqlx::query_as(
        "SELECT k, prefix, month_start, verified_fen, attested_fen FROM region_months",
    )
    .fetch_all(&mut *tx)
    .await?;
    compare(
        &mut problems,
        "region month",
        every_level(live_months.into_iter().map(|(m, v, a, b)| (v, m, (a, b)))),
        kept_months
            .into_iter()
            .map(|(k, p, m, a, b)| ((k, p, m), (a, b))),
    );
    let mut live_years: BTreeMap<(i64, String), (i64, i64)> = BTreeMap::new();
    let sale_years = years_of(
        &mut tx,
        "SELECT MIN(occurred_at), MAX(occurred_at) FROM ledger_entries WHERE source_type = 'sale'",
    )
    .await?;
    let gmv_years = years_of(
        &mut tx,
        "SELECT MIN(paid_at), MAX(paid_at) FROM orders WHERE paid_at IS NOT NULL",
    )
    .await?;
    for year in sale_years {
        let rows: Vec<(String, i64)> = sqlx::query_as(
            "SELECT h.region_code, COUNT(DISTINCT e.household_id) FROM ledger_entries e
               JOIN households h ON h.id = e.household_id
              WHERE e.source_type = 'sale' AND e.occurred_at >= $1 AND e.occurred_at < $2
              GROUP BY h.region_code",
        )
        .bind(year_start(year))
        .bind(year_start(year + 1))
        .fetch_all(&mut *tx)
        .await?;
        for (v, n) in rows {
            live_years.entry((year, v)).or_default().0 += n;
        }
    }
    for year in gmv_years {
        let rows: Vec<(String, i64)> = sqlx::query_as(&format!(
            "SELECT l.origin_code, CAST(SUM(oi.line_total_fen) AS BIGINT) FROM order_items oi
               JOIN orders od ON od.id = oi.order_id JOIN listings l ON l.id = oi.listing_id
              WHERE od.status IN ({GMV_STATUSES}) AND od.paid_at >= $1 AND od.paid_at < $2
              GROUP BY l.origin_code"
        ))
        .bind(year_start(year))
        .bind(year_start(year + 1))
        .fetch_all(&mut *tx)
        .await?;
        for (origin, fen) in rows {
            live_years.entry((year, origin)).or_default().1 += fen;
        }
    }
    let kept_years: Vec<(i64, String, i64, i64, i64)> =
        sqlx::query_as("SELECT k, prefix, year, sale_households, gmv_fen FROM region_years")
            .fetch_all(&mut *tx)
            .await?;
    compare(
        &mut problems,
        "region year (households with a sale, GMV)",
        every_level(live_years.into_iter().map(|((y, r), v)| (r, y, v))),
        kept_years
            .into_iter()
            .map(|(k, p, y, s, g)| ((k, p, y), (s, g))),
    );
    let ready: Vec<(i64, i64, Option<i64>)> = sqlx::query_as(
        "SELECT id, window_from, line_fen FROM rollup_epochs WHERE state = 'ready' ORDER BY id",
    )
    .fetch_all(&mut *tx)
    .await?;
    for (epoch, from, line) in ready {
        use futures_util::TryStreamExt;
        let line = line.map(Fen::new);
        let sql = format!(
            "SELECT x.region_code, x.rolling_pc FROM {} x",
            rolling_table((from, add_months(from, 12)), "1 = 1")
        );
        let mut live = sqlx::query_as::<_, (String, Option<i64>)>(&sql).fetch(&mut *tx);
        let mut live_buckets: BTreeMap<(String, usize), (i64, i64)> = BTreeMap::new();
        while let Some((v, pc)) = live.try_next().await? {
            live_buckets.entry((v, bucket_of(pc, line))).or_default().0 += 1;
        }
        drop(live);
        let columns: Vec<String> = (0..BUCKETS).map(|i| format!("b{i}")).collect();
        let rows = sqlx::query(&format!(
            "SELECT k, prefix, {} FROM rollup_regions WHERE epoch = $1",
            columns.join(", ")
        ))
        .bind(epoch)
        .fetch_all(&mut *tx)
        .await?;
        let mut kept = Vec::new();
        for row in rows {
            let k: i64 = sqlx::Row::try_get(&row, 0)?;
            let p: String = sqlx::Row::try_get(&row, 1)?;
            for i in 0..BUCKETS {
                let n: i64 = sqlx::Row::try_get(&row, i + 2)?;
                kept.push(((k, p.clone(), i as i64), (n, 0)));
            }
        }
        compare(
            &mut problems,
            &format!("epoch {epoch}: region bucket"),
            every_level(live_buckets.into_iter().map(|((v, b), n)| (v, b as i64, n))),
            kept,
        );
    }
    tx.rollback().await?;
    Ok(problems)
}

/// Figures per village code (and a key) added up under every level's prefix of the code.
fn every_level(
    rows: impl IntoIterator<Item = (String, i64, (i64, i64))>,
) -> BTreeMap<(i64, String, i64), (i64, i64)> {
    let mut out: BTreeMap<(i64, String, i64), (i64, i64)> = BTreeMap::new();
    for (code, key, (a, b)) in rows {
        for (k, prefix) in prefixes(&code) {
            let e = out.entry((k, prefix.to_owned(), key)).or_default();
            e.0 += a;
            e.1 += b;
        }
    }
    out
}

/// Records every key whose values differ (a missing key counts as zeros).
fn compare<K: Ord + std::fmt::Debug>(
    problems: &mut Vec<String>,
    what: &str,
    live: impl IntoIterator<Item = (K, (i64, i64))>,
    kept: impl IntoIterator<Item = (K, (i64, i64))>,
) {
    type Both = ((i64, i64), (i64, i64));
    let mut all: BTreeMap<K, Both> = BTreeMap::new();
    for (k, v) in live {
        let e = all.entry(k).or_default();
        e.0 .0 += v.0;
        e.0 .1 += v.1;
    }
    for (k, v) in kept {
        let e = all.entry(k).or_default();
        e.1 .0 += v.0;
        e.1 .1 += v.1;
    }
    for (k, (l, m)) in all {
        if l != m {
            problems.push(format!(
                "{what} {k:?}: the ledger says {l:?}, the roll-up {m:?}"
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_cover_exactly_the_codes_inside() {
        assert_eq!(next_prefix("35").as_deref(), Some("36"));
        assert_eq!(next_prefix("3509").as_deref(), Some("3510"));
        assert_eq!(next_prefix("359999").as_deref(), Some("360000"));
        assert_eq!(next_prefix("99"), None);
        let county = RegionCode::parse("350725").unwrap();
        assert_eq!(within("c", &county), "c >= '350725' AND c < '350726'");
        assert_eq!(
            at_level("m", 9, &county),
            "m.k = 9 AND m.prefix >= '350725' AND m.prefix < '350726'"
        );
    }

    #[test]
    fn a_village_counts_under_each_region_it_lies_in() {
        assert_eq!(
            prefixes("350725101201"),
            [
                (2, "35"),
                (4, "3507"),
                (6, "350725"),
                (9, "350725101"),
                (12, "350725101201")
            ]
        );
        // A county's own code (a listing's origin may be one) is whole from k = 6 on.
        assert_eq!(prefixes("350725")[3], (9, "350725"));
        assert_eq!(
            level_upsert(&YEARS),
            "INSERT INTO region_years (k, prefix, year, sale_households, gmv_fen) VALUES \
             (2, $1, $6, $7, $8), (4, $2, $6, $7, $8), (6, $3, $6, $7, $8), \
             (9, $4, $6, $7, $8), (12, $5, $6, $7, $8) ON CONFLICT (k, prefix, year) DO UPDATE \
             SET sale_households = region_years.sale_households + excluded.sale_households, \
             gmv_fen = region_years.gmv_fen + excluded.gmv_fen"
        );
    }
}
