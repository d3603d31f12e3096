//! Integration tests of livestream sales (县长带你买好货): flash prices enforced by the server
//! (window, cap, per-buyer limit, ended events), counters pushed over server-sent events (also
//! from a second server process on the same database), the report against the ledger, and
//! who may host and run an event. Every case runs on SQLite, and on PostgreSQL when
//! `TEST_DATABASE_URL` is set.

use crate::common;

use common::{add_address, count, demo_login, Client, TestApp};

on_both_backends! {
    flash_price_applies_inside_its_window_and_up_to_its_cap;
    an_ended_event_refuses_flash_orders;
    counters_reach_viewers_after_payment_also_through_another_process;
    report_sums_equal_the_ledger;
    hosts_and_inputs_are_checked;
    a_flash_price_that_no_longer_pays_the_terms_gives_way;
    the_plain_buy_form_places_an_order_without_a_script;
    the_county_page_shows_its_livestreams_and_covers_are_produce_photos;
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
        // Having seen the normal price, the buyer orders at it, still from the event; and the
        // buyer over their limit likewise.
        let r = checkout(
            &mut school,
            "live-flash-0005b",
            listing,
            1,
            Some(event),
            Some(price),
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(unit_price(&r), price);
        let normal_order = order_id(&r);
        assert_eq!(order_event(&app, normal_order).await, Some(event));
        let r = checkout(
            &mut a,
            "live-flash-0005c",
            listing,
            1,
            Some(event),
            Some(price),
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(unit_price(&r), price);
        assert_eq!(
            flash_sold(&app, event, listing).await,
            3,
            "the cap is untouched"
        );
        for o in [normal_order, order_id(&r)] {
            let c = if o == normal_order {
                &mut school
            } else {
                &mut a
            };
            let r = c
                .post_form("/api/orders/cancel", &[("order_id", &o.to_string())])
                .await;
            assert_eq!(r.status, 200, "{}", r.body);
        }
        assert_eq!(
            flash_sold(&app, event, listing).await,
            3,
            "normal-price lines give nothing back"
        );
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

    /// The seller raises a household's per-unit share above the flash price while the sale
    /// runs: the quote and the checkout both fall back to the normal price (the buyer is shown
    /// it with a 409 first), never a 500 and never a sale that underpays the households.
    pub async fn a_flash_price_that_no_longer_pays_the_terms_gives_way(app: TestApp) {
        use zhunong::domain::allocation::BenefitTerms;
        use zhunong::domain::money::Fen;
        let (listing, price) = coop_listing(&app).await;
        let mut coop = demo_login(&app, COOP).await;
        let event = live_event(&app, &mut coop, listing).await;
        let flash = price / 2;
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
        let stored: String = sqlx::query_scalar("SELECT benefit_terms FROM listings WHERE id = $1")
            .bind(listing)
            .fetch_one(&app.db.pool)
            .await
            .unwrap();
        let terms: BenefitTerms = serde_json::from_str(&stored).unwrap();
        let household = terms.allocate(Fen::new(price), 1).unwrap()[0].household_id;
        // What the seller's edit stores: one household paid more a unit than the flash price.
        let raised = BenefitTerms::PerUnit(vec![(household, Fen::new(flash + 1))]);
        assert!(raised.allocate(Fen::new(price), 1).is_ok());
        assert!(raised.allocate(Fen::new(flash), 1).is_err());
        sqlx::query("UPDATE listings SET benefit_terms = $1 WHERE id = $2")
            .bind(serde_json::to_string(&raised).unwrap())
            .bind(listing)
            .execute(&app.db.pool)
            .await
            .unwrap();

        let mut a = buyer(&app, "buyer@demo.zhunong.cn").await;
        let (l, e) = (listing.to_string(), event.to_string());
        let q = a
            .post_form(
                "/api/orders/quote",
                &[
                    ("items[0][listing_id]", &l),
                    ("items[0][quantity]", "1"),
                    ("items[0][event_id]", &e),
                ],
            )
            .await;
        assert_eq!(q.status, 200, "{}", q.body);
        assert_eq!(q.json()["groups"][0]["goods_fen"], price, "{}", q.body);
        let orders_before = count(&app.db, "SELECT COUNT(*) FROM orders").await;
        let r = checkout(
            &mut a,
            "live-terms-0001",
            listing,
            1,
            Some(event),
            Some(flash),
        )
        .await;
        assert_eq!(r.status, 409, "{}", r.body);
        assert_eq!(r.json()["code"], "price_changed");
        assert_eq!(r.json()["price_change"]["price_fen"], price);
        assert_eq!(
            count(&app.db, "SELECT COUNT(*) FROM orders").await,
            orders_before
        );
        let r = checkout(
            &mut a,
            "live-terms-0002",
            listing,
            1,
            Some(event),
            Some(price),
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(unit_price(&r), price);
    }

    /// The value of `<input … name="{name}" value="…">` in a page.
    fn input_value(html: &str, name: &str) -> String {
        let at = html
            .find(&format!("name=\"{name}\" value=\""))
            .unwrap_or_else(|| panic!("no {name} input in {html}"));
        let rest = &html[at + name.len() + 15..];
        rest[..rest.find('"').unwrap()].to_owned()
    }

    /// `/buy` and its form: the way to buy with no script (and what a tap before hydration opens).
    pub async fn the_plain_buy_form_places_an_order_without_a_script(app: TestApp) {
        let (listing, price) = coop_listing(&app).await;
        let mut coop = demo_login(&app, COOP).await;
        let event = live_event(&app, &mut coop, listing).await;
        let flash = price / 2;
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
        let (l, e) = (listing.to_string(), event.to_string());
        let page = format!("/buy?listing={listing}&quantity=2&event={event}");
        let flash_text = zhunong::domain::money::Fen::new(flash).to_string();

        // A visitor sees the event's price and is asked to log in; the form goes there too.
        let mut anon = Client::new(&app);
        let r = anon.get(&page).await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert!(r.body.contains("data-testid=\"buy-login\""), "{}", r.body);
        assert!(r.body.contains(&flash_text), "the flash price {flash_text}");
        let r = anon
            .post_form(
                "/buy/place",
                &[
                    ("listing", &l),
                    ("quantity", "2"),
                    ("event", &e),
                    ("key", "buy-form-anon-1"),
                ],
            )
            .await;
        assert_eq!(r.status, 303, "{}", r.body);
        let to = r.header("location").unwrap_or_default().to_owned();
        assert!(to.starts_with("/login?next=%2Fbuy%3Flisting%3D"), "{to}");

        // Logged in, the log-in page sends the user on to where they were (only on this site).
        let mut a = buyer(&app, "buyer@demo.zhunong.cn").await;
        // As a browser asks for a page (a redirect in a page is a 302 only for HTML).
        a.accept = "text/html";
        let r = a.get(&to).await;
        assert!((300..400).contains(&r.status), "{} {}", r.status, r.body);
        assert!(
            r.header("location")
                .unwrap_or_default()
                .starts_with("/buy?listing="),
            "{:?}",
            r.headers
        );
        let r = a.get("/login?next=%2F%2Fevil.example%2F").await;
        assert!((300..400).contains(&r.status), "{} {}", r.status, r.body);
        assert_eq!(r.header("location"), Some("/"));
        a.accept = "application/json";

        // The buyer's page: the form with the quote and a fresh key.
        let r = a.get(&page).await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert!(r.body.contains("data-testid=\"buy-form\""), "{}", r.body);
        assert!(r.body.contains("data-testid=\"buy-total\""), "{}", r.body);
        let key = input_value(&r.body, "key");
        assert_eq!(input_value(&r.body, "price_fen"), flash.to_string());
        let seller = input_value(&r.body, "seller");
        let shipping = input_value(&r.body, "shipping_fen");
        let orders_before = count(&app.db, "SELECT COUNT(*) FROM orders").await;
        let flash_text_fen = flash.to_string();
        let fields = |key: &str| -> Vec<(&'static str, String)> {
            vec![
                ("listing", l.clone()),
                ("quantity", "2".into()),
                ("event", e.clone()),
                ("key", key.to_owned()),
                ("price_fen", flash_text_fen.clone()),
                ("seller", seller.clone()),
                ("method", "courier".into()),
                ("shipping_fen", shipping.clone()),
            ]
        };
        let f = fields(&key);
        let refs: Vec<(&str, &str)> = f.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let r = a.post_form("/buy/place", &refs).await;
        assert_eq!(r.status, 303, "{}", r.body);
        let pay = r.header("location").unwrap_or_default().to_owned();
        assert!(
            pay.starts_with("/orders/") && pay.ends_with("/pay"),
            "{pay}"
        );
        let order: i64 = pay["/orders/".len()..pay.len() - 4].parse().unwrap();
        let (unit, qty, from): (i64, i64, Option<i64>) = sqlx::query_as(
            "SELECT oi.unit_price_fen, oi.quantity, oi.live_event_id FROM order_items oi WHERE oi.order_id = $1",
        )
        .bind(order)
        .fetch_one(&app.db.pool)
        .await
        .unwrap();
        assert_eq!((unit, qty, from), (flash, 2, Some(event)));
        assert_eq!(
            count(&app.db, "SELECT COUNT(*) FROM orders").await,
            orders_before + 1
        );
        // Sent twice (a double tap, a reload): the same order, nothing new.
        let r = a.post_form("/buy/place", &refs).await;
        assert_eq!(r.status, 303, "{}", r.body);
        assert_eq!(r.header("location"), Some(pay.as_str()));
        assert_eq!(
            count(&app.db, "SELECT COUNT(*) FROM orders").await,
            orders_before + 1
        );
        // A price the buyer was not shown: back to /buy with the reason, nothing placed.
        let mut f = fields("buy-form-stale-1");
        f[4].1 = (flash + 1).to_string();
        let refs: Vec<(&str, &str)> = f.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let r = a.post_form("/buy/place", &refs).await;
        assert_eq!(r.status, 303, "{}", r.body);
        let back = r.header("location").unwrap_or_default().to_owned();
        assert!(
            back.starts_with("/buy?listing=") && back.contains("error=price_changed"),
            "{back}"
        );
        let r = a.get(&back).await;
        assert!(r.body.contains("data-testid=\"buy-error\""), "{}", r.body);
        assert_eq!(
            count(&app.db, "SELECT COUNT(*) FROM orders").await,
            orders_before + 1
        );
        // "更新价格" posts the form too: back to /buy with the choices, never the key.
        let mut f = fields("buy-form-update-1");
        f.push(("op", "update".into()));
        f[1].1 = "3".into();
        let refs: Vec<(&str, &str)> = f.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let r = a.post_form("/buy/place", &refs).await;
        assert_eq!(r.status, 303, "{}", r.body);
        let back = r.header("location").unwrap_or_default().to_owned();
        assert!(
            back.starts_with("/buy?listing=") && back.contains("quantity=3"),
            "{back}"
        );
        assert!(
            !back.contains("key=") && !back.contains("price_fen"),
            "{back}"
        );
        // From another site: refused before anything is read.
        let mut evil = buyer(&app, "school@demo.zhunong.cn").await;
        evil.extra_headers
            .push(("Sec-Fetch-Site".into(), "cross-site".into()));
        let r = evil.post_form("/buy/place", &refs[..refs.len() - 1]).await;
        assert_eq!(r.status, 403, "{}", r.body);
        assert_eq!(
            count(&app.db, "SELECT COUNT(*) FROM orders").await,
            orders_before + 1
        );
        // A malformed form: 400 in the buyer's language, nothing placed.
        let r = a
            .post_form(
                "/buy/place",
                &[
                    ("listing", &l),
                    ("quantity", "two"),
                    ("key", "buy-form-bad-1"),
                ],
            )
            .await;
        assert_eq!(r.status, 400, "{}", r.body);
        assert!(!r.body.is_empty() && !r.body.starts_with('{'), "{}", r.body);
        assert_eq!(
            count(&app.db, "SELECT COUNT(*) FROM orders").await,
            orders_before + 1
        );
    }

    /// `/county/{code}`: the county's livestreams (with a reminder for those to come) and its
    /// produce; the list filtered by county; a cover is a featured listing's photo.
    pub async fn the_county_page_shows_its_livestreams_and_covers_are_produce_photos(app: TestApp) {
        let mut anon = Client::new(&app);
        let r = anon.get(&format!("/county/{COUNTY}")).await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert!(
            r.body.contains("data-testid=\"county-upcoming\""),
            "{}",
            r.body
        );
        assert!(
            r.body.contains("calendar.ics"),
            "a reminder for the event to come"
        );
        assert!(
            r.body.contains("data-testid=\"county-produce\""),
            "{}",
            r.body
        );
        for missing in ["/county/999999", "/county/abc", "/county/350725001001"] {
            assert_eq!(anon.get(missing).await.status, 404, "{missing}");
        }
        let mine = anon
            .post_form("/api/live/list", &[("county", COUNTY)])
            .await;
        assert_eq!(mine.status, 200, "{}", mine.body);
        assert!(!mine.json()["upcoming"].as_array().unwrap().is_empty());
        let other: String = sqlx::query_scalar(
            "SELECT code FROM regions WHERE level = 'county' AND code <> $1 ORDER BY code LIMIT 1",
        )
        .bind(COUNTY)
        .fetch_one(&app.db.pool)
        .await
        .unwrap();
        let theirs = anon
            .post_form("/api/live/list", &[("county", &other)])
            .await;
        assert_eq!(theirs.status, 200, "{}", theirs.body);
        for part in ["live", "upcoming"] {
            for card in theirs.json()[part].as_array().unwrap() {
                assert_eq!(card["county_code"], other.as_str());
            }
        }
        assert_eq!(
            anon.post_form("/api/live/list", &[("county", "12")])
                .await
                .status,
            400
        );

        // The cover: a featured listing's photo, set by who runs the event.
        let (listing, _) = coop_listing(&app).await;
        let mut coop = demo_login(&app, COOP).await;
        let event = live_event(&app, &mut coop, listing).await;
        let (e, l) = (event.to_string(), listing.to_string());
        sqlx::query("DELETE FROM listing_photos WHERE listing_id = $1")
            .bind(listing)
            .execute(&app.db.pool)
            .await
            .unwrap();
        sqlx::query("UPDATE live_events SET cover_listing_id = NULL WHERE id = $1")
            .bind(event)
            .execute(&app.db.pool)
            .await
            .unwrap();
        let cover_of = |app: &TestApp| {
            let pool = app.db.pool.clone();
            async move {
                sqlx::query_scalar::<_, Option<i64>>(
                    "SELECT cover_listing_id FROM live_events WHERE id = $1",
                )
                .bind(event)
                .fetch_one(&pool)
                .await
                .unwrap()
            }
        };
        let r = coop
            .post_form("/api/live/cover", &[("event_id", &e), ("listing_id", &l)])
            .await;
        assert_eq!(r.status, 409, "{}", r.body);
        assert_eq!(r.json()["code"], "cover_needs_photo");
        let img =
            image::RgbImage::from_fn(64, 48, |x, y| image::Rgb([x as u8 * 3, y as u8 * 5, 90]));
        let mut png = Vec::new();
        image::DynamicImage::ImageRgb8(img)
            .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
            .unwrap();
        let r = coop
            .post_multipart(
                "/api/market/photos",
                &[("listing_id", &l)],
                &[("photo", "cover.png", "image/png", &png)],
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        let mut stranger = demo_login(&app, "buyer@demo.zhunong.cn").await;
        let r = stranger
            .post_form("/api/live/cover", &[("event_id", &e), ("listing_id", &l)])
            .await;
        assert_eq!(r.status, 403, "{}", r.body);
        assert_eq!(cover_of(&app).await, None, "refused: nothing changed");
        // A listing that is not in the line-up cannot be the cover.
        let other: i64 = sqlx::query_scalar(
            "SELECT id FROM listings WHERE id <> $1 AND id NOT IN (SELECT listing_id FROM live_event_listings WHERE event_id = $2) LIMIT 1",
        )
        .bind(listing)
        .bind(event)
        .fetch_one(&app.db.pool)
        .await
        .unwrap();
        let r = coop
            .post_form(
                "/api/live/cover",
                &[("event_id", &e), ("listing_id", &other.to_string())],
            )
            .await;
        assert_eq!(r.status, 404, "{}", r.body);
        let r = coop
            .post_form("/api/live/cover", &[("event_id", &e), ("listing_id", &l)])
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(cover_of(&app).await, Some(listing));
        let card = anon.post_form("/api/live/get", &[("id", &e)]).await;
        assert_eq!(card.status, 200, "{}", card.body);
        let cover = card.json()["card"]["cover"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        assert!(cover.starts_with("/uploads/listings/"), "{}", card.body);
    }
}
