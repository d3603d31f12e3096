-- Rate limits (log-in attempts per account and per address, registrations, reset codes and
-- self-reports per address and overall) kept in the database, so every app process sharing it
-- counts the same attempts. One row per counted key; `version` makes each change a
-- compare-and-set; rows past `expires_at` count as empty and are swept.
CREATE TABLE rate_limits (
    name TEXT PRIMARY KEY,
    version BIGINT NOT NULL,
    state TEXT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX rate_limits_expiry ON rate_limits (expires_at);
