//! 季度帮扶成效评估: the quarterly effect review of a monitored household. The reviewer (its
//! paired cadre: the policy's `LogVisit`, as for visits) says whether the measures work and
//! what comes next; the server records the rolling income at that moment, so
//! the change between reviews is the ledger's, not a typed figure.

use super::api::ReviewItem;
use super::server::{audit, household_allowed, object_state, text};
use crate::auth::server::require_user;
use crate::domain::calendar::quarter_of;
use crate::domain::monitoring::{self, Conclusion, ObjectState};
use crate::domain::page::Page;
use crate::error::{AppError, ErrorCode};
use crate::ledger::server::{rolling_table, rolling_window};
use crate::policy::Action;
use crate::server::db::{now, Db};
use crate::server::state::AppState;

/// Reviews on one page of a file (two years).
const SHOWN: i64 = 8;

/// Whether the household's review of `quarter` is written.
pub async fn reviewed(db: &Db, household_id: i64, quarter: &str) -> Result<bool, AppError> {
    let n: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM effect_reviews WHERE household_id = $1 AND quarter = $2",
    )
    .bind(household_id)
    .bind(quarter)
    .fetch_one(&db.pool)
    .await?;
    Ok(n > 0)
}

/// A page cursor: a quarter as `YYYY-Qn`.
fn parse_quarter(s: &str) -> Option<String> {
    let (y, q) = s.trim().split_once("-Q")?;
    let ok =
        y.len() == 4 && y.bytes().all(|b| b.is_ascii_digit()) && matches!(q, "1" | "2" | "3" | "4");
    ok.then(|| format!("{y}-Q{q}"))
}

#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn review_effect(
    household_id: i64,
    conclusion: &str,
    measures_effective: bool,
    findings: &str,
    next_steps: &str,
) -> Result<(), AppError> {
    let state = AppState::get()?;
    let db = &state.db;
    let user = require_user().await?;
    let village = household_allowed(db, &user, household_id, Action::LogVisit).await?;
    let conclusion = Conclusion::parse(conclusion)
        .ok_or_else(|| AppError::new(ErrorCode::BadRequest).field("conclusion"))?;
    let findings = text(findings, monitoring::NOTE_MAX, "findings")?;
    let next_steps = text(next_steps, monitoring::NOTE_MAX, "next_steps")?;
    if object_state(db, household_id).await? != ObjectState::Monitored {
        return Err(AppError::new(ErrorCode::InvalidStep));
    }
    let t = now();
    let quarter = quarter_of(t);
    let mut tx = db.begin_write().await?;
    let rolling: Option<i64> = sqlx::query_scalar(&format!(
        "SELECT x.rolling_pc FROM {} x",
        rolling_table(rolling_window(t), "h.id = $1")
    ))
    .bind(household_id)
    .fetch_one(&mut *tx)
    .await?;
    let n = sqlx::query(
        "INSERT INTO effect_reviews (household_id, quarter, reviewer_id, rolling_pc_fen, conclusion,
                                     measures_effective, findings, next_steps, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
         ON CONFLICT (household_id, quarter) DO NOTHING",
    )
    .bind(household_id)
    .bind(&quarter)
    .bind(user.id)
    .bind(rolling)
    .bind(conclusion.as_str())
    .bind(i64::from(measures_effective))
    .bind(&findings)
    .bind(&next_steps)
    .bind(t)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if n != 1 {
        return Err(AppError::new(ErrorCode::ReviewDone));
    }
    audit(
        &mut tx,
        &user,
        "review",
        Some(household_id),
        village.as_str(),
        Some(&format!("{quarter}: {}", conclusion.as_str())),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

type ReviewRow = (String, String, Option<i64>, String, i64, String, String);

/// A page of the household's reviews, latest first (before the quarter `after`, when given),
/// each with the change of rolling income since the one before it.
pub async fn reviews(
    db: &Db,
    household_id: i64,
    after: Option<&str>,
) -> Result<Page<ReviewItem>, AppError> {
    let before = match after.filter(|a| !a.trim().is_empty()) {
        None => String::from("9999-Q9"),
        Some(a) => parse_quarter(a)
            .ok_or_else(|| AppError::new(ErrorCode::BadRequest).field("reviews_after"))?,
    };
    // One more than a page for the next page's cursor, and one more again for the last
    // review's change.
    let rows: Vec<ReviewRow> = sqlx::query_as(&format!(
        "SELECT r.quarter, u.display_name, r.rolling_pc_fen, r.conclusion, r.measures_effective,
                r.findings, r.next_steps
           FROM effect_reviews r JOIN users u ON u.id = r.reviewer_id
          WHERE r.household_id = $1 AND r.quarter < $2 ORDER BY r.quarter DESC LIMIT {}",
        SHOWN + 2
    ))
    .bind(household_id)
    .bind(&before)
    .fetch_all(&db.pool)
    .await?;
    let previous: Vec<Option<i64>> = rows.iter().skip(1).map(|r| r.2).chain([None]).collect();
    let items: Vec<ReviewItem> = rows
        .into_iter()
        .zip(previous)
        .take(SHOWN as usize + 1)
        .filter_map(
            |((quarter, reviewer, pc, conclusion, effective, findings, next_steps), prev)| {
                Some(ReviewItem {
                    quarter,
                    reviewer,
                    rolling_per_capita_fen: pc,
                    change_fen: pc.zip(prev).and_then(|(a, b)| a.checked_sub(b)),
                    conclusion: Conclusion::parse(&conclusion)?,
                    measures_effective: effective != 0,
                    findings,
                    next_steps,
                })
            },
        )
        .collect();
    Ok(Page::from_rows(items, SHOWN, |r| r.quarter.clone()))
}

#[cfg(test)]
mod tests {
    use super::parse_quarter;

    #[test]
    fn quarter_cursors_are_checked() {
        assert_eq!(parse_quarter(" 2026-Q4 "), Some("2026-Q4".into()));
        for bad in [
            "2026-Q5", "2026-Q0", "26-Q1", "2026Q1", "2026-Q1'", "abcd-Q1",
        ] {
            assert_eq!(parse_quarter(bad), None, "{bad}");
        }
    }
}
