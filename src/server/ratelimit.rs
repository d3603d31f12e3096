//! Rate limits for log-in, registration, password-reset codes and self-reports, kept in the
//! database (table `rate_limits`), so that every app process sharing it counts the same
//! attempts: behind a load balancer, an attacker gains nothing from reaching several processes.
//!
//! Log-in: every attempt is counted **before** its password is checked (check-and-record in one
//! compare-and-set), so a burst of concurrent guesses cannot all slip past the count; a success
//! takes its own attempt back. Per account the answer to repeated failures is a growing delay
//! (1 s, 2 s, 4 s … up to the window) rather than a hard lock-out, so an attacker cannot lock
//! the owner out for long (30 s, 60 s, 120 s … at most the window); per client address
//! failures are capped in the window.
//! Registration, reset codes and self-reports: per address and globally per hour.
//!
//! The rules ([`Limiter`]'s `decide_*` methods) are pure; [`Limiter`]'s public methods apply
//! them to the stored rows. A refusal is decided from a plain read. An admitted event reads the
//! keys' rows again in a write transaction, decides, and writes each back only if its version is
//! still the one read (else read again). On PostgreSQL the rows are locked as they are read
//! (`FOR UPDATE`, in a fixed order), so concurrent requests on one key queue rather than retry;
//! on SQLite the write transaction holds the database (`BEGIN IMMEDIATE`). Either way there are
//! no races to lose; the version check stays as a guard.

use super::db::Db;
use std::time::Duration;

#[derive(Debug)]
pub struct Limiter {
    per_account: u32,
    per_ip: u32,
    window_secs: i64,
    register_per_ip: u32,
    register_global: u32,
}

/// The first wait after an account's allowed failures.
const FIRST_DELAY_SECS: i64 = 30;
/// The registration window.
const HOUR: i64 = 3600;
/// Compare-and-set rounds before a request is asked to come back in a second.
const ROUNDS: u32 = 8;

/// What an hourly limit counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hourly {
    Register,
    Reset,
    /// A self-report (一键报贫).
    Report,
}

impl Hourly {
    fn key(self) -> &'static str {
        match self {
            Hourly::Register => "register",
            Hourly::Reset => "reset",
            Hourly::Report => "report",
        }
    }
}

/// How long to wait before trying again, in seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryAfter(pub i64);

/// An account's failed (or in-flight) attempts and when the last one began.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Account {
    pub failures: u32,
    pub last: i64,
}

/// What a key holds: an account's count, or the times of an address's (or everyone's) recent
/// events, oldest first.
type State = Vec<i64>;
/// A key's new state and when it stops mattering; `None` deletes it.
type Write = Option<(State, i64)>;

impl Account {
    fn from_state(s: &[i64]) -> Account {
        match s {
            [f, l] => Account {
                failures: u32::try_from(*f).unwrap_or(0),
                last: *l,
            },
            _ => Account::default(),
        }
    }
    fn to_state(self) -> State {
        vec![i64::from(self.failures), self.last]
    }
}

impl Limiter {
    pub fn new(
        per_account: u32,
        per_ip: u32,
        window_secs: i64,
        register_per_ip: u32,
        register_global: u32,
    ) -> Limiter {
        Limiter {
            per_account,
            per_ip,
            window_secs: window_secs.max(1),
            register_per_ip,
            register_global,
        }
    }

    /// The delay an account with `failures` failed attempts must wait after its last one:
    /// none up to the limit, then 30 s, doubling with each further failure, never more than
    /// the window.
    fn account_delay(&self, failures: u32) -> i64 {
        if failures < self.per_account {
            0
        } else {
            let steps = (failures - self.per_account).min(20);
            (FIRST_DELAY_SECS << steps).min(self.window_secs)
        }
    }

    /// When an account's count no longer matters: a quiet window after its current delay.
    fn account_expiry(&self, a: Account) -> i64 {
        a.last + self.account_delay(a.failures) + self.window_secs
    }

    /// The log-in rule: admit the attempt (counting it for the account and the address) or
    /// say how long to wait.
    pub fn decide_login(
        &self,
        account: Account,
        ip_hits: Option<&[i64]>,
        now: i64,
    ) -> Result<(Account, Option<State>), RetryAfter> {
        // The count starts again only after a quiet window beyond the current delay, so
        // waiting out the longest delay does not earn a fresh set of free attempts.
        let failures = if now >= self.account_expiry(account) {
            0
        } else {
            account.failures
        };
        let wait = account.last + self.account_delay(failures) - now;
        if failures > 0 && wait > 0 {
            return Err(RetryAfter(wait));
        }
        let ip = match ip_hits {
            Some(hits) => Some(admit(hits, self.per_ip, self.window_secs, now)?),
            None => None,
        };
        Ok((
            Account {
                failures: failures + 1,
                last: now,
            },
            ip,
        ))
    }

    /// The hourly rule: admit one event per address and overall, or say how long to wait.
    pub fn decide_hourly(
        &self,
        global: &[i64],
        ip_hits: Option<&[i64]>,
        now: i64,
    ) -> Result<(State, Option<State>), RetryAfter> {
        let global = admit(global, self.register_global, HOUR, now).map_err(|_| RetryAfter(60))?;
        let ip = match ip_hits {
            Some(hits) => Some(admit(hits, self.register_per_ip, HOUR, now)?),
            None => None,
        };
        Ok((global, ip))
    }

    /// Admits a log-in attempt and counts it as a failure until [`Limiter::login_succeeded`]
    /// takes it back; or says how long to wait.
    pub async fn begin_login(
        &self,
        db: &Db,
        account: &str,
        ip: Option<&str>,
        now: i64,
    ) -> Result<Result<(), RetryAfter>, sqlx::Error> {
        update(db, &login_keys(account, ip), now, |s| {
            self.login_writes(s, now)
        })
        .await
    }

    /// A correct password: the account's count starts again and this attempt no longer counts
    /// against the address.
    pub async fn login_succeeded(
        &self,
        db: &Db,
        account: &str,
        ip: Option<&str>,
        now: i64,
    ) -> Result<(), sqlx::Error> {
        update(db, &login_keys(account, ip), now, |s| {
            Ok(self.success_writes(s))
        })
        .await
        .map(|_| ())
    }

    /// An attempt that was never judged (the hashing queue was full): it does not count.
    pub async fn login_abandoned(
        &self,
        db: &Db,
        account: &str,
        ip: Option<&str>,
        now: i64,
    ) -> Result<(), sqlx::Error> {
        update(db, &login_keys(account, ip), now, |s| {
            Ok(self.abandon_writes(s))
        })
        .await
        .map(|_| ())
    }

    /// Admits an hourly event (a registration, a reset code, a self-report) from `ip`, per
    /// address and overall, each kind with its own budget (so a flood of one cannot stop the
    /// others); or says how long to wait.
    pub async fn begin_hourly(
        &self,
        db: &Db,
        kind: Hourly,
        ip: Option<&str>,
        now: i64,
    ) -> Result<Result<(), RetryAfter>, sqlx::Error> {
        update(db, &hourly_keys(kind.key(), ip), now, |s| {
            self.hourly_writes(s, now)
        })
        .await
    }

    /// A log-in attempt's new states of [`login_keys`]: the account's, then the address's.
    fn login_writes(&self, s: &[State], now: i64) -> Result<Vec<Write>, RetryAfter> {
        let account = Account::from_state(s.first().map_or(&[][..], |v| &v[..]));
        let (a, ip) = self.decide_login(account, s.get(1).map(|v| &v[..]), now)?;
        let mut w = vec![Some((a.to_state(), self.account_expiry(a)))];
        w.extend(ip.map(|h| Some((h, now + self.window_secs))));
        Ok(w)
    }

    /// After a correct password: the account's count goes, the address gets its attempt back.
    fn success_writes(&self, s: &[State]) -> Vec<Write> {
        let mut w: Vec<Write> = vec![None];
        w.extend(s.get(1).map(|h| take_back(h, self.window_secs)));
        w
    }

    /// After an attempt never judged: both counts lose it.
    fn abandon_writes(&self, s: &[State]) -> Vec<Write> {
        let mut a = Account::from_state(s.first().map_or(&[][..], |v| &v[..]));
        a.failures = a.failures.saturating_sub(1);
        let mut w = vec![Some((a.to_state(), self.account_expiry(a)))];
        w.extend(s.get(1).map(|h| take_back(h, self.window_secs)));
        w
    }

    /// An hourly event's new states of [`hourly_keys`]: everyone's, then the address's.
    fn hourly_writes(&self, s: &[State], now: i64) -> Result<Vec<Write>, RetryAfter> {
        let (g, ip) = self.decide_hourly(
            s.first().map_or(&[][..], |v| &v[..]),
            s.get(1).map(|v| &v[..]),
            now,
        )?;
        let mut w = vec![Some((g, now + HOUR))];
        w.extend(ip.map(|h| Some((h, now + HOUR))));
        Ok(w)
    }
}

/// The keys an hourly event counts under: everyone's and, when known, the address's.
fn hourly_keys(kind: &str, ip: Option<&str>) -> Vec<String> {
    let mut keys = vec![format!("{kind}:*")];
    keys.extend(ip.map(|ip| format!("{kind}:{ip}")));
    keys
}

/// An account's key and, when the address is known, the address's.
fn login_keys(account: &str, ip: Option<&str>) -> Vec<String> {
    let mut keys = vec![format!("account:{account}")];
    keys.extend(ip.map(|ip| format!("login:{ip}")));
    keys
}

/// Admits one more event among `hits` (times, oldest first) if fewer than `limit` fall in the
/// window ending now: the recent ones plus now; or the wait until the oldest leaves the window.
fn admit(hits: &[i64], limit: u32, window: i64, now: i64) -> Result<State, RetryAfter> {
    let mut recent: State = hits.iter().copied().filter(|t| *t > now - window).collect();
    if recent.len() >= limit as usize {
        let oldest = recent.first().copied().unwrap_or(now);
        return Err(RetryAfter((oldest + window - now).max(1)));
    }
    recent.push(now);
    Ok(recent)
}

/// The latest event given back (a success, or an attempt never judged); the row lasts as long
/// as its newest remaining event counts.
fn take_back(hits: &[i64], window: i64) -> Write {
    let mut h = hits.to_vec();
    h.pop();
    let newest = *h.last()?;
    Some((h, newest + window))
}

fn parse(state: &str) -> State {
    state
        .split(' ')
        .filter_map(|t| t.parse::<i64>().ok())
        .collect()
}

fn render(state: &[i64]) -> String {
    state
        .iter()
        .map(i64::to_string)
        .collect::<Vec<_>>()
        .join(" ")
}

/// Reads `keys`' states (an expired row reads as empty), lets `decide` refuse or give each its
/// new state, and writes them only if no other process changed them meanwhile (else reads
/// again, a few times, before asking the client to come back in a second).
///
/// A client already over its limit is answered from a plain read, without a write transaction
/// (on SQLite the database's one writer), so a flood of refused attempts costs a read each.
async fn update<F>(
    db: &Db,
    keys: &[String],
    now: i64,
    decide: F,
) -> Result<Result<(), RetryAfter>, sqlx::Error>
where
    F: Fn(&[State]) -> Result<Vec<Write>, RetryAfter>,
{
    let mut states = Vec::with_capacity(keys.len());
    for key in keys {
        let row: Option<(String, i64)> =
            sqlx::query_as("SELECT state, expires_at FROM rate_limits WHERE name = $1")
                .bind(key)
                .fetch_optional(&db.pool)
                .await?;
        states.push(match row {
            Some((s, expires)) if expires > now => parse(&s),
            _ => State::new(),
        });
    }
    if let Err(wait) = decide(&states) {
        return Ok(Err(wait));
    }
    for round in 0..ROUNDS {
        if round > 0 {
            tokio::time::sleep(Duration::from_millis(1 << round.min(6))).await;
        }
        if let Some(outcome) = try_update(db, keys, now, &decide).await? {
            return Ok(outcome);
        }
    }
    tracing::warn!(keys = ?keys, "rate-limit row kept changing under this request; asked to retry");
    Ok(Err(RetryAfter(1)))
}

/// One compare-and-set round; `None` when another process changed a row first.
async fn try_update<F>(
    db: &Db,
    keys: &[String],
    now: i64,
    decide: &F,
) -> Result<Option<Result<(), RetryAfter>>, sqlx::Error>
where
    F: Fn(&[State]) -> Result<Vec<Write>, RetryAfter>,
{
    let mut tx = db.begin_write().await?;
    let postgres = db.backend == super::db::Backend::Postgres;
    let mut versions = Vec::with_capacity(keys.len());
    let mut states = Vec::with_capacity(keys.len());
    for key in keys {
        // PostgreSQL: lock the key's row (made empty if missing) until the commit, so
        // concurrent requests on one key queue instead of failing the version check; always in
        // the same order (account or everyone first, then the address), so none deadlock.
        // SQLite: the write transaction already holds the database.
        if postgres {
            sqlx::query(
                "INSERT INTO rate_limits (name, version, state, expires_at) VALUES ($1, 1, '', 0)
                 ON CONFLICT (name) DO NOTHING",
            )
            .bind(key)
            .execute(&mut *tx)
            .await?;
        }
        let row: Option<(i64, String, i64)> = sqlx::query_as(if postgres {
            "SELECT version, state, expires_at FROM rate_limits WHERE name = $1 FOR UPDATE"
        } else {
            "SELECT version, state, expires_at FROM rate_limits WHERE name = $1"
        })
        .bind(key)
        .fetch_optional(&mut *tx)
        .await?;
        versions.push(row.as_ref().map(|r| r.0));
        states.push(match row {
            Some((_, s, expires)) if expires > now => parse(&s),
            _ => State::new(),
        });
    }
    let writes = match decide(&states) {
        Ok(w) => w,
        Err(wait) => {
            tx.rollback().await?;
            return Ok(Some(Err(wait)));
        }
    };
    for ((key, version), write) in keys.iter().zip(versions).zip(writes) {
        let done = match (version, write) {
            (None, None) => 1,
            (None, Some((state, expires))) => sqlx::query(
                "INSERT INTO rate_limits (name, version, state, expires_at) VALUES ($1, 1, $2, $3)
                 ON CONFLICT (name) DO NOTHING",
            )
            .bind(key)
            .bind(render(&state))
            .bind(expires)
            .execute(&mut *tx)
            .await?
            .rows_affected(),
            (Some(v), Some((state, expires))) => sqlx::query(
                "UPDATE rate_limits SET version = version + 1, state = $2, expires_at = $3
                  WHERE name = $1 AND version = $4",
            )
            .bind(key)
            .bind(render(&state))
            .bind(expires)
            .bind(v)
            .execute(&mut *tx)
            .await?
            .rows_affected(),
            (Some(v), None) => {
                sqlx::query("DELETE FROM rate_limits WHERE name = $1 AND version = $2")
                    .bind(key)
                    .bind(v)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected()
            }
        };
        if done == 0 {
            tx.rollback().await?;
            return Ok(None);
        }
    }
    tx.commit().await?;
    Ok(Some(Ok(())))
}

/// Drops the rows that no longer count (run by housekeeping).
pub async fn sweep(db: &Db, now: i64) -> Result<u64, sqlx::Error> {
    Ok(
        sqlx::query("DELETE FROM rate_limits WHERE expires_at <= $1")
            .bind(now)
            .execute(db.writer())
            .await?
            .rows_affected(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    /// The rules applied to rows in memory, the way `update` applies them to the table's.
    struct Mem {
        limits: Limiter,
        rows: std::cell::RefCell<HashMap<String, (State, i64)>>,
    }

    impl Mem {
        fn apply(
            &self,
            keys: &[String],
            now: i64,
            f: impl Fn(&Limiter, &[State]) -> Result<Vec<Write>, RetryAfter>,
        ) -> Result<(), RetryAfter> {
            let mut rows = self.rows.borrow_mut();
            let states: Vec<State> = keys
                .iter()
                .map(|k| match rows.get(k) {
                    Some((s, expires)) if *expires > now => s.clone(),
                    _ => State::new(),
                })
                .collect();
            for (k, w) in keys.iter().zip(f(&self.limits, &states)?) {
                match w {
                    Some(row) => rows.insert(k.clone(), row),
                    None => rows.remove(k),
                };
            }
            Ok(())
        }
        fn begin_login(&self, a: &str, ip: Option<&str>, now: i64) -> Result<(), RetryAfter> {
            self.apply(&login_keys(a, ip), now, |l, s| l.login_writes(s, now))
        }
        fn login_succeeded(&self, a: &str, ip: Option<&str>) {
            let now = 0;
            self.apply(&login_keys(a, ip), now, |l, s| Ok(l.success_writes(s)))
                .unwrap();
        }
        fn login_abandoned(&self, a: &str, ip: Option<&str>) {
            let now = 0;
            self.apply(&login_keys(a, ip), now, |l, s| Ok(l.abandon_writes(s)))
                .unwrap();
        }
        fn hourly(&self, kind: Hourly, ip: Option<&str>, now: i64) -> Result<(), RetryAfter> {
            self.apply(&hourly_keys(kind.key(), ip), now, |l, s| {
                l.hourly_writes(s, now)
            })
        }
        fn begin_register(&self, ip: Option<&str>, now: i64) -> Result<(), RetryAfter> {
            self.hourly(Hourly::Register, ip, now)
        }
        fn begin_reset(&self, ip: Option<&str>, now: i64) -> Result<(), RetryAfter> {
            self.hourly(Hourly::Reset, ip, now)
        }
    }

    fn mem(l: Limiter) -> Mem {
        Mem {
            limits: l,
            rows: Default::default(),
        }
    }

    fn limiter() -> Mem {
        mem(Limiter::new(3, 100, 900, 5, 1000))
    }

    #[test]
    fn stored_state_round_trips() {
        assert_eq!(parse(&render(&[3, 1_700_000_000])), vec![3, 1_700_000_000]);
        assert_eq!(parse(""), Vec::<i64>::new());
        assert_eq!(Account::from_state(&[]), Account::default());
    }

    #[test]
    fn an_attempt_counts_before_its_password_is_checked() {
        let l = limiter();
        // Three attempts begin at once (none finished): the fourth must wait.
        for _ in 0..3 {
            assert_eq!(l.begin_login("a", Some("1.1.1.1"), 1000), Ok(()));
        }
        assert_eq!(
            l.begin_login("a", Some("2.2.2.2"), 1000),
            Err(RetryAfter(30))
        );
        // Other accounts are unaffected.
        assert_eq!(l.begin_login("b", Some("1.1.1.1"), 1000), Ok(()));
    }

    #[test]
    fn repeated_failures_wait_longer_each_time_but_never_past_the_window() {
        let l = limiter();
        let mut t = 1000;
        for _ in 0..3 {
            l.begin_login("a", None, t).unwrap();
        }
        let mut waits = Vec::new();
        for _ in 0..7 {
            let w = l.begin_login("a", None, t).unwrap_err().0;
            waits.push(w);
            t += w;
            l.begin_login("a", None, t).unwrap();
        }
        assert_eq!(waits, vec![30, 60, 120, 240, 480, 900, 900]);
        // Waiting out the longest delay allows one attempt, not a fresh set.
        assert_eq!(l.begin_login("a", None, t + 900), Ok(()));
        assert_eq!(l.begin_login("a", None, t + 901), Err(RetryAfter(899)));
        // A quiet window beyond the delay starts the count again.
        let quiet = t + 900 + 900 + 900;
        for _ in 0..3 {
            assert_eq!(l.begin_login("a", None, quiet), Ok(()));
        }
        assert!(l.begin_login("a", None, quiet).is_err());
    }

    #[test]
    fn success_clears_the_account_and_gives_the_address_its_attempt_back() {
        let l = mem(Limiter::new(2, 2, 60, 5, 1000));
        l.begin_login("a", Some("9.9.9.9"), 1).unwrap();
        l.login_succeeded("a", Some("9.9.9.9"));
        l.begin_login("a", Some("9.9.9.9"), 1).unwrap();
        l.begin_login("b", Some("9.9.9.9"), 1).unwrap();
        // The address has two failures in the window now.
        assert!(l.begin_login("c", Some("9.9.9.9"), 2).is_err());
        assert!(l.begin_login("c", Some("8.8.8.8"), 2).is_ok());
        assert!(l.begin_login("d", Some("9.9.9.9"), 62).is_ok());
    }

    #[test]
    fn an_attempt_refused_for_lack_of_workers_does_not_count() {
        let l = mem(Limiter::new(1, 1, 900, 5, 1000));
        l.begin_login("a", Some("1.1.1.1"), 10).unwrap();
        l.login_abandoned("a", Some("1.1.1.1"));
        assert_eq!(l.begin_login("a", Some("1.1.1.1"), 10), Ok(()));
    }

    #[test]
    fn registration_and_reset_have_their_own_budgets() {
        let l = mem(Limiter::new(5, 20, 900, 1, 1000));
        assert!(l.begin_register(Some("1.1.1.1"), 10).is_ok());
        assert!(l.begin_register(Some("1.1.1.1"), 10).is_err());
        assert!(l.begin_reset(Some("1.1.1.1"), 10).is_ok());
    }

    #[test]
    fn registration_is_limited_per_address_and_globally() {
        let l = mem(Limiter::new(5, 20, 900, 2, 3));
        assert!(l.begin_register(Some("1.1.1.1"), 10).is_ok());
        assert!(l.begin_register(Some("1.1.1.1"), 11).is_ok());
        assert_eq!(
            l.begin_register(Some("1.1.1.1"), 12),
            Err(RetryAfter(3600 - 2))
        );
        assert!(l.begin_register(Some("2.2.2.2"), 12).is_ok());
        // The global limit (3 an hour) is reached.
        assert!(l.begin_register(Some("3.3.3.3"), 13).is_err());
        assert!(l.begin_register(Some("3.3.3.3"), 10 + 3601).is_ok());
    }
}
