//! Memory under attack, measured on the real binary (a separate process, so its resident size
//! is its own): 400 registrations, 32 at a time, each hashing a password (argon2, 19 MiB), and
//! then four decompression-bomb PNGs uploaded at once. The server's peak resident size must stay
//! under [`PEAK_LIMIT_MB`], it must keep answering, and every bomb must be refused.

use crate::common;

use std::process::{Child, Command};

/// The bound the README states.
const PEAK_LIMIT_MB: u64 = 300;

struct Server {
    child: Child,
    addr: String,
    _dir: TempDir,
}

struct TempDir(std::path::PathBuf);
impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn status_kb(pid: u32, key: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with(key))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

fn start() -> Server {
    let dir = std::env::temp_dir().join(format!("zhunong-memory-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bin = env!("CARGO_BIN_EXE_zhunong");
    let db = format!("sqlite://{}/m.db", dir.display());
    let env = |c: &mut Command| {
        c.env("DATABASE_URL", &db)
            .env("ZHUNONG_UPLOAD_DIR", dir.join("uploads"))
            .env("ZHUNONG_REGISTER_PER_IP_PER_HOUR", "100000")
            .env("ZHUNONG_REGISTER_PER_HOUR", "100000")
            .env("ZHUNONG_LOG", "warn")
            .env_remove("ZHUNONG_SEED_DEMO")
            .env_remove("ZHUNONG_ENV");
    };
    let mut seed = Command::new(bin);
    env(&mut seed);
    let out = seed.args(["seed", "--demo"]).output().expect("seed");
    assert!(
        out.status.success(),
        "seed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (child, addr) = common::serve_process(env);
    Server {
        child,
        addr,
        _dir: TempDir(dir),
    }
}

async fn post(client: &reqwest_like::Client, url: &str, body: Vec<(String, String)>) -> u16 {
    client.post_form(url, &body).await
}

/// A minimal HTTP/1.1 client over tokio (the test needs nothing more).
mod reqwest_like {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[derive(Clone, Default)]
    pub struct Client {
        pub cookie: Option<String>,
    }

    fn encode(s: &str) -> String {
        s.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => {
                    (b as char).to_string()
                }
                _ => format!("%{b:02X}"),
            })
            .collect()
    }

    impl Client {
        pub async fn send(
            &self,
            addr_path: &str,
            content_type: &str,
            body: &[u8],
        ) -> (u16, String) {
            let (addr, path) = addr_path.split_once('/').unwrap();
            let mut s = tokio::net::TcpStream::connect(addr).await.expect("connect");
            let mut head = format!(
                "POST /{path} HTTP/1.0\r\nHost: {addr}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n",
                body.len()
            );
            if let Some(c) = &self.cookie {
                head.push_str(&format!("Cookie: {c}\r\n"));
            }
            head.push_str("\r\n");
            s.write_all(head.as_bytes()).await.unwrap();
            s.write_all(body).await.unwrap();
            let mut out = Vec::new();
            s.read_to_end(&mut out).await.unwrap();
            let text = String::from_utf8_lossy(&out).into_owned();
            let status = text
                .split(' ')
                .nth(1)
                .and_then(|c| c.parse().ok())
                .unwrap_or(0);
            (status, text)
        }

        pub async fn post_form(&self, addr_path: &str, fields: &[(String, String)]) -> u16 {
            let body: Vec<String> = fields
                .iter()
                .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
                .collect();
            self.send(
                addr_path,
                "application/x-www-form-urlencoded",
                body.join("&").as_bytes(),
            )
            .await
            .0
        }
    }
}

fn bomb_png() -> Vec<u8> {
    // 10,000 × 10,000 grey pixels: a few hundred KB of PNG, 100 MB (and more) once decoded.
    let img = image::GrayImage::new(10_000, 10_000);
    let mut out = Vec::new();
    image::DynamicImage::ImageLuma8(img)
        .write_to(&mut std::io::Cursor::new(&mut out), image::ImageFormat::Png)
        .unwrap();
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn registrations_and_bombs_keep_memory_bounded() {
    let server = start();
    let pid = server.child.id();
    let base = server.addr.clone();
    let before = status_kb(pid, "VmRSS:");

    // 400 registrations, 32 at a time.
    let limit = std::sync::Arc::new(tokio::sync::Semaphore::new(32));
    let mut tasks = Vec::new();
    for i in 0..400 {
        let limit = limit.clone();
        let url = format!("{base}/api/auth/register");
        tasks.push(tokio::spawn(async move {
            let _p = limit.acquire().await.unwrap();
            let body = vec![
                ("login".to_owned(), format!("1370000{i:04}")),
                ("password".to_owned(), "a long enough password".to_owned()),
                ("display_name".to_owned(), "压力".to_owned()),
            ];
            post(&reqwest_like::Client::default(), &url, body).await
        }));
    }
    let mut ok = 0;
    for t in tasks {
        let status = t.await.unwrap();
        assert!(status == 200 || status == 503, "status {status}");
        ok += usize::from(status == 200);
    }
    assert!(ok >= 390, "nearly all were served ({ok} of 400)");
    let after_registrations = status_kb(pid, "VmRSS:");

    // Four bomb PNGs at once, as the demo co-op.
    let client = reqwest_like::Client::default();
    let (status, text) = client
        .send(
            &format!("{base}/api/auth/login"),
            "application/x-www-form-urlencoded",
            b"login=coop.zhenghe%40demo.zhunong.cn&password=zhunong2020",
        )
        .await;
    assert_eq!(status, 200, "{text}");
    let cookie = text
        .lines()
        .find_map(|l| {
            l.strip_prefix("set-cookie: ")
                .or_else(|| l.strip_prefix("Set-Cookie: "))
        })
        .and_then(|c| c.split(';').next())
        .unwrap()
        .to_owned();
    let seller = reqwest_like::Client {
        cookie: Some(cookie),
    };
    let (status, text) = seller
        .send(
            &format!("{base}/api/market/seller-desk"),
            "application/x-www-form-urlencoded",
            b"",
        )
        .await;
    assert_eq!(status, 200, "{text}");
    let desk: serde_json::Value =
        serde_json::from_str(text.split("\r\n\r\n").nth(1).unwrap()).unwrap();
    let listing = desk["listings"]["items"][0]["id"]
        .as_i64()
        .expect("the co-op has a listing");
    let bomb = std::sync::Arc::new(bomb_png());
    let mut uploads = Vec::new();
    for _ in 0..4 {
        let seller = seller.clone();
        let bomb = bomb.clone();
        let url = format!("{base}/api/market/photos");
        uploads.push(tokio::spawn(async move {
            let boundary = "zhunongbomb";
            let mut body = format!("--{boundary}\r\nContent-Disposition: form-data; name=\"listing_id\"\r\n\r\n{listing}\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"photo\"; filename=\"b.png\"\r\nContent-Type: image/png\r\n\r\n").into_bytes();
            body.extend_from_slice(&bomb);
            body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
            seller.send(&url, &format!("multipart/form-data; boundary={boundary}"), &body).await
        }));
    }
    for u in uploads {
        let (status, text) = u.await.unwrap();
        assert!(
            status == 413 || status == 503,
            "a bomb is refused: {status} {}",
            &text[..text.len().min(400)]
        );
    }

    let peak = status_kb(pid, "VmHWM:");
    let now = status_kb(pid, "VmRSS:");
    println!(
        "memory: RSS {} MB at start, {} MB after 400 registrations, {} MB after the bombs; peak {} MB (limit {PEAK_LIMIT_MB} MB)",
        before / 1024,
        after_registrations / 1024,
        now / 1024,
        peak / 1024
    );
    assert!(peak / 1024 < PEAK_LIMIT_MB, "peak RSS {} MB", peak / 1024);
    // Still answering.
    let (status, _) = reqwest_like::Client::default()
        .send(
            &format!("{base}/api/auth/session"),
            "application/x-www-form-urlencoded",
            b"",
        )
        .await;
    assert_eq!(status, 200);
}
