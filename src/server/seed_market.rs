//! The demo market: listings from the demo co-ops and households, stalled produce,
//! certificates, institutional pledges, other income, and months of orders that went through the
//! real order code (placed, paid, shipped, delivered, refunded, cancelled), so the income pages
//! have something to show and `zhunong check-ledger` has books to balance. Orders and income are
//! dated within the current year, so "this year" pages are never empty.

use super::db::{current_year, month_start, now, Db};
use super::seed::SeedError;
use crate::auth::server::user_by_id;
use crate::domain::allocation::BenefitTerms;
use crate::domain::money::Fen;
use crate::orders::api::CartLine;
use crate::orders::server::{
    deliver_order, move_order, pay_by_transfer, place, ship_order, DeliveryRequest, Hold,
};

#[derive(Debug, Default)]
pub struct MarketReport {
    pub listings: usize,
    pub orders: usize,
    pub ledger_rows: usize,
}

/// Co-op listings by product line: (product line, title, category, unit, price in yuan, stock,
/// description).
const COOP_LISTINGS: &[(&str, &str, &str, &str, i64, i64, &str)] = &[
    (
        "政和白茶",
        "政和白茶·白牡丹",
        "tea",
        "250克/罐",
        168,
        120,
        "政和高山茶园春茶，合作社统一收购加工，按收购价付给联结农户。",
    ),
    (
        "政和白茶",
        "政和工夫红茶",
        "tea",
        "200克/盒",
        128,
        80,
        "传统工夫红茶工艺，汤色红亮。",
    ),
    (
        "霞浦紫菜",
        "霞浦头水紫菜",
        "aquatic",
        "100克×3袋",
        59,
        300,
        "头水采摘，口感细嫩，晒干即装。",
    ),
    (
        "霞浦海带",
        "霞浦淡干海带",
        "aquatic",
        "500克/袋",
        36,
        200,
        "海区养殖，淡晒无盐。",
    ),
    (
        "屏南高山蔬菜",
        "屏南高山蔬菜礼盒",
        "vegetables",
        "5斤/箱",
        78,
        60,
        "海拔八百米以上的时令蔬菜，当天采摘发货。",
    ),
    (
        "上杭蜜柚",
        "上杭红心蜜柚",
        "fruit",
        "2个/箱",
        49,
        150,
        "果肉红润，酸甜多汁。",
    ),
    (
        "长泰芦柑",
        "长泰芦柑",
        "fruit",
        "10斤/箱",
        69,
        2500,
        "皮薄易剥，今年丰产。",
    ),
    (
        "晋江胡萝卜",
        "晋江胡萝卜",
        "vegetables",
        "10斤/箱",
        39,
        5000,
        "沙地种植，色泽鲜亮。",
    ),
    (
        "涵江龙眼",
        "涵江龙眼干",
        "fruit",
        "500克/袋",
        58,
        100,
        "传统焙干，肉厚味甜。",
    ),
    (
        "罗源秀珍菇",
        "罗源秀珍菇干",
        "vegetables",
        "250克/袋",
        45,
        90,
        "菇棚种植，低温烘干。",
    ),
    (
        "尤溪金柑",
        "尤溪金柑",
        "fruit",
        "5斤/箱",
        55,
        110,
        "皮甜肉酸，可连皮吃。",
    ),
];

/// The demo listings' English titles (sellers may give one; these did), by Chinese title.
const ENGLISH_TITLES: &[(&str, &str)] = &[
    ("政和白茶·白牡丹", "Zhenghe White Tea, White Peony"),
    ("政和工夫红茶", "Zhenghe Gongfu Black Tea"),
    ("霞浦头水紫菜", "Xiapu First-Harvest Laver"),
    ("霞浦淡干海带", "Xiapu Sun-Dried Kelp"),
    ("屏南高山蔬菜礼盒", "Pingnan Highland Vegetable Box"),
    ("上杭红心蜜柚", "Shanghang Red Honey Pomelo"),
    ("长泰芦柑", "Changtai Ponkan Mandarins"),
    ("晋江胡萝卜", "Jinjiang Carrots"),
    ("涵江龙眼干", "Hanjiang Dried Longan"),
    ("罗源秀珍菇干", "Luoyuan Dried Oyster Mushrooms"),
    ("尤溪金柑", "Youxi Kumquats"),
    ("农家土鸡蛋", "Free-Range Farm Eggs"),
    ("手工竹编果篮", "Handwoven Bamboo Fruit Basket"),
    ("高山红薯", "Highland Sweet Potatoes"),
];

/// Households' own listings: (county, title, category, unit, price in yuan, stock, description).
const HOUSEHOLD_LISTINGS: &[(&str, &str, &str, &str, i64, i64, &str)] = &[
    (
        "350725",
        "农家土鸡蛋",
        "livestock",
        "30枚/箱",
        60,
        40,
        "林下散养，每天现捡。",
    ),
    (
        "350923",
        "手工竹编果篮",
        "handicraft",
        "1个",
        88,
        15,
        "老篾匠手工编织，一只要编两天。",
    ),
    (
        "350823",
        "高山红薯",
        "vegetables",
        "10斤/箱",
        35,
        80,
        "沙壤土种植，蒸煮都香甜。",
    ),
];

pub(super) async fn user_id(db: &Db, login: &str) -> Result<i64, SeedError> {
    Ok(sqlx::query_scalar("SELECT id FROM users WHERE login = $1")
        .bind(login)
        .fetch_one(&db.pool)
        .await?)
}

fn err(e: crate::error::AppError) -> SeedError {
    SeedError::Other(format!("{:?}: {}", e.code, e.message))
}

pub async fn seed_market(db: &Db) -> Result<MarketReport, SeedError> {
    let mut report = MarketReport::default();
    let year = current_year();
    let t0 = now();
    // Never date anything in the future: the last month used is the current one.
    let this_month = (1..=12)
        .rev()
        .find(|m| month_start(year, *m) <= t0)
        .unwrap_or(1);
    let at = |month: i64, day: i64| {
        (month_start(year, month.clamp(1, this_month)) + (day - 1) * 86_400 + 10 * 3600).min(t0)
    };

    // Co-op listings, with shares or purchase prices for up to three linked households.
    let mut listing_ids: Vec<i64> = Vec::new();
    for (i, (line, title, category, unit, price, stock, description)) in
        COOP_LISTINGS.iter().enumerate()
    {
        let org: Option<(i64, String)> = sqlx::query_as(
            "SELECT id, region_code FROM organisations WHERE product_line = $1 ORDER BY id LIMIT 1",
        )
        .bind(line)
        .fetch_optional(&db.pool)
        .await?;
        let Some((org, county)) = org else { continue };
        let linked: Vec<i64> = sqlx::query_scalar("SELECT household_id FROM benefit_links WHERE organisation_id = $1 ORDER BY household_id LIMIT 3")
            .bind(org)
            .fetch_all(&db.pool)
            .await?;
        if linked.is_empty() {
            continue;
        }
        let price = Fen::from_yuan(*price);
        let terms = if i % 2 == 0 {
            // 订单收购: 40% of the price per unit, shared among the linked households.
            let each = Fen::new(price.fen() * 40 / 100 / linked.len() as i64);
            BenefitTerms::PerUnit(linked.iter().map(|h| (*h, each)).collect())
        } else {
            BenefitTerms::Shares(linked.iter().map(|h| (*h, 2_000)).collect())
        };
        terms
            .validate(price)
            .map_err(|e| SeedError::Other(format!("{title}: {e:?}")))?;
        let manager: Option<i64> = sqlx::query_scalar(
            "SELECT id FROM users WHERE organisation_id = $1 ORDER BY id LIMIT 1",
        )
        .bind(org)
        .fetch_optional(&db.pool)
        .await?;
        let created_by = match manager {
            Some(m) => m,
            None => user_id(db, "admin@demo.zhunong.cn").await?,
        };
        let origin: String = sqlx::query_scalar("SELECT region_code FROM households WHERE id = $1")
            .bind(linked[0])
            .fetch_one(&db.pool)
            .await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO listings (organisation_id, title, category, description, unit, price_fen, stock, origin_code, harvest_date,
                                   status, benefit_terms, is_demo, created_by, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'on_sale', $10, 1, $11, $12, $12) RETURNING id",
        )
        .bind(org)
        .bind(format!("{title}（演示）"))
        .bind(category)
        .bind(description)
        .bind(unit)
        .bind(price.fen())
        .bind(stock)
        .bind(if county.len() == 6 { origin } else { county })
        .bind(format!("{year}-{:02}-15", (1 + i as i64 % this_month).min(12)))
        .bind(serde_json::to_string(&terms).map_err(|e| SeedError::Other(e.to_string()))?)
        .bind(created_by)
        .bind(at(1 + i as i64 % 3, 2 + i as i64))
        .fetch_one(db.writer())
        .await?;
        listing_ids.push(id);
        report.listings += 1;
    }
    // Households' own listings.
    for (county, title, category, unit, price, stock, description) in HOUSEHOLD_LISTINGS {
        // In 政和 the seller is the demo household account's own household (the county's first).
        // Elsewhere it is the county's best-off household, so the market also holds produce of
        // households above the monitoring range and the "under monitoring" filter has work to do.
        let order = if *county == "350725" {
            "h.id"
        } else {
            "COALESCE((SELECT b.per_capita_fen FROM household_baselines b WHERE b.household_id = h.id ORDER BY b.year DESC LIMIT 1), 0) DESC, h.id"
        };
        let household: Option<(i64, String)> = sqlx::query_as(&format!(
            "SELECT h.id, h.region_code FROM households h WHERE h.region_code LIKE $1 ORDER BY {order} LIMIT 1"
        ))
        .bind(format!("{county}%"))
        .fetch_optional(&db.pool)
        .await?;
        let Some((hid, village)) = household else {
            continue;
        };
        let terms = BenefitTerms::Direct { household_id: hid };
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO listings (household_id, title, category, description, unit, price_fen, stock, origin_code,
                                   status, benefit_terms, is_demo, created_by, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'on_sale', $9, 1, $10, $11, $11) RETURNING id",
        )
        .bind(hid)
        .bind(format!("{title}（演示）"))
        .bind(category)
        .bind(description)
        .bind(unit)
        .bind(Fen::from_yuan(*price).fen())
        .bind(stock)
        .bind(village)
        .bind(serde_json::to_string(&terms).map_err(|e| SeedError::Other(e.to_string()))?)
        .bind(user_id(db, "admin@demo.zhunong.cn").await?)
        .bind(at(2, 10))
        .fetch_one(db.writer())
        .await?;
        listing_ids.push(id);
        report.listings += 1;
    }

    for (zh, en) in ENGLISH_TITLES {
        sqlx::query("UPDATE listings SET title_en = $1 WHERE title = $2 AND is_demo = 1")
            .bind(en)
            .bind(format!("{zh}（演示）"))
            .execute(db.writer())
            .await?;
    }
    // 滞销: two co-op lines with a bumper crop or a lost order.
    for (title, reason, qty) in [
        (
            "长泰芦柑（演示）",
            "今年丰产，收购商压价，约 2000 箱待售",
            2000,
        ),
        ("晋江胡萝卜（演示）", "出口订单取消，约 5000 箱待售", 5000),
    ] {
        sqlx::query("UPDATE listings SET stalled = 1, stalled_reason = $1, stalled_quantity = $2 WHERE title = $3")
            .bind(reason)
            .bind(qty)
            .bind(title)
            .execute(db.writer())
            .await?;
    }
    // 扶贫产品 certificates, recorded by the county official; one has expired and no longer shows.
    for (title, county_login, from, until) in [
        (
            "政和白茶·白牡丹（演示）",
            "gov.zhenghe@demo.zhunong.cn",
            format!("{year}-01-01"),
            format!("{}-12-31", year + 1),
        ),
        (
            "霞浦头水紫菜（演示）",
            "gov.xiapu@demo.zhunong.cn",
            format!("{year}-01-01"),
            format!("{}-12-31", year + 1),
        ),
        (
            "上杭红心蜜柚（演示）",
            "gov.shanghang@demo.zhunong.cn",
            format!("{year}-01-01"),
            format!("{}-12-31", year + 1),
        ),
        (
            "屏南高山蔬菜礼盒（演示）",
            "gov.pingnan@demo.zhunong.cn",
            format!("{}-01-01", year - 2),
            format!("{}-12-31", year - 1),
        ),
    ] {
        let official = user_id(db, county_login).await?;
        sqlx::query(
            "INSERT INTO certificates (listing_id, number, valid_from, valid_until, recorded_by, created_at)
             SELECT id, $1, $2, $3, $4, $5 FROM listings WHERE title = $6",
        )
        .bind(format!("闽扶认〔{}〕{:04}号（演示）", &from[..4], official))
        .bind(&from)
        .bind(&until)
        .bind(official)
        .bind(t0)
        .bind(title)
        .execute(db.writer())
        .await?;
    }
    // Institutional pledges for this year.
    for (name, yuan) in [("福州市演示中学", 50_000), ("三明市演示机关工会", 80_000)]
    {
        sqlx::query("INSERT INTO pledges (organisation_id, year, amount_fen) SELECT id, $1, $2 FROM organisations WHERE name = $3")
            .bind(year)
            .bind(Fen::from_yuan(yuan).fen())
            .bind(name)
            .execute(db.writer())
            .await?;
    }

    // Other income this year, recorded by the county officials: wages every month so far (5–8%
    // of last year's per-capita income a month, by household) and a subsidy in July (10%), so
    // that rolling incomes spread around the monitoring line.
    let households: Vec<(i64, i64, i64)> = sqlx::query_as(
        "SELECT h.id, h.members, b.per_capita_fen FROM households h JOIN household_baselines b ON b.household_id = h.id ORDER BY h.id",
    )
    .fetch_all(&db.pool)
    .await?;
    let recorder = user_id(db, "gov.fujian@demo.zhunong.cn").await?;
    // One transaction for all of them (one disk sync, not one per row).
    let mut tx = db.begin_write().await?;
    for (hid, members, pc) in &households {
        let monthly = 5 + hid % 4;
        let rows = (1..=12)
            .map(|m| ("wages", m, monthly, "基地务工工资（演示）"))
            .chain(std::iter::once(("subsidy", 7, 10, "产业奖补（演示）")));
        for (source, month, percent, note) in rows {
            if month > this_month {
                continue;
            }
            crate::ledger::post::record_other(
                &mut tx,
                &crate::ledger::post::OtherIncome {
                    household_id: *hid,
                    amount_fen: pc * members * percent / 100,
                    source,
                    note,
                    recorded_by: recorder,
                    occurred_at: at(month, 20),
                    created_at: at(month, 20),
                },
            )
            .await
            .map_err(err)?;
            report.ledger_rows += 1;
        }
    }
    tx.commit().await?;

    // Orders through the real order code: (buyer, listing index, quantity, month, outcome).
    let buyer = user_by_id(db, user_id(db, "buyer@demo.zhunong.cn").await?)
        .await
        .map_err(err)?
        .ok_or_else(|| SeedError::Other("no demo buyer".into()))?;
    let school = user_by_id(db, user_id(db, "school@demo.zhunong.cn").await?)
        .await
        .map_err(err)?
        .ok_or_else(|| SeedError::Other("no demo school".into()))?;
    // Delivery: an address for each demo buyer, and terms for the co-ops (the first with a fee,
    // free delivery from 99 元 and a village pick-up point).
    let township: String = sqlx::query_scalar(
        "SELECT code FROM regions WHERE level = 'township' ORDER BY code LIMIT 1",
    )
    .fetch_one(&db.pool)
    .await?;
    for (who, recipient, mobile, detail, unit) in [
        (
            &buyer,
            "陈爱心（演示）",
            "13900000001",
            "幸福路 8 号 3 单元 501（演示）",
            None,
        ),
        (
            &school,
            "林老师（演示）",
            "13900000002",
            "学府路 1 号 食堂（演示）",
            Some("福州市演示中学"),
        ),
    ] {
        sqlx::query(
            "INSERT INTO addresses (user_id, recipient, mobile, region_code, detail, unit_name, is_default, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, 1, $7)",
        )
        .bind(who.id)
        .bind(recipient)
        .bind(mobile)
        .bind(&township)
        .bind(detail)
        .bind(unit)
        .bind(at(1, 1))
        .execute(db.writer())
        .await?;
    }
    let coops: Vec<i64> = sqlx::query_scalar(
        "SELECT id FROM organisations WHERE kind IN ('coop', 'enterprise') ORDER BY id",
    )
    .fetch_all(&db.pool)
    .await?;
    for (i, org) in coops.iter().enumerate() {
        let (fee, free, pickup) = match i {
            0 => (1000, Some(9900), Some("石屯镇村委会自提点（演示）")),
            _ => (0, None, None),
        };
        sqlx::query(
            "INSERT INTO seller_delivery (seller_organisation_id, courier_fee_fen, free_above_fen, pickup_point,
                                          institution_delivery, dispatch_hours, updated_at)
             VALUES ($1, $2, $3, $4, 1, 48, $5)",
        )
        .bind(org)
        .bind(fee)
        .bind(free)
        .bind(pickup)
        .bind(at(1, 1))
        .execute(db.writer())
        .await?;
    }
    let plan: &[(bool, usize, i64, i64, &str)] = &[
        (false, 0, 2, 1, "delivered"),
        (true, 0, 20, 2, "delivered"),
        (false, 2, 3, 3, "shipped"),
        (true, 4, 30, 4, "delivered"),
        (false, 5, 2, 5, "refunded"),
        (true, 6, 100, 6, "delivered"),
        (true, 7, 80, 7, "paid"),
        (false, 8, 4, 8, "delivered"),
        (false, 11, 1, 9, "paid"),
        (true, 12, 10, 9, "shipped"),
        (false, 3, 2, 10, "cancelled"),
        (false, 1, 1, 11, "placed"),
    ];
    for (n, (institution, idx, qty, month, outcome)) in plan.iter().enumerate() {
        let Some(&listing_id) = listing_ids.get(*idx) else {
            continue;
        };
        let who = if *institution { &school } else { &buyer };
        let t = at(*month, 5 + n as i64);
        let r = place(
            db,
            who,
            &format!("demo-checkout-{n:04}"),
            &[CartLine {
                listing_id,
                quantity: *qty,
                price_fen: None,
                event_id: None,
            }],
            &DeliveryRequest::default(),
            t,
            Hold::default(),
        )
        .await
        .map_err(err)?;
        for o in &r.orders {
            report.orders += 1;
            let day = 86_400;
            match *outcome {
                "placed" => {}
                "cancelled" => move_order(db, o.id, "placed", "cancelled", t + 3600)
                    .await
                    .map_err(err)?,
                _ => {
                    // Institutions pay by bank transfer, confirmed by the seller; people pay
                    // with WeChat Pay, recorded through the same notification code as the
                    // (fake) provider's, and refunded the same way.
                    let wechat = if *institution {
                        pay_by_transfer(db, o.id, &format!("演示转账{n:04}"), None, t + day)
                            .await
                            .map_err(err)?;
                        None
                    } else {
                        let (_, no) = crate::payments::server::new_payment(
                            db,
                            o.id,
                            "wechat",
                            o.total_fen,
                            "qr",
                            t,
                        )
                        .await
                        .map_err(err)?;
                        let notice = move |kind| crate::payments::Notice {
                            event_id: format!(
                                "demo-{no}-{}",
                                matches!(kind, crate::payments::NoticeKind::Paid { .. })
                            ),
                            out_trade_no: no.clone(),
                            amount_fen: o.total_fen,
                            kind,
                        };
                        crate::payments::server::record_notice(
                            db,
                            "wechat",
                            &notice(crate::payments::NoticeKind::Paid {
                                transaction_id: format!("4200000000demo{n:04}"),
                            }),
                            t + day,
                        )
                        .await
                        .map_err(err)?;
                        Some(notice)
                    };
                    match *outcome {
                        "refunded" => match wechat {
                            Some(notice) => {
                                crate::payments::server::record_notice(
                                    db,
                                    "wechat",
                                    &notice(crate::payments::NoticeKind::Refunded {
                                        refund_id: format!("5030000000demo{n:04}"),
                                    }),
                                    t + 2 * day,
                                )
                                .await
                                .map_err(err)?;
                            }
                            None => {
                                let mut tx = db.begin_write().await?;
                                crate::orders::server::refund_paid(
                                    &mut tx,
                                    o.id,
                                    crate::ledger::post::Evidence::Transfer(&format!(
                                        "演示转账{n:04}"
                                    )),
                                    None,
                                    t + 2 * day,
                                )
                                .await
                                .map_err(err)?;
                                tx.commit().await?;
                            }
                        },
                        "shipped" | "delivered" => {
                            let tracking = format!("SF14{:08}", 20_000 + n);
                            ship_order(db, o.id, Some("顺丰速运"), Some(&tracking), t + 2 * day)
                                .await
                                .map_err(err)?;
                            if *outcome == "delivered" {
                                deliver_order(db, o.id, "buyer", t + 5 * day)
                                    .await
                                    .map_err(err)?;
                            }
                        }
                        _ => {}
                    }
                }
            }
        }
    }
    Ok(report)
}

/// Marks that the demo pictures were made, so photos a seller later removes stay removed.
const PICTURES_MARKER: &str = "demo_pictures_seeded";

/// Gives every demo listing without photos two pictures painted by [`super::demo_art`] (no
/// downloads), stored like uploads. Returns how many pictures it added; it runs once per
/// database, so a second run adds none.
pub async fn seed_pictures(db: &Db, upload_dir: &std::path::Path) -> Result<usize, SeedError> {
    if super::seed::marker(db, PICTURES_MARKER).await? {
        return Ok(0);
    }
    let bare: Vec<(i64, String)> = sqlx::query_as(
        "SELECT l.id, l.category FROM listings l
          WHERE l.is_demo = 1 AND NOT EXISTS (SELECT 1 FROM listing_photos p WHERE p.listing_id = l.id)
          ORDER BY l.id LIMIT 100",
    )
    .fetch_all(&db.pool)
    .await?;
    let mut added = 0;
    for (id, category) in bare {
        let pictures = tokio::task::spawn_blocking(move || {
            (0..2u32)
                .map(|k| {
                    let img = super::demo_art::paint(&category, id as u32 * 2 + k, 1200, 900);
                    crate::market::photos::encode_image(&image::DynamicImage::ImageRgb8(img))
                })
                .collect::<Result<Vec<_>, _>>()
        })
        .await
        .map_err(|e| SeedError::Other(e.to_string()))?
        .map_err(|e| SeedError::Other(e.to_string()))?;
        crate::market::photos::store(db, upload_dir, id, &pictures)
            .await
            .map_err(err)?;
        added += pictures.len();
    }
    if added > 0 {
        super::seed::set_marker(db, PICTURES_MARKER).await?;
    }
    Ok(added)
}
