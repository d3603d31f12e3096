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
    pub backend: Backend,
}

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("unsupported database URL (use sqlite://path or postgres://…)")]
    UnsupportedUrl,
    #[error("cannot create the directory for the SQLite file {0}: {1}")]
    Directory(String, std::io::Error),
    #[error(transparent)]
    Sqlx(#[from] sqlx::Error),
    #[error(transparent)]
    Migrate(#[from] sqlx::migrate::MigrateError),
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
            .acquire_timeout(Duration::from_secs(10));
        let options = if backend == Backend::Sqlite {
            options.after_connect(|conn, _meta| {
                Box::pin(async move {
                    // Foreign keys on, wait for locks instead of failing, WAL for concurrent readers.
                    conn.execute("PRAGMA foreign_keys = ON").await?;
                    conn.execute("PRAGMA busy_timeout = 5000").await?;
                    conn.execute("PRAGMA journal_mode = WAL").await?;
                    conn.execute("PRAGMA synchronous = NORMAL").await?;
                    Ok(())
                })
            })
        } else {
            options
        };
        let pool = options.connect(&url).await?;
        Ok(Db { pool, backend })
    }

    pub async fn migrate(&self) -> Result<(), DbError> {
        match self.backend {
            Backend::Sqlite => SQLITE_MIGRATIONS.run(&self.pool).await?,
            Backend::Postgres => POSTGRES_MIGRATIONS.run(&self.pool).await?,
        }
        Ok(())
    }

    /// Starts a transaction that will write. On SQLite it takes the write lock at once
    /// (`BEGIN IMMEDIATE`), so two writers queue on the busy timeout instead of failing when a
    /// read lock would have to be upgraded; PostgreSQL's row locks need no such care.
    pub async fn begin_write(&self) -> Result<sqlx::Transaction<'static, sqlx::Any>, sqlx::Error> {
        match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await,
            Backend::Postgres => self.pool.begin().await,
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

/// Today's date in China (UTC+8) as `YYYY-MM-DD`.
pub fn today() -> String {
    date_of(now())
}

#[cfg(test)]
mod tests {
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
