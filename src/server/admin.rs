//! Operators' commands: the first administrator, backup and restore.

use super::config::Settings;
use super::db::{Backend, Db};
use crate::auth::server::{hash_password, insert_user, CreateUserError, NewUser};
use crate::domain::account::{DisplayName, LoginId, Password};
use crate::domain::role::Role;
use secrecy::ExposeSecret;
use std::path::{Path, PathBuf};

type BoxError = Box<dyn std::error::Error>;

/// `zhunong create-admin`: an administrator account with the given password (never a demo one).
pub async fn create_admin(
    db: &Db,
    login: &str,
    name: &str,
    password: &str,
) -> Result<i64, BoxError> {
    let login = LoginId::parse(login)
        .map_err(|_| "the log-in must be an 11-digit mobile number or an e-mail address")?;
    let password =
        Password::parse(password).map_err(|_| "the password must be 8 to 128 characters")?;
    let name = DisplayName::parse(name).map_err(|_| "the name must be 1 to 40 characters")?;
    let hash = hash_password(&password).await.map_err(|e| e.message)?;
    let new = NewUser {
        login: &login,
        password_hash: &hash,
        display_name: name.as_str(),
        role: Role::Admin,
        region_code: None,
        organisation_id: None,
        household_id: None,
        is_demo: false,
    };
    match insert_user(db.writer(), &new).await {
        Ok(id) => Ok(id),
        Err(CreateUserError::Exists) => {
            Err(format!("an account with the log-in {login} exists already").into())
        }
        Err(CreateUserError::Db(e)) => Err(e.into()),
    }
}

/// The file of a `sqlite://` URL.
pub fn sqlite_file(url: &str) -> Option<PathBuf> {
    let rest = url.strip_prefix("sqlite:")?.trim_start_matches("//");
    let path = rest.split('?').next().unwrap_or(rest);
    (!path.is_empty() && path != ":memory:").then(|| PathBuf::from(path))
}

/// Says "a server is using this SQLite database": `zhunong serve` holds it while it runs, and
/// `zhunong restore` will not replace a file while anyone holds it (the server would go on
/// writing to the file it opened, and those writes would be lost). An advisory `flock` on
/// `<database>.lock`; the system lets go of it when the process ends, even by `kill -9`.
pub struct ServingLock {
    _file: std::fs::File,
}

/// Takes the [`ServingLock`] of the database at `url` (none for PostgreSQL), or says who has it.
pub fn lock_serving(url: &str) -> Result<Option<ServingLock>, BoxError> {
    use std::os::fd::AsRawFd;
    let Some(db) = sqlite_file(url) else {
        return Ok(None);
    };
    if let Some(dir) = db.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let path = PathBuf::from(format!("{}.lock", db.display()));
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| format!("cannot open {}: {e}", path.display()))?;
    // SAFETY: flock on a descriptor this function owns; no memory is shared.
    let r = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
    if r != 0 {
        return Err(format!(
            "{} is in use by a running zhunong server (it holds {}); stop it first",
            db.display(),
            path.display()
        )
        .into());
    }
    Ok(Some(ServingLock { _file: file }))
}

/// `zhunong backup PATH`: a consistent copy of the SQLite database, taken while it serves
/// (`VACUUM INTO` reads one snapshot). Returns the copy's size.
pub async fn backup(db: &Db, path: &Path) -> Result<u64, BoxError> {
    if db.backend != Backend::Sqlite {
        return Err("backup copies SQLite databases; for PostgreSQL use pg_dump --format=custom (see the README)".into());
    }
    if path.exists() {
        return Err(format!("{} exists already; choose a new file", path.display()).into());
    }
    let target = path.to_str().ok_or("the backup path must be valid UTF-8")?;
    sqlx::query("VACUUM INTO $1")
        .bind(target)
        .execute(&db.pool)
        .await?;
    // The copy holds password hashes and households' records: readable by its owner only.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    }
    Ok(std::fs::metadata(path)?.len())
}

/// Checks a database file: SQLite's integrity check, then the ledger. Returns the ledger line.
async fn verify(file: &Path) -> Result<String, BoxError> {
    // Read-only and without the serving pragmas (WAL would write to the file).
    sqlx::any::install_default_drivers();
    let url = format!("sqlite://{}?mode=ro", file.display());
    let db = Db::on_pool(
        sqlx::any::AnyPoolOptions::new()
            .max_connections(1)
            .connect(&url)
            .await?,
        Backend::Sqlite,
    );
    let integrity: String = sqlx::query_scalar("PRAGMA integrity_check")
        .fetch_one(&db.pool)
        .await?;
    if integrity != "ok" {
        return Err(format!("{}: integrity check failed: {integrity}", file.display()).into());
    }
    let c = crate::ledger::server::check_ledger(&db).await?;
    db.close().await;
    if !c.problems.is_empty() {
        return Err(format!(
            "{}: the ledger does not balance: {}",
            file.display(),
            c.problems.join("; ")
        )
        .into());
    }
    Ok(format!(
        "{} ledger rows, {} households, {} fen, balanced",
        c.ledger_rows, c.households, c.total_fen
    ))
}

/// `zhunong restore PATH`: checks the backup, puts it in place of the configured SQLite
/// database (only over an existing one with `force`), applies newer migrations and checks the
/// ledger again. The app must be stopped.
pub async fn restore(settings: &Settings, backup: &Path, force: bool) -> Result<String, BoxError> {
    let url = settings.database_url.expose_secret();
    let target = sqlite_file(url).ok_or(
        "restore puts back SQLite databases; for PostgreSQL use pg_restore (see the README)",
    )?;
    if !backup.is_file() {
        return Err(format!("{} is not a file", backup.display()).into());
    }
    verify(backup).await?;
    // Held until the restore is done, so no server starts on a half-restored file either.
    let _serving = lock_serving(url)?;
    if target.exists() && !force {
        return Err(format!(
            "{} exists; stop the app and pass --force to replace it",
            target.display()
        )
        .into());
    }
    if let Some(dir) = target.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let tmp = target.with_extension("restoring");
    std::fs::copy(backup, &tmp)?;
    std::fs::File::open(&tmp)?.sync_all()?;
    for suffix in ["-wal", "-shm"] {
        let side = PathBuf::from(format!("{}{suffix}", target.display()));
        if side.exists() {
            std::fs::remove_file(side)?;
        }
    }
    std::fs::rename(&tmp, &target)?;
    let db = Db::connect(url).await?;
    db.migrate().await?;
    db.close().await;
    let ledger = verify(&target).await?;
    Ok(format!(
        "restored {} from {}: {ledger}",
        target.display(),
        backup.display()
    ))
}
