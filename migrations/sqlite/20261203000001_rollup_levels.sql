-- The roll-ups kept per region of every level instead of per village (src/ledger/rollup.rs
-- owns these tables). A village's figures are added under each of the first 2, 4, 6, 9 and 12
-- digits of its code (k, prefix): province, city, county, township and village. A region's
-- dashboard then reads one row per region below it (and per month) instead of one per village
-- inside it: at a province of 15,000 villages, about 100 rows instead of 150,000.
DROP TABLE village_months;
DROP TABLE village_years;
DROP TABLE rollup_villages;
-- Ledger income per region and China-time month, verified and attested apart.
CREATE TABLE region_months (
    k            INTEGER NOT NULL,
    prefix       TEXT NOT NULL,
    month_start  INTEGER NOT NULL,
    verified_fen INTEGER NOT NULL DEFAULT 0,
    attested_fen INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (k, prefix, month_start)
);
-- Per region and year: households with a sale (counted once, by household_sale_years), by
-- their village; and GMV of paid orders, by the listing's origin.
CREATE TABLE region_years (
    k               INTEGER NOT NULL,
    prefix          TEXT NOT NULL,
    year            INTEGER NOT NULL,
    sale_households INTEGER NOT NULL DEFAULT 0,
    gmv_fen         INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (k, prefix, year)
);
-- How many households of a region are in each bucket of the distribution, per epoch.
CREATE TABLE rollup_regions (
    epoch  INTEGER NOT NULL,
    k      INTEGER NOT NULL,
    prefix TEXT NOT NULL,
    b0 INTEGER NOT NULL DEFAULT 0, b1 INTEGER NOT NULL DEFAULT 0, b2 INTEGER NOT NULL DEFAULT 0,
    b3 INTEGER NOT NULL DEFAULT 0, b4 INTEGER NOT NULL DEFAULT 0, b5 INTEGER NOT NULL DEFAULT 0,
    b6 INTEGER NOT NULL DEFAULT 0, b7 INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (epoch, k, prefix)
);
-- The sums are refilled from the ledger at the next start (the watermark says they count
-- nothing), and every epoch is rebuilt: the retired ones are purged at the next housekeeping.
UPDATE rollup_state SET sums_through = NULL WHERE id = 1;
UPDATE rollup_epochs SET state = 'retired', retired_at = 0;
