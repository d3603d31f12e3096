//! Integration tests of the hardening: control characters, escaping, cross-site requests,
//! security headers, stored files, money caps, limits on work and attempts, accounts (codes,
//! password change, log out everywhere), the migration repair, backup and restore, the
//! production guard and `/metrics`. Each case runs on SQLite and on PostgreSQL.

use crate::common;

use common::{
    count, demo_login, form_fields, listing_id, post_fields, set, spawn_app_with, Backend, Client,
    TestApp,
};

on_both_backends! {
    control_characters_are_refused_everywhere;
    hostile_values_are_escaped_in_every_form;
    cross_site_requests_are_refused;
    security_headers_on_every_kind_of_response;
    only_stored_photos_are_served;
    money_sums_are_capped;
    accounts_change_reset_and_log_out_everywhere;
    expired_sessions_and_codes_are_swept;
    edited_migration_is_repaired;
    production_refuses_demo_accounts;
    metrics_are_served_to_the_machine_only;
    order_lists_are_paged_with_a_cursor;
    every_list_pages_through_all_rows_once;
}

const COOP: &str = "coop.zhenghe@demo.zhunong.cn";
const WHITE_TEA: &str = "政和白茶·白牡丹（演示）";

/// A request to try: who sends it, where, and its fields.
type Case<'a> = (Client, &'a str, Vec<(&'a str, String)>);

fn err_code(r: &common::Response) -> String {
    r.json()["code"].as_str().unwrap_or_default().to_owned()
}

mod cases {
    use super::*;

    pub async fn control_characters_are_refused_everywhere(app: TestApp) {
        let tea = listing_id(&app, WHITE_TEA).await.to_string();
        let coop = demo_login(&app, COOP).await;
        let gov = demo_login(&app, "gov.zhenghe@demo.zhunong.cn").await;
        let buyer = demo_login(&app, "buyer@demo.zhunong.cn").await;
        let household: String = sqlx::query_scalar::<_, i64>(
            "SELECT id FROM households WHERE region_code LIKE '350725%' ORDER BY id LIMIT 1",
        )
        .fetch_one(&app.db.pool)
        .await
        .unwrap()
        .to_string();
        let before = (
            count(&app.db, "SELECT COUNT(*) FROM users").await,
            count(&app.db, "SELECT COUNT(*) FROM orders").await,
            count(&app.db, "SELECT COUNT(*) FROM ledger_entries").await,
            count(&app.db, "SELECT COUNT(*) FROM certificates").await,
        );
        let titles_before: Vec<String> =
            sqlx::query_scalar("SELECT title FROM listings ORDER BY id")
                .fetch_all(&app.db.pool)
                .await
                .unwrap();
        for bad in ["a\0b", "\u{1b}[2J", "x\u{7f}", "\u{85}"] {
            let anon = Client::new(&app);
            let cases: Vec<Case> = vec![
                (
                    anon.clone(),
                    "/api/auth/login",
                    vec![("login", bad.into()), ("password", "password-1".into())],
                ),
                (
                    anon.clone(),
                    "/api/auth/register",
                    vec![
                        ("login", "13811112222".into()),
                        ("password", "password-1".into()),
                        ("display_name", bad.into()),
                    ],
                ),
                (
                    anon.clone(),
                    "/api/auth/reset-request",
                    vec![("login", bad.into())],
                ),
                (
                    anon.clone(),
                    "/api/market/catalogue",
                    vec![("query[q]", bad.into())],
                ),
                (
                    coop.clone(),
                    "/api/market/save-listing",
                    vec![("form[id]", tea.clone()), ("form[title]", bad.into())],
                ),
                (
                    gov.clone(),
                    "/api/ledger/record",
                    vec![
                        ("household_id", household.clone()),
                        ("amount", "1".into()),
                        ("source_type", "wages".into()),
                        ("note", bad.into()),
                    ],
                ),
                (
                    gov.clone(),
                    "/api/market/certify",
                    vec![
                        ("listing_id", tea.clone()),
                        ("number", bad.into()),
                        ("valid_from", "2026-01-01".into()),
                        ("valid_until", "2026-12-31".into()),
                    ],
                ),
                (
                    gov.clone(),
                    "/api/market/stalled",
                    vec![
                        ("listing_id", tea.clone()),
                        ("stalled", "true".into()),
                        ("reason", bad.into()),
                    ],
                ),
                (
                    buyer.clone(),
                    "/api/orders/checkout",
                    vec![
                        ("idempotency_key", bad.into()),
                        ("items[0][listing_id]", tea.clone()),
                        ("items[0][quantity]", "1".into()),
                    ],
                ),
                (
                    buyer.clone(),
                    "/api/auth/change-password",
                    vec![
                        ("current_password", bad.into()),
                        ("new_password", "password-2".into()),
                    ],
                ),
            ];
            for (mut client, path, fields) in cases {
                let refs: Vec<(&str, &str)> =
                    fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
                let r = client.post_form(path, &refs).await;
                assert_eq!(r.status, 400, "{path} with {bad:?}: {}", r.body);
                assert_eq!(err_code(&r), "control_character", "{path}");
            }
            // In a JSON body (a payment notification) and in a page's query string.
            let r = Client::new(&app)
                .post_raw(
                    "/api/payments/wechat/notify",
                    "application/json",
                    serde_json::json!({"event_id": bad, "order_id": 1, "amount_fen": 1})
                        .to_string()
                        .as_bytes(),
                )
                .await;
            assert_eq!(r.status, 400, "notification: {}", r.body);
            let mut page = Client::new(&app);
            page.accept = "text/html";
            let r = page
                .get(&format!(
                    "/market?q={}",
                    common::form(&[("", bad)]).trim_start_matches('=')
                ))
                .await;
            assert_eq!(r.status, 400, "page: {}", r.body);
            assert!(r.body.contains("控制字符"), "{}", r.body);
        }
        // English when asked.
        let r = Client::new(&app)
            .english()
            .post_form("/api/auth/login", &[("login", "a\0"), ("password", "x")])
            .await;
        assert!(r.json()["message"]
            .as_str()
            .unwrap()
            .contains("control characters"));
        // Lines and tabs are text.
        let r = Client::new(&app)
            .post_form("/api/market/catalogue", &[("query[q]", "白茶\t\n")])
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        let after = (
            count(&app.db, "SELECT COUNT(*) FROM users").await,
            count(&app.db, "SELECT COUNT(*) FROM orders").await,
            count(&app.db, "SELECT COUNT(*) FROM ledger_entries").await,
            count(&app.db, "SELECT COUNT(*) FROM certificates").await,
        );
        assert_eq!(before, after, "nothing changed");
        let titles_after: Vec<String> =
            sqlx::query_scalar("SELECT title FROM listings ORDER BY id")
                .fetch_all(&app.db.pool)
                .await
                .unwrap();
        assert_eq!(titles_before, titles_after);
    }

    pub async fn hostile_values_are_escaped_in_every_form(app: TestApp) {
        let id = listing_id(&app, WHITE_TEA).await;
        let mut coop = demo_login(&app, COOP).await;
        let e = coop
            .post_form("/api/market/editable-listing", &[("id", &id.to_string())])
            .await
            .json();
        let mut fields = form_fields(&e["form"]);
        let title = r#"白茶"><script>alert('t')</script>"#;
        let description =
            "</textarea><script>alert('d')</script><img src=x onerror=alert(1)>\n第二行 & 更多";
        set(&mut fields, "form[title]", title);
        set(&mut fields, "form[unit]", "<b>斤</b>");
        set(&mut fields, "form[description]", description);
        let r = post_fields(&mut coop, &fields).await;
        assert_eq!(r.status, 200, "{}", r.body);
        // A display name with markup, shown in the header of every page.
        let mut buyer = Client::new(&app);
        let r = common::register(
            &mut buyer,
            &app,
            "13822223333",
            "password-1",
            "<script>alert('n')</script>",
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.body);
        for (mut client, path) in [
            (coop.clone(), format!("/listing/{id}/edit")),
            (coop.clone(), format!("/listing/{id}")),
            (coop.clone(), "/market".to_owned()),
            (coop.clone(), "/seller/listings".to_owned()),
            (buyer.clone(), "/".to_owned()),
            (buyer.clone(), "/account".to_owned()),
        ] {
            client.accept = "text/html";
            let r = client.get(&path).await;
            assert_eq!(r.status, 200, "{path}");
            for needle in ["<script>alert(", "<img src=x", "<b>斤"] {
                assert!(
                    !r.body.contains(needle),
                    "{path} carries {needle:?} unescaped"
                );
            }
        }
        // The edit form shows exactly what was saved, as text.
        coop.accept = "text/html";
        let page = coop.get(&format!("/listing/{id}/edit")).await.body;
        assert!(
            page.contains("&lt;/textarea&gt;&lt;script&gt;alert("),
            "{}",
            &page[..page.len().min(500)]
        );
        assert!(page.contains("第二行 &amp; 更多"));
        coop.accept = "application/json";
        let back = coop
            .post_form("/api/market/editable-listing", &[("id", &id.to_string())])
            .await
            .json();
        assert_eq!(back["form"]["description"], description);
        assert_eq!(back["form"]["title"], title);
    }

    pub async fn cross_site_requests_are_refused(app: TestApp) {
        let tea = listing_id(&app, WHITE_TEA).await.to_string();
        let mut buyer = demo_login(&app, "buyer@demo.zhunong.cn").await;
        let orders = count(&app.db, "SELECT COUNT(*) FROM orders").await;
        let checkout = [
            ("idempotency_key", "csrf-key-0001"),
            ("items[0][listing_id]", tea.as_str()),
            ("items[0][quantity]", "1"),
        ];
        for header in [
            ("Origin", "https://evil.example".to_owned()),
            ("Origin", "null".to_owned()),
            ("Sec-Fetch-Site", "cross-site".to_owned()),
            ("Sec-Fetch-Site", "same-site".to_owned()),
        ] {
            let mut c = buyer.clone();
            c.extra_headers.push((header.0.into(), header.1.clone()));
            let r = c.post_form("/api/orders/checkout", &checkout).await;
            assert_eq!(r.status, 403, "{header:?}: {}", r.body);
            assert_eq!(err_code(&r), "cross_site");
        }
        assert_eq!(count(&app.db, "SELECT COUNT(*) FROM orders").await, orders);
        // Log-in CSRF: no session is made.
        let mut c = Client::new(&app);
        c.extra_headers
            .push(("Origin".into(), "https://evil.example".into()));
        let r = c
            .post_form(
                "/api/auth/login",
                &[
                    ("login", "buyer@demo.zhunong.cn"),
                    ("password", zhunong::server::seed::DEMO_PASSWORD),
                ],
            )
            .await;
        assert_eq!(r.status, 403);
        assert!(c.cookies.is_empty());
        // The site's own pages (same origin) go through.
        let mut own = buyer.clone();
        own.extra_headers
            .push(("Origin".into(), format!("http://{}", app.addr)));
        own.extra_headers
            .push(("Sec-Fetch-Site".into(), "same-origin".into()));
        let r = own.post_form("/api/orders/checkout", &checkout).await;
        assert_eq!(r.status, 200, "{}", r.body);
        buyer.extra_headers.clear();
        assert_eq!(buyer.post_form("/api/auth/me", &[]).await.status, 200);
    }

    pub async fn security_headers_on_every_kind_of_response(app: TestApp) {
        let dir = app.upload_dir.join("listings/7");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("0123456789abcdef01234567.jpg"),
            [0xFF, 0xD8, 0xFF, 0xE0],
        )
        .unwrap();
        let mut c = Client::new(&app);
        c.accept = "text/html";
        let page = c.get("/market").await;
        assert_eq!(page.status, 200);
        let csp = page
            .header("content-security-policy")
            .expect("CSP on pages")
            .to_owned();
        assert!(
            csp.contains("frame-ancestors 'none'") && csp.contains("object-src 'none'"),
            "{csp}"
        );
        assert!(!csp.contains("script-src 'self' 'unsafe-inline'"));
        // The nonce of the policy is the nonce of the page's inline scripts, and fresh each time.
        let nonce = csp
            .split("'nonce-")
            .nth(1)
            .and_then(|r| r.split('\'').next())
            .expect("nonce")
            .to_owned();
        assert!(nonce.len() >= 16);
        assert!(
            page.body.contains(&format!("nonce=\"{nonce}\"")),
            "the hydration script carries the nonce"
        );
        let again = c.get("/market").await;
        assert!(!again
            .header("content-security-policy")
            .unwrap()
            .contains(&nonce));
        let json = Client::new(&app).post_form("/api/auth/me", &[]).await;
        let photo = Client::new(&app)
            .get("/uploads/listings/7/0123456789abcdef01234567.jpg")
            .await;
        let missing = c.get("/no-such-page").await;
        assert_eq!((json.status, photo.status, missing.status), (401, 200, 404));
        assert_eq!(photo.header("content-type"), Some("image/jpeg"));
        for (what, r) in [
            ("page", &page),
            ("api", &json),
            ("photo", &photo),
            ("404", &missing),
        ] {
            assert_eq!(
                r.header("x-content-type-options"),
                Some("nosniff"),
                "{what}"
            );
            assert_eq!(r.header("x-frame-options"), Some("DENY"), "{what}");
            assert_eq!(
                r.header("referrer-policy"),
                Some("strict-origin-when-cross-origin"),
                "{what}"
            );
            assert!(
                r.header("content-security-policy")
                    .is_some_and(|v| v.contains("frame-ancestors 'none'")),
                "{what}"
            );
            assert_eq!(
                r.header("strict-transport-security"),
                None,
                "plain http: no HSTS ({what})"
            );
        }
        assert!(json
            .header("content-security-policy")
            .unwrap()
            .starts_with("default-src 'none'"));
        // Served over https (configured): HSTS.
        let secure = spawn_app_with(app.backend, false, |s| s.secure_cookies = true)
            .await
            .unwrap();
        let r = Client::new(&secure).get("/healthz").await;
        assert!(r
            .header("strict-transport-security")
            .is_some_and(|v| v.contains("max-age=")));
    }

    pub async fn only_stored_photos_are_served(app: TestApp) {
        let dir = app.upload_dir.join("listings/7");
        std::fs::create_dir_all(&dir).unwrap();
        let name = "0123456789abcdef01234567";
        std::fs::write(dir.join(format!("{name}.jpg")), [0xFF, 0xD8, 0xFF]).unwrap();
        std::fs::write(dir.join(format!("{name}.part")), b"half a photo").unwrap();
        std::fs::write(dir.join("page.html"), b"<script>alert(1)</script>").unwrap();
        std::fs::write(app.upload_dir.join("secret.txt"), b"secret").unwrap();
        let mut c = Client::new(&app);
        let ok = c.get(&format!("/uploads/listings/7/{name}.jpg")).await;
        assert_eq!(ok.status, 200);
        assert!(ok.header("cache-control").unwrap().contains("immutable"));
        for path in [
            format!("/uploads/listings/7/{name}.part"),
            "/uploads/listings/7/page.html".to_owned(),
            "/uploads/secret.txt".to_owned(),
            "/uploads/listings/7/../../secret.txt".to_owned(),
            "/uploads/listings/7/%2e%2e/%2e%2e/secret.txt".to_owned(),
            format!("/uploads/listings/8/{name}.jpg"),
        ] {
            let r = c.get(&path).await;
            assert_eq!(r.status, 404, "{path}");
            assert!(
                !r.body.contains("secret") && !r.body.contains("alert"),
                "{path}"
            );
        }
    }

    pub async fn money_sums_are_capped(app: TestApp) {
        let id = listing_id(&app, WHITE_TEA).await;
        let mut coop = demo_login(&app, COOP).await;
        let e = coop
            .post_form("/api/market/editable-listing", &[("id", &id.to_string())])
            .await
            .json();
        let mut fields = form_fields(&e["form"]);
        // A unit price above 10 万元 is refused.
        set(&mut fields, "form[price]", "100000.01");
        let r = post_fields(&mut coop, &fields).await;
        assert_eq!(r.status, 400, "{}", r.body);
        assert_eq!(r.json()["field"], "price");
        // At the cap, an order above 100 万元 is refused and changes nothing.
        set(&mut fields, "form[price]", "100000");
        set(&mut fields, "form[stock]", "1000");
        set(&mut fields, "form[terms_kind]", "shares");
        let hh: i64 = sqlx::query_scalar("SELECT household_id FROM benefit_links b JOIN organisations o ON o.id = b.organisation_id WHERE o.name LIKE '政和白茶%' ORDER BY household_id LIMIT 1")
            .fetch_one(&app.db.pool)
            .await
            .unwrap();
        set(&mut fields, "form[terms]", &format!("{hh}:50"));
        let r = post_fields(&mut coop, &fields).await;
        assert_eq!(r.status, 200, "{}", r.body);
        let mut buyer = demo_login(&app, "buyer@demo.zhunong.cn").await;
        let orders = count(&app.db, "SELECT COUNT(*) FROM orders").await;
        let r = buyer
            .post_form(
                "/api/orders/checkout",
                &[
                    ("idempotency_key", "big-order-1"),
                    ("items[0][listing_id]", &id.to_string()),
                    ("items[0][quantity]", "11"),
                ],
            )
            .await;
        assert_eq!(r.status, 422, "{}", r.body);
        assert_eq!(err_code(&r), "limit_exceeded");
        assert_eq!(count(&app.db, "SELECT COUNT(*) FROM orders").await, orders);
        let r = buyer
            .post_form(
                "/api/orders/checkout",
                &[
                    ("idempotency_key", "big-order-2"),
                    ("items[0][listing_id]", &id.to_string()),
                    ("items[0][quantity]", "10"),
                ],
            )
            .await;
        assert_eq!(r.status, 200, "exactly 100 万元 is allowed: {}", r.body);
        // A household's total cannot be pushed past 10 亿元, however it is attempted.
        let mut gov = demo_login(&app, "gov.zhenghe@demo.zhunong.cn").await;
        let mut refused = 0;
        for _ in 0..12 {
            let r = gov
                .post_form(
                    "/api/ledger/record",
                    &[
                        ("household_id", &hh.to_string()),
                        ("amount", "100000000"),
                        ("source_type", "other"),
                        ("note", "测试上限"),
                        ("confirm", "true"),
                    ],
                )
                .await;
            match r.status {
                200 => {}
                422 => refused += 1,
                s => panic!("unexpected {s}: {}", r.body),
            }
        }
        assert!(refused >= 2, "the cap stopped the last records");
        let total: i64 = sqlx::query_scalar(
            "SELECT CAST(SUM(amount_fen) AS BIGINT) FROM ledger_entries WHERE household_id = $1",
        )
        .bind(hh)
        .fetch_one(&app.db.pool)
        .await
        .unwrap();
        assert!(total <= 100_000_000_000, "{total}");
        // Its record still opens.
        let r = gov
            .post_form(
                "/api/ledger/household",
                &[("household_id", &hh.to_string())],
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        let c = zhunong::ledger::server::check_ledger(&app.db)
            .await
            .unwrap();
        assert!(c.problems.is_empty(), "{:?}", c.problems);
    }

    pub async fn accounts_change_reset_and_log_out_everywhere(app: TestApp) {
        let mut phone = Client::new(&app);
        assert_eq!(
            common::register(&mut phone, &app, "13833334444", "password-1", "王")
                .await
                .status,
            200
        );
        let mut laptop = Client::new(&app);
        assert_eq!(
            laptop
                .post_form(
                    "/api/auth/login",
                    &[("login", "13833334444"), ("password", "password-1")]
                )
                .await
                .status,
            200
        );
        // Change: the current password is checked; other sessions end, this one stays.
        let r = phone
            .post_form(
                "/api/auth/change-password",
                &[
                    ("current_password", "wrong-one"),
                    ("new_password", "password-2"),
                ],
            )
            .await;
        assert_eq!(r.status, 401, "{}", r.body);
        let r = phone
            .post_form(
                "/api/auth/change-password",
                &[
                    ("current_password", "password-1"),
                    ("new_password", "short"),
                ],
            )
            .await;
        assert_eq!(r.status, 400);
        let r = phone
            .post_form(
                "/api/auth/change-password",
                &[
                    ("current_password", "password-1"),
                    ("new_password", "password-2"),
                ],
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(phone.post_form("/api/auth/me", &[]).await.status, 200);
        assert_eq!(laptop.post_form("/api/auth/me", &[]).await.status, 401);
        let mut c = Client::new(&app);
        assert_eq!(
            c.post_form(
                "/api/auth/login",
                &[("login", "13833334444"), ("password", "password-1")]
            )
            .await
            .status,
            401
        );
        assert_eq!(
            c.post_form(
                "/api/auth/login",
                &[("login", "13833334444"), ("password", "password-2")]
            )
            .await
            .status,
            200
        );
        // Log out everywhere: no session of the account is left.
        let r = phone.post_form("/api/auth/logout-all", &[]).await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(c.post_form("/api/auth/me", &[]).await.status, 401);
        assert_eq!(phone.post_form("/api/auth/me", &[]).await.status, 401);
        assert_eq!(count(&app.db, "SELECT COUNT(*) FROM sessions").await, 0);
        assert_eq!(
            Client::new(&app)
                .post_form("/api/auth/logout-all", &[])
                .await
                .status,
            401
        );
        // Reset: the same answer for an unknown log-in, and no message is sent for it.
        let sent = count(&app.db, "SELECT COUNT(*) FROM notifications").await;
        let r = Client::new(&app)
            .post_form("/api/auth/reset-request", &[("login", "13899990000")])
            .await;
        assert_eq!((r.status, r.body.as_str()), (200, "null"));
        assert_eq!(
            count(&app.db, "SELECT COUNT(*) FROM notifications").await,
            sent
        );
        let r = Client::new(&app)
            .post_form("/api/auth/reset-request", &[("login", "138 3333 4444")])
            .await;
        assert_eq!((r.status, r.body.as_str()), (200, "null"));
        let code = common::last_code(&app.db, "13833334444")
            .await
            .expect("the owner got a code");
        // Five wrong guesses use the code up, even the right one afterwards fails.
        let mut guesser = Client::new(&app);
        for i in 0..5 {
            let wrong = format!("{:06}", (code.parse::<u32>().unwrap() + 1 + i) % 1_000_000);
            let r = guesser
                .post_form(
                    "/api/auth/reset",
                    &[
                        ("login", "13833334444"),
                        ("code", &wrong),
                        ("password", "password-3"),
                    ],
                )
                .await;
            assert_eq!(r.status, 400);
            assert_eq!(err_code(&r), "invalid_code");
        }
        let r = guesser
            .post_form(
                "/api/auth/reset",
                &[
                    ("login", "13833334444"),
                    ("code", &code),
                    ("password", "password-3"),
                ],
            )
            .await;
        assert_eq!(r.status, 400, "exhausted: {}", r.body);
        // A new code works once: every session ends and this browser is logged in.
        let mut again = Client::new(&app);
        assert_eq!(
            again
                .post_form(
                    "/api/auth/login",
                    &[("login", "13833334444"), ("password", "password-2")]
                )
                .await
                .status,
            200
        );
        assert_eq!(
            Client::new(&app)
                .post_form("/api/auth/reset-request", &[("login", "13833334444")])
                .await
                .status,
            200
        );
        let code = common::last_code(&app.db, "13833334444").await.unwrap();
        let mut owner = Client::new(&app);
        let r = owner
            .post_form(
                "/api/auth/reset",
                &[
                    ("login", "13833334444"),
                    ("code", &code),
                    ("password", "password-3"),
                ],
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(owner.post_form("/api/auth/me", &[]).await.status, 200);
        assert_eq!(again.post_form("/api/auth/me", &[]).await.status, 401);
        let r = Client::new(&app)
            .post_form(
                "/api/auth/reset",
                &[
                    ("login", "13833334444"),
                    ("code", &code),
                    ("password", "password-4"),
                ],
            )
            .await;
        assert_eq!(r.status, 400, "a code works once");
        assert_eq!(
            Client::new(&app)
                .post_form(
                    "/api/auth/login",
                    &[("login", "13833334444"), ("password", "password-3")]
                )
                .await
                .status,
            200
        );
        // Codes are stored only as hashes.
        let plain = count(
            &app.db,
            &format!("SELECT COUNT(*) FROM one_time_codes WHERE code_hash = '{code}'"),
        )
        .await;
        assert_eq!(plain, 0);
    }

    pub async fn expired_sessions_and_codes_are_swept(app: TestApp) {
        let mut c = Client::new(&app);
        assert_eq!(
            common::register(&mut c, &app, "13844445555", "password-1", "李")
                .await
                .status,
            200
        );
        let mut d = Client::new(&app);
        assert_eq!(
            d.post_form(
                "/api/auth/login",
                &[("login", "13844445555"), ("password", "password-1")]
            )
            .await
            .status,
            200
        );
        assert_eq!(
            Client::new(&app)
                .post_form("/api/auth/reset-request", &[("login", "13844445555")])
                .await
                .status,
            200
        );
        sqlx::query("UPDATE sessions SET expires_at = 1 WHERE token_hash = (SELECT MIN(token_hash) FROM sessions)")
            .execute(&app.db.pool)
            .await
            .unwrap();
        sqlx::query("UPDATE one_time_codes SET expires_at = 1")
            .execute(&app.db.pool)
            .await
            .unwrap();
        let (sessions, codes) = zhunong::server::maintenance::sweep(&app.db).await.unwrap();
        assert_eq!((sessions, codes), (1, 1));
        assert_eq!(count(&app.db, "SELECT COUNT(*) FROM sessions").await, 1);
        assert_eq!(
            count(&app.db, "SELECT COUNT(*) FROM one_time_codes").await,
            0
        );
        assert_eq!(
            zhunong::server::maintenance::sweep(&app.db).await.unwrap(),
            (0, 0)
        );
    }

    pub async fn edited_migration_is_repaired(app: TestApp) {
        // A database that applied the first text of migration 20261128000003: its checksum,
        // and the plain status index instead of the catalogue's two partial indexes.
        let (old, index_count) = match app.backend {
            Backend::Sqlite => (
                "89e5e4ad060a80bfb6eebfaf65c015e7fba9f1fb8e2be30ecd533ff5d308dc87e10d21058e2343fa47bd6d409fb567a3",
                "SELECT COUNT(*) FROM sqlite_master WHERE type = 'index' AND name IN ('listings_need', 'listings_newest')",
            ),
            Backend::Postgres => (
                "1d62cd65693ba8eefe2c5bf9d75b83e387c1997e1df642d60135c875673eee21afadc1c336542f47dfa7584477f01440",
                "SELECT COUNT(*) FROM pg_indexes WHERE indexname IN ('listings_need', 'listings_newest')",
            ),
        };
        for sql in [
            "DROP INDEX listings_need",
            "DROP INDEX listings_newest",
            "CREATE INDEX listings_status ON listings (status)",
        ] {
            sqlx::query(sql).execute(&app.db.pool).await.unwrap();
        }
        let bytes: Vec<u8> = (0..old.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&old[i..i + 2], 16).unwrap())
            .collect();
        sqlx::query("UPDATE _sqlx_migrations SET checksum = $1 WHERE version = 20261128000003")
            .bind(bytes)
            .execute(&app.db.pool)
            .await
            .unwrap();
        assert_eq!(count(&app.db, index_count).await, 0);
        // It starts: repaired, then migrated as usual; a second start changes nothing.
        app.db
            .migrate()
            .await
            .expect("a database migrated with the earlier text still starts");
        assert_eq!(count(&app.db, index_count).await, 2);
        app.db.migrate().await.unwrap();
        // An unknown checksum is still refused, as sqlx does for any edited migration.
        sqlx::query("UPDATE _sqlx_migrations SET checksum = $1 WHERE version = 20261128000003")
            .bind(vec![0u8; 48])
            .execute(&app.db.pool)
            .await
            .unwrap();
        assert!(app.db.migrate().await.is_err());
    }

    pub async fn production_refuses_demo_accounts(app: TestApp) {
        let url = match app.backend {
            Backend::Sqlite => format!(
                "sqlite://{}",
                app.upload_dir.parent().unwrap().join("test.db").display()
            ),
            Backend::Postgres => return production_check_postgres(&app).await,
        };
        let mut s = zhunong::server::config::Settings::for_database(&url);
        s.production = true;
        let e = zhunong::server::run(s).await.expect_err("refused");
        assert!(e.to_string().contains("demo accounts"), "{e}");
    }

    pub async fn order_lists_are_paged_with_a_cursor(app: TestApp) {
        let tea = listing_id(&app, WHITE_TEA).await.to_string();
        let mut buyer = Client::new(&app);
        assert_eq!(
            common::register(&mut buyer, &app, "13855556666", "password-1", "买")
                .await
                .status,
            200
        );
        common::add_address(&mut buyer, &app).await;
        for i in 0..25 {
            let r = buyer
                .post_form(
                    "/api/orders/checkout",
                    &[
                        ("idempotency_key", &format!("page-order-{i}")),
                        ("items[0][listing_id]", &tea),
                        ("items[0][quantity]", "1"),
                    ],
                )
                .await;
            assert_eq!(r.status, 200, "{}", r.body);
        }
        let first = buyer.post_form("/api/orders/mine", &[]).await.json();
        assert_eq!(first["page_size"], 20);
        let ids: Vec<i64> = first["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| o["id"].as_i64().unwrap())
            .collect();
        assert_eq!(ids.len(), 20);
        assert!(ids.windows(2).all(|w| w[0] > w[1]), "newest first");
        let cursor = first["next"].as_str().expect("a next page").to_owned();
        assert_eq!(cursor, ids.last().unwrap().to_string());
        let second = buyer
            .post_form("/api/orders/mine", &[("after", &cursor)])
            .await
            .json();
        let more: Vec<i64> = second["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| o["id"].as_i64().unwrap())
            .collect();
        assert_eq!(more.len(), 5);
        assert!(more.iter().all(|id| *id < ids[19]));
        assert!(second["next"].is_null());
        // A cursor that is not one: 400 naming the field, not an empty page.
        for bad in ["x", "1.2", "01", "-", "99999999999999999999"] {
            let r = buyer.post_form("/api/orders/mine", &[("after", bad)]).await;
            assert_eq!(r.status, 400, "{bad}: {}", r.body);
            assert_eq!(r.json()["field"], "after");
        }
        // The seller's list pages the same way, and the pages render without a script.
        let mut coop = demo_login(&app, COOP).await;
        let page = coop.post_form("/api/orders/to-fulfil", &[]).await.json();
        assert_eq!(page["items"].as_array().unwrap().len(), 20);
        assert!(page["next"].is_string());
        buyer.accept = "text/html";
        let html = buyer.get("/orders").await.body;
        assert!(
            html.contains(&format!("/orders?after={cursor}")),
            "the older-orders link is in the page"
        );
        let html = buyer.get(&format!("/orders?after={cursor}")).await.body;
        assert!(
            html.contains("href=\"/orders\""),
            "a link back to the newest"
        );
    }

    /// Walks a list from its first page to its last, checking each page's size; returns the
    /// rows in order.
    async fn walk(
        c: &mut Client,
        path: &str,
        fields: &[(&str, &str)],
        after_field: &str,
        rows: impl Fn(&serde_json::Value) -> &serde_json::Value,
        page_size: usize,
    ) -> Vec<serde_json::Value> {
        let mut out = Vec::new();
        let mut after: Option<String> = None;
        for _ in 0..1000 {
            let mut f: Vec<(&str, &str)> = fields.to_vec();
            if let Some(a) = &after {
                f.push((after_field, a));
            }
            let r = c.post_form(path, &f).await;
            assert_eq!(r.status, 200, "{path} {f:?}: {}", r.body);
            let j = r.json();
            let page = rows(&j);
            let items = page["items"].as_array().unwrap();
            assert_eq!(page["page_size"], page_size as i64);
            assert!(items.len() <= page_size);
            out.extend(items.iter().cloned());
            match page["next"].as_str() {
                Some(n) => {
                    assert_eq!(items.len(), page_size, "only the last page is short");
                    after = Some(n.to_owned());
                }
                None => return out,
            }
        }
        panic!("{path}: no last page");
    }

    fn ids(rows: &[serde_json::Value], key: &str) -> Vec<i64> {
        rows.iter().map(|r| r[key].as_i64().unwrap()).collect()
    }

    fn assert_each_once(mut got: Vec<i64>, mut want: Vec<i64>, what: &str) {
        let n = got.len();
        got.sort_unstable();
        got.dedup();
        assert_eq!(got.len(), n, "{what}: a row came twice");
        want.sort_unstable();
        assert_eq!(got, want, "{what}: every row, once");
    }

    pub async fn every_list_pages_through_all_rows_once(app: TestApp) {
        // Enough listings and households for several pages, with many equal prices and
        // households without a baseline: ties and NULLs are where a cursor goes wrong.
        zhunong::server::bench::seed_catalogue(&app.db, 130, 130)
            .await
            .unwrap();
        let mut anon = Client::new(&app);
        let shown: Vec<i64> =
            sqlx::query_scalar("SELECT id FROM listings WHERE status IN ('on_sale', 'sold_out')")
                .fetch_all(&app.db.pool)
                .await
                .unwrap();
        for sort in ["need", "newest", "price_asc", "price_desc"] {
            let rows = walk(
                &mut anon,
                "/api/market/catalogue",
                &[("query[sort]", sort)],
                "query[after]",
                |j| j,
                24,
            )
            .await;
            assert_each_once(ids(&rows, "id"), shown.clone(), sort);
            // Sold-out produce last, and on sale the order the sort names.
            let sold_out: Vec<bool> = rows.iter().map(|r| r["status"] == "sold_out").collect();
            assert!(
                sold_out.windows(2).all(|w| w[0] <= w[1]),
                "{sort}: sold out last"
            );
            let on_sale: Vec<&serde_json::Value> =
                rows.iter().filter(|r| r["status"] == "on_sale").collect();
            let key = |r: &serde_json::Value, k: &str| r[k].as_i64().unwrap();
            let ordered = on_sale.windows(2).all(|w| match sort {
                "price_asc" => key(w[0], "price_fen") <= key(w[1], "price_fen"),
                "price_desc" => key(w[0], "price_fen") >= key(w[1], "price_fen"),
                "newest" => key(w[0], "created_at") >= key(w[1], "created_at"),
                _ => w[0]["stalled"].as_bool() >= w[1]["stalled"].as_bool(),
            });
            assert!(ordered, "{sort}: in order across pages");
        }
        // With a filter, the cursor keeps to it.
        let tea = walk(
            &mut anon,
            "/api/market/catalogue",
            &[("query[category]", "tea"), ("query[sort]", "price_asc")],
            "query[after]",
            |j| j,
            24,
        )
        .await;
        let tea_in_db: Vec<i64> = sqlx::query_scalar(
            "SELECT id FROM listings WHERE status IN ('on_sale', 'sold_out') AND category = 'tea'",
        )
        .fetch_all(&app.db.pool)
        .await
        .unwrap();
        assert_each_once(ids(&tea, "id"), tea_in_db, "tea");
        // A cursor of another ordering, or junk, is refused and names the field.
        for (sort, bad) in [
            ("need", "0.1200.5"),
            ("price_asc", "1.2.3.4.5"),
            ("newest", "a.b.c"),
        ] {
            let r = anon
                .post_form(
                    "/api/market/catalogue",
                    &[("query[sort]", sort), ("query[after]", bad)],
                )
                .await;
            assert_eq!(r.status, 400, "{sort} {bad}: {}", r.body);
            assert_eq!(r.json()["field"], "after");
        }

        // The province official's households: most at risk first, those without a baseline
        // last, every household once; the counts are of the whole region.
        let mut fujian = demo_login(&app, "gov.fujian@demo.zhunong.cn").await;
        let rows = walk(
            &mut fujian,
            "/api/official/households",
            &[],
            "after",
            |j| &j["households"],
            50,
        )
        .await;
        let all: Vec<i64> =
            sqlx::query_scalar("SELECT id FROM households WHERE region_code LIKE '35%'")
                .fetch_all(&app.db.pool)
                .await
                .unwrap();
        assert_each_once(ids(&rows, "id"), all.clone(), "households");
        let pcs: Vec<Option<i64>> = rows.iter().map(|r| r["per_capita_fen"].as_i64()).collect();
        assert!(
            pcs.windows(2).all(|w| match (w[0], w[1]) {
                (Some(a), Some(b)) => a <= b,
                (None, Some(_)) => false,
                _ => true,
            }),
            "lowest income first, unknown last"
        );
        let first = fujian
            .post_form("/api/official/households", &[])
            .await
            .json();
        assert_eq!(first["total"], all.len() as i64);
        let below = rows.iter().filter(|r| r["status"] == "below").count() as i64;
        let near = rows.iter().filter(|r| r["status"] == "near").count() as i64;
        assert_eq!(
            (first["below"].as_i64(), first["near"].as_i64()),
            (Some(below), Some(near))
        );
        assert!(below > 0 && near > 0, "the demo has both");

        // A household's ledger rows, newest first, 50 a page: record 60 and walk them.
        let hh: i64 = sqlx::query_scalar(
            "SELECT id FROM households WHERE region_code LIKE '350725%' ORDER BY id LIMIT 1",
        )
        .fetch_one(&app.db.pool)
        .await
        .unwrap();
        let mut gov = demo_login(&app, "gov.zhenghe@demo.zhunong.cn").await;
        for i in 0..60 {
            let r = gov
                .post_form(
                    "/api/ledger/record",
                    &[
                        ("household_id", &hh.to_string()),
                        ("amount", &format!("{}", 10 + i)),
                        ("source_type", "wages"),
                        ("note", "工资"),
                    ],
                )
                .await;
            assert_eq!(r.status, 200, "{}", r.body);
        }
        let hh_s = hh.to_string();
        let rows = walk(
            &mut gov,
            "/api/ledger/household",
            &[("household_id", &hh_s)],
            "after",
            |j| &j["recent"],
            50,
        )
        .await;
        let in_db: Vec<i64> =
            sqlx::query_scalar("SELECT id FROM ledger_entries WHERE household_id = $1")
                .bind(hh)
                .fetch_all(&app.db.pool)
                .await
                .unwrap();
        assert!(in_db.len() > 50);
        assert_each_once(ids(&rows, "id"), in_db, "ledger rows");
        let times = ids(&rows, "occurred_at");
        assert!(times.windows(2).all(|w| w[0] >= w[1]), "newest first");

        // The seller desk: the co-op's listings, newest first, 20 a page.
        let mut coop = demo_login(&app, COOP).await;
        let tea_id = listing_id(&app, WHITE_TEA).await.to_string();
        let form = coop
            .post_form("/api/market/editable-listing", &[("id", &tea_id)])
            .await
            .json();
        let mut fields = form_fields(&form["form"]);
        fields.retain(|(k, _)| k != "form[id]");
        for i in 0..21 {
            set(&mut fields, "form[title]", &format!("分页测试 {i}"));
            let r = post_fields(&mut coop, &fields).await;
            assert_eq!(r.status, 200, "{}", r.body);
        }
        let rows = walk(
            &mut coop,
            "/api/market/seller-desk",
            &[],
            "after",
            |j| &j["listings"],
            20,
        )
        .await;
        let org_listings: Vec<i64> = sqlx::query_scalar(
            "SELECT l.id FROM listings l JOIN users u ON u.organisation_id = l.organisation_id WHERE u.login = $1",
        )
        .bind(COOP)
        .fetch_all(&app.db.pool)
        .await
        .unwrap();
        assert!(org_listings.len() > 20);
        let got = ids(&rows, "id");
        assert!(got.windows(2).all(|w| w[0] > w[1]), "newest first");
        assert_each_once(got, org_listings, "seller desk");

        // Without a script: the market's next-page link keeps the filters.
        anon.accept = "text/html";
        let html = anon.get("/market?sort=price_asc&category=tea").await.body;
        let pager = html
            .find("class=\"pager\"")
            .map(|i| &html[i..(i + 600).min(html.len())]);
        assert!(
            html.contains("/market?sort=price_asc&amp;category=tea&amp;after=0."),
            "the next page keeps the sort and filter: {pager:?}"
        );
    }

    pub async fn metrics_are_served_to_the_machine_only(app: TestApp) {
        let mut c = Client::new(&app);
        c.get("/market").await;
        let r = c.get("/metrics").await;
        assert_eq!(r.status, 200);
        assert!(r.header("content-type").unwrap().starts_with("text/plain"));
        for needle in [
            "zhunong_http_requests_total{route=\"/market\",status=\"200\"}",
            "zhunong_http_request_duration_seconds_bucket{route=\"/market\",le=\"+Inf\"}",
            "zhunong_db_pool_connections{state=\"open\"}",
            "zhunong_work_in_flight{queue=\"password_hashing\"}",
            "zhunong_orders{state=\"delivered\"}",
            "zhunong_payment_notices",
        ] {
            assert!(r.body.contains(needle), "{needle} missing:\n{}", r.body);
        }
        // Through a proxy (a forwarded request) it is not shown.
        let mut p = Client::new(&app);
        p.extra_headers
            .push(("X-Forwarded-For".into(), "203.0.113.5".into()));
        assert_eq!(p.get("/metrics").await.status, 404);
    }
}

/// The production guard on PostgreSQL: the same check on the test's own database.
async fn production_check_postgres(app: &TestApp) {
    let name: String = sqlx::query_scalar("SELECT current_database()::TEXT")
        .fetch_one(&app.db.pool)
        .await
        .unwrap();
    let base = common::postgres_url().unwrap();
    let url = common::with_database(&base, &name);
    let mut s = zhunong::server::config::Settings::for_database(&url);
    s.production = true;
    let e = zhunong::server::run(s).await.expect_err("refused");
    assert!(e.to_string().contains("demo accounts"), "{e}");
}

/// Limits that need their own settings: SQLite only (they do not depend on the backend).
mod limits {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn registration_is_rate_limited_per_address() {
        let app = spawn_app_with(Backend::Sqlite, false, |s| s.register_per_ip_per_hour = 3)
            .await
            .unwrap();
        let mut c = Client::new(&app);
        for i in 0..3 {
            let r = c
                .post_form(
                    "/api/auth/register",
                    &[
                        ("login", &format!("1380000000{i}")),
                        ("password", "password-1"),
                        ("display_name", "x"),
                    ],
                )
                .await;
            assert_eq!(r.status, 200, "{}", r.body);
        }
        let r = c
            .post_form(
                "/api/auth/register",
                &[
                    ("login", "13800000009"),
                    ("password", "password-1"),
                    ("display_name", "x"),
                ],
            )
            .await;
        assert_eq!(r.status, 429, "{}", r.body);
        assert!(r
            .header("retry-after")
            .is_some_and(|v| v.parse::<i64>().unwrap() > 0));
        assert_eq!(
            count(&app.db, "SELECT COUNT(*) FROM one_time_codes").await,
            3
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn one_address_cannot_hold_every_request_slot() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let app = spawn_app_with(Backend::Sqlite, true, |s| {
            s.max_requests_per_address = 2;
            s.trusted_proxies = vec!["127.0.0.1".parse().unwrap()];
        })
        .await
        .unwrap();
        // Two requests from 203.0.113.7 that announce a body and never send it: each holds a
        // slot until the request times out.
        let mut slow = Vec::new();
        for _ in 0..2 {
            let mut s = tokio::net::TcpStream::connect(app.addr).await.unwrap();
            s.write_all(
                format!(
                    "POST /api/auth/me HTTP/1.1\r\nHost: {}\r\nSec-Fetch-Site: same-origin\r\n\
                     X-Forwarded-For: 203.0.113.7\r\nContent-Type: application/x-www-form-urlencoded\r\n\
                     Content-Length: 100\r\n\r\n",
                    app.addr
                )
                .as_bytes(),
            )
            .await
            .unwrap();
            slow.push(s);
        }
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        let from = |ip: &str| {
            let mut c = Client::new(&app);
            c.extra_headers.push(("X-Forwarded-For".into(), ip.into()));
            c
        };
        // A third from the same address is turned away at once …
        let r = from("203.0.113.7").get("/market").await;
        assert_eq!(r.status, 503, "{}", r.body);
        assert!(r.header("retry-after").is_some());
        // … while everyone else is served.
        let r = from("198.51.100.9").get("/market").await;
        assert_eq!(r.status, 200);
        // The slots come back when the slow requests end.
        drop(slow);
        let mut ok = false;
        for _ in 0..50 {
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            if from("203.0.113.7").get("/market").await.status == 200 {
                ok = true;
                break;
            }
        }
        assert!(ok, "the address's slots were given back");
        let mut s = tokio::net::TcpStream::connect(app.addr).await.unwrap();
        s.write_all(b"GET /healthz HTTP/1.0\r\n\r\n").await.unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).await.unwrap();
        assert!(out.starts_with("HTTP/1.0 200"), "{out}");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn forwarded_headers_count_only_from_a_trusted_proxy() {
        // Not trusted: X-Forwarded-* is ignored (no Secure cookie, failures count against the peer).
        let app = spawn_app_with(Backend::Sqlite, true, |_| {}).await.unwrap();
        let mut c = Client::new(&app);
        c.extra_headers
            .push(("X-Forwarded-Proto".into(), "https".into()));
        let r = c
            .post_form(
                "/api/auth/login",
                &[
                    ("login", "buyer@demo.zhunong.cn"),
                    ("password", zhunong::server::seed::DEMO_PASSWORD),
                ],
            )
            .await;
        assert!(!r.header("set-cookie").unwrap().contains("Secure"));
        for i in 0..20 {
            let mut g = Client::new(&app);
            g.extra_headers
                .push(("X-Forwarded-For".into(), format!("198.51.100.{i}")));
            g.post_form(
                "/api/auth/login",
                &[
                    ("login", &format!("1350013{i:04}")),
                    ("password", "wrong-pass"),
                ],
            )
            .await;
        }
        let r = Client::new(&app)
            .post_form(
                "/api/auth/login",
                &[
                    ("login", "buyer@demo.zhunong.cn"),
                    ("password", zhunong::server::seed::DEMO_PASSWORD),
                ],
            )
            .await;
        assert_eq!(
            r.status, 429,
            "a made-up X-Forwarded-For does not dodge the per-address count"
        );

        // Trusted proxy: its X-Forwarded-For names the client, and https is believed.
        let app = spawn_app_with(Backend::Sqlite, true, |s| {
            s.trusted_proxies = vec!["127.0.0.1".parse().unwrap()]
        })
        .await
        .unwrap();
        let client = |addr: &str| {
            let mut c = Client::new(&app);
            c.extra_headers
                .push(("X-Forwarded-For".into(), addr.to_owned()));
            c.extra_headers
                .push(("X-Forwarded-Proto".into(), "https".into()));
            c
        };
        for i in 0..20 {
            client("203.0.113.7")
                .post_form(
                    "/api/auth/login",
                    &[
                        ("login", &format!("1350013{i:04}")),
                        ("password", "wrong-pass"),
                    ],
                )
                .await;
        }
        let login = [
            ("login", "buyer@demo.zhunong.cn"),
            ("password", zhunong::server::seed::DEMO_PASSWORD),
        ];
        assert_eq!(
            client("203.0.113.7")
                .post_form("/api/auth/login", &login)
                .await
                .status,
            429
        );
        let r = client("203.0.113.8")
            .post_form("/api/auth/login", &login)
            .await;
        assert_eq!(
            r.status, 200,
            "another client behind the same proxy is not locked out: {}",
            r.body
        );
        assert!(r.header("set-cookie").unwrap().contains("; Secure"));
        assert!(r.header("strict-transport-security").is_some());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn a_full_hashing_queue_answers_503_not_500() {
        let app = spawn_app_with(Backend::Sqlite, true, |s| {
            s.hash_workers = 1;
            s.hash_queue = 0;
            s.login_max_failures_per_ip = 1_000;
            s.login_max_failures_per_account = 1_000;
        })
        .await
        .unwrap();
        let mut tasks = Vec::new();
        for i in 0..16 {
            let mut c = Client::new(&app);
            tasks.push(tokio::spawn(async move {
                c.post_form(
                    "/api/auth/login",
                    &[
                        ("login", &format!("1370013{i:04}")),
                        ("password", "wrong-pass"),
                    ],
                )
                .await
            }));
        }
        let mut statuses = Vec::new();
        for t in tasks {
            let r = t.await.unwrap();
            if r.status == 503 {
                assert_eq!(r.json()["code"], "busy");
                assert!(r.header("retry-after").is_some());
            }
            statuses.push(r.status);
        }
        assert!(
            statuses.iter().all(|s| *s == 401 || *s == 503),
            "{statuses:?}"
        );
        assert!(
            statuses.contains(&503),
            "one worker, no queue: some were refused ({statuses:?})"
        );
        assert!(statuses.contains(&401));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn backup_then_restore_keeps_the_books() {
        let app = spawn_app_with(Backend::Sqlite, true, |_| {}).await.unwrap();
        let dir = app.upload_dir.parent().unwrap().to_path_buf();
        let copy = dir.join("backup.db");
        let size = zhunong::server::admin::backup(&app.db, &copy)
            .await
            .unwrap();
        assert!(size > 0);
        assert!(
            zhunong::server::admin::backup(&app.db, &copy)
                .await
                .is_err(),
            "never overwrites"
        );
        let target = dir.join("restored/zhunong.db");
        let settings = zhunong::server::config::Settings::for_database(&format!(
            "sqlite://{}",
            target.display()
        ));
        // Not while a server has the file open.
        let serving =
            zhunong::server::admin::lock_serving(&format!("sqlite://{}", target.display()))
                .unwrap();
        let e = zhunong::server::admin::restore(&settings, &copy, false)
            .await
            .expect_err("refused while serving");
        assert!(e.to_string().contains("stop it first"), "{e}");
        assert!(!target.exists(), "nothing was written");
        drop(serving);
        let report = zhunong::server::admin::restore(&settings, &copy, false)
            .await
            .unwrap();
        assert!(report.contains("balanced"), "{report}");
        assert!(
            zhunong::server::admin::restore(&settings, &copy, false)
                .await
                .is_err(),
            "an existing database needs --force"
        );
        let restored = zhunong::server::db::Db::connect(&format!("sqlite://{}", target.display()))
            .await
            .unwrap();
        let orders = |db: zhunong::server::db::Db| async move {
            count(&db, "SELECT COUNT(*) FROM orders").await
        };
        assert_eq!(orders(restored.clone()).await, orders(app.db.clone()).await);
        let c = zhunong::ledger::server::check_ledger(&restored)
            .await
            .unwrap();
        assert!(c.problems.is_empty() && c.ledger_rows > 0);
        // A damaged file is refused and the database stays as it was.
        let bad = dir.join("bad.db");
        std::fs::write(&bad, b"not a database").unwrap();
        assert!(zhunong::server::admin::restore(&settings, &bad, true)
            .await
            .is_err());
        assert_eq!(orders(restored).await, orders(app.db.clone()).await);
    }
}
