//! The database: one `AnyPool` whose backend the URL's scheme chooses at start-up. Queries are
//! written once in portable SQL (`$1` placeholders); dialect differences live in the migrations
//! and in the few helpers here.

use sqlx::any::AnyPoolOptions;
use sqlx::AnyPool;
use sqlx::Executor;
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn from_url(url: &str) -> Option<Backend> {
        if url.starts_with("sqlite:") {
            Some(Backend::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Some(Backend::Postgres)
        } else {
            None
        }
    }
    pub fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgresql",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Db {
    pub pool: AnyPool,
    /// Where statements that write run (see [`Db::writer`]).
    writer: AnyPool,
    /// SQLite's group commit (see [`Db::write`]).
    batcher: Option<super::batch::Batcher>,
    pub backend: Backend,
    /// Whether this process is building the roll-ups of this database (one build at a time).
    pub rollup_building: std::sync::Arc<std::sync::atomic::AtomicBool>,
    /// A PostgreSQL hot standby for reads that may be a moment old (`DATABASE_READ_URL`).
    pub replica: Option<Replica>,
}

/// A read replica and whether it may be read now. A task of its own checks it every
/// [`REPLICA_CHECK_INTERVAL`] (see [`ReplicaWatch`]); while it is down, behind, or not a copy of
/// the primary, every read goes to the primary.
#[derive(Debug, Clone)]
pub struct Replica {
    pub pool: AnyPool,
    usable: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

/// How long a write waits for SQLite's write connection before it answers 503 (as long as
/// SQLite's own busy timeout).
pub const WRITE_WAIT: Duration = Duration::from_secs(5);

/// How far behind the primary the replica may be and still be read.
pub const MAX_REPLICA_LAG: Duration = Duration::from_secs(5);
pub const REPLICA_CHECK_INTERVAL: Duration = Duration::from_secs(1);

/// The server's identity (the same on a primary and its standbys) and how far its WAL goes: a
/// standby's replayed position, a primary's current one. Plain roles may call both.
const WAL_POSITION_SQL: &str = "SELECT (SELECT system_identifier FROM pg_control_system()),
    CAST(pg_wal_lsn_diff(CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn()
                              ELSE pg_current_wal_lsn() END, '0/0') AS BIGINT)";

impl Replica {
    pub fn usable(&self) -> bool {
        self.usable.load(std::sync::atomic::Ordering::Relaxed)
    }
}

/// The replica's check. Lag is measured against the primary, not by the replica alone (a
/// standby cut off from its primary has replayed all it received and would look current): each
/// check samples the primary's WAL position, and the replica is usable when it belongs to the
/// same server and has replayed at least what the primary had written [`MAX_REPLICA_LAG`] ago.
/// An idle primary writes nothing new, so an idle standby stays usable.
#[derive(Debug, Default)]
pub struct ReplicaWatch {
    /// The primary's (time, WAL position), oldest first, reaching just past `MAX_REPLICA_LAG`.
    samples: std::collections::VecDeque<(std::time::Instant, i64)>,
}

impl ReplicaWatch {
    /// Records the primary's position at `at`.
    pub fn sample(&mut self, at: std::time::Instant, position: i64) {
        self.samples.push_back((at, position));
        // Keep the newest sample at least `MAX_REPLICA_LAG` old, and everything after it.
        while self.samples.len() > 1 && at.duration_since(self.samples[1].0) >= MAX_REPLICA_LAG {
            self.samples.pop_front();
        }
    }

    /// Whether a replica that has replayed up to `replayed` at `at` is within the bound: it has
    /// what the primary had `MAX_REPLICA_LAG` ago (before that much history exists, what it had
    /// at the first sample).
    pub fn within(&self, at: std::time::Instant, replayed: i64) -> bool {
        let due = self
            .samples
            .iter()
            .rev()
            .find(|(t, _)| at.duration_since(*t) >= MAX_REPLICA_LAG)
            .or(self.samples.front());
        due.is_some_and(|&(_, position)| replayed >= position)
    }

    async fn position(pool: &AnyPool) -> Result<(i64, i64), String> {
        match tokio::time::timeout(
            Duration::from_secs(1),
            sqlx::query_as::<_, (i64, i64)>(WAL_POSITION_SQL).fetch_one(pool),
        )
        .await
        {
            Ok(Ok(p)) => Ok(p),
            Ok(Err(e)) => Err(e.to_string()),
            Err(_) => Err("no answer within 1 s".to_owned()),
        }
    }

    /// One check: `None` when the primary could not be sampled (the replica's state is kept).
    async fn check(&mut self, primary: &AnyPool, replica: &AnyPool) -> Option<bool> {
        let (system, position) = match Self::position(primary).await {
            Ok(p) => p,
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the primary's WAL position");
                return None;
            }
        };
        self.sample(std::time::Instant::now(), position);
        Some(match Self::position(replica).await {
            Ok((s, _)) if s != system => {
                tracing::error!(
                    "DATABASE_READ_URL is not a copy of DATABASE_URL: reads go to the primary"
                );
                false
            }
            Ok((_, replayed)) if self.within(std::time::Instant::now(), replayed) => true,
            Ok((_, replayed)) => {
                tracing::warn!(
                    behind_bytes = position.saturating_sub(replayed),
                    "read replica behind: reads go to the primary"
                );
                false
            }
            Err(e) => {
                tracing::warn!(error = %e, "read replica unreachable: reads go to the primary");
                false
            }
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("unsupported database URL (use sqlite://path or postgres://…)")]
    UnsupportedUrl,
    #[error("DATABASE_READ_URL needs PostgreSQL for both it and DATABASE_URL")]
    ReadUrl,
    #[error("cannot create the directory for the SQLite file {0}: {1}")]
    Directory(String, std::io::Error),
    #[error(transparent)]
    Sqlx(#[from] sqlx::Error),
    #[error(transparent)]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("cannot seal the ledger's earlier rows: {0}")]
    Seal(String),
    #[error("cannot fill the roll-ups from the ledger: {0}")]
    Rollup(String),
}

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

impl Db {
    pub async fn connect(url: &str) -> Result<Db, DbError> {
        sqlx::any::install_default_drivers();
        let backend = Backend::from_url(url).ok_or(DbError::UnsupportedUrl)?;
        let url = match backend {
            Backend::Sqlite => sqlite_url(url)?,
            Backend::Postgres => url.to_owned(),
        };
        let options = AnyPoolOptions::new()
            .max_connections(match backend {
                Backend::Sqlite => 8,
                Backend::Postgres => 16,
            })
            .acquire_timeout(Duration::from_secs(10))
            // A round trip to check each connection before use: worth it for PostgreSQL's
            // network connections, not for SQLite's, which live in this process.
            .test_before_acquire(backend == Backend::Postgres);
        let options = if backend == Backend::Sqlite {
            options.after_connect(|conn, _meta| {
                Box::pin(async move {
                    // Foreign keys on, wait for locks instead of failing, WAL for concurrent
                    // readers. synchronous = FULL: every commit reaches the disk before it is
                    // acknowledged (NORMAL could lose the last paid orders on a power cut, which
                    // the money tables cannot afford).
                    conn.execute("PRAGMA foreign_keys = ON").await?;
                    conn.execute("PRAGMA busy_timeout = 5000").await?;
                    conn.execute("PRAGMA journal_mode = WAL").await?;
                    conn.execute("PRAGMA synchronous = FULL").await?;
                    // Without it, the implicit delete of `INSERT OR REPLACE` fires no delete
                    // trigger, and could replace a ledger row despite `ledger_no_delete`.
                    conn.execute("PRAGMA recursive_triggers = ON").await?;
                    Ok(())
                })
            })
        } else {
            options
        };
        let pool = options.clone().connect(&url).await?;
        // SQLite has one writer at a time. Its busy handler makes the others sleep and poll
        // (1, 2, 5, 10 … 100 ms), and under load a writer can lose every poll until its 5 s
        // are up; one connection for every write of this process turns that into a queue
        // (sqlx's pool hands its connection out in the order asked, and at once when it is
        // given back). Other processes on the same file still meet the busy handler.
        let writer = match backend {
            Backend::Sqlite => {
                options
                    .max_connections(1)
                    .min_connections(1)
                    .test_before_acquire(false)
                    .acquire_timeout(WRITE_WAIT)
                    .connect(&url)
                    .await?
            }
            Backend::Postgres => pool.clone(),
        };
        let batcher =
            (backend == Backend::Sqlite).then(|| super::batch::Batcher::start(writer.clone()));
        Ok(Db {
            pool,
            writer,
            batcher,
            backend,
            rollup_building: Default::default(),
            replica: None,
        })
    }

    /// A `Db` on one pool that serves reads and writes alike (a read-only copy being checked).
    pub fn on_pool(pool: AnyPool, backend: Backend) -> Db {
        Db {
            writer: pool.clone(),
            batcher: None,
            pool,
            backend,
            rollup_building: Default::default(),
            replica: None,
        }
    }

    /// Closes the connections, letting SQLite checkpoint its WAL into the file.
    pub async fn close(&self) {
        self.writer.close().await;
        self.pool.close().await;
    }

    /// Adds a read replica (PostgreSQL only, like the primary). The app starts while it is
    /// down: connections are opened when first needed, and reads use the primary until the
    /// replica's first check passes. The check runs on the current Tokio runtime.
    pub async fn with_replica(mut self, primary_url: &str, url: &str) -> Result<Db, DbError> {
        if self.backend != Backend::Postgres || Backend::from_url(url) != Some(Backend::Postgres) {
            return Err(DbError::ReadUrl);
        }
        let options = AnyPoolOptions::new().acquire_timeout(Duration::from_secs(2));
        let pool = options.clone().max_connections(16).connect_lazy(url)?;
        // The checks have connections of their own, so a busy pool cannot fail them.
        let replica_check = options.clone().max_connections(1).connect_lazy(url)?;
        let primary_check = options.max_connections(1).connect_lazy(primary_url)?;
        let mut watch = ReplicaWatch::default();
        let first = watch.check(&primary_check, &replica_check).await;
        let usable = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(first == Some(true)));
        let flag = std::sync::Arc::downgrade(&usable);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(REPLICA_CHECK_INTERVAL);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            tick.tick().await;
            loop {
                tick.tick().await;
                let state = watch.check(&primary_check, &replica_check).await;
                // Stops with the last `Db` that holds the replica.
                let Some(flag) = flag.upgrade() else { break };
                if let Some(ok) = state {
                    flag.store(ok, std::sync::atomic::Ordering::Relaxed);
                }
            }
        });
        self.replica = Some(Replica { pool, usable });
        Ok(self)
    }

    /// The database to read from when a moment-old answer will do: the replica while it is
    /// usable, else this (the primary). The result has no replica of its own.
    pub fn for_reads(&self) -> Db {
        match &self.replica {
            Some(r) if r.usable() => Db {
                pool: r.pool.clone(),
                writer: self.writer.clone(),
                batcher: self.batcher.clone(),
                backend: self.backend,
                rollup_building: self.rollup_building.clone(),
                replica: None,
            },
            _ => self.clone(),
        }
    }

    pub async fn migrate(&self) -> Result<(), DbError> {
        let migrator = match self.backend {
            Backend::Sqlite => &SQLITE_MIGRATIONS,
            Backend::Postgres => &POSTGRES_MIGRATIONS,
        };
        // A database already at the latest migration is left alone: this is what lets the
        // server run as a PostgreSQL role that may not create or alter tables (see
        // `runtime_role_sql`); `zhunong migrate`, run by the owner, applies new ones.
        if !self.all_applied(migrator).await {
            self.repair_edited_migrations().await?;
            migrator.run(&self.pool).await?;
        }
        // Ledger rows written before the hash chain existed are chained once, here.
        crate::ledger::post::seal_earlier_rows(self)
            .await
            .map_err(|e| DbError::Seal(format!("{e:?}")))?;
        // The roll-ups' sums, filled once after the migration that made them.
        crate::ledger::rollup::prepare(self)
            .await
            .map_err(|e| DbError::Rollup(format!("{e:?}")))?;
        Ok(())
    }

    /// Whether every migration is applied, each with the checksum of its text.
    async fn all_applied(&self, migrator: &sqlx::migrate::Migrator) -> bool {
        let Ok(applied) = sqlx::query_as::<_, (i64, Vec<u8>)>(
            "SELECT version, checksum FROM _sqlx_migrations WHERE success",
        )
        .fetch_all(&self.pool)
        .await
        else {
            return false;
        };
        let applied: std::collections::HashMap<i64, Vec<u8>> = applied.into_iter().collect();
        migrator.iter().all(|m| {
            applied
                .get(&m.version)
                .is_some_and(|c| c.as_slice() == m.checksum.as_ref())
        })
    }

    /// Migration 20261128000003 (search) was edited after some databases had applied it, so
    /// sqlx would refuse to start them (checksum mismatch). A database that applied one of the
    /// earlier texts (known by their checksums) is brought to what the current text creates,
    /// in one transaction, and its recorded checksum updated. Never edit a migration that has
    /// landed: `scripts/check-migrations.sh` fails CI if one changes.
    async fn repair_edited_migrations(&self) -> Result<(), DbError> {
        const VERSION: i64 = 20261128000003;
        let (migrator, old, repair): (&sqlx::migrate::Migrator, &[&str], &[&str]) =
            match self.backend {
                Backend::Sqlite => (
                    &SQLITE_MIGRATIONS,
                    &SQLITE_SEARCH_OLD_CHECKSUMS[..],
                    SQLITE_SEARCH_REPAIR,
                ),
                Backend::Postgres => (
                    &POSTGRES_MIGRATIONS,
                    &POSTGRES_SEARCH_OLD_CHECKSUMS[..],
                    POSTGRES_SEARCH_REPAIR,
                ),
            };
        let exists: i64 = sqlx::query_scalar(match self.backend {
            Backend::Sqlite => "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations'",
            Backend::Postgres => "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = '_sqlx_migrations'",
        })
        .fetch_one(&self.pool)
        .await?;
        if exists == 0 {
            return Ok(());
        }
        let applied: Option<Vec<u8>> =
            sqlx::query_scalar("SELECT checksum FROM _sqlx_migrations WHERE version = $1")
                .bind(VERSION)
                .fetch_optional(&self.pool)
                .await?;
        let Some(applied) = applied else {
            return Ok(());
        };
        if !old.contains(&hex::encode(&applied).as_str()) {
            return Ok(());
        }
        let Some(current) = migrator.iter().find(|m| m.version == VERSION) else {
            return Ok(());
        };
        let mut tx = self.writer.begin().await?;
        for statement in repair {
            sqlx::query(statement).execute(&mut *tx).await?;
        }
        sqlx::query("UPDATE _sqlx_migrations SET checksum = $1 WHERE version = $2")
            .bind(current.checksum.to_vec())
            .bind(VERSION)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        tracing::warn!(
            version = VERSION,
            "repaired a database migrated with an earlier text of this migration"
        );
        Ok(())
    }

    /// Where a statement that writes outside [`Db::begin_write`]'s transactions runs: on
    /// SQLite the process's one write connection, taken in turn (waiting at most
    /// [`WRITE_WAIT`], then `PoolTimedOut`, which answers 503); on PostgreSQL the pool.
    /// Reads go to [`Db::pool`]: with WAL they never wait for a writer.
    pub fn writer(&self) -> &AnyPool {
        &self.writer
    }

    /// Runs `work` in a write transaction and commits it; answers once it is committed. On
    /// SQLite the work shares its commit with the writes that arrived with it (see
    /// [`super::batch`]): it must neither commit nor roll back the transaction, and it returns
    /// an error to undo what it wrote. On PostgreSQL it has a transaction of its own. Either
    /// way it is committed in time for the request's answer (its [`super::guard::Deadline`]),
    /// or not at all (503).
    pub async fn write<T, F>(&self, work: F) -> Result<T, crate::error::AppError>
    where
        T: Send + 'static,
        F: super::batch::Work<T> + 'static,
    {
        // Without a request (the command line, a background job): as long as a request may.
        let deadline = super::guard::Deadline::current().unwrap_or_else(|| {
            tokio::time::Instant::now()
                + super::batch::MAX_WAIT
                + super::batch::MAX_PIECE
                + super::batch::COMMIT_MARGIN
        });
        self.write_until(work, deadline).await
    }

    /// [`Db::write`] for a given deadline: the work is committed before `deadline` less
    /// [`super::batch::COMMIT_MARGIN`], or not at all (503).
    pub async fn write_until<T, F>(
        &self,
        work: F,
        deadline: tokio::time::Instant,
    ) -> Result<T, crate::error::AppError>
    where
        T: Send + 'static,
        F: super::batch::Work<T> + 'static,
    {
        match &self.batcher {
            Some(b) => b.write(work, deadline).await,
            None => {
                // Here the work runs in the request's own future, which its time limit drops
                // (rolling the transaction back); the same check keeps the two backends alike.
                let by = super::batch::commit_by(deadline);
                let mut tx = self.begin_write().await?;
                let out = work(&mut tx).await?;
                if tokio::time::Instant::now() >= by {
                    tx.rollback().await?;
                    return Err(crate::error::AppError::new(crate::error::ErrorCode::Busy));
                }
                tx.commit().await?;
                Ok(out)
            }
        }
    }

    /// The group commit's batches and the pieces of work they carried (SQLite only).
    pub fn batch_counts(&self) -> Option<(u64, u64)> {
        self.batcher.as_ref().map(|b| b.counts())
    }

    /// Starts a transaction that will write, on [`Db::writer`]. On SQLite it takes the write
    /// lock at once (`BEGIN IMMEDIATE`), so a read lock never has to be upgraded (which fails
    /// when another process writes); PostgreSQL's row locks need no such care.
    pub async fn begin_write(&self) -> Result<sqlx::Transaction<'static, sqlx::Any>, sqlx::Error> {
        match self.backend {
            Backend::Sqlite => self.writer.begin_with("BEGIN IMMEDIATE").await,
            Backend::Postgres => self.writer.begin().await,
        }
    }

    /// Whether the database answers within two seconds.
    pub async fn ping(&self) -> bool {
        let q = sqlx::query_scalar::<_, i64>("SELECT CAST(1 AS BIGINT)").fetch_one(&self.pool);
        matches!(
            tokio::time::timeout(Duration::from_secs(2), q).await,
            Ok(Ok(1))
        )
    }
}

/// SHA-384 of the earlier texts of `migrations/*/20261128000003_search.sql`.
const SQLITE_SEARCH_OLD_CHECKSUMS: [&str; 2] = [
    "89e5e4ad060a80bfb6eebfaf65c015e7fba9f1fb8e2be30ecd533ff5d308dc87e10d21058e2343fa47bd6d409fb567a3",
    "d208be4cf6abaafebf568a746f2b1cd6883773cc9b96ad94f8aa03bf6768ba21cccf6b30bc71d134d416c8b880176c3c",
];
const POSTGRES_SEARCH_OLD_CHECKSUMS: [&str; 1] = [
    "1d62cd65693ba8eefe2c5bf9d75b83e387c1997e1df642d60135c875673eee21afadc1c336542f47dfa7584477f01440",
];
/// From either earlier text to the current one: the insert trigger that defers to the update
/// trigger, and the catalogue's two partial indexes in place of the plain status index.
const SQLITE_SEARCH_REPAIR: &[&str] = &[
    "DROP TRIGGER IF EXISTS listings_derived_insert",
    "CREATE TRIGGER listings_derived_insert AFTER INSERT ON listings
     BEGIN
         UPDATE listings SET benefit_terms = benefit_terms WHERE id = NEW.id;
     END",
    "DROP INDEX IF EXISTS listings_status",
    "CREATE INDEX IF NOT EXISTS listings_need ON listings (status = 'sold_out', stalled DESC, COALESCE(stalled_quantity, 0) DESC, created_at DESC, id DESC)
         WHERE status IN ('on_sale', 'sold_out')",
    "CREATE INDEX IF NOT EXISTS listings_newest ON listings (status = 'sold_out', created_at DESC, id DESC)
         WHERE status IN ('on_sale', 'sold_out')",
];
const POSTGRES_SEARCH_REPAIR: &[&str] = &[
    "DROP INDEX IF EXISTS listings_status",
    "CREATE INDEX IF NOT EXISTS listings_need ON listings ((status = 'sold_out'), stalled DESC, COALESCE(stalled_quantity, 0) DESC, created_at DESC, id DESC)
         WHERE status IN ('on_sale', 'sold_out')",
    "CREATE INDEX IF NOT EXISTS listings_newest ON listings ((status = 'sold_out'), created_at DESC, id DESC)
         WHERE status IN ('on_sale', 'sold_out')",
];

/// Creates the SQLite file's directory and asks for the file to be created if missing.
fn sqlite_url(url: &str) -> Result<String, DbError> {
    let rest = url.trim_start_matches("sqlite:").trim_start_matches("//");
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    if path != ":memory:" && !path.is_empty() {
        if let Some(dir) = std::path::Path::new(path)
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
        {
            std::fs::create_dir_all(dir).map_err(|e| DbError::Directory(path.to_owned(), e))?;
        }
    }
    Ok(if query.contains("mode=") {
        url.to_owned()
    } else if query.is_empty() {
        format!("{url}?mode=rwc")
    } else {
        format!("{url}&mode=rwc")
    })
}

/// Seconds since the Unix epoch, the time type of every table.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// The current calendar year in China (UTC+8).
pub fn current_year() -> i64 {
    year_of(now() + 8 * 3600)
}

use crate::domain::calendar::days_from_civil;
pub use crate::domain::calendar::{date_of, is_date, year_of};

/// Unix time of 1 January of `year`, 00:00 China time (UTC+8).
pub fn year_start(year: i64) -> i64 {
    days_from_civil(year, 1, 1) * 86_400 - 8 * 3600
}

/// Unix time of the first day of `month` (1–12) of `year`, 00:00 China time.
pub fn month_start(year: i64, month: i64) -> i64 {
    days_from_civil(year, month, 1) * 86_400 - 8 * 3600
}

/// The month (0 = January) of a Unix time, China time.
pub fn month_of(unix: i64) -> usize {
    let (_, m, _) = crate::domain::calendar::civil_from_days((unix + 8 * 3600).div_euclid(86_400));
    (m - 1) as usize
}

/// Today's date in China (UTC+8) as `YYYY-MM-DD`.
pub fn today() -> String {
    date_of(now())
}

/// The names of a region and the regions above it, province first (those the table knows).
pub async fn region_names(
    db: &Db,
    code: &crate::domain::region::RegionCode,
) -> Result<Vec<String>, crate::error::AppError> {
    // `ancestors` starts with the region itself; one query for all of them (at most five).
    let codes: Vec<String> = code
        .ancestors()
        .iter()
        .rev()
        .map(|c| c.as_str().to_owned())
        .collect();
    let marks: Vec<String> = (1..=codes.len()).map(|i| format!("${i}")).collect();
    let sql = format!(
        "SELECT code, name FROM regions WHERE code IN ({})",
        marks.join(", ")
    );
    let mut q = sqlx::query_as::<_, (String, String)>(&sql);
    for c in &codes {
        q = q.bind(c.as_str());
    }
    let mut found: std::collections::HashMap<String, String> =
        q.fetch_all(&db.pool).await?.into_iter().collect();
    Ok(codes.iter().filter_map(|c| found.remove(c)).collect())
}

/// The monitoring line in force in `year` (the rule is `domain::income::line_in_force`).
pub async fn monitoring_line(
    db: &Db,
    year: i64,
) -> Result<Option<crate::domain::money::Fen>, crate::error::AppError> {
    use crate::domain::money::Fen;
    let lines: Vec<(i64, i64)> =
        sqlx::query_as("SELECT year, per_capita_fen FROM monitoring_lines WHERE year <= $1")
            .bind(year)
            .fetch_all(&db.pool)
            .await?;
    let lines: Vec<(i64, Fen)> = lines.into_iter().map(|(y, f)| (y, Fen::new(f))).collect();
    Ok(crate::domain::income::line_in_force(&lines, year))
}

/// The statements that give a PostgreSQL role what `zhunong serve` needs and no more: it may
/// read and write the tables, but never update, delete or truncate ledger rows or payment
/// notifications, and never change the schema. Run them as the tables' owner after
/// `zhunong migrate` (`zhunong runtime-role NAME` prints them), then serve as that role.
pub fn runtime_role_sql(role: &str) -> Result<Vec<String>, &'static str> {
    let ok = !role.is_empty()
        && role.len() <= 63
        && role.starts_with(|c: char| c.is_ascii_lowercase() || c == '_')
        && role
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if !ok {
        return Err("a role name is lower-case letters, digits and _, at most 63 of them");
    }
    Ok(vec![
        format!("GRANT USAGE ON SCHEMA public TO {role}"),
        format!("GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {role}"),
        format!("GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {role}"),
        format!(
            "REVOKE UPDATE, DELETE, TRUNCATE ON ledger_entries, payment_notifications FROM {role}"
        ),
        format!("REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON _sqlx_migrations FROM {role}"),
    ])
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_replica_is_usable_while_it_has_what_the_primary_had_a_lag_ago() {
        use std::time::Instant;
        let t0 = Instant::now();
        let s = |n: u64| t0 + Duration::from_secs(n);
        let mut w = ReplicaWatch::default();
        // Before any sample, nothing is known: not usable.
        assert!(!w.within(t0, i64::MAX));
        // At first, the replica must have what the primary had at the first sample.
        w.sample(s(0), 100);
        assert!(w.within(s(0), 100) && !w.within(s(0), 99));
        // The primary writes on; the replica may be up to MAX_REPLICA_LAG (5 s) behind.
        for n in 1..=10 {
            w.sample(s(n), 100 + n as i64 * 10);
        }
        // At 10 s, the primary was at 150 five seconds ago, and is at 200 now.
        assert!(w.within(s(10), 150));
        assert!(!w.within(s(10), 149), "more than 5 s behind");
        // A standby cut off from its primary stays at what it has: it falls out of use.
        for n in 11..=16 {
            w.sample(s(n), 100 + n as i64 * 10);
        }
        assert!(!w.within(s(16), 200));
        // An idle primary writes nothing: a standby that has everything stays usable.
        for n in 17..=30 {
            w.sample(s(n), 300);
        }
        assert!(w.within(s(30), 300));
        // Old samples are dropped: only what reaches just past the lag is kept.
        assert!(w.samples.len() <= 7, "{}", w.samples.len());
    }
    #[test]
    fn year_and_month_starts_in_china_time() {
        assert_eq!(year_start(1970), -8 * 3600);
        assert_eq!(year_start(2027), 1_798_761_600 - 8 * 3600);
        assert_eq!(month_start(2026, 3), 1_772_323_200 - 8 * 3600); // 2026-03-01
        assert_eq!(year_of(year_start(2026) + 8 * 3600), 2026);
        assert_eq!(month_start(2026, 13 - 12), year_start(2026));
        assert_eq!(date_of(1_798_761_600 - 8 * 3600), "2027-01-01");
        assert!(
            is_date("2024-02-29")
                && !is_date("2025-02-29")
                && !is_date("2025-13-01")
                && !is_date("2025-1-01")
        );
    }

    use super::*;

    #[test]
    fn years_from_unix_time() {
        assert_eq!(year_of(0), 1970);
        assert_eq!(year_of(1_704_067_199), 2023); // 2023-12-31T23:59:59Z
        assert_eq!(year_of(1_704_067_200), 2024);
        assert_eq!(year_of(1_798_761_600), 2027); // 2027-01-01T00:00:00Z
    }

    #[test]
    fn backend_from_scheme() {
        assert_eq!(
            Backend::from_url("sqlite://data/x.db"),
            Some(Backend::Sqlite)
        );
        assert_eq!(
            Backend::from_url("postgres://u@h/db"),
            Some(Backend::Postgres)
        );
        assert_eq!(
            Backend::from_url("postgresql://u@h/db"),
            Some(Backend::Postgres)
        );
        assert_eq!(Backend::from_url("mysql://x"), None);
    }

    #[test]
    fn sqlite_urls_ask_for_creation() {
        assert_eq!(
            sqlite_url("sqlite::memory:").unwrap(),
            "sqlite::memory:?mode=rwc"
        );
        assert_eq!(
            sqlite_url("sqlite://x.db?mode=ro").unwrap(),
            "sqlite://x.db?mode=ro"
        );
    }
}
