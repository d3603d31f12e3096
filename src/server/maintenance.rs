//! Housekeeping that every app process may run (each statement is idempotent, so two processes
//! sharing one PostgreSQL do no harm): expired sessions, one-time codes a day past expiry, rate-limit
//! rows past their window, messages a day after sending and codes never sent are deleted; unpaid orders expire; receipt is confirmed after the
//! set days; and, at most hourly, the early-warning scan raises visit tasks.

use super::db::{now, Db};
use std::time::Duration;

/// How often housekeeping runs: unpaid orders expire at most this late.
const EVERY: Duration = Duration::from_secs(60);

/// Deletes what has expired; returns how many sessions and codes went.
pub async fn sweep(db: &Db) -> Result<(u64, u64), sqlx::Error> {
    let t = now();
    let sessions = sqlx::query("DELETE FROM sessions WHERE expires_at <= $1")
        .bind(t)
        .execute(db.writer())
        .await?
        .rows_affected();
    // Codes are kept a day past expiry: they count towards the daily limit per log-in.
    let codes = sqlx::query("DELETE FROM one_time_codes WHERE expires_at <= $1")
        .bind(t - 86_400)
        .execute(db.writer())
        .await?
        .rows_affected();
    // Sent messages (codes among them, in clear) go a day after sending; an undelivered one
    // waits until it is sent, unless it is of no more use (a code's, after a day).
    sqlx::query(
        "DELETE FROM notifications WHERE (sent_at IS NOT NULL AND sent_at <= $1)
            OR (sent_at IS NULL AND discard_after IS NOT NULL AND discard_after <= $2)",
    )
    .bind(t - 86_400)
    .bind(t)
    .execute(db.writer())
    .await?;
    // Rate-limit rows whose counts no longer matter.
    super::ratelimit::sweep(db, t).await?;
    Ok((sessions, codes))
}

/// Runs [`sweep`] and the expiry of unpaid orders at start and then every minute, logging
/// what they did.
pub async fn run_periodically(db: Db, auto_receive_days: i64, warning_margin_percent: i64) {
    let mut tick = tokio::time::interval(EVERY);
    loop {
        tick.tick().await;
        match sweep(&db).await {
            Ok((0, 0)) => {}
            Ok((sessions, codes)) => {
                tracing::info!(sessions, codes, "expired sessions and codes deleted")
            }
            Err(e) => tracing::warn!(error = %e, "housekeeping failed; will retry"),
        }
        match crate::orders::server::expire_unpaid(&db, now()).await {
            Ok(0) => {}
            Ok(orders) => tracing::info!(orders, "unpaid orders expired, stock returned"),
            Err(e) => tracing::warn!(error = %e, "expiring unpaid orders failed; will retry"),
        }
        match crate::live::server::end_overdue(&db, now()).await {
            Ok(0) => {}
            Ok(events) => tracing::info!(events, "livestreams past their end closed"),
            Err(e) => tracing::warn!(error = %e, "closing livestreams failed; will retry"),
        }
        match crate::orders::server::auto_receive(&db, now(), auto_receive_days).await {
            Ok(0) => {}
            Ok(orders) => tracing::info!(orders, "receipt confirmed automatically"),
            Err(e) => tracing::warn!(error = %e, "confirming receipt failed; will retry"),
        }
        // The dashboard's roll-ups for this month's window: built in the background (one
        // build at a time) when the month or the line changes.
        let rollup_db = db.clone();
        tokio::spawn(async move {
            if let Err(e) = crate::ledger::rollup::keep_current(&rollup_db).await {
                tracing::warn!(error = ?e, "building the roll-ups failed; will retry");
            }
        });
        match crate::monitoring::warning::scan(&db, warning_margin_percent).await {
            Ok(0) => {}
            Ok(tasks) => tracing::info!(tasks, "early-warning visit tasks raised"),
            Err(e) => tracing::warn!(error = %e, "early-warning scan failed; will retry"),
        }
    }
}
