//! Integration tests of livestream sales (县长带你买好货): flash prices enforced by the server
//! (window, cap, per-buyer limit, ended events), counters pushed over server-sent events (also
//! from a second server process on the same database), the report against the ledger, and
//! who may host and run an event. Every case runs on SQLite, and on PostgreSQL when
//! `TEST_DATABASE_URL` is set.

#![cfg(feature = "ssr")]

#[macro_use]
mod common;

use common::{add_address, count, demo_login, Client, TestApp};

on_both_backends! {
    flash_price_applies_inside_its_window_and_up_to_its_cap;
    an_ended_event_refuses_flash_orders;
    counters_reach_viewers_after_payment_also_through_another_process;
    report_sums_equal_the_ledger;
    hosts_and_inputs_are_checked;
}

mod cases {
    use super::*;
    use std::time::{Duration, Instant};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    const COOP: &str = "coop.zhenghe@demo.zhunong.cn";
    const COUNTY: &str = "350725";

    /// A listing of the 政和 co-op on sale (not in the demo's events' flash sales), with its price.
    async fn coop_listing(app: &TestApp) -> (i64, i64) {
        sqlx::query_as(
            "SELECT l.id, l.price_fen FROM listings l JOIN users u ON u.organisation_id = l.organisation_id
              WHERE u.login = $1 AND l.status = 'on_sale' AND substr(l.origin_code, 1, 6) = $2 AND l.stock >= 50
              ORDER BY l.id DESC LIMIT 1",
        )
        .bind(COOP)
        .bind(COUNTY)
        .fetch_one(&app.db.pool)
        .await
        .expect("a co-op listing")
    }

    fn local(t: i64) -> String {
        zhunong::domain::live::local_datetime(t)
    }

    /// The co-op schedules an event now, features `listing` and goes live.
    async fn live_event(app: &TestApp, coop: &mut Client, listing: i64) -> i64 {
        let t = zhunong::server::db::now();
        let r = coop
            .post_form(
                "/api/live/create",
                &[
                    ("title", "测试直播"),
                    ("host_name", "测试主播"),
                    ("county", COUNTY),
                    ("starts_at", &local(t - 60)),
                    ("ends_at", &local(t + 7200)),
                    ("external_url", "https://live.douyin.com/test"),
                ],
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        let id = r.json().as_i64().expect("event id");
        let (e, l) = (id.to_string(), listing.to_string());
        let r = coop
            .post_form("/api/live/feature", &[("event_id", &e), ("listing_id", &l)])
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        let r = coop
            .post_form("/api/live/status", &[("event_id", &e), ("status", "live")])
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(
            count(
                &app.db,
                &format!("SELECT COUNT(*) FROM live_events WHERE id = {id} AND status = 'live'")
            )
            .await,
            1
        );
        id
    }

    async fn start_flash(
        coop: &mut Client,
        event: i64,
        listing: i64,
        price: &str,
        cap: &str,
        limit: &str,
    ) -> common::Response {
        coop.post_form(
            "/api/live/flash",
            &[
                ("event_id", &event.to_string()),
                ("listing_id", &listing.to_string()),
                ("price", price),
                ("seconds", "600"),
                ("cap", cap),
                ("per_buyer_limit", limit),
            ],
        )
        .await
    }

    async fn checkout(
        c: &mut Client,
        key: &str,
        listing: i64,
        qty: i64,
        event: Option<i64>,
        seen: Option<i64>,
    ) -> common::Response {
        let mut f: Vec<(String, String)> = vec![
            ("idempotency_key".into(), key.into()),
            ("items[0][listing_id]".into(), listing.to_string()),
            ("items[0][quantity]".into(), qty.to_string()),
        ];
        if let Some(e) = event {
            f.push(("items[0][event_id]".into(), e.to_string()));
        }
        if let Some(p) = seen {
            f.push(("items[0][price_fen]".into(), p.to_string()));
        }
        let refs: Vec<(&str, &str)> = f.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        c.post_form("/api/orders/checkout", &refs).await
    }

    async fn buyer(app: &TestApp, login: &str) -> Client {
        let mut c = demo_login(app, login).await;
        add_address(&mut c, app).await;
        c
    }

    fn unit_price(r: &common::Response) -> i64 {
        r.json()["orders"][0]["items"][0]["unit_price_fen"]
            .as_i64()
            .unwrap_or_else(|| panic!("{}", r.body))
    }

    fn order_id(r: &common::Response) -> i64 {
        r.json()["orders"][0]["id"]
            .as_i64()
            .unwrap_or_else(|| panic!("{}", r.body))
    }

    async fn order_event(app: &TestApp, order: i64) -> Option<i64> {
        sqlx::query_scalar("SELECT live_event_id FROM orders WHERE id = $1")
            .bind(order)
            .fetch_one(&app.db.pool)
            .await
            .unwrap()
    }

    async fn flash_sold(app: &TestApp, event: i64, listing: i64) -> i64 {
        sqlx::query_scalar(
            "SELECT flash_sold FROM live_event_listings WHERE event_id = $1 AND listing_id = $2",
        )
        .bind(event)
        .bind(listing)
        .fetch_one(&app.db.pool)
        .await
        .unwrap()
    }

    pub async fn flash_price_applies_inside_its_window_and_up_to_its_cap(app: TestApp) {
        let (listing, price) = coop_listing(&app).await;
        let mut coop = demo_login(&app, COOP).await;
        let event = live_event(&app, &mut coop, listing).await;
        let flash = price / 2;
        let r = start_flash(
            &mut coop,
            event,
            listing,
            &zhunong::official::export::plain_yuan(flash),
            "3",
            "2",
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.body);

        let mut a = buyer(&app, "buyer@demo.zhunong.cn").await;
        let mut school = buyer(&app, "school@demo.zhunong.cn").await;
        // Without the event the normal price applies even while the flash sale runs.
        let r = checkout(&mut a, "live-plain-0001", listing, 1, None, None).await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(unit_price(&r), price);
        assert_eq!(order_event(&app, order_id(&r)).await, None);
        // From the event: the flash price, whatever price the client claims to have seen.
        let r = checkout(&mut a, "live-flash-0001", listing, 2, Some(event), Some(1)).await;
        assert_eq!(r.status, 409, "a made-up seen price is refused: {}", r.body);
        assert_eq!(r.json()["price_change"]["price_fen"], flash);
        let r = checkout(
            &mut a,
            "live-flash-0002",
            listing,
            2,
            Some(event),
            Some(flash),
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(unit_price(&r), flash);
        let first = order_id(&r);
        assert_eq!(order_event(&app, first).await, Some(event));
        // The per-buyer limit (2) is reached: one more is refused and nothing is ordered.
        let orders_before = count(&app.db, "SELECT COUNT(*) FROM orders").await;
        let r = checkout(
            &mut a,
            "live-flash-0003",
            listing,
            1,
            Some(event),
            Some(flash),
        )
        .await;
        assert_eq!(r.status, 409, "{}", r.body);
        assert_eq!(r.json()["code"], "flash_limit");
        assert_eq!(
            count(&app.db, "SELECT COUNT(*) FROM orders").await,
            orders_before
        );
        // The cap (3): the school takes the last unit; the next is refused with the normal price.
        let r = checkout(
            &mut school,
            "live-flash-0004",
            listing,
            1,
            Some(event),
            Some(flash),
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.body);
        let school_flash = order_id(&r);
        assert_eq!(flash_sold(&app, event, listing).await, 3);
        let r = checkout(
            &mut school,
            "live-flash-0005",
            listing,
            1,
            Some(event),
            Some(flash),
        )
        .await;
        assert_eq!(r.status, 409, "{}", r.body);
        assert_eq!(r.json()["code"], "flash_sold_out");
        assert_eq!(r.json()["price_change"]["price_fen"], price);
        // Cancelling an unpaid flash order gives its units back to the cap.
        let r = a
            .post_form("/api/orders/cancel", &[("order_id", &first.to_string())])
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(flash_sold(&app, event, listing).await, 1);
        // Outside the window the normal price applies, and the order still carries the event.
        sqlx::query("UPDATE live_event_listings SET flash_starts_at = flash_starts_at - 7200, flash_ends_at = $1 WHERE event_id = $2")
            .bind(zhunong::server::db::now() - 1)
            .bind(event)
            .execute(&app.db.pool)
            .await
            .unwrap();
        let r = checkout(
            &mut school,
            "live-after-0006",
            listing,
            1,
            Some(event),
            None,
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(unit_price(&r), price);
        assert_eq!(order_event(&app, order_id(&r)).await, Some(event));
        // A second flash sale counts afresh: cancelling an order of the first gives it nothing.
        tokio::time::sleep(Duration::from_millis(1100)).await;
        let r = start_flash(
            &mut coop,
            event,
            listing,
            &zhunong::official::export::plain_yuan(flash),
            "1",
            "",
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(flash_sold(&app, event, listing).await, 0);
        let r = school
            .post_form(
                "/api/orders/cancel",
                &[("order_id", &school_flash.to_string())],
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(flash_sold(&app, event, listing).await, 0);
        let r = checkout(
            &mut school,
            "live-round2-0007",
            listing,
            1,
            Some(event),
            Some(flash),
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.body);
        let r = checkout(
            &mut a,
            "live-round2-0008",
            listing,
            1,
            Some(event),
            Some(flash),
        )
        .await;
        assert_eq!(
            r.status, 409,
            "the second sale's cap of 1 is taken: {}",
            r.body
        );
        // The quote agrees with the checkout.
        let listing_s = listing.to_string();
        let event_s = event.to_string();
        let r = school
            .post_form(
                "/api/orders/quote",
                &[
                    ("items[0][listing_id]", &listing_s),
                    ("items[0][quantity]", "1"),
                    ("items[0][event_id]", &event_s),
                ],
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(
            r.json()["groups"][0]["goods_fen"],
            price,
            "its cap is taken: the normal price"
        );
    }

    pub async fn an_ended_event_refuses_flash_orders(app: TestApp) {
        let (listing, price) = coop_listing(&app).await;
        let mut coop = demo_login(&app, COOP).await;
        let event = live_event(&app, &mut coop, listing).await;
        let flash = price - 1;
        let r = start_flash(
            &mut coop,
            event,
            listing,
            &zhunong::official::export::plain_yuan(flash),
            "",
            "",
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.body);
        let e = event.to_string();
        let r = coop
            .post_form("/api/live/status", &[("event_id", &e), ("status", "ended")])
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        let mut a = buyer(&app, "buyer@demo.zhunong.cn").await;
        let orders_before = count(&app.db, "SELECT COUNT(*) FROM orders").await;
        let r = checkout(
            &mut a,
            "live-ended-0001",
            listing,
            1,
            Some(event),
            Some(flash),
        )
        .await;
        assert_eq!(r.status, 409, "{}", r.body);
        assert_eq!(r.json()["price_change"]["price_fen"], price);
        assert_eq!(
            count(&app.db, "SELECT COUNT(*) FROM orders").await,
            orders_before
        );
        // An ended event starts no flash sale and cannot go live again.
        let r = start_flash(&mut coop, event, listing, "1.00", "", "").await;
        assert_eq!(r.status, 409, "{}", r.body);
        let r = coop
            .post_form("/api/live/status", &[("event_id", &e), ("status", "live")])
            .await;
        assert_eq!(r.status, 409, "{}", r.body);
        // The line is an ordinary one now: the normal price, no event on the order.
        let r = checkout(&mut a, "live-ended-0002", listing, 1, Some(event), None).await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(unit_price(&r), price);
        assert_eq!(order_event(&app, order_id(&r)).await, None);
    }

    /// Reads a server-sent event stream until `want` accepts a state, or `within` passes.
    async fn watch_until(
        addr: &str,
        event: i64,
        within: Duration,
        want: impl Fn(&serde_json::Value) -> bool,
        mut before_wait: Option<
            std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send + '_>>,
        >,
    ) -> serde_json::Value {
        let mut s = tokio::net::TcpStream::connect(addr).await.expect("connect");
        s.write_all(format!("GET /live/{event}/stream HTTP/1.1\r\nHost: {addr}\r\nAccept: text/event-stream\r\n\r\n").as_bytes())
            .await
            .unwrap();
        let started = Instant::now();
        let mut text = String::new();
        let mut seen = 0;
        let mut buf = [0u8; 8192];
        loop {
            let left = within
                .checked_sub(started.elapsed())
                .expect("no matching state in time");
            let n = tokio::time::timeout(left, s.read(&mut buf))
                .await
                .expect("no matching state in time")
                .expect("read");
            assert!(n > 0, "the stream closed: {text}");
            text.push_str(&String::from_utf8_lossy(&buf[..n]));
            if seen == 0 {
                assert!(text.starts_with("HTTP/1.1 200"), "{text}");
                assert!(
                    text.to_ascii_lowercase()
                        .contains("content-type: text/event-stream"),
                    "{text}"
                );
            }
            let states: Vec<serde_json::Value> = text
                .split("data:")
                .skip(1)
                .filter_map(|p| p.lines().next())
                .filter_map(|l| serde_json::from_str(l.trim()).ok())
                .collect();
            if states.len() > seen {
                seen = states.len();
                if let Some(found) = states.iter().find(|s| want(s)) {
                    return found.clone();
                }
                // The first state arrived: now act (pay), then wait for the update.
                if let Some(act) = before_wait.take() {
                    act.await;
                }
            }
        }
    }

    pub async fn counters_reach_viewers_after_payment_also_through_another_process(app: TestApp) {
        let (listing, _) = coop_listing(&app).await;
        let mut coop = demo_login(&app, COOP).await;
        let event = live_event(&app, &mut coop, listing).await;
        let mut a = buyer(&app, "buyer@demo.zhunong.cn").await;
        let r = checkout(&mut a, "live-sse-0001", listing, 2, Some(event), None).await;
        assert_eq!(r.status, 200, "{}", r.body);
        let first = order_id(&r);
        let r = checkout(&mut a, "live-sse-0002", listing, 1, Some(event), None).await;
        assert_eq!(r.status, 200, "{}", r.body);
        let second = order_id(&r);

        // A viewer on this process: the counters show no order, then one after payment.
        let addr = app.addr.to_string();
        let pay = |order: i64| {
            let mut coop = coop.clone();
            Box::pin(async move {
                let r = coop
                    .post_form(
                        "/api/orders/confirm-payment",
                        &[("reference", "LIVE-TEST"), ("order_id", &order.to_string())],
                    )
                    .await;
                assert_eq!(r.status, 200, "{}", r.body);
            }) as std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>
        };
        let s = watch_until(
            &addr,
            event,
            Duration::from_secs(10),
            |s| s["counters"]["orders"] == 1,
            Some(pay(first)),
        )
        .await;
        assert_eq!(s["counters"]["units"], 2);
        assert!(s["counters"]["income_fen"].as_i64().unwrap() > 0);
        assert!(s["counters"]["households"].as_i64().unwrap() > 0);

        // A viewer on a second server process sharing the database sees a payment taken here.
        let other = Other::start(&app.url);
        let s = watch_until(
            &other.addr,
            event,
            Duration::from_secs(20),
            |s| s["counters"]["orders"] == 2,
            Some(pay(second)),
        )
        .await;
        assert_eq!(s["counters"]["units"], 3);
    }

    /// `zhunong serve` as its own process on the test's database.
    struct Other {
        child: std::process::Child,
        addr: String,
    }

    impl Drop for Other {
        fn drop(&mut self) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }

    impl Other {
        fn start(url: &str) -> Other {
            let dir = std::env::temp_dir().join(format!("zhunong-live-{}", std::process::id()));
            let (child, addr) = common::serve_process(|c| {
                c.env("DATABASE_URL", url)
                    .env("ZHUNONG_UPLOAD_DIR", dir.join("uploads"))
                    .env_remove("ZHUNONG_ENV")
                    .env_remove("ZHUNONG_SEED_DEMO");
            });
            Other { child, addr }
        }
    }

    pub async fn report_sums_equal_the_ledger(app: TestApp) {
        // The demo's past event: its report against the ledger rows of its orders.
        let event: i64 = sqlx::query_scalar(
            "SELECT id FROM live_events WHERE status = 'ended' ORDER BY id LIMIT 1",
        )
        .fetch_one(&app.db.pool)
        .await
        .expect("the demo's past event");
        let mut coop = demo_login(&app, COOP).await;
        let r = coop
            .post_form("/api/live/report", &[("id", &event.to_string())])
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        let rep = r.json();
        let income: i64 = sqlx::query_scalar(
            "SELECT CAST(COALESCE(SUM(le.amount_fen), 0) AS BIGINT) FROM ledger_entries le
               JOIN order_items oi ON oi.id = le.order_item_id
              WHERE oi.live_event_id = $1",
        )
        .bind(event)
        .fetch_one(&app.db.pool)
        .await
        .unwrap();
        assert!(income > 0, "the demo's past event sold something");
        assert_eq!(rep["totals"]["income_fen"], income);
        let by_village: i64 = rep["villages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v["income_fen"].as_i64().unwrap())
            .sum();
        assert_eq!(by_village, income);
        let gmv: i64 = sqlx::query_scalar(
            "SELECT CAST(COALESCE(SUM(oi.line_total_fen), 0) AS BIGINT) FROM order_items oi JOIN orders o ON o.id = oi.order_id
              WHERE oi.live_event_id = $1 AND o.status IN ('paid', 'shipped', 'delivered')",
        )
        .bind(event)
        .fetch_one(&app.db.pool)
        .await
        .unwrap();
        assert_eq!(rep["totals"]["gmv_fen"], gmv);
        // The public page shows the same counters, and the files carry the same sum.
        let mut anyone = Client::new(&app);
        let r = anyone
            .post_form("/api/live/get", &[("id", &event.to_string())])
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(r.json()["state"]["counters"]["income_fen"], income);
        let r = coop.get(&format!("/live/{event}/report.csv")).await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert!(
            r.body
                .contains(&zhunong::official::export::plain_yuan(income)),
            "{}",
            r.body
        );
        let r = coop.get(&format!("/live/{event}/report.xlsx")).await;
        assert_eq!(r.status, 200);
        assert!(r.bytes.starts_with(b"PK"));
        // Nobody else reads the report: a buyer, an official of another county, no one at all.
        let mut b = demo_login(&app, "buyer@demo.zhunong.cn").await;
        let r = b
            .post_form("/api/live/report", &[("id", &event.to_string())])
            .await;
        assert_eq!(r.status, 403, "{}", r.body);
        let r = b.get(&format!("/live/{event}/report.csv")).await;
        assert_eq!(r.status, 403, "{}", r.body);
        let r = anyone.get(&format!("/live/{event}/report.csv")).await;
        assert_eq!(r.status, 401, "{}", r.body);
        // The calendar file of an event is public and well formed.
        let r = anyone.get(&format!("/live/{event}/calendar.ics")).await;
        assert_eq!(r.status, 200);
        assert!(
            r.body.starts_with("BEGIN:VCALENDAR\r\n") && r.body.contains("DTSTART:"),
            "{}",
            r.body
        );
        assert_eq!(anyone.get("/live/999999/calendar.ics").await.status, 404);
        assert_eq!(anyone.get("/live/x/stream").await.status, 404);
    }

    pub async fn hosts_and_inputs_are_checked(app: TestApp) {
        let t = zhunong::server::db::now();
        let (s, e) = (local(t + 3600), local(t + 7200));
        let form = |county: &'static str, starts: String, ends: String, url: &'static str| {
            vec![
                ("title".to_owned(), "测试直播".to_owned()),
                ("host_name".to_owned(), "主播".to_owned()),
                ("county".to_owned(), county.to_owned()),
                ("starts_at".to_owned(), starts),
                ("ends_at".to_owned(), ends),
                ("stream_url".to_owned(), url.to_owned()),
            ]
        };
        let post = |c: &mut Client, f: Vec<(String, String)>| {
            let mut c = c.clone();
            async move {
                let refs: Vec<(&str, &str)> =
                    f.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
                c.post_form("/api/live/create", &refs).await
            }
        };
        let events_before = count(&app.db, "SELECT COUNT(*) FROM live_events").await;
        // A buyer hosts nothing; a co-op manager not in that county neither.
        let mut b = demo_login(&app, "buyer@demo.zhunong.cn").await;
        assert_eq!(
            post(&mut b, form(COUNTY, s.clone(), e.clone(), ""))
                .await
                .status,
            403
        );
        let mut coop = demo_login(&app, COOP).await;
        assert_eq!(
            post(&mut coop, form("350921", s.clone(), e.clone(), ""))
                .await
                .status,
            403
        );
        // Bad input: 400 naming the field, nothing made.
        for (f, field) in [
            (form("3507", s.clone(), e.clone(), ""), "county"),
            (form(COUNTY, "tomorrow".into(), e.clone(), ""), "starts_at"),
            (form(COUNTY, e.clone(), s.clone(), ""), "ends_at"),
            (
                form(COUNTY, s.clone(), e.clone(), "javascript:alert(1)"),
                "stream_url",
            ),
            (
                form(
                    COUNTY,
                    s.clone(),
                    e.clone(),
                    "http://plain.example.cn/x.m3u8",
                ),
                "stream_url",
            ),
        ] {
            let r = post(&mut coop, f).await;
            assert_eq!(r.status, 400, "{field}: {}", r.body);
            assert_eq!(r.json()["field"], field, "{}", r.body);
        }
        assert_eq!(
            count(&app.db, "SELECT COUNT(*) FROM live_events").await,
            events_before
        );
        // The county's official schedules one and runs it; the co-op's flash price is the
        // co-op's to set, not the official's.
        let mut gov = demo_login(&app, "gov.zhenghe@demo.zhunong.cn").await;
        let r = post(
            &mut gov,
            form(
                COUNTY,
                local(t - 60),
                e.clone(),
                "https://cdn.example.cn/a.m3u8",
            ),
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.body);
        let event = r.json().as_i64().unwrap();
        let (listing, price) = coop_listing(&app).await;
        let (ev, l) = (event.to_string(), listing.to_string());
        assert_eq!(
            gov.post_form(
                "/api/live/feature",
                &[("event_id", &ev), ("listing_id", &l)]
            )
            .await
            .status,
            200
        );
        assert_eq!(
            gov.post_form("/api/live/status", &[("event_id", &ev), ("status", "live")])
                .await
                .status,
            200
        );
        let r = start_flash(&mut gov, event, listing, "1.00", "", "").await;
        assert_eq!(r.status, 403, "{}", r.body);
        // Someone else runs nothing of it.
        for path in ["/api/live/pin", "/api/live/unfeature", "/api/live/feature"] {
            let r = b
                .post_form(path, &[("event_id", &ev), ("listing_id", &l)])
                .await;
            assert_eq!(r.status, 403, "{path}: {}", r.body);
        }
        let r = coop
            .post_form(
                "/api/live/status",
                &[("event_id", &ev), ("status", "ended")],
            )
            .await;
        assert_eq!(r.status, 403, "{}", r.body);
        assert_eq!(
            b.post_form("/api/live/console", &[("id", &ev)])
                .await
                .status,
            403
        );
        // A flash price must be below the normal price and a positive amount.
        let coop_event = live_event(&app, &mut coop, listing).await;
        for bad in [
            zhunong::official::export::plain_yuan(price),
            "0".into(),
            "-1".into(),
            "abc".into(),
        ] {
            let r = start_flash(&mut coop, coop_event, listing, &bad, "", "").await;
            assert_eq!(r.status, 400, "{bad}: {}", r.body);
        }
        let r = start_flash(&mut coop, coop_event, listing, "1.00", "0", "").await;
        assert_eq!(r.status, 400, "{}", r.body);
        // A listing of another county is not featured.
        let other: i64 = sqlx::query_scalar("SELECT id FROM listings WHERE substr(origin_code, 1, 6) <> $1 AND status = 'on_sale' ORDER BY id LIMIT 1")
            .bind(COUNTY)
            .fetch_one(&app.db.pool)
            .await
            .unwrap();
        let r = coop
            .post_form(
                "/api/live/feature",
                &[
                    ("event_id", &coop_event.to_string()),
                    ("listing_id", &other.to_string()),
                ],
            )
            .await;
        assert_eq!(r.status, 400, "{}", r.body);
        // Pages: the list, the event and its console render on the server.
        let mut anyone = Client::new(&app);
        let r = anyone.get("/live").await;
        assert_eq!(r.status, 200);
        assert!(r.body.contains("测试直播"), "the list shows the event");
        let r = anyone.get(&format!("/live/{event}")).await;
        assert_eq!(r.status, 200);
        assert!(
            r.body.contains("cdn.example.cn/a.m3u8"),
            "the page plays the stream"
        );
        assert_eq!(anyone.get("/live/999999").await.status, 404);
    }
}
