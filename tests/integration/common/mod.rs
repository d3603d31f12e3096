//! Test helpers: spawn the real app on port 0 with a fresh database (a temporary SQLite file, or
//! a new PostgreSQL database under `TEST_DATABASE_URL`) and talk HTTP to it.

#![allow(dead_code, unused_macros)]

use sqlx::Executor;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use zhunong::server::{self, config::Settings, db::Db};

/// Defines `<case>::sqlite` and `<case>::postgres` for each case (a function in the test file's
/// `cases` module taking a [`TestApp`]), each test with its own fresh app; with the demo data
/// unless a case says `(demo = false)`.
macro_rules! on_both_backends {
    ($($case:ident;)*) => { on_both_backends! { $($case(demo = true);)* } };
    ($($case:ident(demo = $demo:expr);)*) => {$(
        mod $case {
            use super::*;
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn sqlite() {
                let app = common::spawn_app(common::Backend::Sqlite, $demo)
                    .await
                    .expect("sqlite app");
                super::cases::$case(app).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn postgres() {
                if let Some(app) = common::spawn_app(common::Backend::Postgres, $demo).await {
                    super::cases::$case(app).await;
                }
            }
        }
    )*};
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

pub struct TestApp {
    pub addr: SocketAddr,
    pub db: Db,
    pub backend: Backend,
    /// The database's URL.
    pub url: String,
    /// Where this app stores photos (inside its own temporary directory).
    pub upload_dir: PathBuf,
    temp_dir: PathBuf,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.temp_dir);
    }
}

static COUNTER: AtomicU32 = AtomicU32::new(0);
static PG_CLEANED: tokio::sync::OnceCell<()> = tokio::sync::OnceCell::const_new();

fn unique(prefix: &str) -> String {
    let n = COUNTER.fetch_add(1, Ordering::SeqCst);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!("{prefix}_{}_{n}_{nanos}", std::process::id())
}

/// The PostgreSQL server to test against, or `None` (the test is then skipped, unless
/// `ZHUNONG_REQUIRE_POSTGRES` is set, as in CI, where that is a failure).
pub fn postgres_url() -> Option<String> {
    match std::env::var("TEST_DATABASE_URL") {
        Ok(u) if !u.trim().is_empty() => Some(u),
        _ => {
            if std::env::var_os("ZHUNONG_REQUIRE_POSTGRES").is_some() {
                panic!("ZHUNONG_REQUIRE_POSTGRES is set but TEST_DATABASE_URL is not");
            }
            eprintln!("skipped: TEST_DATABASE_URL is not set");
            None
        }
    }
}

/// Replaces the database name in a PostgreSQL URL.
pub fn with_database(url: &str, name: &str) -> String {
    let (base, query) = url
        .split_once('?')
        .map_or((url, None), |(b, q)| (b, Some(q)));
    let after_scheme = base.find("://").map_or(0, |i| i + 3);
    let base = match base[after_scheme..].find('/') {
        Some(i) => &base[..after_scheme + i],
        None => base,
    };
    match query {
        Some(q) => format!("{base}/{name}?{q}"),
        None => format!("{base}/{name}"),
    }
}

async fn fresh_postgres(admin_url: &str) -> String {
    sqlx::any::install_default_drivers();
    let admin = sqlx::AnyPool::connect(admin_url)
        .await
        .expect("connect to TEST_DATABASE_URL");
    // Once per test binary: drop databases left by earlier runs.
    PG_CLEANED
        .get_or_init(|| async {
            let old: Vec<String> = sqlx::query_scalar(
                "SELECT datname::TEXT FROM pg_database WHERE datname LIKE 'zn\\_test\\_%'",
            )
            .fetch_all(&admin)
            .await
            .expect("list test databases");
            for name in old {
                let _ = admin
                    .execute(format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)").as_str())
                    .await;
            }
        })
        .await;
    let name = unique("zn_test");
    admin
        .execute(format!("CREATE DATABASE \"{name}\"").as_str())
        .await
        .expect("create test database");
    admin.close().await;
    with_database(admin_url, &name)
}

/// Starts the app on 127.0.0.1:0 with a fresh, migrated database. With `demo`, the demo data.
pub async fn spawn_app(backend: Backend, demo: bool) -> Option<TestApp> {
    spawn_app_with(backend, demo, |_| {}).await
}

/// Like [`spawn_app`], with settings adjusted by `adjust`.
pub async fn spawn_app_with(
    backend: Backend,
    demo: bool,
    adjust: impl FnOnce(&mut Settings),
) -> Option<TestApp> {
    let url = match backend {
        Backend::Sqlite => None,
        Backend::Postgres => Some(fresh_postgres(&postgres_url()?).await),
    };
    let temp_dir = std::env::temp_dir().join(unique("zhunong-test"));
    std::fs::create_dir_all(&temp_dir).expect("temp dir");
    let url = url.unwrap_or_else(|| format!("sqlite://{}/test.db", temp_dir.display()));
    let mut settings = Settings::for_database(&url);
    // The fake provider stands in for WeChat Pay and Alipay, speaking their protocols.
    settings.payments.fake = true;
    settings.upload_dir = temp_dir.join("uploads");
    // Every test client comes from 127.0.0.1: the per-address registration limit would stop
    // suites that register many buyers. Its own test lowers it again.
    settings.register_per_ip_per_hour = 100_000;
    settings.register_global_per_hour = 100_000;
    // Suites place many checkouts with one buyer; the limit on unpaid ones has its own test.
    settings.max_unpaid_checkouts = 100_000;
    let upload_dir = settings.upload_dir.clone();
    adjust(&mut settings);
    let db = server::open_database(&settings)
        .await
        .expect("open test database");
    if demo {
        server::seed::seed_demo(&db).await.expect("seed demo data");
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let state = server::app_state(settings, db.clone());
    tokio::spawn(async move {
        server::serve(listener, state, std::future::pending())
            .await
            .expect("serve");
    });
    Some(TestApp {
        addr,
        db,
        backend,
        url: url.clone(),
        upload_dir,
        temp_dir,
    })
}

/// An HTTP response, body as text.
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
    pub bytes: Vec<u8>,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }
}

/// A tiny HTTP/1.0 client with a cookie jar: enough to call the app like any other client does.
#[derive(Clone)]
pub struct Client {
    addr: SocketAddr,
    pub cookies: BTreeMap<String, String>,
    pub lang: Option<&'static str>,
    /// The client address the server sees (always loopback here; kept for clarity).
    pub extra_headers: Vec<(String, String)>,
    /// What the client accepts: JSON like a script, or `text/html` like a browser's form.
    pub accept: &'static str,
}

/// One file of a multipart form: field name, file name, content type, bytes.
pub type FilePart<'a> = (&'a str, &'a str, &'a str, &'a [u8]);

/// A `multipart/form-data` body: text fields first, then the files.
pub fn multipart(fields: &[(&str, &str)], files: &[FilePart<'_>]) -> (String, Vec<u8>) {
    let boundary = "----zhunong-test-boundary-7d1f";
    let mut body = Vec::new();
    for (name, value) in fields {
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n")
                .as_bytes(),
        );
    }
    for (name, file_name, content_type, bytes) in files {
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"{file_name}\"\r\nContent-Type: {content_type}\r\n\r\n")
                .as_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

pub fn form(fields: &[(&str, &str)]) -> String {
    fields
        .iter()
        .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
        .collect::<Vec<_>>()
        .join("&")
}

fn enc(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

impl Client {
    pub fn new(app: &TestApp) -> Client {
        Client {
            addr: app.addr,
            cookies: BTreeMap::new(),
            lang: None,
            extra_headers: Vec::new(),
            accept: "application/json",
        }
    }

    /// A client of whatever listens at `addr` (a proxy in front of several app processes).
    pub fn at(addr: SocketAddr) -> Client {
        Client {
            addr,
            cookies: BTreeMap::new(),
            lang: None,
            extra_headers: Vec::new(),
            accept: "application/json",
        }
    }

    pub fn english(mut self) -> Client {
        self.lang = Some("en");
        self
    }

    pub async fn get(&mut self, path: &str) -> Response {
        self.send("GET", path, None, None).await
    }

    /// A form-encoded POST, as browsers and `curl -d` send.
    pub async fn post_form(&mut self, path: &str, fields: &[(&str, &str)]) -> Response {
        let body = form(fields);
        self.send(
            "POST",
            path,
            Some("application/x-www-form-urlencoded"),
            Some(body.as_bytes()),
        )
        .await
    }

    pub async fn post_multipart(
        &mut self,
        path: &str,
        fields: &[(&str, &str)],
        files: &[FilePart<'_>],
    ) -> Response {
        let (content_type, body) = multipart(fields, files);
        self.send("POST", path, Some(&content_type), Some(&body))
            .await
    }

    pub async fn post_raw(&mut self, path: &str, content_type: &str, body: &[u8]) -> Response {
        self.send("POST", path, Some(content_type), Some(body))
            .await
    }

    pub async fn send(
        &mut self,
        method: &str,
        path: &str,
        content_type: Option<&str>,
        body: Option<&[u8]>,
    ) -> Response {
        let mut req = format!(
            "{method} {path} HTTP/1.0\r\nHost: {}\r\nAccept: {}\r\n",
            self.addr, self.accept
        );
        if let Some(l) = self.lang {
            req.push_str(&format!("Accept-Language: {l}\r\n"));
        }
        if !self.cookies.is_empty() {
            let c: Vec<String> = self
                .cookies
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            req.push_str(&format!("Cookie: {}\r\n", c.join("; ")));
        }
        for (k, v) in &self.extra_headers {
            req.push_str(&format!("{k}: {v}\r\n"));
        }
        if let Some(ct) = content_type {
            req.push_str(&format!("Content-Type: {ct}\r\n"));
        }
        let body = body.unwrap_or_default();
        req.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
        let mut stream = TcpStream::connect(self.addr).await.expect("connect");
        stream.write_all(req.as_bytes()).await.expect("write");
        // The server may answer (413) and close before reading a large body: read its answer anyway.
        if let Err(e) = stream.write_all(body).await {
            assert_eq!(e.kind(), std::io::ErrorKind::BrokenPipe, "write body: {e}");
        }
        let mut raw = Vec::new();
        // Longer than the server's own 30 s limit, so a slow request shows as its 503.
        tokio::time::timeout(
            std::time::Duration::from_secs(60),
            stream.read_to_end(&mut raw),
        )
        .await
        .unwrap_or_else(|_| panic!("no complete answer to {method} {path} in 60 s"))
        .expect("read");
        let split = raw
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .expect("header end");
        let head = String::from_utf8_lossy(&raw[..split]).to_string();
        let bytes = raw[split + 4..].to_vec();
        let body = String::from_utf8_lossy(&bytes).to_string();
        let mut lines = head.split("\r\n");
        let status: u16 = lines
            .next()
            .and_then(|l| l.split(' ').nth(1))
            .and_then(|s| s.parse().ok())
            .expect("status line");
        let headers: Vec<(String, String)> = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
            .collect();
        for (k, v) in &headers {
            if k.eq_ignore_ascii_case("set-cookie") {
                let pair = v.split(';').next().unwrap_or("");
                if let Some((name, value)) = pair.split_once('=') {
                    if value.is_empty() || v.contains("Max-Age=0") {
                        self.cookies.remove(name);
                    } else {
                        self.cookies.insert(name.to_owned(), value.to_owned());
                    }
                }
            }
        }
        Response {
            status,
            headers,
            body,
            bytes,
        }
    }
}

/// Logs in as a demo account (password from the seed).
pub async fn demo_login(app: &TestApp, login: &str) -> Client {
    demo_login_with(Client::new(app), login).await
}

/// Logs `c` in as a demo account, wherever it points (a proxy in front of several processes).
pub async fn demo_login_with(mut c: Client, login: &str) -> Client {
    let r = c
        .post_form(
            "/api/auth/login",
            &[
                ("login", login),
                ("password", zhunong::server::seed::DEMO_PASSWORD),
            ],
        )
        .await;
    assert_eq!(r.status, 200, "demo log-in {login}: {}", r.body);
    c
}

pub async fn count(db: &Db, sql: &str) -> i64 {
    sqlx::query_scalar::<_, i64>(sql)
        .fetch_one(&db.pool)
        .await
        .expect(sql)
}

/// The newest six-digit code the notification sender queued for `login` (as stored: digits, or
/// the e-mail address lower-cased), if any.
pub async fn last_code(db: &Db, login: &str) -> Option<String> {
    let body: Option<String> = sqlx::query_scalar(
        "SELECT body FROM notifications WHERE recipient = $1 ORDER BY id DESC LIMIT 1",
    )
    .bind(login)
    .fetch_optional(&db.pool)
    .await
    .expect("read the outbox");
    body.and_then(|b| {
        b.as_bytes()
            .windows(6)
            .find(|w| w.iter().all(u8::is_ascii_digit))
            .map(|w| String::from_utf8_lossy(w).into_owned())
    })
}

/// Registers as a person does: step one, the code from the outbox, step two. Returns step two's
/// answer (the new user), or step one's when that refused.
pub async fn register(
    c: &mut Client,
    app: &TestApp,
    login: &str,
    password: &str,
    name: &str,
) -> Response {
    let r = c
        .post_form(
            "/api/auth/register",
            &[
                ("login", login),
                ("password", password),
                ("display_name", name),
            ],
        )
        .await;
    if r.status != 200 {
        return r;
    }
    let stored = r
        .json()
        .as_str()
        .expect("step one answers the log-in")
        .to_owned();
    let code = last_code(&app.db, &stored)
        .await
        .unwrap_or_else(|| "000000".to_owned());
    c.post_form(
        "/api/auth/register-confirm",
        &[("login", &stored), ("code", &code)],
    )
    .await
}

/// The save-listing form fields for a listing as `editable-listing` returned it.
pub fn form_fields(form: &serde_json::Value) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (k, v) in form.as_object().expect("form object") {
        let text = match v {
            serde_json::Value::Null => continue,
            serde_json::Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        out.push((format!("form[{k}]"), text));
    }
    out
}

pub fn set(fields: &mut Vec<(String, String)>, key: &str, value: &str) {
    fields.retain(|(k, _)| k != key);
    fields.push((key.to_owned(), value.to_owned()));
}

pub async fn post_fields(c: &mut Client, fields: &[(String, String)]) -> Response {
    let refs: Vec<(&str, &str)> = fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    c.post_form("/api/market/save-listing", &refs).await
}

/// The id of the listing with this title.
pub async fn listing_id(app: &TestApp, title: &str) -> i64 {
    sqlx::query_scalar("SELECT id FROM listings WHERE title = $1")
        .bind(title)
        .fetch_one(&app.db.pool)
        .await
        .unwrap_or_else(|e| panic!("{title}: {e}"))
}

/// Gives a logged-in buyer a default delivery address (in the first township of the data).
pub async fn add_address(c: &mut Client, app: &TestApp) {
    let township: String = sqlx::query_scalar(
        "SELECT code FROM regions WHERE level = 'township' ORDER BY code LIMIT 1",
    )
    .fetch_one(&app.db.pool)
    .await
    .expect("a township");
    let r = c
        .post_form(
            "/api/delivery/save-address",
            &[
                ("recipient", "测试收件人"),
                ("mobile", "13700000000"),
                ("region_code", &township),
                ("detail", "测试路 1 号"),
            ],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
}

/// Starts `zhunong serve` as its own process on a free loopback port, with the environment
/// `configure` sets (the database and the rest); answers the child once it listens, and its
/// address. Its output is drained so it never blocks on a full pipe.
pub fn serve_process(
    configure: impl FnOnce(&mut std::process::Command),
) -> (std::process::Child, String) {
    use std::io::BufRead;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let addr = format!("127.0.0.1:{port}");
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_zhunong"));
    configure(&mut cmd);
    let mut child = cmd
        .arg("serve")
        .env("LEPTOS_SITE_ADDR", &addr)
        .env("ZHUNONG_LOG", "info")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start the server");
    let out = child.stdout.take().expect("its output");
    let mut lines = std::io::BufReader::new(out).lines();
    let started = std::time::Instant::now();
    loop {
        match lines.next() {
            Some(Ok(l)) if l.contains("listening on") => break,
            Some(Ok(_)) => {}
            _ => panic!("the server did not start"),
        }
        assert!(started.elapsed() < std::time::Duration::from_secs(60));
    }
    std::thread::spawn(move || for _ in lines {});
    (child, addr)
}
