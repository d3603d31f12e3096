-- Foundation schema (SQLite). Kept equivalent to ../postgres/20261128000001_foundation.sql.
-- Money is integer fen; times are Unix seconds (UTC).

CREATE TABLE regions (
    code        TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    name_en     TEXT,
    level       TEXT NOT NULL CHECK (level IN ('province', 'city', 'county', 'township', 'village')),
    parent_code TEXT REFERENCES regions (code),
    is_demo     INTEGER NOT NULL DEFAULT 0 CHECK (is_demo IN (0, 1))
);
CREATE INDEX regions_parent ON regions (parent_code);

CREATE TABLE organisations (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    name         TEXT NOT NULL UNIQUE,
    kind         TEXT NOT NULL CHECK (kind IN ('coop', 'enterprise', 'institution', 'social')),
    region_code  TEXT NOT NULL REFERENCES regions (code),
    product_line TEXT,
    is_demo      INTEGER NOT NULL DEFAULT 0 CHECK (is_demo IN (0, 1)),
    created_at   INTEGER NOT NULL
);
CREATE INDEX organisations_region ON organisations (region_code);

CREATE TABLE households (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    region_code   TEXT NOT NULL REFERENCES regions (code),
    head_name     TEXT NOT NULL,
    members       INTEGER NOT NULL CHECK (members > 0),
    story         TEXT,
    story_consent INTEGER NOT NULL DEFAULT 0 CHECK (story_consent IN (0, 1)),
    is_demo       INTEGER NOT NULL DEFAULT 0 CHECK (is_demo IN (0, 1)),
    created_at    INTEGER NOT NULL
);
CREATE INDEX households_region ON households (region_code);

-- Last year's (or any year's) per-capita income, the baseline for monitoring.
CREATE TABLE household_baselines (
    household_id    INTEGER NOT NULL REFERENCES households (id),
    year            INTEGER NOT NULL,
    per_capita_fen  INTEGER NOT NULL,
    PRIMARY KEY (household_id, year)
);

-- The monitoring line (防止返贫监测线) is a per-year setting.
CREATE TABLE monitoring_lines (
    year           INTEGER PRIMARY KEY,
    per_capita_fen INTEGER NOT NULL CHECK (per_capita_fen > 0)
);

CREATE TABLE benefit_links (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    household_id    INTEGER NOT NULL REFERENCES households (id),
    organisation_id INTEGER NOT NULL REFERENCES organisations (id),
    link_type       TEXT NOT NULL CHECK (link_type IN ('order_purchase', 'guaranteed_purchase', 'employment', 'dividend', 'land_transfer')),
    terms           TEXT NOT NULL,
    since_year      INTEGER NOT NULL,
    UNIQUE (household_id, organisation_id, link_type)
);
CREATE INDEX benefit_links_org ON benefit_links (organisation_id);

CREATE TABLE users (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    login           TEXT NOT NULL UNIQUE,
    password_hash   TEXT NOT NULL,
    display_name    TEXT NOT NULL,
    role            TEXT NOT NULL CHECK (role IN ('buyer', 'institution_buyer', 'household', 'cadre', 'org_manager', 'official', 'admin')),
    region_code     TEXT REFERENCES regions (code),
    organisation_id INTEGER REFERENCES organisations (id),
    household_id    INTEGER REFERENCES households (id),
    is_demo         INTEGER NOT NULL DEFAULT 0 CHECK (is_demo IN (0, 1)),
    created_at      INTEGER NOT NULL,
    CHECK (role <> 'official' OR region_code IS NOT NULL),
    CHECK (role NOT IN ('org_manager', 'institution_buyer') OR organisation_id IS NOT NULL),
    CHECK (role <> 'household' OR household_id IS NOT NULL)
);

CREATE TABLE cadre_pairings (
    user_id      INTEGER NOT NULL REFERENCES users (id),
    household_id INTEGER NOT NULL REFERENCES households (id),
    PRIMARY KEY (user_id, household_id)
);

CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
