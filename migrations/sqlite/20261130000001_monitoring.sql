-- Issue 9: 防止返贫监测. Kept equivalent to ../postgres/20261130000001_monitoring.sql.
--
-- income_months: each household's ledger income per China-time month (month_start is the Unix
-- time of the month's first day, 00:00 UTC+8). Written only by the ledger's append, in the
-- transaction that adds the rows it sums, so it always equals the ledger; it exists so that
-- "rolling 12-month income" is a 12-row lookup per household rather than a scan of the ledger.
-- Verified and attested (seller-confirmed transfers) apart; verified_rows counts the month as
-- present in the rolling figure.
CREATE TABLE income_months (
    household_id  INTEGER NOT NULL REFERENCES households (id),
    month_start   INTEGER NOT NULL,
    verified_fen  INTEGER NOT NULL DEFAULT 0,
    attested_fen  INTEGER NOT NULL DEFAULT 0,
    verified_rows INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (household_id, month_start)
);
CREATE INDEX income_months_month ON income_months (month_start);

INSERT INTO income_months (household_id, month_start, verified_fen, attested_fen, verified_rows)
SELECT household_id,
       CAST(strftime('%s', occurred_at + 28800, 'unixepoch', 'start of month') AS INTEGER) - 28800,
       SUM(CASE WHEN source_type IN ('sale', 'sale_reversal') AND (evidence IS NULL OR evidence = 'transfer') THEN 0 ELSE amount_fen END),
       SUM(CASE WHEN source_type IN ('sale', 'sale_reversal') AND (evidence IS NULL OR evidence = 'transfer') THEN amount_fen ELSE 0 END),
       SUM(CASE WHEN source_type IN ('sale', 'sale_reversal') AND (evidence IS NULL OR evidence = 'transfer') THEN 0 ELSE 1 END)
  FROM ledger_entries
 GROUP BY 1, 2;

-- 一键报贫: self-reports from the household, a neighbour or a cadre. State: submitted →
-- notice (verified; the village's 5-day notice runs from notice_from) → identified | dismissed.
CREATE TABLE monitoring_reports (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    receipt         TEXT NOT NULL UNIQUE,
    reporter_kind   TEXT NOT NULL CHECK (reporter_kind IN ('self', 'neighbour', 'cadre')),
    name            TEXT NOT NULL,
    phone           TEXT NOT NULL,
    village_code    TEXT NOT NULL REFERENCES regions (code),
    reason          TEXT NOT NULL CHECK (reason IN ('illness', 'disaster', 'job_loss', 'other')),
    detail          TEXT NOT NULL,
    state           TEXT NOT NULL CHECK (state IN ('submitted', 'notice', 'identified', 'dismissed')),
    household_id    INTEGER REFERENCES households (id),
    verification    TEXT,
    consent         INTEGER NOT NULL DEFAULT 0 CHECK (consent IN (0, 1)),
    verified_by     INTEGER REFERENCES users (id),
    notice_from     INTEGER,
    decided_by      INTEGER REFERENCES users (id),
    decision_note   TEXT,
    is_demo         INTEGER NOT NULL DEFAULT 0 CHECK (is_demo IN (0, 1)),
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    CHECK (state = 'submitted' OR state = 'dismissed' OR household_id IS NOT NULL)
);
CREATE INDEX monitoring_reports_village ON monitoring_reports (village_code, state, created_at);

-- 监测对象: a household identified for monitoring, its category and cadre. Exit (风险消除)
-- keeps the row (state 'eliminated'); reopening sets it back to 'monitored'.
CREATE TABLE monitoring_objects (
    household_id  INTEGER PRIMARY KEY REFERENCES households (id),
    category      TEXT NOT NULL CHECK (category IN ('unstable', 'marginal', 'sudden')),
    state         TEXT NOT NULL CHECK (state IN ('monitored', 'eliminated')),
    cadre_id      INTEGER REFERENCES users (id),
    report_id     INTEGER REFERENCES monitoring_reports (id),
    identified_at INTEGER NOT NULL,
    eliminated_at INTEGER,
    updated_at    INTEGER NOT NULL
);
CREATE INDEX monitoring_objects_cadre ON monitoring_objects (cadre_id);

-- The monitoring history of each household: append-only.
CREATE TABLE monitoring_events (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    household_id INTEGER NOT NULL REFERENCES households (id),
    event        TEXT NOT NULL CHECK (event IN ('identified', 'category', 'cadre', 'eliminated', 'reopened')),
    category     TEXT,
    note         TEXT,
    user_id      INTEGER REFERENCES users (id),
    at           INTEGER NOT NULL
);
CREATE INDEX monitoring_events_household ON monitoring_events (household_id, at);
CREATE TRIGGER monitoring_events_no_update BEFORE UPDATE ON monitoring_events
BEGIN
    SELECT RAISE(ABORT, 'monitoring_events are append-only');
END;
CREATE TRIGGER monitoring_events_no_delete BEFORE DELETE ON monitoring_events
BEGIN
    SELECT RAISE(ABORT, 'monitoring_events are append-only');
END;

-- 走访: a cadre's visit to a household (visited_on is a China date, YYYY-MM-DD).
CREATE TABLE visits (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    household_id INTEGER NOT NULL REFERENCES households (id),
    cadre_id     INTEGER NOT NULL REFERENCES users (id),
    visited_on   TEXT NOT NULL,
    seen         TEXT NOT NULL,
    needs        TEXT NOT NULL,
    next_steps   TEXT NOT NULL,
    created_at   INTEGER NOT NULL
);
CREATE INDEX visits_household ON visits (household_id, visited_on);

-- Who looked at or changed a household's file, and what: append-only.
CREATE TABLE audit_log (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id      INTEGER REFERENCES users (id),
    action       TEXT NOT NULL,
    household_id INTEGER REFERENCES households (id),
    region_code  TEXT NOT NULL,
    detail       TEXT,
    at           INTEGER NOT NULL
);
CREATE INDEX audit_log_region ON audit_log (region_code, id);
CREATE INDEX audit_log_household ON audit_log (household_id, id);
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;
