-- Maintained roll-ups (src/ledger/rollup.rs owns these tables; nothing else writes them). They
-- make the officials' dashboard read a few rows per village instead of every household and
-- ledger row, and always equal what the live queries over the ledger would say
-- (`zhunong check-rollup`, and the tests, compare the two).
--
-- Rolling income against the line depends on the 12-month window (it moves each month) and
-- on the year's line, so it is kept per epoch: one (window, line) pair. An epoch is built in
-- the background in chunks while every posting keeps every epoch being built or ready current;
-- the dashboard reads an epoch only once it is ready and matches the window and line of now,
-- and computes the figures live otherwise. A replaced epoch is retired, and its rows deleted an
-- hour later (a request that began reading it finishes first).
CREATE TABLE rollup_epochs (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    window_from INTEGER NOT NULL,
    line_fen    INTEGER,
    state       TEXT NOT NULL CHECK (state IN ('building', 'ready', 'retired')),
    created_at  INTEGER NOT NULL,
    ready_at    INTEGER,
    retired_at  INTEGER
);
-- Each household's rolling per-capita income in an epoch, its village then, and its bucket
-- of the distribution against the epoch's line (7 = no figure). (bucket, rank_pc, household_id)
-- is the household list's order, most at risk first (rank_pc is the income, 0 when none), so a
-- page of it is a walk along the index below.
CREATE TABLE rollup_households (
    epoch        INTEGER NOT NULL,
    household_id INTEGER NOT NULL,
    village_code TEXT NOT NULL,
    rolling_pc   INTEGER,
    bucket       INTEGER NOT NULL,
    rank_pc      INTEGER NOT NULL,
    PRIMARY KEY (epoch, household_id)
);
CREATE INDEX rollup_households_rank ON rollup_households (epoch, bucket, rank_pc, household_id);
-- How many households of a village are in each bucket, per epoch.
CREATE TABLE rollup_villages (
    epoch        INTEGER NOT NULL,
    village_code TEXT NOT NULL,
    b0 INTEGER NOT NULL DEFAULT 0, b1 INTEGER NOT NULL DEFAULT 0, b2 INTEGER NOT NULL DEFAULT 0,
    b3 INTEGER NOT NULL DEFAULT 0, b4 INTEGER NOT NULL DEFAULT 0, b5 INTEGER NOT NULL DEFAULT 0,
    b6 INTEGER NOT NULL DEFAULT 0, b7 INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (epoch, village_code)
);
-- The village whose sums below hold a household's income (its region when last counted; a
-- household moved by an import has its sums moved with it).
CREATE TABLE rollup_places (
    household_id INTEGER PRIMARY KEY,
    village_code TEXT NOT NULL
);
-- Ledger income per village and China-time month, verified and attested apart.
CREATE TABLE village_months (
    village_code TEXT NOT NULL,
    month_start  INTEGER NOT NULL,
    verified_fen INTEGER NOT NULL DEFAULT 0,
    attested_fen INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (month_start, village_code)
);
-- Per region code and year: households with a sale (counted once, by household_sale_years),
-- by their village; and GMV of paid orders, by the listing's origin.
CREATE TABLE village_years (
    region_code     TEXT NOT NULL,
    year            INTEGER NOT NULL,
    sale_households INTEGER NOT NULL DEFAULT 0,
    gmv_fen         INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (year, region_code)
);
CREATE TABLE household_sale_years (
    household_id INTEGER NOT NULL,
    year         INTEGER NOT NULL,
    PRIMARY KEY (household_id, year)
);
-- sums_through: the last ledger row the sums count. NULL until the server fills them from the
-- ledger (at its next start); each posting moves it on only if it was current, so rows posted
-- by anything that does not keep the sums (an older server still running after the migration)
-- leave it behind, and the sums are refilled and not read until then.
CREATE TABLE rollup_state (
    id           INTEGER PRIMARY KEY CHECK (id = 1),
    sums_through INTEGER
);
INSERT INTO rollup_state (id) VALUES (1);
