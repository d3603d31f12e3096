//! Integration tests of 防止返贫监测 and the officials' pages: the workflow's state machine
//! (report → verify → notice → identify → visits → exit) with its refusals, scope through every
//! official function, masking, the audit log, roll-ups equal to the ledger's sums, the one
//! definition of rolling income, the CSV export, and the self-report's rate limit. Both backends.

use crate::common;

use common::{count, demo_login, Client, TestApp};

on_both_backends! {
    the_workflow_goes_in_order_and_refuses_skipped_steps;
    roll_ups_equal_the_ledger_and_scope_holds;
    the_file_keeps_members_measures_and_pairings;
    early_warning_raises_each_task_once;
    the_registry_import_reports_bad_lines_and_never_duplicates;
    exports_come_as_workbooks_and_in_the_national_layout;
    workbooks_import_like_csv_and_bombs_are_refused;
    maintained_roll_ups_equal_the_live_figures;
}

/// The self-report's per-address budget (set low here; the other tests raise it).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn self_reports_are_rate_limited() {
    for backend in [common::Backend::Sqlite, common::Backend::Postgres] {
        if let Some(app) =
            common::spawn_app_with(backend, true, |s| s.register_per_ip_per_hour = 3).await
        {
            cases::self_reports_are_rate_limited(app).await;
        }
    }
}

mod cases {
    use super::*;
    use zhunong::domain::monitoring::rolling_per_capita;

    const ZHENGHE: &str = "gov.zhenghe@demo.zhunong.cn";
    const XIAPU: &str = "gov.xiapu@demo.zhunong.cn";
    const FUJIAN: &str = "gov.fujian@demo.zhunong.cn";
    const CADRE: &str = "cadre@demo.zhunong.cn";

    async fn scalar_i64(app: &TestApp, sql: &str, bind: &str) -> i64 {
        sqlx::query_scalar::<_, i64>(sql)
            .bind(bind)
            .fetch_one(&app.db.pool)
            .await
            .expect(sql)
    }

    /// A Zhenghe village, one of its households, and a household of another village.
    async fn village_and_households(app: &TestApp) -> (String, i64, i64) {
        let (village, household): (String, i64) = sqlx::query_as(
            "SELECT region_code, id FROM households WHERE region_code LIKE '350725%'
              AND id NOT IN (SELECT household_id FROM monitoring_objects)
              AND id NOT IN (SELECT household_id FROM cadre_pairings) ORDER BY id LIMIT 1",
        )
        .fetch_one(&app.db.pool)
        .await
        .unwrap();
        let other: i64 = sqlx::query_scalar(
            "SELECT id FROM households WHERE region_code <> $1 ORDER BY id LIMIT 1",
        )
        .bind(&village)
        .fetch_one(&app.db.pool)
        .await
        .unwrap();
        (village, household, other)
    }

    fn code(r: &common::Response) -> String {
        r.json()["code"].as_str().unwrap_or_default().to_owned()
    }

    pub async fn the_workflow_goes_in_order_and_refuses_skipped_steps(app: TestApp) {
        let (village, household, other) = village_and_households(&app).await;
        let mut anon = Client::new(&app);
        let report = |phone: &'static str, village: String| {
            vec![
                ("reporter".to_owned(), "neighbour".to_owned()),
                ("name".into(), "王小明".into()),
                ("phone".into(), phone.into()),
                ("village".into(), village),
                ("reason".into(), "illness".into()),
                ("detail".into(), "户主突发重病住院。".into()),
            ]
        };
        // Bad input: a clear 400 naming the field, nothing stored.
        let before = count(&app.db, "SELECT COUNT(*) FROM monitoring_reports").await;
        let r = anon
            .post_form(
                "/api/monitoring/report",
                &pairs(&report("12", village.clone())),
            )
            .await;
        assert_eq!(
            (r.status, r.json()["field"].as_str()),
            (400, Some("phone")),
            "{}",
            r.body
        );
        let r = anon
            .post_form(
                "/api/monitoring/report",
                &pairs(&report("13800001234", "350725".into())),
            )
            .await;
        assert_eq!(
            (r.status, r.json()["field"].as_str()),
            (400, Some("village")),
            "{}",
            r.body
        );
        let r = anon
            .post_form(
                "/api/monitoring/report",
                &pairs(&report("13800001234", "350725999999".into())),
            )
            .await;
        assert_eq!(r.status, 400, "{}", r.body);
        // Only a logged-in cadre reports as a cadre.
        let mut as_cadre = report("13800001234", village.clone());
        as_cadre[0].1 = "cadre".into();
        let r = anon
            .post_form("/api/monitoring/report", &pairs(&as_cadre))
            .await;
        assert_eq!(
            (r.status, r.json()["field"].as_str()),
            (400, Some("reporter"))
        );
        assert_eq!(
            count(&app.db, "SELECT COUNT(*) FROM monitoring_reports").await,
            before
        );
        // A good report: a receipt, and a status anyone holding it can check.
        let r = anon
            .post_form(
                "/api/monitoring/report",
                &pairs(&report("138-0000-1234", village.clone())),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        let receipt = r.json().as_str().unwrap().to_owned();
        assert!(
            receipt.starts_with("BP") && receipt.len() == 12,
            "{receipt}"
        );
        let s = anon
            .post_form(
                "/api/monitoring/status",
                &[("receipt", &receipt.to_lowercase())],
            )
            .await;
        assert_eq!(
            (s.status, s.json()["state"].as_str()),
            (200, Some("submitted")),
            "{}",
            s.body
        );
        assert!(
            !s.body.contains("1234"),
            "the status tells nothing personal: {}",
            s.body
        );
        assert_eq!(
            anon.post_form("/api/monitoring/status", &[("receipt", "BP2222222222")])
                .await
                .status,
            404
        );
        let id: i64 = sqlx::query_scalar("SELECT id FROM monitoring_reports WHERE receipt = $1")
            .bind(&receipt)
            .fetch_one(&app.db.pool)
            .await
            .unwrap();
        let ids = id.to_string();

        // The county's official sees the phone; the province's sees it masked.
        let mut county = demo_login(&app, ZHENGHE).await;
        let q = county.post_form("/api/monitoring/queue", &[]).await;
        assert_eq!(q.status, 200, "{}", q.body);
        let item = find(&q.json(), &receipt);
        assert_eq!(item["phone"], "138-0000-1234");
        let mut province = demo_login(&app, FUJIAN).await;
        let q = province.post_form("/api/monitoring/queue", &[]).await;
        let item = find(&q.json(), &receipt);
        assert_eq!(item["phone"], "138******34");
        assert_eq!(item["name"], "王**");
        // Another county's official sees none of it and can do nothing to it.
        let mut xiapu = demo_login(&app, XIAPU).await;
        let q = xiapu
            .post_form("/api/monitoring/queue", &[("region", "350725")])
            .await;
        assert_eq!((q.status, code(&q).as_str()), (403, "out_of_region"));
        let q = xiapu.post_form("/api/monitoring/queue", &[]).await;
        assert!(!q.body.contains(&receipt));
        let verify = |h: i64, consent: bool| {
            let mut f = vec![
                ("report_id".to_owned(), ids.clone()),
                ("household_id".into(), h.to_string()),
                (
                    "verification".into(),
                    "入户核实：医疗支出大，收入中断。".into(),
                ),
            ];
            if consent {
                f.push(("consent".into(), "true".into()));
            }
            f
        };
        let r = xiapu
            .post_form("/api/monitoring/verify", &pairs(&verify(household, true)))
            .await;
        assert_eq!((r.status, code(&r).as_str()), (403, "out_of_region"));
        let cadre_id = scalar_i64(&app, "SELECT id FROM users WHERE login = $1", CADRE).await;
        let identify = [
            ("report_id".to_owned(), ids.clone()),
            ("category".into(), "sudden".into()),
            ("cadre_id".into(), cadre_id.to_string()),
        ];
        // Skipped steps are refused: no identification before verification.
        let r = county
            .post_form("/api/monitoring/identify", &pairs(&identify))
            .await;
        assert_eq!(
            (r.status, code(&r).as_str()),
            (409, "invalid_step"),
            "{}",
            r.body
        );
        // Verification needs consent, and a household of the reported village.
        let r = county
            .post_form("/api/monitoring/verify", &pairs(&verify(household, false)))
            .await;
        assert_eq!((r.status, code(&r).as_str()), (400, "consent_required"));
        let r = county
            .post_form("/api/monitoring/verify", &pairs(&verify(other, true)))
            .await;
        assert_eq!(
            (r.status, r.json()["field"].as_str()),
            (400, Some("household_id"))
        );
        let r = county
            .post_form("/api/monitoring/verify", &pairs(&verify(household, true)))
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        let r = county
            .post_form("/api/monitoring/verify", &pairs(&verify(household, true)))
            .await;
        assert_eq!((r.status, code(&r).as_str()), (409, "invalid_step"));
        let s = anon
            .post_form("/api/monitoring/status", &[("receipt", &receipt)])
            .await;
        assert_eq!(s.json()["state"], "notice");
        // The notice period runs five days.
        let r = county
            .post_form("/api/monitoring/identify", &pairs(&identify))
            .await;
        assert_eq!(
            (r.status, code(&r).as_str()),
            (409, "notice_running"),
            "{}",
            r.body
        );
        sqlx::query(
            "UPDATE monitoring_reports SET notice_from = notice_from - 5 * 86400 WHERE id = $1",
        )
        .bind(id)
        .execute(&app.db.pool)
        .await
        .unwrap();
        // The cadre must be one of the county's.
        let buyer_id = scalar_i64(
            &app,
            "SELECT id FROM users WHERE login = $1",
            "buyer@demo.zhunong.cn",
        )
        .await;
        let mut wrong = identify.to_vec();
        wrong[2].1 = buyer_id.to_string();
        let r = county
            .post_form("/api/monitoring/identify", &pairs(&wrong))
            .await;
        assert_eq!(
            (r.status, r.json()["field"].as_str()),
            (400, Some("cadre_id"))
        );
        let r = county
            .post_form("/api/monitoring/identify", &pairs(&identify))
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        let hs = household.to_string();
        assert_eq!(
            scalar_i64(&app, "SELECT COUNT(*) FROM monitoring_objects WHERE household_id = CAST($1 AS BIGINT) AND state = 'monitored' AND category = 'sudden'", &hs).await,
            1
        );
        assert_eq!(
            scalar_i64(
                &app,
                "SELECT COUNT(*) FROM cadre_pairings WHERE household_id = CAST($1 AS BIGINT)",
                &hs
            )
            .await,
            1
        );
        // Decided: neither dismissed nor identified again.
        let r = county
            .post_form(
                "/api/monitoring/dismiss",
                &[("report_id", &ids), ("reason", "重复")],
            )
            .await;
        assert_eq!((r.status, code(&r).as_str()), (409, "invalid_step"));

        // The paired cadre logs a visit; not in the future, and not for a household not theirs.
        let mut cadre = demo_login(&app, CADRE).await;
        let today = zhunong::server::db::today();
        let visit = |h: &str, day: &str| {
            vec![
                ("household_id".to_owned(), h.to_owned()),
                ("visited_on".into(), day.to_owned()),
                ("seen".into(), "已出院，在家休养。".into()),
                ("needs".into(), "医保报销。".into()),
                ("next_steps".into(), "下月再访。".into()),
            ]
        };
        let r = cadre
            .post_form("/api/monitoring/visit", &pairs(&visit(&hs, "2999-01-01")))
            .await;
        assert_eq!(
            (r.status, r.json()["field"].as_str()),
            (400, Some("visited_on"))
        );
        let r = cadre
            .post_form("/api/monitoring/visit", &pairs(&visit(&hs, &today)))
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        let r = cadre
            .post_form(
                "/api/monitoring/visit",
                &pairs(&visit(&other.to_string(), &today)),
            )
            .await;
        assert_eq!(r.status, 403, "{}", r.body);
        let r = county
            .post_form("/api/monitoring/visit", &pairs(&visit(&hs, &today)))
            .await;
        assert_eq!(r.status, 403, "only the paired cadre visits: {}", r.body);
        let mine = cadre.post_form("/api/monitoring/mine", &[]).await;
        assert_eq!(mine.status, 200, "{}", mine.body);
        let row = mine.json()["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|h| h["id"] == household)
            .cloned()
            .expect("the identified household is on the cadre's list");
        assert_eq!(
            (row["last_visit"].as_str(), row["visit_overdue"].as_bool()),
            (Some(today.as_str()), Some(false))
        );

        // Exit only after six months above the line; then it can be reopened.
        sqlx::query("UPDATE household_baselines SET per_capita_fen = 0 WHERE household_id = $1")
            .bind(household)
            .execute(&app.db.pool)
            .await
            .unwrap();
        let r = county
            .post_form(
                "/api/monitoring/exit",
                &[("household_id", &hs), ("note", "收入回升")],
            )
            .await;
        assert_eq!(
            (r.status, code(&r).as_str()),
            (409, "exit_too_early"),
            "{}",
            r.body
        );
        sqlx::query(
            "UPDATE household_baselines SET per_capita_fen = 5000000 WHERE household_id = $1",
        )
        .bind(household)
        .execute(&app.db.pool)
        .await
        .unwrap();
        let r = xiapu
            .post_form(
                "/api/monitoring/exit",
                &[("household_id", &hs), ("note", "收入回升")],
            )
            .await;
        assert_eq!(r.status, 403);
        let r = county
            .post_form(
                "/api/monitoring/exit",
                &[("household_id", &hs), ("note", "收入回升")],
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        let r = county
            .post_form(
                "/api/monitoring/exit",
                &[("household_id", &hs), ("note", "again")],
            )
            .await;
        assert_eq!((r.status, code(&r).as_str()), (409, "invalid_step"));
        let r = county
            .post_form(
                "/api/monitoring/reopen",
                &[("household_id", &hs), ("note", "再次因病")],
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        // The file shows the history; viewing it is audited (once a day per viewer).
        county
            .post_form("/api/monitoring/file", &[("household_id", &hs)])
            .await;
        let f = county
            .post_form("/api/monitoring/file", &[("household_id", &hs)])
            .await;
        assert_eq!(f.status, 200, "{}", f.body);
        let events: Vec<String> = f.json()["events"]["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["event"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(events, ["reopened", "eliminated", "identified"]);
        assert_eq!(f.json()["object"]["state"], "monitored");
        let a = county.post_form("/api/monitoring/audit", &[]).await;
        assert_eq!(a.status, 200, "{}", a.body);
        let actions: Vec<String> = a.json()["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["household_id"] == household)
            .map(|e| e["action"].as_str().unwrap().to_owned())
            .collect();
        for want in [
            "view",
            "reopened",
            "eliminated",
            "visit",
            "identify",
            "verify",
        ] {
            assert!(actions.iter().any(|a| a == want), "{want} in {actions:?}");
        }
        assert_eq!(actions.iter().filter(|a| *a == "view").count(), 1);
        // Nobody else reads the audit log of the county.
        let r = xiapu
            .post_form("/api/monitoring/audit", &[("region", "350725")])
            .await;
        assert_eq!(r.status, 403);
        let mut buyer = demo_login(&app, "buyer@demo.zhunong.cn").await;
        assert_eq!(
            buyer.post_form("/api/monitoring/audit", &[]).await.status,
            403
        );
        assert_eq!(
            buyer.post_form("/api/monitoring/queue", &[]).await.status,
            403
        );
        assert_eq!(
            buyer
                .post_form("/api/monitoring/file", &[("household_id", &hs)])
                .await
                .status,
            403
        );
        // The audit log and the history are append-only.
        assert!(sqlx::query("DELETE FROM audit_log")
            .execute(&app.db.pool)
            .await
            .is_err());
        assert!(sqlx::query("UPDATE monitoring_events SET note = 'x'")
            .execute(&app.db.pool)
            .await
            .is_err());

        // The county changes the category, with a reason; the change joins the history.
        let recat = |c: &'static str| {
            vec![
                ("household_id".to_owned(), hs.clone()),
                ("category".into(), c.to_owned()),
                ("note".into(), "家中又添病人".into()),
            ]
        };
        let r = xiapu
            .post_form("/api/monitoring/category", &pairs(&recat("sudden")))
            .await;
        assert_eq!(r.status, 403);
        let r = cadre
            .post_form("/api/monitoring/category", &pairs(&recat("sudden")))
            .await;
        assert_eq!(r.status, 403, "a cadre does not decide: {}", r.body);
        let r = county
            .post_form("/api/monitoring/category", &pairs(&recat("x")))
            .await;
        assert_eq!(
            (r.status, r.json()["field"].as_str()),
            (400, Some("category"))
        );
        // Identified as 突发严重困难户 (sudden): the same category again is no change.
        let r = county
            .post_form("/api/monitoring/category", &pairs(&recat("sudden")))
            .await;
        assert_eq!((r.status, code(&r).as_str()), (409, "invalid_step"));
        let r = county
            .post_form("/api/monitoring/category", &pairs(&recat("marginal")))
            .await;
        assert_eq!(r.status, 200, "{}", r.body);

        // The quarterly effect review: due for the paired cadre, once a quarter, with the
        // rolling income taken from the ledger.
        let f = cadre
            .post_form("/api/monitoring/file", &[("household_id", &hs)])
            .await
            .json();
        assert_eq!(f["object"]["category"], "marginal");
        assert_eq!(f["events"]["items"][0]["event"], "category");
        assert_eq!(f["events"]["items"][0]["category"], "marginal");
        assert_eq!(f["review_due"], true, "{f}");
        let review = |c: &'static str| {
            vec![
                ("household_id".to_owned(), hs.clone()),
                ("conclusion".into(), c.to_owned()),
                ("measures_effective".into(), "1".into()),
                ("findings".into(), "医保报销已到账，收入回升。".into()),
                ("next_steps".into(), "继续就业帮扶。".into()),
            ]
        };
        let r = cadre
            .post_form("/api/monitoring/review", &pairs(&review("great")))
            .await;
        assert_eq!(
            (r.status, r.json()["field"].as_str()),
            (400, Some("conclusion"))
        );
        let r = xiapu
            .post_form("/api/monitoring/review", &pairs(&review("stable")))
            .await;
        assert_eq!(r.status, 403);
        let r = cadre
            .post_form("/api/monitoring/review", &pairs(&review("improving")))
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        let r = cadre
            .post_form("/api/monitoring/review", &pairs(&review("stable")))
            .await;
        assert_eq!((r.status, code(&r).as_str()), (409, "review_done"));
        let f = cadre
            .post_form("/api/monitoring/file", &[("household_id", &hs)])
            .await
            .json();
        assert_eq!(f["review_due"], false);
        assert_eq!(f["reviews"]["items"][0]["conclusion"], "improving");
        assert_eq!(f["reviews"]["items"][0]["measures_effective"], true);
        assert_eq!(
            f["reviews"]["items"][0]["rolling_per_capita_fen"], f["rolling_per_capita_fen"],
            "the server records the rolling income"
        );
        let mine = cadre.post_form("/api/monitoring/mine", &[]).await.json();
        let row = mine["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|h| h["id"] == household)
            .cloned()
            .unwrap();
        assert_eq!(row["review_due"], false);
        assert!(
            sqlx::query("UPDATE effect_reviews SET conclusion = 'stable'")
                .execute(&app.db.pool)
                .await
                .is_err()
        );
        assert_eq!(
            count(
                &app.db,
                "SELECT COUNT(*) FROM audit_log WHERE action IN ('review', 'category')"
            )
            .await,
            2
        );
    }

    fn pairs(f: &[(String, String)]) -> Vec<(&str, &str)> {
        f.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
    }

    fn find(queue: &serde_json::Value, receipt: &str) -> serde_json::Value {
        queue["items"]["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["receipt"] == receipt)
            .cloned()
            .unwrap_or_else(|| panic!("{receipt} in {queue}"))
    }

    /// The monitoring line in force this year.
    async fn this_years_line(app: &TestApp) -> Option<zhunong::domain::money::Fen> {
        let year = zhunong::server::db::current_year();
        zhunong::server::db::monitoring_line(&app.db, year)
            .await
            .unwrap()
    }

    /// Waits until the roll-ups' epoch of now is built (the server starts the build).
    async fn rollup_ready(app: &TestApp) {
        use zhunong::ledger::rollup;
        let line = this_years_line(app).await;
        for _ in 0..600 {
            rollup::keep_current(&app.db).await.unwrap();
            if rollup::sources(&app.db, line)
                .await
                .unwrap()
                .epoch
                .is_some()
            {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        panic!("the roll-ups' epoch was never built");
    }

    /// What officials see: the province's and a county's dashboards (and the county's first
    /// township's), and the counts of the province's household list.
    async fn official_views(app: &TestApp) -> Vec<serde_json::Value> {
        let mut province = demo_login(app, FUJIAN).await;
        let mut out = Vec::new();
        for (region, sort) in [
            ("350000", "below"),
            ("350725", "code"),
            ("350725", "verified"),
        ] {
            let r = province
                .post_form(
                    "/api/official/dashboard",
                    &[("region", region), ("sort", sort)],
                )
                .await;
            assert_eq!(r.status, 200, "{}", r.body);
            out.push(r.json());
        }
        let township = out[1]["children"]["items"][0]["code"]
            .as_str()
            .unwrap()
            .to_owned();
        let r = province
            .post_form("/api/official/dashboard", &[("region", &township)])
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        out.push(r.json());
        let list = province
            .post_form("/api/official/households", &[("region", "350000")])
            .await
            .json();
        out.push(serde_json::json!([
            list["total"],
            list["below"],
            list["near"]
        ]));
        // The lists filtered to monitoring objects (picked first, then ordered), page by page.
        for filter in ["monitored", "unstable", "overdue"] {
            let mut ids = Vec::new();
            let mut after = String::new();
            loop {
                let r = province
                    .post_form(
                        "/api/official/households",
                        &[("region", "350000"), ("filter", filter), ("after", &after)],
                    )
                    .await;
                assert_eq!(r.status, 200, "{}", r.body);
                let page = r.json();
                for h in page["households"]["items"].as_array().unwrap() {
                    ids.push(h["id"].clone());
                }
                match page["households"]["next"].as_str() {
                    Some(next) => after = next.to_owned(),
                    None => break,
                }
            }
            if filter == "monitored" {
                assert!(!ids.is_empty(), "the demo has monitoring objects");
            }
            out.push(serde_json::json!({ "filter": filter, "ids": ids }));
        }
        out
    }

    /// The views read from the roll-ups, then computed live from the ledger (roll-ups set
    /// aside), must be the same; the roll-ups are rebuilt after.
    async fn views_agree(app: &TestApp, when: &str) {
        use zhunong::ledger::rollup;
        rollup_ready(app).await;
        let kept = official_views(app).await;
        sqlx::query("DELETE FROM rollup_epochs")
            .execute(&app.db.pool)
            .await
            .unwrap();
        sqlx::query("UPDATE rollup_state SET sums_through = NULL")
            .execute(&app.db.pool)
            .await
            .unwrap();
        let line = this_years_line(app).await;
        assert_eq!(
            rollup::sources(&app.db, line).await.unwrap(),
            rollup::Sources::LIVE
        );
        let live = official_views(app).await;
        for (k, l) in kept.iter().zip(&live) {
            assert_eq!(k, l, "{when}: the roll-ups and the ledger disagree");
        }
        rollup::rebuild(&app.db).await.unwrap();
        rollup_ready(app).await;
    }

    /// Wages recorded by an official for a household.
    async fn record_wages(c: &mut Client, household: i64, amount: &str) -> common::Response {
        c.post_form(
            "/api/ledger/record",
            &[
                ("household_id", &household.to_string()),
                ("amount", amount),
                ("source_type", "wages"),
                ("note", "工资"),
                // Large amounts are confirmed on purpose.
                ("confirm", "on"),
            ],
        )
        .await
    }

    pub async fn maintained_roll_ups_equal_the_live_figures(app: TestApp) {
        use zhunong::ledger::rollup;
        let none = Vec::<String>::new();
        rollup_ready(&app).await;
        assert_eq!(
            rollup::check(&app.db).await.unwrap(),
            none,
            "after the demo"
        );
        views_agree(&app, "the demo").await;

        // Other income recorded by an official lifts a household below the line far above it
        // (in this month's epoch; next month's may be ready too near the month's end).
        let epoch_now = rollup::sources(&app.db, this_years_line(&app).await)
            .await
            .unwrap()
            .epoch
            .expect("this month's epoch is ready");
        let (village, household): (String, i64) = sqlx::query_as(
            "SELECT village_code, household_id FROM rollup_households
              WHERE bucket <= 2 AND village_code LIKE '350725%' AND epoch = $1
              ORDER BY household_id LIMIT 1",
        )
        .bind(epoch_now)
        .fetch_one(&app.db.pool)
        .await
        .unwrap();
        let bucket = || async {
            sqlx::query_scalar::<_, i64>(
                "SELECT bucket FROM rollup_households WHERE household_id = $1 AND epoch = $2",
            )
            .bind(household)
            .bind(epoch_now)
            .fetch_one(&app.db.pool)
            .await
            .unwrap()
        };
        let mut county = demo_login(&app, ZHENGHE).await;
        let r = record_wages(&mut county, household, "99999").await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(bucket().await, 6, "200% of the line or more now");
        assert_eq!(rollup::check(&app.db).await.unwrap(), none, "after income");

        // A household added by an import, given income, then moved to another village.
        let other: String = sqlx::query_scalar(
            "SELECT code FROM regions WHERE level = 'village' AND code LIKE '350725%' AND code <> $1
              ORDER BY code LIMIT 1",
        )
        .bind(&village)
        .fetch_one(&app.db.pool)
        .await
        .unwrap();
        let header = zhunong::official::api::IMPORT_HEADER;
        let import = |v: &str| format!("{header}\nR901,{v},迁户,3,2025,4000\n");
        let r = county
            .post_raw(
                "/import/households",
                "text/csv",
                import(&village).as_bytes(),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(
            rollup::check(&app.db).await.unwrap(),
            none,
            "after an import"
        );
        let moved: i64 = sqlx::query_scalar("SELECT id FROM households WHERE registry_id = 'R901'")
            .fetch_one(&app.db.pool)
            .await
            .unwrap();
        let r = record_wages(&mut county, moved, "800").await;
        assert_eq!(r.status, 200, "{}", r.body);
        let r = county
            .post_raw("/import/households", "text/csv", import(&other).as_bytes())
            .await;
        assert_eq!((r.status, r.json()["updated"].as_i64()), (200, Some(1)));
        assert_eq!(rollup::check(&app.db).await.unwrap(), none, "after a move");

        // A listing with paid orders gets another origin: its GMV moves with it.
        let (listing, origin): (i64, String) = sqlx::query_as(
            "SELECT l.id, l.origin_code FROM listings l WHERE l.title = '政和白茶·白牡丹（演示）'",
        )
        .fetch_one(&app.db.pool)
        .await
        .unwrap();
        let paid = count(
            &app.db,
            &format!("SELECT COUNT(*) FROM order_items oi JOIN orders o ON o.id = oi.order_id WHERE oi.listing_id = {listing} AND o.status IN ('paid', 'shipped', 'delivered')"),
        )
        .await;
        assert!(paid > 0, "the demo's white tea has paid orders");
        let new_origin: String = sqlx::query_scalar(
            "SELECT code FROM regions WHERE level = 'village' AND code LIKE $1 AND code <> $2
              ORDER BY code LIMIT 1",
        )
        .bind(format!("{}%", &origin[..6]))
        .bind(&origin)
        .fetch_one(&app.db.pool)
        .await
        .unwrap();
        let mut coop = demo_login(&app, "coop.zhenghe@demo.zhunong.cn").await;
        let edit = coop
            .post_form(
                "/api/market/editable-listing",
                &[("id", &listing.to_string())],
            )
            .await;
        assert_eq!(edit.status, 200, "{}", edit.body);
        let mut fields = common::form_fields(&edit.json()["form"]);
        common::set(&mut fields, "form[origin_code]", &new_origin);
        let r = common::post_fields(&mut coop, &fields).await;
        assert_eq!(r.status, 200, "{}", r.body);
        let now_origin: String =
            sqlx::query_scalar("SELECT origin_code FROM listings WHERE id = $1")
                .bind(listing)
                .fetch_one(&app.db.pool)
                .await
                .unwrap();
        assert_eq!(now_origin, new_origin);
        assert_eq!(
            rollup::check(&app.db).await.unwrap(),
            none,
            "after a listing moved"
        );

        // Near the month's end next month's epoch is built ahead and kept by postings, so the
        // dashboard reads maintained figures the moment the month turns.
        let turn = zhunong::ledger::server::rolling_window(zhunong::server::db::now()).1;
        let next_line = zhunong::server::db::monitoring_line(
            &app.db,
            zhunong::server::db::year_of(turn + 9 * 3600),
        )
        .await
        .unwrap();
        let mut ahead = None;
        for _ in 0..600 {
            rollup::keep_current_at(&app.db, turn - 3600).await.unwrap();
            ahead = rollup::sources_at(&app.db, next_line, turn + 3600)
                .await
                .unwrap()
                .epoch;
            if ahead.is_some() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        let ahead = ahead.expect("next month's epoch was built ahead of the turn");
        let line = this_years_line(&app).await;
        let current = rollup::sources(&app.db, line).await.unwrap().epoch;
        assert!(current.is_some(), "this month's epoch still answers now");
        assert_ne!(current, Some(ahead));
        let r = record_wages(&mut county, household, "12").await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(
            rollup::check(&app.db).await.unwrap(),
            none,
            "both epochs kept by a posting"
        );

        // A new month (or line): the ready epoch no longer answers; a new one is built while
        // postings go on, and agrees.
        sqlx::query("UPDATE rollup_epochs SET window_from = window_from - 1")
            .execute(&app.db.pool)
            .await
            .unwrap();
        assert_eq!(rollup::sources(&app.db, line).await.unwrap().epoch, None);
        let r = record_wages(&mut county, household, "10").await;
        assert_eq!(r.status, 200, "{}", r.body);
        rollup_ready(&app).await;
        let kept = rollup::kept_windows(zhunong::server::db::now());
        let live_epochs: Vec<i64> = sqlx::query_scalar(
            "SELECT window_from FROM rollup_epochs WHERE state <> 'retired' ORDER BY window_from",
        )
        .fetch_all(&app.db.pool)
        .await
        .unwrap();
        assert_eq!(live_epochs, kept, "the old epochs are retired");
        assert_eq!(
            rollup::check(&app.db).await.unwrap(),
            none,
            "in a new epoch"
        );

        // Rows posted by something that does not keep the sums (an older server still running
        // after a migration that kept the tables) leave their watermark behind: they are not
        // read, then refilled.
        sqlx::query("UPDATE rollup_state SET sums_through = sums_through - 1")
            .execute(&app.db.pool)
            .await
            .unwrap();
        assert!(!rollup::sources(&app.db, line).await.unwrap().sums);
        rollup::keep_current(&app.db).await.unwrap();
        assert!(rollup::sources(&app.db, line).await.unwrap().sums);
        views_agree(&app, "after the changes").await;
    }

    pub async fn roll_ups_equal_the_ledger_and_scope_holds(app: TestApp) {
        let year = zhunong::server::db::current_year();
        let (y0, y1) = (
            zhunong::server::db::year_start(year),
            zhunong::server::db::year_start(year + 1),
        );
        let mut province = demo_login(&app, FUJIAN).await;
        let d = province.post_form("/api/official/dashboard", &[]).await;
        assert_eq!(d.status, 200, "{}", d.body);
        let d = d.json();
        // The province's verified income equals the ledger's, summed directly.
        let attested = zhunong::ledger::server::ATTESTED;
        let ledger_verified: i64 = sqlx::query_scalar(&format!(
            "SELECT CAST(COALESCE(SUM(amount_fen), 0) AS BIGINT) FROM ledger_entries
              WHERE NOT {attested} AND occurred_at >= $1 AND occurred_at < $2"
        ))
        .bind(y0)
        .bind(y1)
        .fetch_one(&app.db.pool)
        .await
        .unwrap();
        assert!(
            ledger_verified > 0,
            "the demo has verified income this year"
        );
        assert_eq!(d["region"]["verified_fen"], ledger_verified);
        assert_eq!(
            d["region"]["households"],
            count(&app.db, "SELECT COUNT(*) FROM households").await
        );
        // The children add up to the whole.
        let children = d["children"]["items"].as_array().unwrap();
        assert!(!children.is_empty());
        let sum = |k: &str| children.iter().map(|c| c[k].as_i64().unwrap()).sum::<i64>();
        for k in [
            "households",
            "below",
            "near",
            "monitored",
            "verified_fen",
            "open_reports",
        ] {
            assert_eq!(sum(k), d["region"][k].as_i64().unwrap(), "{k}");
        }
        assert_eq!(d["region"]["monitored"], 5, "the demo's monitoring objects");
        let monthly: i64 = d["monthly"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m[0].as_i64().unwrap())
            .sum();
        assert_eq!(monthly, ledger_verified);
        // Sorting and paging the children.
        let by_code = province
            .post_form("/api/official/dashboard", &[("sort", "code")])
            .await
            .json();
        let codes: Vec<String> = by_code["children"]["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["code"].as_str().unwrap().to_owned())
            .collect();
        let mut sorted = codes.clone();
        sorted.sort();
        assert_eq!(codes, sorted);
        let r = province
            .post_form(
                "/api/official/dashboard",
                &[("sort", "x; DROP TABLE users")],
            )
            .await;
        assert_eq!((r.status, r.json()["field"].as_str()), (400, Some("sort")));
        let r = province
            .post_form("/api/official/dashboard", &[("year", "1999")])
            .await;
        assert_eq!(r.status, 400);

        // One county, its own figures; other regions refused.
        let mut county = demo_login(&app, ZHENGHE).await;
        let c = county.post_form("/api/official/dashboard", &[]).await;
        assert_eq!(c.status, 200, "{}", c.body);
        let c = c.json();
        assert_eq!(c["region"]["code"], "350725");
        let zhenghe_households = count(
            &app.db,
            "SELECT COUNT(*) FROM households WHERE region_code LIKE '350725%'",
        )
        .await;
        assert_eq!(c["region"]["households"], zhenghe_households);
        assert_eq!(
            c["trail"].as_array().unwrap().len(),
            1,
            "the trail starts at the official's own region"
        );
        for region in ["350000", "350921", "350921101201"] {
            let r = county
                .post_form("/api/official/dashboard", &[("region", region)])
                .await;
            assert_eq!(
                (r.status, code(&r).as_str()),
                (403, "out_of_region"),
                "{region}"
            );
            let r = county
                .post_form("/api/official/households", &[("region", region)])
                .await;
            assert_eq!(r.status, 403, "{region}");
        }
        let mut cadre = demo_login(&app, CADRE).await;
        assert_eq!(
            cadre.post_form("/api/official/dashboard", &[]).await.status,
            403
        );
        let mut anon = Client::new(&app);
        assert_eq!(
            anon.post_form("/api/official/dashboard", &[]).await.status,
            401
        );

        // The list's filters agree with the dashboard's counts.
        let below = county
            .post_form("/api/official/households", &[("filter", "below")])
            .await
            .json();
        let items = below["households"]["items"].as_array().unwrap();
        assert_eq!(
            items.len() as i64,
            c["region"]["below"].as_i64().unwrap().min(50)
        );
        assert!(items.iter().all(|h| h["status"] == "below"));
        let monitored = county
            .post_form("/api/official/households", &[("filter", "monitored")])
            .await
            .json();
        assert_eq!(
            monitored["households"]["items"].as_array().unwrap().len() as i64,
            c["region"]["monitored"].as_i64().unwrap()
        );
        let overdue = county
            .post_form("/api/official/households", &[("filter", "overdue")])
            .await
            .json();
        assert_eq!(
            overdue["households"]["items"].as_array().unwrap().len() as i64,
            c["region"]["overdue_visits"].as_i64().unwrap()
        );
        assert!(
            c["region"]["overdue_visits"].as_i64().unwrap() >= 1,
            "the demo's overdue visits"
        );
        let r = county
            .post_form("/api/official/households", &[("filter", "nonsense")])
            .await;
        assert_eq!(r.status, 400);

        // One definition of rolling income: the list's figure equals the domain rule applied
        // to the ledger rows and the baseline.
        let h = &items
            .first()
            .or_else(|| monitored["households"]["items"].as_array().unwrap().first())
            .expect("a household")
            .clone();
        let id = h["id"].as_i64().unwrap();
        let (from, to) = zhunong::ledger::server::rolling_window(zhunong::server::db::now());
        let rows: Vec<(i64, i64, String, Option<String>)> = sqlx::query_as(
            "SELECT occurred_at, amount_fen, source_type, evidence FROM ledger_entries WHERE household_id = $1",
        )
        .bind(id)
        .fetch_all(&app.db.pool)
        .await
        .unwrap();
        let mut months = std::collections::BTreeSet::new();
        let mut led = 0;
        for (t, a, s, e) in rows {
            let m = zhunong::domain::calendar::month_start_of(t);
            if m >= from && m < to && !zhunong::ledger::post::is_attested(&s, e.as_deref()) {
                months.insert(m);
                led += a;
            }
        }
        let (members, base): (i64, Option<i64>) = sqlx::query_as(
            "SELECT h.members, (SELECT b.per_capita_fen FROM household_baselines b WHERE b.household_id = h.id ORDER BY b.year DESC LIMIT 1)
               FROM households h WHERE h.id = $1",
        )
        .bind(id)
        .fetch_one(&app.db.pool)
        .await
        .unwrap();
        assert_eq!(
            h["per_capita_fen"].as_i64(),
            rolling_per_capita(led, months.len() as i64, base, members)
        );
        // The household page judges by the same figure.
        let rec = county
            .post_form(
                "/api/ledger/household",
                &[("household_id", &id.to_string())],
            )
            .await
            .json();
        assert_eq!(rec["rolling_per_capita_fen"], h["per_capita_fen"]);
        assert_eq!(rec["status"], h["status"]);

        // The export: the county's households, formulas neutralised; refused elsewhere.
        sqlx::query("UPDATE households SET head_name = '=HYPERLINK(\"x\"),1' WHERE id = $1")
            .bind(id)
            .execute(&app.db.pool)
            .await
            .unwrap();
        let csv = county.get("/export/households.csv").await;
        assert_eq!(csv.status, 200, "{}", csv.body);
        assert!(csv.header("content-type").unwrap().starts_with("text/csv"));
        let lines: Vec<&str> = csv.body.lines().collect();
        assert_eq!(
            lines.len() as i64,
            zhenghe_households + 1,
            "a header and one line per household"
        );
        assert!(
            csv.body.contains("\"'=HYPERLINK(\"\"x\"\"),1\""),
            "{}",
            &csv.body[..300.min(csv.body.len())]
        );
        let filtered = county.get("/export/households.csv?filter=monitored").await;
        assert_eq!(
            filtered.body.lines().count() as i64,
            c["region"]["monitored"].as_i64().unwrap() + 1
        );
        assert_eq!(
            county
                .get("/export/households.csv?region=350921")
                .await
                .status,
            403
        );
        assert_eq!(
            county.get("/export/households.csv?filter=x").await.status,
            400
        );
        assert_eq!(anon.get("/export/households.csv").await.status, 401);
        assert!(
            count(
                &app.db,
                "SELECT COUNT(*) FROM audit_log WHERE action = 'export'"
            )
            .await
                >= 2
        );
        // The monthly table still equals the ledger.
        let check = zhunong::ledger::server::check_ledger(&app.db)
            .await
            .unwrap();
        assert!(check.problems.is_empty(), "{:?}", check.problems);
    }

    pub async fn self_reports_are_rate_limited(app: TestApp) {
        let village: String = sqlx::query_scalar(
            "SELECT code FROM regions WHERE level = 'village' ORDER BY code LIMIT 1",
        )
        .fetch_one(&app.db.pool)
        .await
        .unwrap();
        let mut anon = Client::new(&app);
        let mut statuses = Vec::new();
        for _ in 0..4 {
            let r = anon
                .post_form(
                    "/api/monitoring/report",
                    &[
                        ("reporter", "self"),
                        ("name", "李四"),
                        ("phone", "13900001111"),
                        ("village", &village),
                        ("reason", "disaster"),
                        ("detail", "房屋受损。"),
                    ],
                )
                .await;
            statuses.push(r.status);
        }
        assert_eq!(statuses, [200, 200, 200, 429]);
        assert_eq!(
            count(
                &app.db,
                "SELECT COUNT(*) FROM monitoring_reports WHERE is_demo = 0"
            )
            .await,
            3
        );
    }

    pub async fn the_file_keeps_members_measures_and_pairings(app: TestApp) {
        let (village, household, _) = village_and_households(&app).await;
        let hs = household.to_string();
        let mut county = demo_login(&app, ZHENGHE).await;
        let member = |idn: &str| {
            vec![
                ("household_id".to_owned(), hs.clone()),
                ("name".into(), "王大明".into()),
                ("relation".into(), "spouse".into()),
                ("id_number".into(), idn.to_owned()),
                ("phone".into(), "13800001234".into()),
            ]
        };
        let r = county
            .post_form(
                "/api/monitoring/add-member",
                &pairs(&member("110105194912310021")),
            )
            .await;
        assert_eq!(
            (r.status, r.json()["field"].as_str()),
            (400, Some("id_number"))
        );
        let r = county
            .post_form(
                "/api/monitoring/add-member",
                &pairs(&member("11010519491231002x")),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        let mut xiapu = demo_login(&app, XIAPU).await;
        let r = xiapu
            .post_form(
                "/api/monitoring/add-member",
                &pairs(&member("11010519491231002X")),
            )
            .await;
        assert_eq!(r.status, 403);
        // The county sees the number; the province sees it masked.
        let f = county
            .post_form("/api/monitoring/file", &[("household_id", &hs)])
            .await
            .json();
        assert_eq!(f["members"][0]["id_number"], "11010519491231002X");
        assert_eq!(f["may_edit"], true);
        let mut province = demo_login(&app, FUJIAN).await;
        let f = province
            .post_form("/api/monitoring/file", &[("household_id", &hs)])
            .await
            .json();
        assert_eq!(f["members"][0]["id_number"], "1101**********002X");
        assert_eq!(f["members"][0]["phone"], "138******34");
        assert_eq!(
            f["members"][0]["name"], "王大明",
            "names are not masked, as on every list"
        );
        // Measures: a 低保 enrolment kept on after exit until a later date.
        let measure = |ends: &str| {
            vec![
                ("household_id".to_owned(), hs.clone()),
                ("kind".into(), "dibao".into()),
                ("detail".into(), "纳入农村低保".into()),
                ("starts_on".into(), "2026-03-01".into()),
                ("ends_on".into(), ends.to_owned()),
            ]
        };
        let r = county
            .post_form(
                "/api/monitoring/add-measure",
                &pairs(&measure("2026-01-01")),
            )
            .await;
        assert_eq!(
            (r.status, r.json()["field"].as_str()),
            (400, Some("ends_on"))
        );
        let r = county
            .post_form(
                "/api/monitoring/add-measure",
                &pairs(&measure("2027-02-28")),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        let f = county
            .post_form("/api/monitoring/file", &[("household_id", &hs)])
            .await
            .json();
        assert_eq!(f["measures"][0]["kind"], "dibao");
        assert_eq!(f["measures"][0]["ends_on"], "2027-02-28");
        // Links show what they declared against what they paid.
        assert!(f["links"]
            .as_array()
            .unwrap()
            .iter()
            .all(|l| l["paid_fen"].is_i64()));
        // Pairing a cadre puts the household on the cadre's list; unpairing takes it off.
        let cadre_id = scalar_i64(&app, "SELECT id FROM users WHERE login = $1", CADRE)
            .await
            .to_string();
        let mut cadre = demo_login(&app, CADRE).await;
        let on_list = |v: serde_json::Value| {
            v["items"]
                .as_array()
                .unwrap()
                .iter()
                .any(|h| h["id"] == household)
        };
        assert!(!on_list(
            cadre.post_form("/api/monitoring/mine", &[]).await.json()
        ));
        let r = county
            .post_form(
                "/api/monitoring/pair-cadre",
                &[("household_id", &hs), ("cadre_id", &cadre_id)],
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert!(on_list(
            cadre.post_form("/api/monitoring/mine", &[]).await.json()
        ));
        let r = xiapu
            .post_form(
                "/api/monitoring/pair-cadre",
                &[("household_id", &hs), ("cadre_id", &cadre_id)],
            )
            .await;
        assert_eq!(r.status, 403);
        let r = county
            .post_form(
                "/api/monitoring/pair-cadre",
                &[
                    ("household_id", &hs),
                    ("cadre_id", &cadre_id),
                    ("unpair", "true"),
                ],
            )
            .await;
        assert_eq!(r.status, 200);
        assert!(!on_list(
            cadre.post_form("/api/monitoring/mine", &[]).await.json()
        ));
        // 1+1: only a social organisation, only by the county of the village.
        let social = scalar_i64(
            &app,
            "SELECT id FROM organisations WHERE kind = $1 ORDER BY id LIMIT 1",
            "social",
        )
        .await
        .to_string();
        let coop = scalar_i64(
            &app,
            "SELECT id FROM organisations WHERE kind = $1 ORDER BY id LIMIT 1",
            "coop",
        )
        .await
        .to_string();
        let pairing = |org: &str| {
            vec![
                ("village".to_owned(), village.clone()),
                ("organisation_id".into(), org.to_owned()),
                ("since_year".into(), "2022".into()),
                ("projects".into(), "助学".into()),
            ]
        };
        let r = county
            .post_form("/api/monitoring/pair-organisation", &pairs(&pairing(&coop)))
            .await;
        assert_eq!(
            (r.status, r.json()["field"].as_str()),
            (400, Some("organisation_id"))
        );
        let r = xiapu
            .post_form(
                "/api/monitoring/pair-organisation",
                &pairs(&pairing(&social)),
            )
            .await;
        assert_eq!(r.status, 403);
        let r = county
            .post_form(
                "/api/monitoring/pair-organisation",
                &pairs(&pairing(&social)),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        let f = county
            .post_form("/api/monitoring/file", &[("household_id", &hs)])
            .await
            .json();
        assert!(
            f["org_pairings"]
                .as_array()
                .unwrap()
                .iter()
                .any(|p| p["projects"] == "助学"),
            "{f}"
        );
        let d = county
            .post_form("/api/official/dashboard", &[])
            .await
            .json();
        assert!(d["region"]["org_pairings"].as_i64().unwrap() >= 1);
        // The organisation's page counts the same pairing; it is not for everyone.
        let mut anon = Client::new(&app);
        assert_eq!(
            anon.post_form("/api/monitoring/organisation", &[("id", &social)])
                .await
                .status,
            401
        );
        let mut buyer = demo_login(&app, "buyer@demo.zhunong.cn").await;
        assert_eq!(
            buyer
                .post_form("/api/monitoring/organisation", &[("id", &social)])
                .await
                .status,
            403
        );
        // Another county's official sees none of its Zhenghe villages there.
        let o = xiapu
            .post_form("/api/monitoring/organisation", &[("id", &social)])
            .await
            .json();
        assert!(
            o["villages"]["items"]
                .as_array()
                .unwrap()
                .iter()
                .all(|v| v["village_code"].as_str().unwrap().starts_with("350921")),
            "{o}"
        );
        let o = county
            .post_form("/api/monitoring/organisation", &[("id", &social)])
            .await;
        assert_eq!(o.status, 200, "{}", o.body);
        let o = o.json();
        let v = o["villages"]["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|v| v["village_code"] == village.as_str())
            .cloned()
            .unwrap_or_else(|| panic!("{o}"));
        assert_eq!(v["projects"], "助学");
        let file_side = f["org_pairings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["organisation_id"].as_i64() == social.parse::<i64>().ok())
            .cloned()
            .unwrap();
        assert_eq!(v["bought_fen"], file_side["bought_fen"]);
        assert_eq!(
            county
                .post_form("/api/monitoring/organisation", &[("id", "999999")])
                .await
                .status,
            404
        );
        assert_eq!(
            county
                .post_form(
                    "/api/monitoring/organisation",
                    &[("id", &social), ("after", "x")]
                )
                .await
                .status,
            400
        );
        // Every change is audited.
        let a = county.post_form("/api/monitoring/audit", &[]).await.json();
        let actions: Vec<&str> = a["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["action"].as_str().unwrap())
            .collect();
        for want in ["member", "measure", "paired", "unpaired", "org_paired"] {
            assert!(actions.contains(&want), "{want} in {actions:?}");
        }
    }

    pub async fn early_warning_raises_each_task_once(app: TestApp) {
        use zhunong::monitoring::warning;
        let paired: Vec<i64> =
            sqlx::query_scalar("SELECT household_id FROM cadre_pairings ORDER BY household_id")
                .fetch_all(&app.db.pool)
                .await
                .unwrap();
        // A paired household whose missing months count nothing: below the line.
        let h = paired[2];
        sqlx::query("UPDATE household_baselines SET per_capita_fen = 0 WHERE household_id = $1")
            .bind(h)
            .execute(&app.db.pool)
            .await
            .unwrap();
        let t = zhunong::server::db::now();
        let raised = warning::scan_now(&app.db, 10, t).await.unwrap();
        assert!(raised >= 1);
        let open = |app: &TestApp| {
            let pool = app.db.pool.clone();
            async move {
                sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM monitoring_tasks WHERE household_id = $1 AND done_at IS NULL AND kind = 'near_line'")
                    .bind(h)
                    .fetch_one(&pool)
                    .await
                    .unwrap()
            }
        };
        assert_eq!(open(&app).await, 1);
        // Unpaired households get no task (nobody would visit).
        assert_eq!(
            count(&app.db, "SELECT COUNT(*) FROM monitoring_tasks WHERE household_id NOT IN (SELECT household_id FROM cadre_pairings)").await,
            0
        );
        // Scanning again adds nothing.
        assert_eq!(warning::scan_now(&app.db, 10, t).await.unwrap(), 0);
        // The cadre sees it, visits, and the task is done; it is not raised again at once.
        let mut cadre = demo_login(&app, CADRE).await;
        let mine = cadre.post_form("/api/monitoring/mine", &[]).await.json();
        let row = mine["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["id"] == h)
            .cloned()
            .unwrap();
        assert!(row["open_tasks"].as_i64().unwrap() >= 1);
        let today = zhunong::server::db::today();
        let r = cadre
            .post_form(
                "/api/monitoring/visit",
                &[
                    ("household_id", &h.to_string()),
                    ("visited_on", &today),
                    ("seen", "x"),
                    ("needs", "y"),
                    ("next_steps", "z"),
                ],
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(open(&app).await, 0);
        assert_eq!(warning::scan_now(&app.db, 10, t + 60).await.unwrap(), 0);
        // The hourly claim: one scan an hour, whichever process asks.
        warning::scan(&app.db, 10).await.unwrap();
        assert_eq!(warning::scan(&app.db, 10).await.unwrap(), 0);
    }

    pub async fn the_registry_import_reports_bad_lines_and_never_duplicates(app: TestApp) {
        let village: String = sqlx::query_scalar("SELECT code FROM regions WHERE level = 'village' AND code LIKE '350725%' ORDER BY code LIMIT 1")
            .fetch_one(&app.db.pool)
            .await
            .unwrap();
        let elsewhere: String = sqlx::query_scalar("SELECT code FROM regions WHERE level = 'village' AND code LIKE '350921%' ORDER BY code LIMIT 1")
            .fetch_one(&app.db.pool)
            .await
            .unwrap();
        let header = zhunong::official::api::IMPORT_HEADER;
        let csv = format!(
            "{header}\n\
             R001,{village},张三,4,2025,5200.50\n\
             R002,{village},\"李四,小名\",2,,\n\
             R003,{village},王五,3,2025,7000\n\
             R004,{elsewhere},赵六,3,2025,7000\n\
             R005,{village},钱七,0,2025,7000\n\
             R006,35072510,孙八,2,2025,7000\n\
             R007,{village},周九,2,2025,abc\n\
             R008,{village},\"吴十\n"
        );
        let before = count(&app.db, "SELECT COUNT(*) FROM households").await;
        let mut county = demo_login(&app, ZHENGHE).await;
        let r = county
            .post_raw("/import/households", "text/csv", csv.as_bytes())
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        let o = r.json();
        assert_eq!(
            (
                o["rows_read"].as_i64(),
                o["inserted"].as_i64(),
                o["updated"].as_i64(),
                o["failed"].as_i64()
            ),
            (Some(8), Some(3), Some(0), Some(5)),
            "{o}"
        );
        let refused: Vec<(i64, String)> = o["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                (
                    e["line"].as_i64().unwrap(),
                    e["field"].as_str().unwrap().to_owned(),
                )
            })
            .collect();
        assert_eq!(
            refused,
            [
                (5, "village_code".into()),
                (6, "members".into()),
                (7, "village_code".into()),
                (8, "baseline_per_capita_yuan".into()),
                (9, "line".into())
            ]
        );
        assert_eq!(
            count(&app.db, "SELECT COUNT(*) FROM households").await,
            before + 3
        );
        // Each household it touched is audited, its baseline with it.
        assert_eq!(
            count(
                &app.db,
                "SELECT COUNT(*) FROM audit_log WHERE action = 'import' AND household_id IS NOT NULL"
            )
            .await,
            3
        );
        let (name, members, base): (String, i64, i64) = sqlx::query_as(
            "SELECT h.head_name, h.members, b.per_capita_fen FROM households h JOIN household_baselines b ON b.household_id = h.id WHERE h.registry_id = 'R001'",
        )
        .fetch_one(&app.db.pool)
        .await
        .unwrap();
        assert_eq!((name.as_str(), members, base), ("张三", 4, 520_050));
        // Again, with a change: updated, not duplicated.
        let again = csv.replace("张三,4", "张三,5");
        let o = county
            .post_raw("/import/households", "text/csv", again.as_bytes())
            .await
            .json();
        assert_eq!(
            (o["inserted"].as_i64(), o["updated"].as_i64()),
            (Some(0), Some(3)),
            "{o}"
        );
        assert_eq!(
            count(&app.db, "SELECT COUNT(*) FROM households").await,
            before + 3
        );
        assert_eq!(
            count(
                &app.db,
                "SELECT members FROM households WHERE registry_id = 'R001'"
            )
            .await,
            5
        );
        // What the import did can be read back by whoever ran it, and by no one else.
        let id = o["id"].as_i64().unwrap().to_string();
        let back = county
            .post_form("/api/official/import-result", &[("id", &id)])
            .await;
        assert_eq!(back.json()["updated"], 3);
        let mut province = demo_login(&app, FUJIAN).await;
        assert_eq!(
            province
                .post_form("/api/official/import-result", &[("id", &id)])
                .await
                .status,
            404
        );
        // Another county cannot move or rename these households.
        let mut xiapu = demo_login(&app, XIAPU).await;
        let takeover = format!("{header}\nR001,{elsewhere},冒名,1,,\n");
        let o = xiapu
            .post_raw("/import/households", "text/csv", takeover.as_bytes())
            .await
            .json();
        assert_eq!(
            (o["updated"].as_i64(), o["failed"].as_i64()),
            (Some(0), Some(1)),
            "{o}"
        );
        assert_eq!(
            count(
                &app.db,
                "SELECT COUNT(*) FROM households WHERE head_name = '冒名'"
            )
            .await,
            0
        );
        // No header, no account, not an official: refused whole.
        let r = county
            .post_raw("/import/households", "text/csv", b"R009,x,y,1,,\n")
            .await;
        assert_eq!((r.status, r.json()["field"].as_str()), (400, Some("file")));
        let mut anon = Client::new(&app);
        assert_eq!(
            anon.post_raw("/import/households", "text/csv", csv.as_bytes())
                .await
                .status,
            401
        );
        let mut buyer = demo_login(&app, "buyer@demo.zhunong.cn").await;
        assert_eq!(
            buyer
                .post_raw("/import/households", "text/csv", csv.as_bytes())
                .await
                .status,
            403
        );
        // A browser's form: multipart, answered with a redirect to the result page.
        county.accept = "text/html";
        let r = county
            .post_multipart(
                "/import/households",
                &[],
                &[("file", "r.csv", "text/csv", csv.as_bytes())],
            )
            .await;
        assert_eq!(r.status, 303, "{}", r.body);
        assert!(r.header("location").unwrap().starts_with("/import?id="));
    }

    /// The rows of the first worksheet of a workbook, as text.
    fn sheet_rows(bytes: &[u8]) -> Vec<Vec<String>> {
        use calamine::Reader;
        let mut book =
            calamine::Xlsx::new(std::io::Cursor::new(bytes.to_vec())).expect("a workbook");
        let name = book.sheet_names()[0].clone();
        let range = book.worksheet_range(&name).unwrap();
        range
            .rows()
            .map(|r| r.iter().map(|c| c.to_string()).collect())
            .collect()
    }

    pub async fn exports_come_as_workbooks_and_in_the_national_layout(app: TestApp) {
        let zhenghe_households = count(
            &app.db,
            "SELECT COUNT(*) FROM households WHERE region_code LIKE '350725%'",
        )
        .await;
        let mut county = demo_login(&app, ZHENGHE).await;
        let r = county.get("/export/households.xlsx").await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(
            r.header("content-type"),
            Some("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
        );
        assert!(r
            .header("content-disposition")
            .unwrap()
            .contains("households-350725.xlsx"));
        let rows = sheet_rows(&r.bytes);
        assert_eq!(rows.len() as i64, zhenghe_households + 1);
        assert_eq!(rows[0][0], "id");
        let csv = county.get("/export/households.csv").await;
        assert_eq!(
            csv.body.lines().nth(1).unwrap().split(',').next().unwrap(),
            rows[1][0],
            "the same rows in the same order"
        );

        // The national layout: one row per monitoring object; the head's ID number and phone
        // unmasked only for officials of the county.
        let (household, village): (i64, String) = sqlx::query_as(
            "SELECT h.id, h.region_code FROM monitoring_objects o JOIN households h ON h.id = o.household_id
              WHERE h.region_code LIKE '350725%' ORDER BY h.id LIMIT 1",
        )
        .fetch_one(&app.db.pool)
        .await
        .unwrap();
        sqlx::query(
            "INSERT INTO household_members (household_id, name, relation, id_number, phone, created_at)
             VALUES ($1, '户主甲', 'head', '35072519800101123X', '13800001234', 0)",
        )
        .bind(household)
        .execute(&app.db.pool)
        .await
        .unwrap();
        let objects = count(
            &app.db,
            "SELECT COUNT(*) FROM monitoring_objects o JOIN households h ON h.id = o.household_id
              WHERE h.region_code LIKE '350725%'",
        )
        .await;
        assert!(objects > 0);
        let r = county.get("/export/national.xlsx").await;
        assert_eq!(r.status, 200, "{}", r.body);
        let rows = sheet_rows(&r.bytes);
        assert_eq!(rows.len() as i64, objects + 1);
        assert_eq!(
            rows[0],
            zhunong::official::export::NATIONAL_COLUMNS.map(str::to_owned)
        );
        let mine = rows
            .iter()
            .find(|r| r[20] == household.to_string())
            .expect("the household's row");
        assert_eq!(mine[7], "35072519800101123X");
        assert_eq!(mine[21], village);
        assert!(["脱贫不稳定户", "边缘易致贫户", "突发严重困难户"].contains(&mine[10].as_str()));
        let mut province = demo_login(&app, FUJIAN).await;
        let r = province.get("/export/national.csv?region=350725").await;
        assert_eq!(r.status, 200);
        assert!(!r.body.contains("35072519800101123X"));
        assert!(
            r.body.contains("3507**********123X"),
            "masked for the province"
        );

        // The dashboard's table of the regions below, whole.
        let townships = count(
            &app.db,
            "SELECT COUNT(*) FROM regions WHERE parent_code = '350725'",
        )
        .await;
        let r = county.get("/export/regions.csv?region=350725").await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(r.body.lines().count() as i64, townships + 1);
        let rows = sheet_rows(&county.get("/export/regions.xlsx").await.bytes);
        assert_eq!(rows.len() as i64, townships + 1);
        let households_in_rows: i64 = rows[1..].iter().map(|r| r[2].parse::<i64>().unwrap()).sum();
        assert_eq!(households_in_rows, zhenghe_households);

        // Another site's link cannot make an official's browser export (and write the audit log).
        county
            .extra_headers
            .push(("Sec-Fetch-Site".into(), "cross-site".into()));
        assert_eq!(county.get("/export/national.xlsx").await.status, 403);
        county.extra_headers.clear();
        // Nothing else, nowhere else, nobody else.
        assert_eq!(county.get("/export/users.csv").await.status, 404);
        assert_eq!(county.get("/export/households.xls").await.status, 404);
        assert_eq!(
            county
                .get("/export/national.xlsx?region=350921")
                .await
                .status,
            403
        );
        assert_eq!(
            county.get("/export/regions.csv?year=1999").await.status,
            400
        );
        let mut buyer = demo_login(&app, "buyer@demo.zhunong.cn").await;
        assert_eq!(buyer.get("/export/national.xlsx").await.status, 403);
        assert_eq!(
            Client::new(&app).get("/export/national.csv").await.status,
            401
        );
        assert!(
            count(&app.db, "SELECT COUNT(*) FROM audit_log WHERE action = 'export' AND detail LIKE 'national%'").await >= 2
        );
    }

    pub async fn workbooks_import_like_csv_and_bombs_are_refused(app: TestApp) {
        let village: String = sqlx::query_scalar("SELECT code FROM regions WHERE level = 'village' AND code LIKE '350725%' ORDER BY code LIMIT 1")
            .fetch_one(&app.db.pool)
            .await
            .unwrap();
        // A workbook as a spreadsheet writes it: numbers typed as numbers.
        let mut book = rust_xlsxwriter::Workbook::new();
        let sheet = book.add_worksheet();
        for (c, h) in zhunong::official::api::IMPORT_HEADER.split(',').enumerate() {
            sheet.write_string(0, c as u16, h).unwrap();
        }
        let v: f64 = village.parse().unwrap();
        sheet.write_string(1, 0, "X001").unwrap();
        sheet.write_number(1, 1, v).unwrap();
        sheet.write_string(1, 2, "陈一").unwrap();
        sheet.write_number(1, 3, 3.0).unwrap();
        sheet.write_number(1, 4, 2025.0).unwrap();
        sheet.write_number(1, 5, 6100.5).unwrap();
        // Row 3 left empty; row 4 has no baseline (trailing cells absent).
        sheet.write_string(3, 0, "X002").unwrap();
        sheet.write_string(3, 1, &village).unwrap();
        sheet.write_string(3, 2, "陈二").unwrap();
        sheet.write_number(3, 3, 2.0).unwrap();
        // Row 5: too many members.
        sheet.write_string(4, 0, "X003").unwrap();
        sheet.write_string(4, 1, &village).unwrap();
        sheet.write_string(4, 2, "陈三").unwrap();
        sheet.write_number(4, 3, 99.0).unwrap();
        let bytes = book.save_to_buffer().unwrap();
        let mut county = demo_login(&app, ZHENGHE).await;
        let r = county
            .post_raw(
                "/import/households",
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                &bytes,
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        let o = r.json();
        assert_eq!(
            (
                o["rows_read"].as_i64(),
                o["inserted"].as_i64(),
                o["failed"].as_i64()
            ),
            (Some(3), Some(2), Some(1)),
            "{o}"
        );
        assert_eq!(o["errors"][0]["line"], 5);
        assert_eq!(o["errors"][0]["field"], "members");
        let (region, base): (String, i64) = sqlx::query_as(
            "SELECT h.region_code, b.per_capita_fen FROM households h JOIN household_baselines b ON b.household_id = h.id WHERE h.registry_id = 'X001'",
        )
        .fetch_one(&app.db.pool)
        .await
        .unwrap();
        assert_eq!((region, base), (village.clone(), 610_050));
        // The same workbook from the browser's form: updated, not duplicated.
        let r = county
            .post_multipart(
                "/import/households",
                &[],
                &[("file", "名册.xlsx", "application/octet-stream", &bytes)],
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(
            (r.json()["inserted"].as_i64(), r.json()["updated"].as_i64()),
            (Some(0), Some(2))
        );

        // A zip that inflates far beyond any registry is refused before it is opened.
        let mut bomb = std::io::Cursor::new(Vec::new());
        {
            let mut z = zip::ZipWriter::new(&mut bomb);
            z.start_file(
                "xl/sharedStrings.xml",
                zip::write::SimpleFileOptions::default()
                    .compression_method(zip::CompressionMethod::Deflated)
                    .large_file(true),
            )
            .unwrap();
            let zeros = vec![b' '; 1 << 20];
            for _ in 0..300 {
                std::io::Write::write_all(&mut z, &zeros).unwrap();
            }
            z.finish().unwrap();
        }
        let bomb = bomb.into_inner();
        assert!(bomb.len() < 2 << 20, "{}", bomb.len());
        let r = county
            .post_raw(
                "/import/households",
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                &bomb,
            )
            .await;
        assert_eq!(
            (r.status, r.json()["field"].as_str()),
            (413, Some("file")),
            "{}",
            r.body
        );
        // A few bytes that ask the reader to reserve room for 10^11 strings.
        let mut liar = std::io::Cursor::new(Vec::new());
        {
            let mut z = zip::ZipWriter::new(&mut liar);
            z.start_file(
                "xl/sharedStrings.xml",
                zip::write::SimpleFileOptions::default(),
            )
            .unwrap();
            std::io::Write::write_all(
                &mut z,
                br#"<?xml version="1.0"?><sst uniqueCount="100000000000" count="1"><si><t>a</t></si></sst>"#,
            )
            .unwrap();
            z.finish().unwrap();
        }
        let r = county
            .post_raw(
                "/import/households",
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                &liar.into_inner(),
            )
            .await;
        assert_eq!(
            (r.status, r.json()["field"].as_str()),
            (413, Some("file")),
            "{}",
            r.body
        );
        // Not a workbook at all, though it starts like one.
        let r = county
            .post_raw(
                "/import/households",
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                b"PK\x03\x04 not really a zip",
            )
            .await;
        assert_eq!((r.status, r.json()["field"].as_str()), (400, Some("file")));
        assert_eq!(
            count(
                &app.db,
                "SELECT COUNT(*) FROM households WHERE registry_id LIKE 'X%'"
            )
            .await,
            2
        );
    }
}
