//! The outbox and its sender: messages to a phone number (SMS) or e-mail address, written to
//! the `notifications` table in the caller's transaction (so nothing acknowledged is lost), then
//! delivered by the configured sender:
//! - `ZHUNONG_NOTIFY_URL`: an SMS or mail gateway's HTTP endpoint, sent each message as JSON
//!   (`id`, `to`, `channel`, `body`); any 2xx answer is delivery;
//! - `ZHUNONG_NOTIFY_DIR`: a directory, one file per message, for a gateway's pickup (and tests);
//! - neither: development logs the message; production keeps it queued, with a warning.
//!
//! A failed delivery is tried again later, each wait twice the last (30 s, 1 min, … at most an
//! hour), until it goes. Several app processes share the outbox: a process claims a message by
//! moving its next try ahead before sending, so no two send it.

use crate::domain::account::LoginId;
use crate::error::AppError;
use crate::server::config::Settings;
use crate::server::db::{now, Db};
use crate::server::state::AppState;
use std::time::Duration;

type Tx = sqlx::Transaction<'static, sqlx::Any>;

/// Messages handled in one round of delivery.
const BATCH: i64 = 100;
/// How long a claimed message is left to its process before another may try it.
const CLAIM_SECS: i64 = 120;
/// How long the gateway has to answer.
const SEND_TIMEOUT: Duration = Duration::from_secs(10);
/// How often each process delivers what is due.
pub const EVERY: Duration = Duration::from_secs(5);
/// A round stops taking new messages after this long (a slow gateway), well inside a claim.
const ROUND_SECS: i64 = 60;
/// Parked for good: a message the gateway refused (4xx) waits here, with its error, for an
/// operator; it is never deleted unsent.
const PARKED: i64 = i64::MAX / 2;

/// The wait before the next try after `failures` failed ones: 30 s doubling, at most an hour.
pub fn backoff_secs(failures: i64) -> i64 {
    (30_i64 << (failures.clamp(1, 8) - 1)).min(3600)
}

/// Queues `body` for the owner of `login`: a one-time code, of no use after a day, so an
/// undelivered one is discarded then. Returns the message's id (see [`deliver_now`]).
pub async fn send(tx: &mut Tx, login: &LoginId, body: String) -> Result<i64, AppError> {
    let channel = match login {
        LoginId::Phone(_) => "sms",
        LoginId::Email(_) => "email",
    };
    let t = now();
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO notifications (recipient, channel, body, created_at, discard_after)
         VALUES ($1, $2, $3, $4, $5) RETURNING id",
    )
    .bind(login.as_str())
    .bind(channel)
    .bind(body)
    .bind(t)
    .bind(t + 86_400)
    .fetch_one(&mut **tx)
    .await?;
    Ok(id)
}

/// Queues `body` for each user `users` selects (one column of user ids; `$1` is bound to
/// `subject`), to their log-in: a phone number by SMS, an e-mail address by mail. Kept until
/// delivered.
pub async fn queue_for_users(
    tx: &mut Tx,
    users: &str,
    subject: i64,
    body: &str,
    t: i64,
) -> Result<(), AppError> {
    sqlx::query(&format!(
        "INSERT INTO notifications (recipient, channel, body, created_at)
         SELECT u.login, CASE WHEN u.login LIKE '%@%' THEN 'email' ELSE 'sms' END, $2, $3
           FROM users u WHERE u.id IN ({users})"
    ))
    .bind(subject)
    .bind(body)
    .bind(t)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Delivers the messages `ids` (a code just queued) at once, the rest of the outbox being left
/// to the background sender, so the request that queued them waits for one send at most.
/// Failures stay queued for their next try and are logged.
pub async fn deliver_now(state: &AppState, ids: &[i64]) {
    if let Err(e) = deliver(&state.db, &state.settings, now(), Some(ids)).await {
        tracing::warn!(error = %e, "notifications: delivery failed; they stay queued");
    }
}

/// Delivers what is due now; failures stay queued for their next try and are logged.
pub async fn deliver_pending(state: &AppState) {
    match deliver_due(&state.db, &state.settings, now()).await {
        Ok(r) if r.failed > 0 => {
            tracing::warn!(
                sent = r.sent,
                failed = r.failed,
                "notifications: some deliveries failed; they will be tried again"
            )
        }
        Ok(_) => {}
        Err(e) => tracing::warn!(error = %e, "notifications: delivery failed; they stay queued"),
    }
}

/// Delivers what is due every [`EVERY`], for as long as the server runs.
pub async fn run_periodically(state: AppState) {
    let mut tick = tokio::time::interval(EVERY);
    loop {
        tick.tick().await;
        deliver_pending(&state).await;
    }
}

/// What one round of delivery did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Round {
    pub sent: u32,
    pub failed: u32,
}

/// Delivers the messages due at `t` (at most [`BATCH`]), each claimed first.
pub async fn deliver_due(db: &Db, settings: &Settings, t: i64) -> Result<Round, AppError> {
    deliver(db, settings, t, None).await
}

/// The clock of a round that began at `t` (tests pass a `t` ahead of the wall clock).
fn clock(t: i64, started: std::time::Instant) -> i64 {
    t.saturating_add(i64::try_from(started.elapsed().as_secs()).unwrap_or(i64::MAX))
}

async fn deliver(
    db: &Db,
    settings: &Settings,
    t: i64,
    only: Option<&[i64]>,
) -> Result<Round, AppError> {
    let mut round = Round::default();
    let started = std::time::Instant::now();
    if settings.notify_url.is_none() && settings.notify_dir.is_none() && settings.production {
        // Nowhere to deliver: the messages wait in the outbox (`serve` warned at start).
        return Ok(round);
    }
    // Due, and still of use (a code past its day is not sent).
    let due = "sent_at IS NULL AND next_attempt_at <= $1 AND (discard_after IS NULL OR discard_after > $1)";
    let rows: Vec<(i64, String, String, String, i64, i64)> = match only {
        None => sqlx::query_as(&format!(
            "SELECT id, recipient, channel, body, attempts, next_attempt_at FROM notifications
              WHERE {due} ORDER BY next_attempt_at, id LIMIT $2"
        ))
        .bind(t)
        .bind(BATCH)
        .fetch_all(&db.pool)
        .await
        .map_err(AppError::internal)?,
        Some(ids) => {
            let mut rows = Vec::new();
            for id in ids.iter().take(10) {
                rows.extend(
                    sqlx::query_as(&format!(
                        "SELECT id, recipient, channel, body, attempts, next_attempt_at FROM notifications
                          WHERE {due} AND id = $2"
                    ))
                    .bind(t)
                    .bind(id)
                    .fetch_optional(&db.pool)
                    .await
                    .map_err(AppError::internal)?,
                );
            }
            rows
        }
    };
    let client = match &settings.notify_url {
        Some(_) => Some(
            reqwest::Client::builder()
                .timeout(SEND_TIMEOUT)
                .build()
                .map_err(AppError::internal)?,
        ),
        None => None,
    };
    for (id, recipient, channel, body, attempts, due) in rows {
        if clock(t, started) - t >= ROUND_SECS {
            // A slow gateway: the rest waits for the next round, unclaimed.
            break;
        }
        // The claim: only the process that moves the next try ahead sends it. It runs from
        // now, not from the round's start, so it cannot lapse before the send.
        let claimed = sqlx::query(
            "UPDATE notifications SET next_attempt_at = $1
              WHERE id = $2 AND sent_at IS NULL AND next_attempt_at = $3",
        )
        .bind(clock(t, started) + CLAIM_SECS)
        .bind(id)
        .bind(due)
        .execute(db.writer())
        .await
        .map_err(AppError::from)?
        .rows_affected();
        if claimed == 0 {
            continue;
        }
        let sent = deliver_one(settings, client.as_ref(), id, &recipient, &channel, &body).await;
        match sent {
            Ok(()) => {
                sqlx::query("UPDATE notifications SET sent_at = $1 WHERE id = $2")
                    .bind(now().max(t))
                    .bind(id)
                    .execute(db.writer())
                    .await
                    .map_err(AppError::from)?;
                round.sent += 1;
            }
            Err(failure) => {
                let failures = attempts + 1;
                let (next, e) = match failure {
                    Failure::Refused(e) => {
                        tracing::error!(
                            id,
                            error = e,
                            "notification refused by the gateway; parked with its error"
                        );
                        (PARKED, e)
                    }
                    Failure::Later(e) => {
                        tracing::warn!(
                            id,
                            failures,
                            error = e,
                            "notification not delivered; will try again"
                        );
                        (clock(t, started) + backoff_secs(failures), e)
                    }
                };
                let error: String = e.chars().take(500).collect();
                sqlx::query(
                    "UPDATE notifications SET attempts = $1, next_attempt_at = $2, last_error = $3 WHERE id = $4",
                )
                .bind(failures)
                .bind(next)
                .bind(error)
                .bind(id)
                .execute(db.writer())
                .await
                .map_err(AppError::from)?;
                round.failed += 1;
            }
        }
    }
    Ok(round)
}

/// Why a message did not go.
enum Failure {
    /// The sender is down or busy: try again later.
    Later(String),
    /// The gateway refused this message (a 4xx other than 408 and 429): trying again would
    /// fail the same way.
    Refused(String),
}

/// Sends one message by the configured sender. The gateway gets the message's `id`: a message
/// whose send timed out after the gateway took it is sent again, and the id lets it drop the
/// second copy.
async fn deliver_one(
    settings: &Settings,
    client: Option<&reqwest::Client>,
    id: i64,
    recipient: &str,
    channel: &str,
    body: &str,
) -> Result<(), Failure> {
    if let (Some(url), Some(client)) = (&settings.notify_url, client) {
        let answer = client
            .post(url)
            .json(
                &serde_json::json!({ "id": id, "to": recipient, "channel": channel, "body": body }),
            )
            .send()
            .await
            .map_err(|e| Failure::Later(format!("gateway unreachable: {e}")))?;
        let status = answer.status();
        return if status.is_success() {
            Ok(())
        } else if status.is_client_error() && status.as_u16() != 408 && status.as_u16() != 429 {
            Err(Failure::Refused(format!("gateway refused it: {status}")))
        } else {
            Err(Failure::Later(format!("gateway answered {status}")))
        };
    }
    if let Some(dir) = &settings.notify_dir {
        let write = async {
            tokio::fs::create_dir_all(dir).await?;
            let tmp = dir.join(format!("{id}.part"));
            tokio::fs::write(
                &tmp,
                format!("To: {recipient}\nChannel: {channel}\n\n{body}\n"),
            )
            .await?;
            tokio::fs::rename(&tmp, dir.join(format!("{id}.txt"))).await
        };
        return write
            .await
            .map_err(|e| Failure::Later(format!("cannot write the message: {e}")));
    }
    // Development without a sender: the log is the sender.
    tracing::info!(
        id,
        recipient,
        channel,
        body,
        "notification (development: no sender configured, shown here)"
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_wait_doubles_from_thirty_seconds_to_an_hour() {
        let waits: Vec<i64> = (1..=9).map(super::backoff_secs).collect();
        assert_eq!(waits, [30, 60, 120, 240, 480, 960, 1920, 3600, 3600]);
        assert_eq!(super::backoff_secs(0), 30);
        assert_eq!(super::backoff_secs(i64::MAX), 3600);
    }
}
