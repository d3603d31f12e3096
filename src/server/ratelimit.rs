//! Rate limits for log-in, registration and password-reset codes, in memory per process.
//!
//! Log-in: every attempt is counted **before** its password is checked (check-and-record under
//! one lock), so a burst of concurrent guesses cannot all slip past the count; a success takes
//! its own attempt back. Per account the answer to repeated failures is a growing delay (1 s,
//! 2 s, 4 s … up to the window) rather than a hard lock-out, so an attacker cannot lock the
//! owner out for long (30 s, 60 s, 120 s … at most the window); per client address failures are
//! capped in the window.
//! Registration: per address and globally per hour.

use std::collections::HashMap;
use std::sync::Mutex;

#[derive(Debug)]
pub struct Limiter {
    per_account: u32,
    per_ip: u32,
    window_secs: i64,
    register_per_ip: u32,
    register_global: u32,
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    /// When expired entries were last dropped.
    pruned_at: i64,
    /// Per account: failed (or in-flight) attempts and when the last one began.
    accounts: HashMap<String, (u32, i64)>,
    /// Per key (`login:<ip>`, `register:<ip>`, `register:*`): times of recent events.
    hits: HashMap<String, Vec<i64>>,
}

/// Above this many tracked keys, expired entries are dropped (at most once a minute).
const PRUNE_ABOVE: usize = 10_000;
/// Above this many tracked accounts, those with few failures are forgotten.
const MAX_KEYS: usize = 200_000;
/// The first wait after an account's allowed failures.
const FIRST_DELAY_SECS: i64 = 30;
/// The registration window.
const HOUR: i64 = 3600;

/// How long to wait before trying again, in seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryAfter(pub i64);

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
            inner: Mutex::new(Inner::default()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
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

    /// Admits a log-in attempt and counts it as a failure until [`Limiter::login_succeeded`]
    /// takes it back; or says how long to wait.
    pub fn begin_login(&self, account: &str, ip: Option<&str>, now: i64) -> Result<(), RetryAfter> {
        let mut g = self.lock();
        g.prune(now, self.window_secs.max(HOUR));
        let (failures, last) = g.accounts.get(account).copied().unwrap_or((0, 0));
        // The count starts again only after a quiet window beyond the current delay, so
        // waiting out the longest delay does not earn a fresh set of free attempts.
        let failures = if now - last >= self.account_delay(failures) + self.window_secs {
            0
        } else {
            failures
        };
        let wait = last + self.account_delay(failures) - now;
        if failures > 0 && wait > 0 {
            return Err(RetryAfter(wait));
        }
        if let Some(ip) = ip {
            let key = format!("login:{ip}");
            let recent = g.recent(&key, now - self.window_secs);
            if recent >= self.per_ip as usize {
                let oldest = g
                    .hits
                    .get(&key)
                    .and_then(|v| v.first().copied())
                    .unwrap_or(now);
                return Err(RetryAfter((oldest + self.window_secs - now).max(1)));
            }
            g.hits.entry(key).or_default().push(now);
        }
        g.accounts.insert(account.to_owned(), (failures + 1, now));
        Ok(())
    }

    /// A correct password: the account's count starts again and this attempt no longer counts
    /// against the address.
    pub fn login_succeeded(&self, account: &str, ip: Option<&str>) {
        let mut g = self.lock();
        g.accounts.remove(account);
        if let Some(v) = ip.and_then(|ip| g.hits.get_mut(&format!("login:{ip}"))) {
            v.pop();
        }
    }

    /// An attempt that was never judged (the hashing queue was full): it does not count.
    pub fn login_abandoned(&self, account: &str, ip: Option<&str>) {
        let mut g = self.lock();
        if let Some(e) = g.accounts.get_mut(account) {
            e.0 = e.0.saturating_sub(1);
        }
        if let Some(v) = ip.and_then(|ip| g.hits.get_mut(&format!("login:{ip}"))) {
            v.pop();
        }
    }

    /// Admits a registration from `ip`, per address and globally per hour; or says how long
    /// to wait.
    pub fn begin_register(&self, ip: Option<&str>, now: i64) -> Result<(), RetryAfter> {
        self.begin_hourly("register", ip, now)
    }

    /// Admits a password-reset request, with its own per-address and global budget (so a flood
    /// of one cannot stop the other).
    pub fn begin_reset(&self, ip: Option<&str>, now: i64) -> Result<(), RetryAfter> {
        self.begin_hourly("reset", ip, now)
    }

    /// Admits a self-report (一键报贫), with its own per-address and global budget.
    pub fn begin_report(&self, ip: Option<&str>, now: i64) -> Result<(), RetryAfter> {
        self.begin_hourly("report", ip, now)
    }

    fn begin_hourly(&self, kind: &str, ip: Option<&str>, now: i64) -> Result<(), RetryAfter> {
        let mut g = self.lock();
        g.prune(now, self.window_secs.max(HOUR));
        let global = format!("{kind}:*");
        if g.recent(&global, now - HOUR) >= self.register_global as usize {
            return Err(RetryAfter(60));
        }
        if let Some(ip) = ip {
            let key = format!("{kind}:{ip}");
            if g.recent(&key, now - HOUR) >= self.register_per_ip as usize {
                let oldest = g
                    .hits
                    .get(&key)
                    .and_then(|v| v.first().copied())
                    .unwrap_or(now);
                return Err(RetryAfter((oldest + HOUR - now).max(1)));
            }
            g.hits.entry(key).or_default().push(now);
        }
        g.hits.entry(global).or_default().push(now);
        Ok(())
    }
}

impl Inner {
    /// Events of `key` after `since`, dropping older ones.
    fn recent(&mut self, key: &str, since: i64) -> usize {
        match self.hits.get_mut(key) {
            Some(v) => {
                v.retain(|t| *t > since);
                v.len()
            }
            None => 0,
        }
    }

    /// Drops expired entries, at most once a minute (never a scan per request); past
    /// [`MAX_KEYS`] it also forgets accounts that have failed less than the limit, which only
    /// gives those a fresh count.
    fn prune(&mut self, now: i64, horizon: i64) {
        if self.accounts.len() + self.hits.len() <= PRUNE_ABOVE || now - self.pruned_at < 60 {
            return;
        }
        self.pruned_at = now;
        let cutoff = now - horizon;
        self.accounts.retain(|_, (_, last)| *last > cutoff);
        self.hits.retain(|_, v| {
            v.retain(|t| *t > cutoff);
            !v.is_empty()
        });
        if self.accounts.len() > MAX_KEYS {
            self.accounts.retain(|_, (failures, _)| *failures >= 3);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limiter() -> Limiter {
        Limiter::new(3, 100, 900, 5, 1000)
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
        let l = Limiter::new(2, 2, 60, 5, 1000);
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
        let l = Limiter::new(1, 1, 900, 5, 1000);
        l.begin_login("a", Some("1.1.1.1"), 10).unwrap();
        l.login_abandoned("a", Some("1.1.1.1"));
        assert_eq!(l.begin_login("a", Some("1.1.1.1"), 10), Ok(()));
    }

    #[test]
    fn registration_and_reset_have_their_own_budgets() {
        let l = Limiter::new(5, 20, 900, 1, 1000);
        assert!(l.begin_register(Some("1.1.1.1"), 10).is_ok());
        assert!(l.begin_register(Some("1.1.1.1"), 10).is_err());
        assert!(l.begin_reset(Some("1.1.1.1"), 10).is_ok());
    }

    #[test]
    fn registration_is_limited_per_address_and_globally() {
        let l = Limiter::new(5, 20, 900, 2, 3);
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
