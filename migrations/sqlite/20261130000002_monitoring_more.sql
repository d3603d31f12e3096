-- Issue 9, continued (SQLite; kept equivalent to ../postgres/20261130000002_monitoring_more.sql):
-- early-warning tasks, the members of a household, assistance measures, 1+1 pairings of social
-- organisations with villages, what a benefit link promises, and the registry's household number.

-- A visit the paired cadre should make, and why. At most one open task per household and kind.
CREATE TABLE monitoring_tasks (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    household_id INTEGER NOT NULL REFERENCES households (id),
    kind         TEXT NOT NULL CHECK (kind IN ('near_line', 'drop', 'stalled')),
    reason       TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    done_at      INTEGER
);
CREATE UNIQUE INDEX monitoring_tasks_open ON monitoring_tasks (household_id, kind) WHERE done_at IS NULL;
CREATE INDEX monitoring_tasks_household ON monitoring_tasks (household_id, done_at);

-- 家庭成员: ID numbers and phones are shown in full only to officials of the household's county.
CREATE TABLE household_members (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    household_id INTEGER NOT NULL REFERENCES households (id),
    name         TEXT NOT NULL,
    relation     TEXT NOT NULL CHECK (relation IN ('head', 'spouse', 'child', 'parent', 'grandchild', 'other')),
    id_number    TEXT,
    phone        TEXT,
    created_at   INTEGER NOT NULL
);
CREATE INDEX household_members_household ON household_members (household_id);

-- 帮扶措施: industry, employment, social assistance, 低保 and 特困 (兜底) enrolment; `ends_on` is
-- when a 延保渐退 (support kept on after exit) ends.
CREATE TABLE assistance_measures (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    household_id INTEGER NOT NULL REFERENCES households (id),
    kind         TEXT NOT NULL CHECK (kind IN ('industry', 'employment', 'social', 'dibao', 'tekun')),
    detail       TEXT NOT NULL,
    starts_on    TEXT NOT NULL,
    ends_on      TEXT,
    recorded_by  INTEGER REFERENCES users (id),
    created_at   INTEGER NOT NULL
);
CREATE INDEX assistance_measures_household ON assistance_measures (household_id);

-- 阳光 1+1 牵手计划: a social organisation paired with an old revolutionary-base village.
CREATE TABLE org_village_pairings (
    organisation_id INTEGER NOT NULL REFERENCES organisations (id),
    village_code    TEXT NOT NULL REFERENCES regions (code),
    since_year      INTEGER NOT NULL,
    projects        TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (organisation_id, village_code)
);
CREATE INDEX org_village_pairings_village ON org_village_pairings (village_code);

-- What a benefit link declares it pays the household a year (fen), to set against what the
-- ledger shows it paid.
ALTER TABLE benefit_links ADD COLUMN declared_fen INTEGER CHECK (declared_fen IS NULL OR declared_fen > 0);

-- The household's number in the national registry: what an import matches on.
ALTER TABLE households ADD COLUMN registry_id TEXT;
CREATE UNIQUE INDEX households_registry ON households (registry_id) WHERE registry_id IS NOT NULL;

-- Imports of the household registry: what each read, added, updated and refused (the first
-- 200 refusals, by line, as JSON), for the official who ran it.
CREATE TABLE registry_imports (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id    INTEGER NOT NULL REFERENCES users (id),
    rows_read  INTEGER NOT NULL,
    inserted   INTEGER NOT NULL,
    updated    INTEGER NOT NULL,
    failed     INTEGER NOT NULL,
    errors     TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
