//! Past one machine: two `zhunong serve` processes sharing one PostgreSQL behind nginx (round
//! robin), the way a deployment outgrows one process. A session begun on one process is valid on
//! the other, an order's idempotency key holds across them, a payment confirmed through one is
//! in the ledger the other reads, and the log-in limit counts attempts made on both. Reads that
//! may be a moment old go to a read replica, except for a client that has just written.
//!
//! PostgreSQL only (the scale-out backend); needs Debian's nginx (`scripts/setup.sh test`
//! installs it). Skipped without `TEST_DATABASE_URL`, a failure when `ZHUNONG_REQUIRE_POSTGRES`
//! is set (CI), as is a missing nginx then.

use crate::common;

use common::{Backend, Client, TestApp};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const BUYER: &str = "buyer@demo.zhunong.cn";
const COOP: &str = "coop.zhenghe@demo.zhunong.cn";

/// A child process killed when the test ends, however it ends (nginx runs without a master
/// process here, so killing it leaves no worker behind).
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn nginx() -> Option<String> {
    ["/usr/sbin/nginx", "/usr/bin/nginx"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists())
        .map(str::to_owned)
}

/// nginx on a free loopback port in front of `upstreams`, telling which one answered in
/// `X-Upstream`.
fn start_proxy(dir: &std::path::Path, bin: &str, upstreams: &[String]) -> (Killed, SocketAddr) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let servers: String = upstreams.iter().map(|u| format!("server {u};\n")).collect();
    let d = dir.display();
    let conf = format!(
        "daemon off;\nmaster_process off;\npid {d}/nginx.pid;\nerror_log {d}/error.log;\n\
         events {{ worker_connections 256; }}\n\
         http {{\n access_log off;\n client_body_temp_path {d}/body;\n proxy_temp_path {d}/proxy;\n\
         fastcgi_temp_path {d}/fastcgi;\n uwsgi_temp_path {d}/uwsgi;\n scgi_temp_path {d}/scgi;\n\
         upstream app {{ {servers} keepalive 8; }}\n\
         server {{\n  listen 127.0.0.1:{port};\n  location / {{\n   proxy_pass http://app;\n\
         proxy_http_version 1.1;\n   proxy_set_header Connection \"\";\n   proxy_set_header Host $http_host;\n\
         proxy_set_header X-Forwarded-For $remote_addr;\n   proxy_buffering off;\n\
         add_header X-Upstream $upstream_addr always;\n  }}\n }}\n}}\n"
    );
    let path = dir.join("nginx.conf");
    std::fs::write(&path, conf).expect("write nginx.conf");
    let child = Command::new(bin)
        .arg("-p")
        .arg(dir)
        .arg("-c")
        .arg(&path)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start nginx");
    let child = Killed(child);
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let started = Instant::now();
    while std::net::TcpStream::connect(addr).is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "nginx did not listen: {}",
            std::fs::read_to_string(dir.join("error.log")).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    (child, addr)
}

fn upstream(r: &common::Response) -> String {
    r.header("x-upstream")
        .unwrap_or_else(|| panic!("no X-Upstream: {}", r.body))
        .to_owned()
}

async fn login(proxy: SocketAddr, who: &str) -> Client {
    common::demo_login_with(Client::at(proxy), who).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_behind_nginx_share_sessions_orders_the_ledger_and_limits() {
    let Some(app) = common::spawn_app(Backend::Postgres, true).await else {
        return;
    };
    let Some(bin) = nginx() else {
        assert!(
            std::env::var_os("ZHUNONG_REQUIRE_POSTGRES").is_none(),
            "nginx is missing: scripts/setup.sh test installs it"
        );
        eprintln!("skipped: no nginx");
        return;
    };
    let dir = app.upload_dir.parent().unwrap().join("scale");
    std::fs::create_dir_all(&dir).unwrap();
    let processes: Vec<(Killed, String)> = (0..2)
        .map(|i| {
            let (child, addr) = common::serve_process(|c| {
                c.env("DATABASE_URL", &app.url)
                    .env("ZHUNONG_UPLOAD_DIR", dir.join(format!("uploads{i}")))
                    // nginx is the client these processes see; the buyer is behind it.
                    .env("ZHUNONG_TRUSTED_PROXIES", "127.0.0.1")
                    .env("ZHUNONG_LOGIN_MAX_FAILURES", "3")
                    .env_remove("ZHUNONG_ENV")
                    .env_remove("ZHUNONG_SEED_DEMO");
            });
            (Killed(child), addr)
        })
        .collect();
    let upstreams: Vec<String> = processes.iter().map(|p| p.1.clone()).collect();
    let (_nginx, proxy) = start_proxy(&dir, &bin, &upstreams);
    run(&app, proxy, &upstreams).await;
}

async fn run(app: &TestApp, proxy: SocketAddr, upstreams: &[String]) {
    // A session begun on one process is known to both.
    let mut buyer = login(proxy, BUYER).await;
    let mut seen = std::collections::BTreeSet::new();
    for _ in 0..4 {
        let r = buyer.post_form("/api/auth/me", &[]).await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(r.json()["login"], BUYER, "{}", r.body);
        seen.insert(upstream(&r));
    }
    assert_eq!(
        seen.len(),
        2,
        "round robin reached both processes: {seen:?} of {upstreams:?}"
    );
    common::add_address(&mut buyer, app).await;

    // The same checkout sent twice, to each process once: one order.
    let listing: i64 = sqlx::query_scalar(
        "SELECT l.id FROM listings l JOIN users u ON u.organisation_id = l.organisation_id
          WHERE u.login = $1 AND l.status = 'on_sale' AND l.stock >= 10 ORDER BY l.id LIMIT 1",
    )
    .bind(COOP)
    .fetch_one(&app.db.pool)
    .await
    .expect("a listing of the co-op");
    let form = [
        ("idempotency_key", "scale-two-processes-0001"),
        ("items[0][listing_id]", &listing.to_string()),
        ("items[0][quantity]", "2"),
    ];
    let first = buyer.post_form("/api/orders/checkout", &form).await;
    assert_eq!(first.status, 200, "{}", first.body);
    let again = buyer.post_form("/api/orders/checkout", &form).await;
    assert_eq!(again.status, 200, "{}", again.body);
    assert_ne!(upstream(&first), upstream(&again), "each process once");
    let order = first.json()["orders"][0]["id"].as_i64().expect("an order");
    assert_eq!(again.json()["orders"][0]["id"], order, "the same order");
    let orders: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM orders WHERE buyer_id = (SELECT id FROM users WHERE login = $1)
            AND created_at >= (SELECT created_at FROM orders WHERE id = $2)",
    )
    .bind(BUYER)
    .bind(order)
    .fetch_one(&app.db.pool)
    .await
    .unwrap();
    assert_eq!(orders, 1, "one order for two posts of one key");

    // The seller confirms the transfer through the proxy; the ledger has the order's income,
    // and the buyer sees it paid whichever process answers.
    let mut coop = login(proxy, COOP).await;
    let r = coop
        .post_form(
            "/api/orders/confirm-payment",
            &[
                ("reference", "SCALE-TEST"),
                ("order_id", &order.to_string()),
            ],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let income: i64 = sqlx::query_scalar(
        "SELECT CAST(COALESCE(SUM(le.amount_fen), 0) AS BIGINT) FROM ledger_entries le
           JOIN order_items oi ON oi.id = le.order_item_id WHERE oi.order_id = $1",
    )
    .bind(order)
    .fetch_one(&app.db.pool)
    .await
    .unwrap();
    assert!(income > 0, "the payment was posted to the ledger");
    let mut answered = std::collections::BTreeSet::new();
    for _ in 0..2 {
        let r = buyer.post_form("/api/orders/mine", &[]).await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert!(r.body.contains("\"paid\""), "{}", r.body);
        answered.insert(upstream(&r));
    }
    assert_eq!(answered.len(), 2);

    // The log-in limit (3 failures an account here) counts the attempts made on both
    // processes: the fourth wrong password is refused, wherever it lands.
    let mut guesser = Client::at(proxy);
    let mut landed = std::collections::BTreeSet::new();
    for i in 0..3 {
        let r = guesser
            .post_form(
                "/api/auth/login",
                &[("login", COOP), ("password", &format!("wrong-guess-{i}"))],
            )
            .await;
        assert_eq!(r.status, 401, "{}", r.body);
        landed.insert(upstream(&r));
    }
    assert_eq!(landed.len(), 2, "the guesses reached both processes");
    for _ in 0..2 {
        let r = guesser
            .post_form(
                "/api/auth/login",
                &[("login", COOP), ("password", "wrong-guess-x")],
            )
            .await;
        assert_eq!(r.status, 429, "refused on {}: {}", upstream(&r), r.body);
    }
}

/// Concurrent attempts on one account, as from many processes at once: exactly the allowance
/// gets through, on both backends, and a refusal says how long to wait.
async fn concurrent_guesses_get_exactly_the_allowance(backend: Backend) {
    use zhunong::server::ratelimit::{Limiter, RetryAfter};
    let Some(app) = common::spawn_app(backend, false).await else {
        return;
    };
    let limiter = std::sync::Arc::new(Limiter::new(3, 1000, 900, 5, 1000));
    let now = 1_800_000_000;
    let tasks: Vec<_> = (0..24)
        .map(|i| {
            let (db, limiter) = (app.db.clone(), limiter.clone());
            tokio::spawn(async move {
                let ip = format!("203.0.113.{}", i % 4);
                limiter
                    .begin_login(&db, "someone@example.cn", Some(&ip), now)
                    .await
                    .expect("no database error")
            })
        })
        .collect();
    let mut admitted = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(()) => admitted += 1,
            Err(RetryAfter(wait)) => assert!((1..=900).contains(&wait), "{wait}"),
        }
    }
    assert_eq!(admitted, 3, "{backend:?}: the allowance, not more");
    // A success clears the account; the sweep leaves rows that still count.
    limiter
        .login_succeeded(&app.db, "someone@example.cn", Some("203.0.113.0"), now)
        .await
        .unwrap();
    assert_eq!(
        limiter
            .begin_login(&app.db, "someone@example.cn", None, now)
            .await
            .unwrap(),
        Ok(())
    );
    zhunong::server::ratelimit::sweep(&app.db, now)
        .await
        .unwrap();
    let rows = common::count(&app.db, "SELECT COUNT(*) FROM rate_limits").await;
    assert!(rows >= 1, "the account's fresh count is kept");
    zhunong::server::ratelimit::sweep(&app.db, now + 10_000)
        .await
        .unwrap();
    assert_eq!(
        common::count(&app.db, "SELECT COUNT(*) FROM rate_limits").await,
        0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_guesses_get_exactly_the_allowance_sqlite() {
    concurrent_guesses_get_exactly_the_allowance(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_guesses_get_exactly_the_allowance_postgres() {
    concurrent_guesses_get_exactly_the_allowance(Backend::Postgres).await;
}

/// A read replica (`DATABASE_READ_URL`): the catalogue and the public pages are read from it,
/// a client that has just written reads the primary and sees its own write, and a replica that
/// is down sends every read to the primary.
mod read_replica {
    use super::*;
    use common::{listing_id, spawn_app, spawn_app_with};

    const WHITE_TEA: &str = "政和白茶·白牡丹（演示）";
    const RENAMED: &str = "只在主库的新名字";

    async fn replica_usable(app: &TestApp) -> String {
        let r = Client::new(app).get("/metrics").await;
        r.body
            .lines()
            .find_map(|l| l.strip_prefix("zhunong_read_replica_usable "))
            .expect("the replica's gauge")
            .to_owned()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn public_reads_use_the_replica_and_a_writer_reads_its_own_writes() {
        // The "replica" is a database of its own holding the same demo data, which no write to
        // the primary reaches: a replica that has fallen behind and stays there. (A real hot
        // standby is in `make failover-drill`.)
        let Some(stale) = spawn_app(Backend::Postgres, true).await else {
            return;
        };
        let stale_url = stale.url.clone();
        let app = spawn_app_with(Backend::Postgres, true, |s| {
            s.database_read_url = Some(stale_url.into());
        })
        .await
        .unwrap();
        assert_eq!(replica_usable(&app).await, "1");
        let id = listing_id(&app, WHITE_TEA).await;
        assert_eq!(id, listing_id(&stale, WHITE_TEA).await);
        sqlx::query("UPDATE listings SET title = $1 WHERE id = $2")
            .bind(RENAMED)
            .bind(id)
            .execute(&app.db.pool)
            .await
            .unwrap();

        // An anonymous visitor reads the replica: the listing and the catalogue as they were.
        let mut visitor = Client::new(&app);
        visitor.accept = "text/html";
        for path in [format!("/listing/{id}"), "/market".to_owned()] {
            let r = visitor.get(&path).await;
            assert_eq!(r.status, 200, "{path}");
            assert!(
                r.body.contains(WHITE_TEA) && !r.body.contains(RENAMED),
                "{path} from the replica"
            );
            assert!(r.header("set-cookie").is_none(), "a read marks nothing");
        }

        // Reading through a server function (as the app does in the browser) marks nothing.
        let mut script = Client::new(&app);
        let read = script.post_form("/api/market/catalogue", &[]).await;
        assert_eq!(read.status, 200, "{}", read.body);
        assert!(read.body.contains(WHITE_TEA) && !read.body.contains(RENAMED));
        assert!(!script.cookies.contains_key("zn_wrote"));

        // The seller's log-in is a write: for a few seconds they read the primary.
        let mut seller = common::demo_login(&app, COOP).await;
        assert_eq!(
            seller.cookies.get("zn_wrote").map(String::as_str),
            Some("1"),
            "a successful write marks the client"
        );
        seller.accept = "text/html";
        let own = seller.get(&format!("/listing/{id}")).await;
        assert!(own.body.contains(RENAMED), "the writer sees the primary");
        let market = seller.get("/market").await;
        assert!(market.body.contains(RENAMED));
        // Once the mark has expired, a signed-in user reads the replica like anyone.
        seller.cookies.remove("zn_wrote");
        let later = seller.get(&format!("/listing/{id}")).await;
        assert!(later.body.contains(WHITE_TEA) && !later.body.contains(RENAMED));
        // A refused write marks nothing.
        let mut stranger = Client::new(&app);
        let refused = stranger
            .post_form("/api/market/save-listing", &[("form[title]", "x")])
            .await;
        assert!(refused.status >= 400, "{}", refused.status);
        assert!(!stranger.cookies.contains_key("zn_wrote"));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn a_replica_that_is_down_sends_every_read_to_the_primary() {
        let Some(pg) = common::postgres_url() else {
            return;
        };
        drop(pg);
        // Nothing listens on port 9 of this machine.
        let down = "postgres://postgres@127.0.0.1:9/nowhere".to_owned();
        let app = spawn_app_with(Backend::Postgres, true, |s| {
            s.database_read_url = Some(down.into());
        })
        .await
        .unwrap();
        assert_eq!(replica_usable(&app).await, "0");
        let id = listing_id(&app, WHITE_TEA).await;
        let mut visitor = Client::new(&app);
        visitor.accept = "text/html";
        let r = visitor.get(&format!("/listing/{id}")).await;
        assert_eq!(r.status, 200);
        assert!(r.body.contains(WHITE_TEA));
        assert_eq!(visitor.get("/market").await.status, 200);
    }

    #[tokio::test]
    async fn a_replica_needs_postgresql_on_both_sides() {
        let dir = std::env::temp_dir().join(format!("zhunong-replica-{}", std::process::id()));
        let url = format!("sqlite://{}/primary.db", dir.display());
        let mut settings = zhunong::server::config::Settings::for_database(&url);
        settings.database_read_url = Some(
            "postgres://postgres@127.0.0.1:5432/postgres"
                .to_owned()
                .into(),
        );
        let err = zhunong::server::open_database(&settings)
            .await
            .expect_err("refused");
        let _ = std::fs::remove_dir_all(&dir);
        assert!(err.to_string().contains("DATABASE_READ_URL"), "{err}");
    }
}
