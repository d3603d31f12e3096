//! Demo data for 防止返贫监测: monitoring objects in each category (one with its risk already
//! eliminated), self-reports at each stage, visits (one household's overdue) and the cadre's
//! pairings, a 1+1 pairing of a social organisation with two villages and the links' declared
//! payouts, so the dashboard, the queue, the file and the cadre's page show something real.
//! Loaded only by `zhunong seed --demo`, once (a marker records it).

use super::db::{date_of, now, Db};
use super::seed::SeedError;

const DAY: i64 = 86_400;

/// (household, category, cadre, identified days ago, eliminated days ago).
type DemoObject<'a> = (i64, &'a str, Option<i64>, i64, Option<i64>);
/// (receipt, state, household, village, reason, days ago, notice began days ago).
type DemoReport<'a> = (
    &'a str,
    &'a str,
    Option<i64>,
    &'a str,
    &'a str,
    i64,
    Option<i64>,
);

/// Households of a county, by id.
async fn households_of(db: &Db, county: &str) -> Result<Vec<(i64, String)>, sqlx::Error> {
    sqlx::query_as("SELECT id, region_code FROM households WHERE region_code LIKE $1 ORDER BY id")
        .bind(format!("{county}%"))
        .fetch_all(&db.pool)
        .await
}

async fn user_id(db: &Db, login: &str) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar("SELECT id FROM users WHERE login = $1")
        .bind(login)
        .fetch_optional(&db.pool)
        .await
}

pub async fn seed_monitoring(db: &Db) -> Result<usize, SeedError> {
    let t = now();
    let zhenghe = households_of(db, "350725").await?;
    let xiapu = households_of(db, "350921").await?;
    let cadre = user_id(db, "cadre@demo.zhunong.cn")
        .await?
        .ok_or_else(|| SeedError::Other("the demo cadre is missing".into()))?;
    let official = user_id(db, "gov.zhenghe@demo.zhunong.cn").await?;
    let paired: Vec<i64> = sqlx::query_scalar(
        "SELECT household_id FROM cadre_pairings WHERE user_id = $1 ORDER BY household_id",
    )
    .bind(cadre)
    .fetch_all(&db.pool)
    .await?;
    if zhenghe.len() < 8 || xiapu.len() < 3 || paired.len() < 2 {
        return Err(SeedError::Other(
            "too few demo households for monitoring".into(),
        ));
    }
    let mut tx = db.begin_write().await?;
    let mut n = 0;
    // Monitoring objects: (household, category, cadre, identified days ago, eliminated days ago).
    let objects: Vec<DemoObject> = vec![
        (paired[0], "unstable", Some(cadre), 150, None),
        (paired[1], "sudden", Some(cadre), 200, None),
        (zhenghe[5].0, "marginal", None, 200, None),
        (zhenghe[6].0, "unstable", None, 320, Some(20)),
        (xiapu[0].0, "marginal", None, 40, None),
        (xiapu[1].0, "sudden", None, 15, None),
    ];
    for (household, category, cadre_id, since, eliminated) in &objects {
        let identified_at = t - since * DAY;
        sqlx::query(
            "INSERT INTO monitoring_objects (household_id, category, state, cadre_id, identified_at, eliminated_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(household)
        .bind(category)
        .bind(if eliminated.is_some() { "eliminated" } else { "monitored" })
        .bind(cadre_id)
        .bind(identified_at)
        .bind(eliminated.map(|d| t - d * DAY))
        .bind(t)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO monitoring_events (household_id, event, category, note, user_id, at)
             VALUES ($1, 'identified', $2, '（演示）', $3, $4)",
        )
        .bind(household)
        .bind(category)
        .bind(official)
        .bind(identified_at)
        .execute(&mut *tx)
        .await?;
        if let Some(d) = eliminated {
            sqlx::query(
                "INSERT INTO monitoring_events (household_id, event, note, user_id, at)
                 VALUES ($1, 'eliminated', '连续6个月收入高于监测线（演示）', $2, $3)",
            )
            .bind(household)
            .bind(official)
            .bind(t - d * DAY)
            .execute(&mut *tx)
            .await?;
        }
        n += 1;
    }
    // Visits: the first paired household on time, the second overdue (last seen 45 days ago).
    for (household, days_ago, seen) in [
        (paired[0], 10, "茶园管护正常，孩子上学费用有压力。（演示）"),
        (paired[0], 40, "春茶采摘完成，已通过平台卖出一批。（演示）"),
        (paired[1], 45, "户主住院治疗，家中缺劳力。（演示）"),
    ] {
        sqlx::query(
            "INSERT INTO visits (household_id, cadre_id, visited_on, seen, needs, next_steps, created_at)
             VALUES ($1, $2, $3, $4, '对接医保报销和临时救助（演示）', '下月再访，联系合作社收购（演示）', $5)",
        )
        .bind(household)
        .bind(cadre)
        .bind(date_of(t - days_ago * DAY))
        .bind(seen)
        .bind(t - days_ago * DAY)
        .execute(&mut *tx)
        .await?;
        n += 1;
    }
    // Last quarter's effect reviews of the two paired households, with the rolling income the
    // ledger showed then; this quarter's are still due.
    let then = t - 92 * DAY;
    for (household, conclusion, effective, findings) in [
        (
            paired[0],
            "improving",
            1,
            "茶叶通过平台销售，收入回升。（演示）",
        ),
        (
            paired[1],
            "at_risk",
            0,
            "户主住院，家中缺劳力，收入仍低。（演示）",
        ),
    ] {
        let rolling: Option<i64> = sqlx::query_scalar(&format!(
            "SELECT x.rolling_pc FROM {} x",
            crate::ledger::server::rolling_table(
                crate::ledger::server::rolling_window(then),
                "h.id = $1"
            )
        ))
        .bind(household)
        .fetch_one(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO effect_reviews (household_id, quarter, reviewer_id, rolling_pc_fen, conclusion,
                                         measures_effective, findings, next_steps, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, '下季度继续产业和就业帮扶（演示）', $8)",
        )
        .bind(household)
        .bind(crate::domain::calendar::quarter_of(then))
        .bind(cadre)
        .bind(rolling)
        .bind(conclusion)
        .bind(effective)
        .bind(findings)
        .bind(then)
        .execute(&mut *tx)
        .await?;
        n += 1;
    }
    // Self-reports at each stage: (receipt, state, household, village, reason, days ago,
    // notice began days ago).
    let reports: Vec<DemoReport> = vec![
        (
            "BPDEMX222227",
            "submitted",
            None,
            &zhenghe[2].1,
            "illness",
            0,
            None,
        ),
        (
            "BPDEMX222222",
            "submitted",
            None,
            &xiapu[2].1,
            "disaster",
            3,
            None,
        ),
        (
            "BPDEMX222223",
            "notice",
            Some(zhenghe[3].0),
            &zhenghe[3].1,
            "job_loss",
            9,
            Some(6),
        ),
        (
            "BPDEMX222224",
            "notice",
            Some(zhenghe[4].0),
            &zhenghe[4].1,
            "illness",
            4,
            Some(2),
        ),
        (
            "BPDEMX222225",
            "identified",
            Some(paired[1]),
            "",
            "illness",
            100,
            Some(96),
        ),
        (
            "BPDEMX222226",
            "dismissed",
            None,
            &zhenghe[7].1,
            "other",
            20,
            None,
        ),
    ];
    let paired1_village: String =
        sqlx::query_scalar("SELECT region_code FROM households WHERE id = $1")
            .bind(paired[1])
            .fetch_one(&mut *tx)
            .await?;
    for (receipt, state, household, village, reason, days, notice) in reports {
        let village = if village.is_empty() {
            paired1_village.as_str()
        } else {
            village
        };
        sqlx::query(
            "INSERT INTO monitoring_reports (receipt, reporter_kind, name, phone, village_code, reason, detail, state,
                                             household_id, verification, consent, verified_by, notice_from,
                                             decided_by, decision_note, is_demo, created_at, updated_at)
             VALUES ($1, 'neighbour', '演示报告人', '138-0000-0000', $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, 1, $13, $13)",
        )
        .bind(receipt)
        .bind(village)
        .bind(reason)
        .bind("家里突发困难，需要帮扶。（演示）")
        .bind(state)
        .bind(household)
        .bind(household.map(|_| "入户核实：收入明显下降，支出增加。（演示）"))
        .bind(i64::from(household.is_some()))
        .bind(household.and(official))
        .bind(notice.map(|d| t - d * DAY))
        .bind(matches!(state, "identified" | "dismissed").then_some(official).flatten())
        .bind(match state {
            "identified" => Some("sudden"),
            "dismissed" => Some("核实后家庭收入稳定，高于监测线。（演示）"),
            _ => None,
        })
        .bind(t - days * DAY)
        .execute(&mut *tx)
        .await?;
        n += 1;
    }
    // 阳光 1+1: a social organisation paired with two villages of Zhenghe.
    let social: i64 = sqlx::query_scalar(
        "INSERT INTO organisations (name, kind, region_code, is_demo, created_at)
         VALUES ('福建省演示慈善总会', 'social', '350000', 1, $1) RETURNING id",
    )
    .bind(t)
    .fetch_one(&mut *tx)
    .await?;
    let mut villages: Vec<&str> = zhenghe.iter().map(|(_, v)| v.as_str()).collect();
    villages.dedup();
    for (village, projects) in villages
        .iter()
        .take(2)
        .zip(["茶园道路硬化、助学金（演示）", "村卫生室设备（演示）"])
    {
        sqlx::query(
            "INSERT INTO org_village_pairings (organisation_id, village_code, since_year, projects)
             VALUES ($1, $2, 2021, $3)",
        )
        .bind(social)
        .bind(village)
        .bind(projects)
        .execute(&mut *tx)
        .await?;
        n += 1;
    }
    // What the links declare a year: 1,200 元 for the Zhenghe households' links.
    n += sqlx::query(
        "UPDATE benefit_links SET declared_fen = 120000
          WHERE household_id IN (SELECT id FROM households WHERE region_code LIKE '350725%')",
    )
    .execute(&mut *tx)
    .await?
    .rows_affected() as usize;
    tx.commit().await?;
    Ok(n)
}
