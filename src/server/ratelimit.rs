//! Log-in rate limiting: failed attempts are counted per account and per client address in a
//! sliding window; past the limit, log-in answers 429 without checking the password.

use std::collections::HashMap;
use std::sync::Mutex;

#[derive(Debug)]
pub struct LoginLimiter {
    per_account: u32,
    per_ip: u32,
    window_secs: i64,
    failures: Mutex<HashMap<String, Vec<i64>>>,
}

/// Above this many tracked keys, old entries are pruned on the next write.
const PRUNE_ABOVE: usize = 10_000;

impl LoginLimiter {
    pub fn new(per_account: u32, per_ip: u32, window_secs: i64) -> LoginLimiter {
        LoginLimiter {
            per_account,
            per_ip,
            window_secs,
            failures: Mutex::new(HashMap::new()),
        }
    }

    fn count(&self, key: &str, now: i64) -> usize {
        let map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        map.get(key).map_or(0, |v| {
            v.iter().filter(|t| **t > now - self.window_secs).count()
        })
    }

    /// Whether another attempt for this account from this address may go ahead.
    pub fn allowed(&self, account: &str, ip: Option<&str>, now: i64) -> bool {
        if self.count(&format!("a:{account}"), now) >= self.per_account as usize {
            return false;
        }
        match ip {
            Some(ip) => self.count(&format!("i:{ip}"), now) < self.per_ip as usize,
            None => true,
        }
    }

    pub fn record_failure(&self, account: &str, ip: Option<&str>, now: i64) {
        let mut map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() > PRUNE_ABOVE {
            let cutoff = now - self.window_secs;
            map.retain(|_, v| {
                v.retain(|t| *t > cutoff);
                !v.is_empty()
            });
        }
        map.entry(format!("a:{account}")).or_default().push(now);
        if let Some(ip) = ip {
            map.entry(format!("i:{ip}")).or_default().push(now);
        }
    }

    /// A successful log-in clears the account's failures (not the address's).
    pub fn record_success(&self, account: &str) {
        let mut map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        map.remove(&format!("a:{account}"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_after_the_account_limit_until_the_window_passes() {
        let l = LoginLimiter::new(3, 100, 60);
        for _ in 0..3 {
            assert!(l.allowed("a", Some("1.1.1.1"), 1000));
            l.record_failure("a", Some("1.1.1.1"), 1000);
        }
        assert!(!l.allowed("a", Some("2.2.2.2"), 1001));
        assert!(l.allowed("b", Some("1.1.1.1"), 1001));
        assert!(l.allowed("a", None, 1061));
    }

    #[test]
    fn blocks_an_address_trying_many_accounts() {
        let l = LoginLimiter::new(100, 5, 60);
        for i in 0..5 {
            l.record_failure(&format!("user{i}"), Some("9.9.9.9"), 10);
        }
        assert!(!l.allowed("fresh", Some("9.9.9.9"), 11));
        assert!(l.allowed("fresh", Some("8.8.8.8"), 11));
    }

    #[test]
    fn success_clears_the_account() {
        let l = LoginLimiter::new(2, 100, 60);
        l.record_failure("a", None, 1);
        l.record_failure("a", None, 1);
        assert!(!l.allowed("a", None, 2));
        l.record_success("a");
        assert!(l.allowed("a", None, 2));
    }
}
