//! Demo data (`zhunong seed --demo`, and the first `make run`). Deterministic: the same data every
//! time. Province, cities and counties are real, with their national division codes (as of the
//! 2020 programme); every township, village, household and person below them is invented and
//! marked `is_demo = 1`.

use super::db::{now, Db};
use crate::auth::server::{hash_password, insert_user, CreateUserError, NewUser};
use crate::domain::account::{LoginId, Password};
use crate::domain::role::Role;

/// Every demo account has this password (listed in the README).
pub const DEMO_PASSWORD: &str = "zhunong2020";
/// The demo monitoring line: 6,000 元 per person per year.
pub const DEMO_LINE_FEN: i64 = 600_000;
/// The year the demo baselines describe, and the years the demo line is set for.
pub const DEMO_BASELINE_YEAR: i64 = 2025;
const MARKER: &str = "demo_seeded";
const MARKET_MARKER: &str = "demo_market_seeded";
const MONITORING_MARKER: &str = "demo_monitoring_seeded";

/// Real regions: (code, name, English name, level, parent).
const REGIONS: &[(&str, &str, &str, &str, Option<&str>)] = &[
    ("350000", "福建省", "Fujian", "province", None),
    ("350100", "福州市", "Fuzhou", "city", Some("350000")),
    (
        "350123",
        "罗源县",
        "Luoyuan County",
        "county",
        Some("350100"),
    ),
    ("350300", "莆田市", "Putian", "city", Some("350000")),
    (
        "350303",
        "涵江区",
        "Hanjiang District",
        "county",
        Some("350300"),
    ),
    ("350400", "三明市", "Sanming", "city", Some("350000")),
    ("350426", "尤溪县", "Youxi County", "county", Some("350400")),
    ("350500", "泉州市", "Quanzhou", "city", Some("350000")),
    ("350582", "晋江市", "Jinjiang", "county", Some("350500")),
    ("350600", "漳州市", "Zhangzhou", "city", Some("350000")),
    (
        "350625",
        "长泰县",
        "Changtai County",
        "county",
        Some("350600"),
    ),
    ("350700", "南平市", "Nanping", "city", Some("350000")),
    (
        "350725",
        "政和县",
        "Zhenghe County",
        "county",
        Some("350700"),
    ),
    ("350800", "龙岩市", "Longyan", "city", Some("350000")),
    (
        "350823",
        "上杭县",
        "Shanghang County",
        "county",
        Some("350800"),
    ),
    ("350900", "宁德市", "Ningde", "city", Some("350000")),
    ("350921", "霞浦县", "Xiapu County", "county", Some("350900")),
    (
        "350923",
        "屏南县",
        "Pingnan County",
        "county",
        Some("350900"),
    ),
];

/// An invented township and its invented villages.
type Township = (&'static str, &'static [&'static str]);

/// Demo counties: (code, pinyin for log-ins, townships).
const COUNTIES: &[(&str, &str, &[Township])] = &[
    (
        "350123",
        "luoyuan",
        &[
            ("凤山镇", &["演示岭头村", "演示溪口村"]),
            ("起步镇", &["演示上楼村", "演示西洋村"]),
        ],
    ),
    (
        "350303",
        "hanjiang",
        &[
            ("白沙镇", &["演示坪盘村", "演示龙眼村"]),
            ("庄边镇", &["演示前张村", "演示山后村"]),
        ],
    ),
    (
        "350426",
        "youxi",
        &[
            ("西城镇", &["演示金柑村", "演示麻洋村"]),
            ("洋中镇", &["演示后楼村", "演示桂峰村"]),
        ],
    ),
    (
        "350582",
        "jinjiang",
        &[
            ("东石镇", &["演示萧下村", "演示井林村"]),
            ("深沪镇", &["演示运伙村", "演示华峰村"]),
        ],
    ),
    (
        "350625",
        "changtai",
        &[
            ("岩溪镇", &["演示珪后村", "演示湖珠村"]),
            ("坂里乡", &["演示坂里村", "演示高层村"]),
        ],
    ),
    (
        "350725",
        "zhenghe",
        &[
            ("石屯镇", &["演示石圳村", "演示松源村"]),
            ("澄源乡", &["演示澄源村", "演示上榕村"]),
            ("镇前镇", &["演示镇前村"]),
        ],
    ),
    (
        "350823",
        "shanghang",
        &[
            ("古田镇", &["演示五龙村", "演示吴地村"]),
            ("步云乡", &["演示云辉村", "演示梨子村"]),
        ],
    ),
    (
        "350921",
        "xiapu",
        &[
            ("三沙镇", &["演示东山村", "演示古镇村"]),
            ("沙江镇", &["演示竹江村", "演示小马村"]),
        ],
    ),
    (
        "350923",
        "pingnan",
        &[
            ("熙岭乡", &["演示四坪村", "演示龙潭村"]),
            ("屏城乡", &["演示厦地村", "演示前汾溪村"]),
        ],
    ),
];

/// Co-ops and agri-enterprises named after the counties' real product lines:
/// (name, kind, county, product line).
const ORGANISATIONS: &[(&str, &str, &str, &str)] = &[
    ("政和白茶专业合作社（演示）", "coop", "350725", "政和白茶"),
    (
        "政和县锦屏茶业有限公司（演示）",
        "enterprise",
        "350725",
        "政和白茶",
    ),
    ("霞浦紫菜专业合作社（演示）", "coop", "350921", "霞浦紫菜"),
    ("霞浦海带养殖合作社（演示）", "coop", "350921", "霞浦海带"),
    (
        "屏南高山蔬菜专业合作社（演示）",
        "coop",
        "350923",
        "屏南高山蔬菜",
    ),
    ("上杭蜜柚专业合作社（演示）", "coop", "350823", "上杭蜜柚"),
    ("长泰芦柑专业合作社（演示）", "coop", "350625", "长泰芦柑"),
    (
        "晋江胡萝卜农业发展有限公司（演示）",
        "enterprise",
        "350582",
        "晋江胡萝卜",
    ),
    ("涵江龙眼专业合作社（演示）", "coop", "350303", "涵江龙眼"),
    (
        "罗源秀珍菇专业合作社（演示）",
        "coop",
        "350123",
        "罗源秀珍菇",
    ),
    ("尤溪金柑专业合作社（演示）", "coop", "350426", "尤溪金柑"),
];

/// Institutions that buy in lieu of donating: (name, kind, region).
const INSTITUTIONS: &[(&str, &str, &str)] = &[
    ("福州市演示中学", "institution", "350100"),
    ("三明市演示机关工会", "institution", "350400"),
];

const SURNAMES: &[&str] = &[
    "陈", "林", "黄", "张", "吴", "王", "郑", "李", "刘", "蔡", "杨", "许", "游", "叶", "潘", "魏",
];
const GIVEN: &[&str] = &[
    "秀英", "建华", "明福", "春花", "金水", "玉兰", "志强", "丽珍", "德辉", "美玲", "永福", "桂香",
    "国平", "月娥", "长生", "淑芳", "文彬", "阿妹", "瑞金", "海燕",
];
const LINK_TYPES: &[(&str, &str)] = &[
    ("order_purchase", "订单收购：按合同价收购当季产品"),
    (
        "guaranteed_purchase",
        "保底收购：市场价低于保底价时按保底价收购",
    ),
    ("employment", "务工：基地务工，按日结算工资"),
    ("dividend", "入股分红：以土地或资金入股，年底分红"),
    ("land_transfer", "土地流转：流转土地，按年支付租金"),
];

/// A demo account: (log-in, display name, role, region, organisation, household).
type DemoAccount = (
    String,
    String,
    Role,
    Option<String>,
    Option<i64>,
    Option<i64>,
);

/// A small deterministic generator (SplitMix64) so every seed run makes the same data.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

#[derive(Debug, Default, PartialEq, Eq)]
pub struct SeedReport {
    pub already_present: bool,
    pub regions: usize,
    pub organisations: usize,
    pub households: usize,
    pub links: usize,
    pub users: usize,
    pub listings: usize,
    pub orders: usize,
    pub ledger_rows: usize,
    /// Monitoring objects, visits and self-reports.
    pub monitoring: usize,
    /// Livestream sales made (0 on later runs, which move them to now).
    pub live_events: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum SeedError {
    #[error(transparent)]
    Db(#[from] sqlx::Error),
    #[error("{0}")]
    Other(String),
}

/// Whether the database holds no regions yet (a fresh database).
pub async fn is_empty(db: &Db) -> Result<bool, sqlx::Error> {
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM regions")
        .fetch_one(&db.pool)
        .await?;
    Ok(n == 0)
}

pub(super) async fn marker(db: &Db, key: &str) -> Result<bool, sqlx::Error> {
    let v: Option<String> = sqlx::query_scalar("SELECT value FROM settings WHERE key = $1")
        .bind(key)
        .fetch_optional(&db.pool)
        .await?;
    Ok(v.is_some())
}

/// Records that the seed step `key` is done.
pub(super) async fn set_marker(db: &Db, key: &str) -> Result<(), sqlx::Error> {
    sqlx::query("INSERT INTO settings (key, value) VALUES ($1, $2)")
        .bind(key)
        .bind(now().to_string())
        .execute(db.writer())
        .await?;
    Ok(())
}

/// Loads the demo data once; a second run finds the markers and changes nothing.
pub async fn seed_demo(db: &Db) -> Result<SeedReport, SeedError> {
    let mut report = if marker(db, MARKER).await? {
        SeedReport {
            already_present: true,
            ..Default::default()
        }
    } else {
        let report = seed_base(db).await?;
        // The new households (and their baselines) in the dashboard's roll-ups.
        crate::ledger::rollup::refresh_all(db)
            .await
            .map_err(|e| SeedError::Other(format!("{e:?}")))?;
        report
    };
    if !marker(db, MARKET_MARKER).await? {
        report.already_present = false;
        let m = super::seed_market::seed_market(db).await?;
        report.listings = m.listings;
        report.orders = m.orders;
        report.ledger_rows = m.ledger_rows;
        set_marker(db, MARKET_MARKER).await?;
    }
    if !marker(db, MONITORING_MARKER).await? {
        report.already_present = false;
        report.monitoring = super::seed_monitoring::seed_monitoring(db).await?;
        set_marker(db, MONITORING_MARKER).await?;
    }
    // Livestreams: made once, then moved to now on every run (see `seed_live`).
    report.live_events = super::seed_live::seed_live(db).await?;
    Ok(report)
}

async fn seed_base(db: &Db) -> Result<SeedReport, SeedError> {
    // Password hashing is slow; do it before the transaction holds the write lock.
    let password =
        Password::parse(DEMO_PASSWORD).map_err(|e| SeedError::Other(format!("{e:?}")))?;
    let hash = hash_password(&password)
        .await
        .map_err(|e| SeedError::Other(e.message))?;

    let mut report = SeedReport::default();
    let mut tx = db.begin_write().await?;
    let t = now();

    for (code, name, en, level, parent) in REGIONS {
        sqlx::query("INSERT INTO regions (code, name, name_en, level, parent_code, is_demo) VALUES ($1, $2, $3, $4, $5, 0)")
            .bind(code).bind(name).bind(en).bind(level).bind(parent)
            .execute(&mut *tx).await?;
        report.regions += 1;
    }
    // Invented townships (county code + 3 digits) and villages (township code + 3 digits).
    let mut villages: Vec<(String, &str)> = Vec::new(); // (village code, county code)
    for (county, _, townships) in COUNTIES {
        for (ti, (tname, vnames)) in townships.iter().enumerate() {
            let tcode = format!("{county}{:03}", 101 + ti);
            sqlx::query("INSERT INTO regions (code, name, level, parent_code, is_demo) VALUES ($1, $2, 'township', $3, 1)")
                .bind(&tcode).bind(format!("{tname}（演示）")).bind(county)
                .execute(&mut *tx).await?;
            report.regions += 1;
            for (vi, vname) in vnames.iter().enumerate() {
                let vcode = format!("{tcode}{:03}", 201 + vi);
                sqlx::query("INSERT INTO regions (code, name, level, parent_code, is_demo) VALUES ($1, $2, 'village', $3, 1)")
                    .bind(&vcode).bind(*vname).bind(&tcode)
                    .execute(&mut *tx).await?;
                report.regions += 1;
                villages.push((vcode, county));
            }
        }
    }

    let mut org_ids: Vec<(i64, &str)> = Vec::new(); // (id, county) of co-ops and enterprises
    for (name, kind, county, line) in ORGANISATIONS {
        let id: i64 = sqlx::query_scalar("INSERT INTO organisations (name, kind, region_code, product_line, is_demo, created_at) VALUES ($1, $2, $3, $4, 1, $5) RETURNING id")
            .bind(name).bind(kind).bind(county).bind(line).bind(t)
            .fetch_one(&mut *tx).await?;
        org_ids.push((id, county));
        report.organisations += 1;
    }
    let mut institution_ids = Vec::new();
    for (name, kind, region) in INSTITUTIONS {
        let id: i64 = sqlx::query_scalar("INSERT INTO organisations (name, kind, region_code, is_demo, created_at) VALUES ($1, $2, $3, 1, $4) RETURNING id")
            .bind(name).bind(kind).bind(region).bind(t)
            .fetch_one(&mut *tx).await?;
        institution_ids.push(id);
        report.organisations += 1;
    }

    for year in [DEMO_BASELINE_YEAR, DEMO_BASELINE_YEAR + 1] {
        sqlx::query("INSERT INTO monitoring_lines (year, per_capita_fen) VALUES ($1, $2)")
            .bind(year)
            .bind(DEMO_LINE_FEN)
            .execute(&mut *tx)
            .await?;
    }

    // ~200 households, spread over the villages, incomes around the line.
    let mut rng = Rng(20_200_514);
    let mut households: Vec<(i64, &str)> = Vec::new();
    for i in 0..200usize {
        let (village, county) = &villages[i % villages.len()];
        let name = format!(
            "{}{}",
            SURNAMES[rng.below(SURNAMES.len() as u64) as usize],
            GIVEN[rng.below(GIVEN.len() as u64) as usize]
        );
        let members = 1 + rng.below(6) as i64;
        // Per-capita income from 3,600 to 12,000 元, weighted towards the line.
        let a = rng.below(4_200) as i64;
        let b = rng.below(4_200) as i64;
        let per_capita = (3_600 + a + b) * 100 + rng.below(100) as i64;
        let story_consent = i64::from(i % 4 == 0);
        let story = (story_consent == 1)
            .then(|| format!("{name}家{members}口人，靠种养和务工为生。（演示）"));
        let id: i64 = sqlx::query_scalar("INSERT INTO households (region_code, head_name, members, story, story_consent, is_demo, created_at) VALUES ($1, $2, $3, $4, $5, 1, $6) RETURNING id")
            .bind(village).bind(format!("{name}（演示）")).bind(members).bind(story).bind(story_consent).bind(t)
            .fetch_one(&mut *tx).await?;
        sqlx::query("INSERT INTO household_baselines (household_id, year, per_capita_fen) VALUES ($1, $2, $3)")
            .bind(id).bind(DEMO_BASELINE_YEAR).bind(per_capita)
            .execute(&mut *tx).await?;
        households.push((id, county));
        report.households += 1;
    }

    // A third of the households are linked to a co-op or enterprise of their county.
    for (i, (hid, county)) in households.iter().enumerate() {
        if i % 3 != 0 {
            continue;
        }
        let local: Vec<i64> = org_ids
            .iter()
            .filter(|(_, c)| c == county)
            .map(|(id, _)| *id)
            .collect();
        let Some(org) = local.get(i % local.len().max(1)).copied() else {
            continue;
        };
        let (link_type, terms) = LINK_TYPES[(i / 3) % LINK_TYPES.len()];
        sqlx::query("INSERT INTO benefit_links (household_id, organisation_id, link_type, terms, since_year) VALUES ($1, $2, $3, $4, $5)")
            .bind(hid).bind(org).bind(link_type).bind(terms).bind(2020 + (i % 5) as i64)
            .execute(&mut *tx).await?;
        report.links += 1;
    }

    // Accounts.
    let zhenghe_org = org_ids
        .iter()
        .find(|(_, c)| *c == "350725")
        .map(|(id, _)| *id);
    let zhenghe_households: Vec<i64> = households
        .iter()
        .filter(|(_, c)| *c == "350725")
        .map(|(id, _)| *id)
        .collect();
    let mut accounts: Vec<DemoAccount> = vec![
        (
            "admin@demo.zhunong.cn".into(),
            "管理员（演示）".into(),
            Role::Admin,
            None,
            None,
            None,
        ),
        (
            "gov.fujian@demo.zhunong.cn".into(),
            "省级监测干部（演示）".into(),
            Role::Official,
            Some("350000".into()),
            None,
            None,
        ),
        (
            "buyer@demo.zhunong.cn".into(),
            "爱心买家（演示）".into(),
            Role::Buyer,
            None,
            None,
            None,
        ),
        (
            "school@demo.zhunong.cn".into(),
            "福州市演示中学采购员".into(),
            Role::InstitutionBuyer,
            None,
            institution_ids.first().copied(),
            None,
        ),
        (
            "coop.zhenghe@demo.zhunong.cn".into(),
            "政和白茶合作社负责人（演示）".into(),
            Role::OrgManager,
            Some("350725".into()),
            zhenghe_org,
            None,
        ),
        (
            "household@demo.zhunong.cn".into(),
            "政和演示农户".into(),
            Role::Household,
            None,
            None,
            zhenghe_households.first().copied(),
        ),
        (
            "cadre@demo.zhunong.cn".into(),
            "政和帮扶干部（演示）".into(),
            Role::Cadre,
            Some("350725".into()),
            None,
            None,
        ),
    ];
    for (county, pinyin, _) in COUNTIES {
        let name = REGIONS
            .iter()
            .find(|r| r.0 == *county)
            .map(|r| r.1)
            .unwrap_or(county);
        accounts.push((
            format!("gov.{pinyin}@demo.zhunong.cn"),
            format!("{name}监测干部（演示）"),
            Role::Official,
            Some((*county).to_owned()),
            None,
            None,
        ));
    }
    let mut cadre_id = None;
    for (login, display, role, region, org, household) in &accounts {
        let login =
            LoginId::parse(login).map_err(|e| SeedError::Other(format!("{login}: {e:?}")))?;
        let new = NewUser {
            login: &login,
            password_hash: &hash,
            display_name: display,
            role: *role,
            region_code: region.as_deref(),
            organisation_id: *org,
            household_id: *household,
            is_demo: true,
        };
        let id = match insert_user(&mut *tx, &new).await {
            Ok(id) => id,
            Err(CreateUserError::Exists) => {
                return Err(SeedError::Other(format!("{login} exists")))
            }
            Err(CreateUserError::Db(e)) => return Err(SeedError::Db(e)),
        };
        if *role == Role::Cadre {
            cadre_id = Some(id);
        }
        report.users += 1;
    }
    if let Some(cadre) = cadre_id {
        for hid in zhenghe_households.iter().take(3) {
            sqlx::query("INSERT INTO cadre_pairings (user_id, household_id) VALUES ($1, $2)")
                .bind(cadre)
                .bind(hid)
                .execute(&mut *tx)
                .await?;
        }
    }
    sqlx::query("INSERT INTO settings (key, value) VALUES ($1, $2)")
        .bind(MARKER)
        .bind(t.to_string())
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(report)
}
