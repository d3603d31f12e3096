//! The notification sender: messages to a phone number (SMS) or e-mail address, written to the
//! `notifications` outbox in the caller's transaction (so nothing acknowledged is lost), then
//! delivered. Delivery here is a directory (`ZHUNONG_NOTIFY_DIR`: one file per message, for a
//! mail or SMS gateway's pickup, and for tests); without one, development logs the message and
//! production leaves it in the outbox with a warning.

use crate::domain::account::LoginId;
use crate::error::AppError;
use crate::server::db::now;
use crate::server::state::AppState;

type Tx = sqlx::Transaction<'static, sqlx::Any>;

/// Queues `body` for the owner of `login`.
pub async fn send(tx: &mut Tx, login: &LoginId, body: String) -> Result<(), AppError> {
    let channel = match login {
        LoginId::Phone(_) => "sms",
        LoginId::Email(_) => "email",
    };
    sqlx::query(
        "INSERT INTO notifications (recipient, channel, body, created_at) VALUES ($1, $2, $3, $4)",
    )
    .bind(login.as_str())
    .bind(channel)
    .bind(body)
    .bind(now())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Delivers what waits in the outbox (at most 100 messages a call). Failures stay queued and
/// are logged; the caller's answer does not depend on them.
pub async fn deliver_pending(state: &AppState) {
    if let Err(e) = deliver(state).await {
        tracing::warn!(error = %e, "notifications: delivery failed; they stay queued");
    }
}

async fn deliver(state: &AppState) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    if state.settings.notify_dir.is_none() && state.settings.production {
        // Nowhere to deliver: the messages wait in the outbox (`serve` warned at start).
        return Ok(());
    }
    let rows: Vec<(i64, String, String, String)> = sqlx::query_as(
        "SELECT id, recipient, channel, body FROM notifications WHERE sent_at IS NULL ORDER BY id LIMIT 100",
    )
    .fetch_all(&state.db.pool)
    .await?;
    for (id, recipient, channel, body) in rows {
        match &state.settings.notify_dir {
            Some(dir) => {
                tokio::fs::create_dir_all(dir).await?;
                let tmp = dir.join(format!("{id}.part"));
                tokio::fs::write(
                    &tmp,
                    format!("To: {recipient}\nChannel: {channel}\n\n{body}\n"),
                )
                .await?;
                tokio::fs::rename(&tmp, dir.join(format!("{id}.txt"))).await?;
            }
            None if !state.settings.production => {
                tracing::info!(
                    id,
                    recipient,
                    channel,
                    body,
                    "notification (development: no sender configured, shown here)"
                );
            }
            None => {
                tracing::warn!(
                    id,
                    channel,
                    "notification queued: no sender configured (ZHUNONG_NOTIFY_DIR)"
                );
                continue;
            }
        }
        sqlx::query("UPDATE notifications SET sent_at = $1 WHERE id = $2 AND sent_at IS NULL")
            .bind(now())
            .bind(id)
            .execute(&state.db.pool)
            .await?;
    }
    Ok(())
}
