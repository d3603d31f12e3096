//! Integration tests: the real app on port 0, a fresh database per test, plain HTTP.
//! Every case runs on SQLite, and on PostgreSQL when `TEST_DATABASE_URL` is set.

use crate::common;

use common::{count, demo_login, spawn_app, Backend, Client, TestApp};

on_both_backends! {
    register_login_me_logout(demo = false);
    session_rotates_at_login(demo = false);
    duplicate_registration_is_refused(demo = false);
    malformed_registration_changes_nothing(demo = false);
    wrong_credentials_are_refused(demo = false);
    login_failures_are_rate_limited(demo = false);
    unknown_endpoints_and_methods(demo = false);
    expired_sessions_are_not_accepted(demo = false);
    officials_see_only_their_region(demo = true);
    household_records_follow_roles(demo = true);
    home_counts_come_from_the_database(demo = true);
    demo_seed_is_idempotent(demo = true);
    healthz_reports_the_database(demo = false);
    unknown_pages_get_a_404_page(demo = false);
    pages_are_complete_without_a_script(demo = true);
}

mod cases {
    use super::*;

    pub async fn register_login_me_logout(app: TestApp) {
        let mut c = Client::new(&app);
        let r = common::register(&mut c, &app, "13800138000", "correct horse", "李明").await;
        assert_eq!(r.status, 200, "{}", r.body);
        let u = r.json();
        assert_eq!(u["display_name"], "李明");
        assert_eq!(u["role"], "buyer");
        assert_eq!(u["login"], "13800138000");
        let cookie = r.header("set-cookie").expect("session cookie");
        assert!(
            cookie.starts_with("zn_session=")
                && cookie.contains("HttpOnly")
                && cookie.contains("SameSite=Lax"),
            "{cookie}"
        );
        assert!(
            !cookie.contains("Secure"),
            "plain http must not get a Secure cookie"
        );

        let me = c.post_form("/api/auth/me", &[]).await;
        assert_eq!(me.status, 200, "{}", me.body);
        assert_eq!(me.json()["id"], u["id"]);

        let out = c.post_form("/api/auth/logout", &[]).await;
        assert_eq!(out.status, 200, "{}", out.body);
        assert!(c.cookies.is_empty(), "logout clears the cookie");
        let me = c.post_form("/api/auth/me", &[]).await;
        assert_eq!(me.status, 401);
        assert_eq!(me.json()["code"], "unauthenticated");
        assert_eq!(
            count(&app.db, "SELECT COUNT(*) FROM sessions").await,
            0,
            "logout deletes the session"
        );

        // Log in again, with the number written the way people write it.
        let r = c
            .post_form(
                "/api/auth/login",
                &[
                    ("login", "+86 138-0013-8000"),
                    ("password", "correct horse"),
                ],
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        let me = c.post_form("/api/auth/me", &[]).await;
        assert_eq!(me.json()["display_name"], "李明");

        // A client cannot claim https for itself: X-Forwarded-Proto counts only from a trusted
        // proxy (tests/hardening.rs has the trusted case).
        let mut s = Client::new(&app);
        s.extra_headers
            .push(("X-Forwarded-Proto".into(), "https".into()));
        let r = s
            .post_form(
                "/api/auth/login",
                &[("login", "13800138000"), ("password", "correct horse")],
            )
            .await;
        assert_eq!(r.status, 200);
        assert!(!r.header("set-cookie").unwrap().contains("Secure"));
    }

    pub async fn session_rotates_at_login(app: TestApp) {
        let mut c = Client::new(&app);
        assert_eq!(
            common::register(&mut c, &app, "a@example.cn", "password-1", "A")
                .await
                .status,
            200
        );
        let first = c.cookies["zn_session"].clone();
        let r = c
            .post_form(
                "/api/auth/login",
                &[("login", "A@Example.cn"), ("password", "password-1")],
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        let second = c.cookies["zn_session"].clone();
        assert_ne!(first, second, "log-in issues a new session id");
        let mut old = Client::new(&app);
        old.cookies.insert("zn_session".into(), first);
        assert_eq!(
            old.post_form("/api/auth/me", &[]).await.status,
            401,
            "the old session id is dead"
        );
        assert_eq!(c.post_form("/api/auth/me", &[]).await.status, 200);
        assert_eq!(count(&app.db, "SELECT COUNT(*) FROM sessions").await, 1);
    }

    pub async fn duplicate_registration_is_refused(app: TestApp) {
        let mut c = Client::new(&app);
        assert_eq!(
            common::register(&mut c, &app, "li.ming@example.cn", "password-1", "李明")
                .await
                .status,
            200
        );
        // The same address again: step one answers exactly as for a new one, so registration
        // tells nobody which addresses have accounts ...
        let mut d = Client::new(&app);
        let r = d
            .post_form(
                "/api/auth/register",
                &[
                    ("login", "Li.Ming@EXAMPLE.cn"),
                    ("password", "password-2"),
                    ("display_name", "另一个"),
                ],
            )
            .await;
        let mut fresh = Client::new(&app);
        let new = fresh
            .post_form(
                "/api/auth/register",
                &[
                    ("login", "someone.new@example.cn"),
                    ("password", "password-2"),
                    ("display_name", "新人"),
                ],
            )
            .await;
        assert_eq!(
            (r.status, new.status),
            (200, 200),
            "{} / {}",
            r.body,
            new.body
        );
        assert_eq!(r.json(), serde_json::json!("li.ming@example.cn"));
        assert_eq!(r.header("set-cookie"), None);
        // ... the owner is told someone tried, with no code in the message ...
        assert_eq!(common::last_code(&app.db, "li.ming@example.cn").await, None);
        let told: String = sqlx::query_scalar(
            "SELECT body FROM notifications WHERE recipient = 'li.ming@example.cn' ORDER BY id DESC LIMIT 1",
        )
        .fetch_one(&app.db.pool)
        .await
        .unwrap();
        assert!(told.contains("已有账户"), "{told}");
        // ... and no code completes it.
        for code in ["000000", "123456"] {
            let r = d
                .post_form(
                    "/api/auth/register-confirm",
                    &[("login", "li.ming@example.cn"), ("code", code)],
                )
                .await;
            assert_eq!(r.status, 400, "{}", r.body);
            assert_eq!(r.json()["code"], "invalid_code");
        }
        assert!(
            d.cookies.is_empty(),
            "no session for a refused registration"
        );
        assert_eq!(count(&app.db, "SELECT COUNT(*) FROM users").await, 1);
        // The first password still works; the second was not stored.
        let mut e2 = Client::new(&app);
        assert_eq!(
            e2.post_form(
                "/api/auth/login",
                &[("login", "li.ming@example.cn"), ("password", "password-2")]
            )
            .await
            .status,
            401
        );
    }

    pub async fn malformed_registration_changes_nothing(app: TestApp) {
        let mut zh = Client::new(&app);
        let mut en = Client::new(&app).english();
        let cases: &[(&str, &str, &str, &str, &str)] = &[
            ("1380013800", "password-1", "李明", "invalid_login", "login"),
            (
                "not-an-email@",
                "password-1",
                "李明",
                "invalid_login",
                "login",
            ),
            (
                "13800138000",
                "short",
                "李明",
                "password_too_short",
                "password",
            ),
            (
                "13800138000",
                "password-1",
                "   ",
                "invalid_display_name",
                "display_name",
            ),
        ];
        for (login, pw, name, code, field) in cases {
            let r = common::register(&mut zh, &app, login, pw, name).await;
            assert_eq!(r.status, 400, "{login}/{pw}/{name}: {}", r.body);
            let e = r.json();
            assert_eq!(e["code"], *code);
            assert_eq!(e["field"], *field);
            assert!(
                e["message"]
                    .as_str()
                    .unwrap()
                    .chars()
                    .any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)),
                "Chinese by default: {e}"
            );
            let r = common::register(&mut en, &app, login, pw, name).await;
            assert_eq!(r.status, 400);
            assert!(
                r.json()["message"].as_str().unwrap().is_ascii(),
                "English when asked: {}",
                r.body
            );
        }
        // The language cookie wins over Accept-Language.
        let mut cookie_en = Client::new(&app);
        cookie_en.cookies.insert("zn_lang".into(), "en".into());
        let r = common::register(&mut cookie_en, &app, "x", "password-1", "X").await;
        assert!(
            r.json()["message"]
                .as_str()
                .unwrap()
                .starts_with("Enter a valid"),
            "{}",
            r.body
        );

        // Missing fields, a JSON body, garbage bytes, a huge body: 4xx, never 5xx.
        let r = zh
            .post_form("/api/auth/register", &[("login", "13800138000")])
            .await;
        assert_eq!(r.status, 400, "{}", r.body);
        assert_eq!(r.json()["code"], "bad_request");
        let r = zh
            .post_raw(
                "/api/auth/register",
                "application/json",
                br#"{"login":"13800138000","password":"password-1","display_name":"x"}"#,
            )
            .await;
        assert!((400..500).contains(&r.status), "{} {}", r.status, r.body);
        let r = zh
            .post_raw(
                "/api/auth/login",
                "application/x-www-form-urlencoded",
                &[0xff, 0xfe, b'%', b'%', 0],
            )
            .await;
        assert!((400..500).contains(&r.status), "{} {}", r.status, r.body);
        let big = "x".repeat(3 * 1024 * 1024);
        let r = zh
            .post_form("/api/auth/login", &[("login", &big), ("password", &big)])
            .await;
        assert_eq!(r.status, 413, "{}", &r.body[..r.body.len().min(200)]);
        assert_eq!(r.json()["code"], "too_large");
        assert_eq!(
            count(&app.db, "SELECT COUNT(*) FROM users").await,
            0,
            "nothing was created"
        );
        assert_eq!(count(&app.db, "SELECT COUNT(*) FROM sessions").await, 0);
    }

    pub async fn wrong_credentials_are_refused(app: TestApp) {
        let mut c = Client::new(&app);
        assert_eq!(
            common::register(&mut c, &app, "13900139000", "password-1", "王")
                .await
                .status,
            200
        );
        let mut d = Client::new(&app);
        let r = d
            .post_form(
                "/api/auth/login",
                &[("login", "13900139000"), ("password", "password-2")],
            )
            .await;
        assert_eq!(r.status, 401);
        assert_eq!(r.json()["code"], "wrong_credentials");
        assert!(r.json()["message"].as_str().unwrap().contains("不正确"));
        assert!(d.cookies.is_empty());
        // An account that does not exist gets the same answer.
        let r = d
            .post_form(
                "/api/auth/login",
                &[("login", "13700137000"), ("password", "password-1")],
            )
            .await;
        assert_eq!(r.status, 401);
        assert_eq!(r.json()["code"], "wrong_credentials");
        assert_eq!(
            count(&app.db, "SELECT COUNT(*) FROM sessions").await,
            1,
            "only the registration's session"
        );
    }

    pub async fn login_failures_are_rate_limited(app: TestApp) {
        let mut c = Client::new(&app);
        assert_eq!(
            common::register(&mut c, &app, "13600136000", "password-1", "张")
                .await
                .status,
            200
        );
        assert_eq!(
            common::register(&mut c, &app, "13600136001", "password-1", "赵")
                .await
                .status,
            200
        );
        let mut d = Client::new(&app).english();
        for _ in 0..5 {
            let r = d
                .post_form(
                    "/api/auth/login",
                    &[("login", "13600136000"), ("password", "wrong-pass")],
                )
                .await;
            assert_eq!(r.status, 401);
        }
        let r = d
            .post_form(
                "/api/auth/login",
                &[("login", "13600136000"), ("password", "password-1")],
            )
            .await;
        assert_eq!(
            r.status, 429,
            "locked even with the right password: {}",
            r.body
        );
        assert!(r.json()["message"].as_str().unwrap().contains("Too many"));
        // Another account from the same address is still allowed (under the per-address limit).
        let r = d
            .post_form(
                "/api/auth/login",
                &[("login", "13600136001"), ("password", "password-1")],
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        // Per address: 20 failures across accounts lock the address out.
        for i in 0..20 {
            let _ = d
                .post_form(
                    "/api/auth/login",
                    &[
                        ("login", &format!("1350013{i:04}")),
                        ("password", "wrong-pass"),
                    ],
                )
                .await;
        }
        let r = d
            .post_form(
                "/api/auth/login",
                &[("login", "13600136001"), ("password", "password-1")],
            )
            .await;
        assert_eq!(r.status, 429, "{}", r.body);
    }

    pub async fn unknown_endpoints_and_methods(app: TestApp) {
        let mut c = Client::new(&app);
        let r = c.post_form("/api/no/such/thing", &[]).await;
        assert_eq!(r.status, 404);
        assert_eq!(r.json()["code"], "unknown_endpoint");
        assert!(r.json()["message"].as_str().unwrap().contains("接口"));
        let r = c.get("/api/auth/login").await;
        assert_eq!(r.status, 405, "{}", r.body);
        assert_eq!(r.json()["code"], "bad_request");
    }

    pub async fn expired_sessions_are_not_accepted(app: TestApp) {
        let mut c = Client::new(&app);
        assert_eq!(
            common::register(&mut c, &app, "13500135000", "password-1", "周")
                .await
                .status,
            200
        );
        sqlx::query("UPDATE sessions SET expires_at = 1")
            .execute(&app.db.pool)
            .await
            .unwrap();
        let r = c.post_form("/api/auth/me", &[]).await;
        assert_eq!(r.status, 401);
        // A forged token is no better.
        let mut f = Client::new(&app);
        f.cookies.insert("zn_session".into(), "forged".into());
        assert_eq!(f.post_form("/api/auth/me", &[]).await.status, 401);
    }

    async fn household_in(app: &TestApp, county: &str) -> i64 {
        sqlx::query_scalar::<_, i64>(
            "SELECT id FROM households WHERE region_code LIKE $1 ORDER BY id LIMIT 1",
        )
        .bind(format!("{county}%"))
        .fetch_one(&app.db.pool)
        .await
        .unwrap()
    }

    pub async fn officials_see_only_their_region(app: TestApp) {
        let mut zhenghe = demo_login(&app, "gov.zhenghe@demo.zhunong.cn").await;
        // Own region, by default and by code.
        let r = zhenghe.post_form("/api/official/households", &[]).await;
        assert_eq!(r.status, 200, "{}", r.body);
        let d = r.json();
        assert_eq!(d["region_code"], "350725");
        let list = d["households"]["items"].as_array().unwrap();
        let in_db = count(
            &app.db,
            "SELECT COUNT(*) FROM households WHERE region_code LIKE '350725%'",
        )
        .await;
        assert_eq!(d["total"].as_i64().unwrap(), in_db);
        assert_eq!(list.len() as i64, in_db.min(50), "a page of at most 50");
        assert!(in_db > 0);
        assert!(list
            .iter()
            .all(|h| h["village_code"].as_str().unwrap().starts_with("350725")));
        assert_eq!(d["line_fen"], 600_000);
        let r = zhenghe
            .post_form("/api/official/households", &[("region", "350725101")])
            .await;
        assert_eq!(r.status, 200, "a township inside the county: {}", r.body);

        // Another county: refused, nothing leaked.
        let r = zhenghe
            .post_form("/api/official/households", &[("region", "350921")])
            .await;
        assert_eq!(r.status, 403, "{}", r.body);
        assert_eq!(r.json()["code"], "out_of_region");
        assert!(!r.body.contains("演示"), "no household data in the refusal");
        // The city above it, or the province: also outside a county official's scope.
        assert_eq!(
            zhenghe
                .post_form("/api/official/households", &[("region", "350700")])
                .await
                .status,
            403
        );
        assert_eq!(
            zhenghe
                .post_form("/api/official/households", &[("region", "350000")])
                .await
                .status,
            403
        );
        let r = zhenghe
            .post_form("/api/official/households", &[("region", "35x")])
            .await;
        assert_eq!(r.status, 400);
        assert_eq!(r.json()["code"], "invalid_region");

        // A household in another county, by id.
        let xiapu_household = household_in(&app, "350921").await;
        let r = zhenghe
            .post_form(
                "/api/households/get",
                &[("id", &xiapu_household.to_string())],
            )
            .await;
        assert_eq!(r.status, 403, "{}", r.body);
        let own = household_in(&app, "350725").await;
        let r = zhenghe
            .post_form("/api/households/get", &[("id", &own.to_string())])
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(r.json()["household"]["id"], own);

        // The province official sees both counties.
        let mut fujian = demo_login(&app, "gov.fujian@demo.zhunong.cn").await;
        let r = fujian
            .post_form("/api/official/households", &[("region", "350921")])
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        let r = fujian
            .post_form(
                "/api/households/get",
                &[("id", &xiapu_household.to_string())],
            )
            .await;
        assert_eq!(r.status, 200);
        let r = fujian.post_form("/api/official/households", &[]).await;
        assert_eq!(r.json()["total"], 200);
    }

    pub async fn household_records_follow_roles(app: TestApp) {
        let own = household_in(&app, "350725").await;
        let id = own.to_string();
        // Anonymous: 401. Buyer: 403, for one household and for listings.
        let mut anon = Client::new(&app);
        assert_eq!(
            anon.post_form("/api/households/get", &[("id", &id)])
                .await
                .status,
            401
        );
        assert_eq!(
            anon.post_form("/api/official/households", &[]).await.status,
            401
        );
        let mut buyer = demo_login(&app, "buyer@demo.zhunong.cn").await;
        let r = buyer.post_form("/api/households/get", &[("id", &id)]).await;
        assert_eq!(r.status, 403);
        assert_eq!(r.json()["code"], "forbidden");
        assert_eq!(
            buyer
                .post_form("/api/official/households", &[])
                .await
                .status,
            403
        );
        // The household itself sees its own record, not a neighbour's.
        let mut hh = demo_login(&app, "household@demo.zhunong.cn").await;
        let me = hh.post_form("/api/auth/me", &[]).await.json();
        let mine = me["household_id"].as_i64().unwrap();
        assert_eq!(
            hh.post_form("/api/households/get", &[("id", &mine.to_string())])
                .await
                .status,
            200
        );
        let other = household_in(&app, "350921").await;
        assert_eq!(
            hh.post_form("/api/households/get", &[("id", &other.to_string())])
                .await
                .status,
            403
        );
        // The cadre sees the paired households only.
        let mut cadre = demo_login(&app, "cadre@demo.zhunong.cn").await;
        let paired: i64 = sqlx::query_scalar("SELECT MIN(household_id) FROM cadre_pairings")
            .fetch_one(&app.db.pool)
            .await
            .unwrap();
        assert_eq!(
            cadre
                .post_form("/api/households/get", &[("id", &paired.to_string())])
                .await
                .status,
            200
        );
        assert_eq!(
            cadre
                .post_form("/api/households/get", &[("id", &other.to_string())])
                .await
                .status,
            403
        );
        // Ids that do not exist or are not numbers.
        let mut admin = demo_login(&app, "admin@demo.zhunong.cn").await;
        assert_eq!(
            admin
                .post_form("/api/households/get", &[("id", "999999")])
                .await
                .status,
            404
        );
        assert_eq!(
            admin
                .post_form("/api/households/get", &[("id", "abc")])
                .await
                .status,
            400
        );
        assert_eq!(
            admin
                .post_form("/api/households/get", &[("id", &id)])
                .await
                .status,
            200
        );
    }

    pub async fn home_counts_come_from_the_database(app: TestApp) {
        let mut c = Client::new(&app);
        let r = c.post_form("/api/home/counties", &[]).await;
        assert_eq!(r.status, 200, "{}", r.body);
        let list = r.json();
        let list = list.as_array().unwrap();
        assert_eq!(list.len(), 9);
        let total: i64 = list.iter().map(|c| c["households"].as_i64().unwrap()).sum();
        assert_eq!(total, 200);
        let zhenghe = list.iter().find(|c| c["code"] == "350725").unwrap();
        assert_eq!(zhenghe["name"], "政和县");
        assert_eq!(zhenghe["city_name"], "南平市");
        assert_eq!(zhenghe["organisations"], 2);
        assert_eq!(
            zhenghe["households"].as_i64().unwrap(),
            count(
                &app.db,
                "SELECT COUNT(*) FROM households WHERE region_code LIKE '350725%'"
            )
            .await
        );
        // And the page renders them on the server.
        let page = c.get("/").await;
        assert_eq!(page.status, 200);
        assert!(
            page.body.contains("政和县") && page.body.contains("霞浦县"),
            "server-rendered counties"
        );
        assert!(page.body.contains("<html lang=\"zh-CN\""));
        let mut en = Client::new(&app).english();
        let page = en.get("/").await;
        assert!(page.body.contains("<html lang=\"en\"") && page.body.contains("Zhenghe County"));
    }

    /// Each page's content is in the HTML as sent, in place: no "loading" placeholder whose
    /// content comes later in a `<template>` for a script to move (a browser without the
    /// script, or before it runs, would show the placeholder for good).
    pub async fn pages_are_complete_without_a_script(app: TestApp) {
        let listing: i64 =
            sqlx::query_scalar("SELECT id FROM listings WHERE title = '政和白茶·白牡丹（演示）'")
                .fetch_one(&app.db.pool)
                .await
                .unwrap();
        let household: i64 = sqlx::query_scalar(
            "SELECT id FROM households WHERE region_code LIKE '350725%' ORDER BY id LIMIT 1",
        )
        .fetch_one(&app.db.pool)
        .await
        .unwrap();
        let check = |who: &str, path: &str, body: &str, must: &str| {
            let main = body
                .split("<main")
                .nth(1)
                .and_then(|m| m.split("</main>").next())
                .unwrap_or_else(|| panic!("{who} {path}: no <main>"));
            assert!(
                !body.contains("<template"),
                "{who} {path}: content streamed for a script"
            );
            assert!(
                !main.contains("加载中"),
                "{who} {path}: a loading placeholder"
            );
            assert!(main.contains(must), "{who} {path}: {must:?} not in <main>");
        };
        let mut anon = Client::new(&app);
        anon.accept = "text/html";
        for (path, must) in [
            ("/".to_owned(), "霞浦县"),
            ("/".to_owned(), "listing-card"),
            ("/market".to_owned(), "政和白茶"),
            ("/market?q=白牡丹".to_owned(), "value=\"白牡丹\""),
            (format!("/listing/{listing}"), "政和白茶"),
            ("/login".to_owned(), "password"),
            ("/register".to_owned(), "password"),
            ("/cart".to_owned(), "购物车"),
        ] {
            let r = anon.get(&path).await;
            assert_eq!(r.status, 200, "{path}");
            check("anonymous", &path, &r.body, must);
        }
        for (login, path, must) in [
            ("buyer@demo.zhunong.cn", "/orders".to_owned(), "order-card"),
            (
                "buyer@demo.zhunong.cn",
                "/account".to_owned(),
                "type=\"password\"",
            ),
            (
                "gov.zhenghe@demo.zhunong.cn",
                "/households".to_owned(),
                "政和县",
            ),
            (
                "gov.zhenghe@demo.zhunong.cn",
                format!("/households/{household}"),
                "<th scope=\"col\"",
            ),
            (
                "coop.zhenghe@demo.zhunong.cn",
                "/seller/listings".to_owned(),
                "政和白茶",
            ),
            (
                "coop.zhenghe@demo.zhunong.cn",
                "/seller/orders".to_owned(),
                "order-card",
            ),
            (
                "coop.zhenghe@demo.zhunong.cn",
                format!("/listing/{listing}/edit"),
                "政和白茶",
            ),
        ] {
            let mut c = demo_login(&app, login).await;
            c.accept = "text/html";
            let r = c.get(&path).await;
            assert_eq!(r.status, 200, "{login} {path}");
            check(login, &path, &r.body, must);
        }
        // A page whose data is refused answers with the error's status, its message in the page.
        let r = anon.get("/market?after=not-a-cursor").await;
        assert_eq!(r.status, 400);
        assert!(
            r.body.contains("请求格式不正确"),
            "the message is in the page"
        );
        let elsewhere: i64 = sqlx::query_scalar(
            "SELECT id FROM households WHERE region_code LIKE '350921%' ORDER BY id LIMIT 1",
        )
        .fetch_one(&app.db.pool)
        .await
        .unwrap();
        let mut gov = demo_login(&app, "gov.zhenghe@demo.zhunong.cn").await;
        gov.accept = "text/html";
        assert_eq!(
            gov.get(&format!("/households/{elsewhere}")).await.status,
            403
        );
        // Pages and API answers are compressed for a client that asks.
        let mut gz = Client::new(&app);
        gz.extra_headers
            .push(("Accept-Encoding".into(), "gzip".into()));
        let r = gz.send("GET", "/market", None, None).await;
        assert_eq!(r.header("content-encoding"), Some("gzip"));
        let r = Client::new(&app).get("/market").await;
        assert_eq!(
            r.header("content-encoding"),
            None,
            "and plain for one that does not"
        );
    }

    pub async fn demo_seed_is_idempotent(app: TestApp) {
        let before = (
            count(&app.db, "SELECT COUNT(*) FROM regions").await,
            count(&app.db, "SELECT COUNT(*) FROM households").await,
            count(&app.db, "SELECT COUNT(*) FROM users").await,
            count(&app.db, "SELECT COUNT(*) FROM benefit_links").await,
        );
        let r = zhunong::server::seed::seed_demo(&app.db).await.unwrap();
        assert!(r.already_present);
        let after = (
            count(&app.db, "SELECT COUNT(*) FROM regions").await,
            count(&app.db, "SELECT COUNT(*) FROM households").await,
            count(&app.db, "SELECT COUNT(*) FROM users").await,
            count(&app.db, "SELECT COUNT(*) FROM benefit_links").await,
        );
        assert_eq!(before, after);
        assert_eq!(before.1, 200);
        // A third of the households are linked to co-ops.
        let linked = count(
            &app.db,
            "SELECT COUNT(DISTINCT household_id) FROM benefit_links",
        )
        .await;
        assert!((60..=70).contains(&linked), "{linked}");
        // Deterministic: a second, independent database gets exactly the same households.
        let other = spawn_app(Backend::Sqlite, true).await.unwrap();
        let q = "SELECT h.head_name, h.region_code, h.members, b.per_capita_fen FROM households h
                   JOIN household_baselines b ON b.household_id = h.id ORDER BY h.id";
        let a: Vec<(String, String, i64, i64)> =
            sqlx::query_as(q).fetch_all(&app.db.pool).await.unwrap();
        let b: Vec<(String, String, i64, i64)> =
            sqlx::query_as(q).fetch_all(&other.db.pool).await.unwrap();
        assert_eq!(a.len(), 200);
        assert_eq!(a, b);
        // Incomes spread around the 6,000 元 line: some below, most within reach of it.
        let below = a.iter().filter(|h| h.3 < 600_000).count();
        assert!((20..=120).contains(&below), "{below} below the line");
        // Invented places are marked as demo data; the real ones are not.
        assert_eq!(count(&app.db, "SELECT COUNT(*) FROM regions WHERE level IN ('township', 'village') AND is_demo = 0").await, 0);
        assert_eq!(
            count(
                &app.db,
                "SELECT COUNT(*) FROM regions WHERE code = '350921' AND is_demo = 0"
            )
            .await,
            1
        );
    }

    pub async fn healthz_reports_the_database(app: TestApp) {
        let mut c = Client::new(&app);
        let r = c.get("/healthz").await;
        assert_eq!(r.status, 200);
        let j = r.json();
        assert_eq!(j["database"]["ok"], true);
        let expected = if app.backend == Backend::Sqlite {
            "sqlite"
        } else {
            "postgresql"
        };
        assert_eq!(j["database"]["backend"], expected);
        if app.backend == Backend::Sqlite {
            let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
                .fetch_one(&app.db.pool)
                .await
                .unwrap();
            assert_eq!(mode, "wal");
            let fk: i64 = sqlx::query_scalar("PRAGMA foreign_keys")
                .fetch_one(&app.db.pool)
                .await
                .unwrap();
            assert_eq!(fk, 1);
        }
        app.db.close().await;
        let r = c.get("/healthz").await;
        assert_eq!(r.status, 503);
        assert_eq!(r.json()["database"]["ok"], false);
    }

    pub async fn unknown_pages_get_a_404_page(app: TestApp) {
        let mut c = Client::new(&app);
        let r = c.get("/no/such/page").await;
        assert_eq!(r.status, 404);
        assert!(
            r.body.contains("页面不存在"),
            "{}",
            &r.body[..r.body.len().min(500)]
        );
    }
}

/// Starting an app finds its routes by running it once with resource loading suspended by a
/// process-wide flag (leptos_router). A page served meanwhile by another app in the process
/// must still load: one used to wait until the request timed out (a 503 after 30 s), as tests
/// start many apps in one process. Routes are now found once per process.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn pages_load_while_other_apps_start() {
    use std::sync::atomic::{AtomicBool, Ordering};
    let app = spawn_app(Backend::Sqlite, true).await.expect("sqlite app");
    let done = AtomicBool::new(false);
    let pages = async {
        // Signed in, so every page is rendered afresh (never from the page cache).
        let mut c = demo_login(&app, "buyer@demo.zhunong.cn").await;
        c.accept = "text/html";
        let mut served = 0;
        while !done.load(Ordering::SeqCst) || served < 20 {
            let r = tokio::time::timeout(std::time::Duration::from_secs(10), c.get("/market"))
                .await
                .expect("the page came in time");
            assert_eq!(r.status, 200);
            assert!(r.body.contains("listing-card"), "the catalogue loaded");
            served += 1;
        }
    };
    let starts = async {
        for _ in 0..6 {
            let other = spawn_app(Backend::Sqlite, false)
                .await
                .expect("another app");
            // Its routes are found when it starts serving: ask it for a page.
            let r = Client::new(&other).get("/healthz").await;
            assert_eq!(r.status, 200);
        }
        done.store(true, Ordering::SeqCst);
    };
    tokio::join!(pages, starts);
}
