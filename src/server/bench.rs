//! Benchmark support (`scripts/bench.sh`): a generated catalogue and a raw insert loop, the
//! ceiling the checkout server function is compared with. Never part of the demo data.

use super::db::{now, Db};
use std::time::Instant;

/// Adds `households` households and `listings` on-sale listings (each a household's own, with
/// ample stock) to a database that already holds the demo regions and users, then rebuilds the
/// dashboard's roll-ups so they count them.
pub async fn seed_catalogue(
    db: &Db,
    households: usize,
    listings: usize,
) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    insert_catalogue(db, households, listings).await?;
    crate::ledger::rollup::rebuild(db)
        .await
        .map_err(|e| format!("{e:?}"))?;
    Ok(())
}

/// [`seed_catalogue`] without the roll-ups (the caller rebuilds them).
pub async fn insert_catalogue(
    db: &Db,
    households: usize,
    listings: usize,
) -> Result<(), sqlx::Error> {
    let villages: Vec<String> =
        sqlx::query_scalar("SELECT code FROM regions WHERE level = 'village' ORDER BY code")
            .fetch_all(&db.pool)
            .await?;
    let admin: i64 =
        sqlx::query_scalar("SELECT id FROM users WHERE role = 'admin' ORDER BY id LIMIT 1")
            .fetch_one(&db.pool)
            .await?;
    let t = now();
    let first: i64 =
        sqlx::query_scalar("SELECT CAST(COALESCE(MAX(id), 0) AS BIGINT) FROM households")
            .fetch_one(&db.pool)
            .await?;
    const CHUNK: usize = 500;
    let mut tx = db.begin_write().await?;
    for start in (0..households).step_by(CHUNK) {
        let n = CHUNK.min(households - start);
        let values: Vec<String> = (0..n)
            .map(|i| {
                let k = start + i;
                format!(
                    "('{}', '压测农户{k}', {}, 0, 1, {t})",
                    villages[k % villages.len()],
                    1 + k % 5
                )
            })
            .collect();
        sqlx::query(&format!("INSERT INTO households (region_code, head_name, members, story_consent, is_demo, created_at) VALUES {}", values.join(",")))
            .execute(&mut *tx)
            .await?;
    }
    let categories = [
        "tea",
        "vegetables",
        "fruit",
        "grain_oil",
        "aquatic",
        "livestock",
        "handicraft",
        "other",
    ];
    for start in (0..listings).step_by(CHUNK) {
        let n = CHUNK.min(listings - start);
        let values: Vec<String> = (0..n)
            .map(|i| {
                let k = start + i;
                let hid = first + 1 + (k % households.max(1)) as i64;
                let terms = format!(r#"{{"kind":"direct","terms":{{"household_id":{hid}}}}}"#);
                format!(
                    "({hid}, '压测货品{k} bench item', '{}', '', '1箱', {}, 1000000, '{}', 'on_sale', '{terms}', {}, 1, {admin}, {}, {})",
                    categories[k % categories.len()],
                    1000 + (k % 200) * 100,
                    villages[k % villages.len()],
                    i64::from(k % 97 == 0),
                    t - k as i64,
                    t - k as i64
                )
            })
            .collect();
        sqlx::query(&format!(
            "INSERT INTO listings (household_id, title, category, description, unit, price_fen, stock, origin_code, status, benefit_terms, stalled, is_demo, created_by, created_at, updated_at) VALUES {}",
            values.join(",")
        ))
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await
}

/// Adds `n` buyers for the checkout benchmark, each with a copy of the demo buyer's addresses
/// and a session of its own; returns their `Cookie` header values. Checkouts in the benchmark
/// come from many buyers, as they do in life: one buyer's checkouts are serialised, and one
/// buyer holding thousands of unpaid orders (past any real limit) would measure counting them.
pub async fn add_buyers(db: &Db, n: usize) -> Result<Vec<String>, sqlx::Error> {
    let t = now();
    let mut cookies = Vec::with_capacity(n);
    let mut tx = db.begin_write().await?;
    for i in 0..n {
        let login = format!("bench-buyer-{i}@bench.zhunong.cn");
        let user: i64 = sqlx::query_scalar(
            "INSERT INTO users (login, password_hash, display_name, role, is_demo, created_at)
             SELECT $1, password_hash, $2, 'buyer', 1, $3 FROM users WHERE login = 'buyer@demo.zhunong.cn'
             RETURNING id",
        )
        .bind(&login)
        .bind(format!("压测买家{i}"))
        .bind(t)
        .fetch_one(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO addresses (user_id, recipient, mobile, region_code, detail, unit_name, is_default, created_at)
             SELECT $1, a.recipient, a.mobile, a.region_code, a.detail, a.unit_name, a.is_default, $2
               FROM addresses a JOIN users u ON u.id = a.user_id
              WHERE u.login = 'buyer@demo.zhunong.cn' AND a.removed_at IS NULL",
        )
        .bind(user)
        .bind(t)
        .execute(&mut *tx)
        .await?;
        let token = super::session::new_token();
        sqlx::query("INSERT INTO sessions (token_hash, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)")
            .bind(super::session::hash_token(&token))
            .bind(user)
            .bind(t)
            .bind(t + 86_400)
            .execute(&mut *tx)
            .await?;
        cookies.push(format!("{}={token}", super::session::SESSION_COOKIE));
    }
    tx.commit().await?;
    Ok(cookies)
}

/// The ceiling for checkout: `rounds` transactions that each insert what a one-line checkout
/// inserts (checkout, order, item, allocation) with no checks at all. Returns transactions/s.
pub async fn raw_insert_loop(db: &Db, rounds: usize) -> Result<f64, sqlx::Error> {
    let buyer: i64 = sqlx::query_scalar("SELECT id FROM users ORDER BY id LIMIT 1")
        .fetch_one(&db.pool)
        .await?;
    let (listing, household): (i64, i64) = sqlx::query_as(
        "SELECT id, household_id FROM listings WHERE household_id IS NOT NULL ORDER BY id LIMIT 1",
    )
    .fetch_one(&db.pool)
    .await?;
    let started = Instant::now();
    let t = now();
    for i in 0..rounds {
        let mut tx = db.begin_write().await?;
        let c: i64 = sqlx::query_scalar("INSERT INTO checkouts (buyer_id, idempotency_key, created_at) VALUES ($1, $2, $3) RETURNING id")
            .bind(buyer)
            .bind(format!("raw-insert-{t}-{i}"))
            .bind(t)
            .fetch_one(&mut *tx)
            .await?;
        let o: i64 = sqlx::query_scalar(
            "INSERT INTO orders (checkout_id, buyer_id, seller_household_id, status, total_fen, created_at, updated_at) VALUES ($1, $2, $3, 'placed', 100, $4, $4) RETURNING id",
        )
        .bind(c)
        .bind(buyer)
        .bind(household)
        .bind(t)
        .fetch_one(&mut *tx)
        .await?;
        let item: i64 = sqlx::query_scalar("INSERT INTO order_items (order_id, listing_id, quantity, unit_price_fen, line_total_fen) VALUES ($1, $2, 1, 100, 100) RETURNING id")
            .bind(o)
            .bind(listing)
            .fetch_one(&mut *tx)
            .await?;
        sqlx::query("INSERT INTO order_item_allocations (order_item_id, household_id, amount_fen) VALUES ($1, $2, 100)")
            .bind(item)
            .bind(household)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
    }
    Ok(rounds as f64 / started.elapsed().as_secs_f64())
}

/// For the roll-up benchmark: adds `villages` villages, a hundred to a new township, the
/// townships spread over the demo's counties; returns how many.
pub async fn seed_villages(db: &Db, villages: usize) -> Result<usize, sqlx::Error> {
    let counties: Vec<String> =
        sqlx::query_scalar("SELECT code FROM regions WHERE level = 'county' ORDER BY code")
            .fetch_all(&db.pool)
            .await?;
    if counties.is_empty() {
        return Ok(0);
    }
    let mut tx = db.begin_write().await?;
    let mut made = 0;
    let mut township = 0usize;
    while made < villages {
        let county = &counties[township % counties.len()];
        // Townships 600-999 of each county: the demo's own are below 600.
        let t_code = format!("{county}{:03}", 600 + township / counties.len());
        sqlx::query("INSERT INTO regions (code, name, name_en, level, parent_code, is_demo) VALUES ($1, $2, $3, 'township', $4, 1)")
            .bind(&t_code)
            .bind(format!("压测镇{township}"))
            .bind(format!("Bench township {township}"))
            .bind(county)
            .execute(&mut *tx)
            .await?;
        let n = 100.min(villages - made);
        for v in 0..n {
            sqlx::query("INSERT INTO regions (code, name, name_en, level, parent_code, is_demo) VALUES ($1, $2, $3, 'village', $4, 1)")
                .bind(format!("{t_code}{:03}", 101 + v))
                .bind(format!("压测村{township}-{v}"))
                .bind(format!("Bench village {township}-{v}"))
                .bind(&t_code)
                .execute(&mut *tx)
                .await?;
        }
        made += n;
        township += 1;
    }
    tx.commit().await?;
    Ok(made)
}

/// For the roll-up benchmark: gives every generated household (ids above `first`) a baseline and
/// `months` months of verified income in `income_months` (what the roll-ups read), written by
/// the database itself, one statement a month.
pub async fn seed_income_months(db: &Db, first: i64, months: i64) -> Result<u64, sqlx::Error> {
    let year = super::db::current_year();
    sqlx::query(
        "INSERT INTO household_baselines (household_id, year, per_capita_fen)
         SELECT id, $1, 360000 + (id * 7919) % 840000 FROM households WHERE id > $2",
    )
    .bind(year - 1)
    .bind(first)
    .execute(db.writer())
    .await?;
    let mut rows = 0;
    let current = crate::domain::calendar::month_start_of(now());
    for k in 0..months {
        let month = crate::domain::calendar::add_months(current, -k);
        rows += sqlx::query(
            "INSERT INTO income_months (household_id, month_start, verified_fen, attested_fen, verified_rows)
             SELECT id, $1, 20000 + (id * 104729 + $1) % 60000, 0, 1 FROM households WHERE id > $2",
        )
        .bind(month)
        .bind(first)
        .execute(db.writer())
        .await?
        .rows_affected();
    }
    Ok(rows)
}
