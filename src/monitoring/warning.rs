//! Early warning (预警): visit tasks for paired cadres, raised by a scan that any app process may
//! run. It claims the hour through a row of `settings` (a conditional UPDATE, so of several
//! processes sharing one PostgreSQL only one scans), and every insert is guarded by the unique
//! index of open tasks, so a repeated scan adds nothing.
//!
//! A task is raised for a household with a paired cadre when
//! - its rolling per-capita income is at most the line plus `ZHUNONG_WARNING_MARGIN_PERCENT`
//!   (kind `near_line`; below the line included);
//! - its rolling income fell by a fifth or more over three months (`drop`);
//! - it is a monitoring object with a stalled listing of its own or one that sells for it
//!   (`stalled`).
//!
//! A task of a kind is not raised again within [`crate::domain::monitoring::VISIT_DUE_DAYS`]
//! days of the last one being done; a visit does every open task of its household.

use crate::domain::calendar::{add_months, month_start_of};
use crate::domain::money::Fen;
use crate::ledger::server::{rolling_table, rolling_window};
use crate::server::db::{current_year, monitoring_line, now, Db};

/// The scan runs at most this often (seconds).
pub const EVERY_SECS: i64 = 3600;

/// A fall of at least this share (percent) of rolling income over three months is sharp.
pub const DROP_PERCENT: i64 = 20;

const CLAIM_KEY: &str = "warning_scan_at";

/// Claims this hour's scan; false when another process (or an earlier run) has it.
async fn claim(db: &Db, t: i64) -> Result<bool, sqlx::Error> {
    sqlx::query("INSERT INTO settings (key, value) VALUES ($1, '0') ON CONFLICT (key) DO NOTHING")
        .bind(CLAIM_KEY)
        .execute(db.writer())
        .await?;
    let n = sqlx::query(
        "UPDATE settings SET value = $1 WHERE key = $2 AND CAST(value AS BIGINT) <= $3",
    )
    .bind(t.to_string())
    .bind(CLAIM_KEY)
    .bind(t - EVERY_SECS)
    .execute(db.writer())
    .await?
    .rows_affected();
    Ok(n == 1)
}

/// The condition that no task of `kind` is open for `x.household_id`, nor was done recently.
fn no_recent_task(kind: &str, t: i64) -> String {
    let recent = t - crate::domain::monitoring::VISIT_DUE_DAYS * 86_400;
    format!(
        "NOT EXISTS (SELECT 1 FROM monitoring_tasks k WHERE k.household_id = x.household_id
                       AND k.kind = '{kind}' AND (k.done_at IS NULL OR k.done_at > {recent}))"
    )
}

/// Runs the scan if this hour's is not taken; returns how many tasks it raised.
pub async fn scan(db: &Db, margin_percent: i64) -> Result<u64, sqlx::Error> {
    let t = now();
    if !claim(db, t).await? {
        return Ok(0);
    }
    scan_now(db, margin_percent, t).await
}

/// The scan itself, at time `t` (tests call it directly).
pub async fn scan_now(db: &Db, margin_percent: i64, t: i64) -> Result<u64, sqlx::Error> {
    let line = monitoring_line(db, current_year())
        .await
        .map_err(|e| sqlx::Error::Protocol(e.message))?;
    let paired = "h.id IN (SELECT p.household_id FROM cadre_pairings p)";
    // The tasks and the cadres' notices of them are written together.
    let mut tx = db.begin_write().await?;
    let before: i64 =
        sqlx::query_scalar("SELECT CAST(COALESCE(MAX(id), 0) AS BIGINT) FROM monitoring_tasks")
            .fetch_one(&mut *tx)
            .await?;
    let mut raised = 0;
    if let Some(line) = line {
        let ceiling =
            (line.fen() as i128 * (100 + margin_percent.clamp(0, 1000)) as i128 / 100) as i64;
        raised += sqlx::query(&format!(
            "INSERT INTO monitoring_tasks (household_id, kind, reason, created_at)
             SELECT x.household_id, 'near_line', $1 || CAST(x.rolling_pc AS TEXT), $2
               FROM {} x
              WHERE x.rolling_pc IS NOT NULL AND x.rolling_pc <= {ceiling} AND {}
             ON CONFLICT DO NOTHING",
            rolling_table(rolling_window(t), paired),
            no_recent_task("near_line", t)
        ))
        .bind(format!(
            "line {} fen; rolling per capita fen: ",
            Fen::fen(line)
        ))
        .bind(t)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    }
    let earlier = rolling_window(add_months(month_start_of(t), -3));
    raised += sqlx::query(&format!(
        "INSERT INTO monitoring_tasks (household_id, kind, reason, created_at)
         SELECT x.household_id, 'drop', $1 || CAST(b.rolling_pc AS TEXT) || ' -> ' || CAST(x.rolling_pc AS TEXT), $2
           FROM {} x JOIN {} b ON b.household_id = x.household_id
          WHERE b.rolling_pc > 0 AND x.rolling_pc IS NOT NULL
            AND x.rolling_pc * 100 <= b.rolling_pc * {} AND {}
         ON CONFLICT DO NOTHING",
        rolling_table(rolling_window(t), paired),
        rolling_table(earlier, paired),
        100 - DROP_PERCENT,
        no_recent_task("drop", t)
    ))
    .bind("rolling per capita fen, three months ago -> now: ")
    .bind(t)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    raised += sqlx::query(&format!(
        "INSERT INTO monitoring_tasks (household_id, kind, reason, created_at)
         SELECT x.household_id, 'stalled', $1, $2
           FROM (SELECT o.household_id FROM monitoring_objects o
                  WHERE o.state = 'monitored'
                    AND o.household_id IN (SELECT p.household_id FROM cadre_pairings p)
                    AND (EXISTS (SELECT 1 FROM listings l WHERE l.household_id = o.household_id
                                   AND l.stalled = 1 AND l.status = 'on_sale')
                      OR EXISTS (SELECT 1 FROM listing_beneficiaries lb JOIN listings l ON l.id = lb.listing_id
                                  WHERE lb.household_id = o.household_id AND l.stalled = 1 AND l.status = 'on_sale'))) x
          WHERE {}
         ON CONFLICT DO NOTHING",
        no_recent_task("stalled", t)
    ))
    .bind("a listing of the household is stalled")
    .bind(t)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if raised > 0 {
        // The paired cadres hear of the tasks this scan raised.
        crate::notices::server::visit_tasks_raised(&mut tx, before, t)
            .await
            .map_err(|e| sqlx::Error::Protocol(e.message))?;
    }
    tx.commit().await?;
    Ok(raised)
}
