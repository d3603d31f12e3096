-- 季度帮扶成效评估: once a quarter, the paired cadre (or an official) reviews what the support of
-- a monitored household achieved. The rolling per-capita income at the time of the review is
-- written by the server, so the change since the last review rests on the ledger, not on a
-- figure typed in. Append-only: one review per household and quarter; a correction is next
-- quarter's review.
CREATE TABLE effect_reviews (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    household_id       INTEGER NOT NULL REFERENCES households (id),
    quarter            TEXT NOT NULL,
    reviewer_id        INTEGER NOT NULL REFERENCES users (id),
    rolling_pc_fen     INTEGER,
    conclusion         TEXT NOT NULL CHECK (conclusion IN ('improving', 'stable', 'at_risk')),
    measures_effective INTEGER NOT NULL CHECK (measures_effective IN (0, 1)),
    findings           TEXT NOT NULL,
    next_steps         TEXT NOT NULL,
    created_at         INTEGER NOT NULL,
    UNIQUE (household_id, quarter)
);
CREATE TRIGGER effect_reviews_no_update BEFORE UPDATE ON effect_reviews
BEGIN
    SELECT RAISE(ABORT, 'effect_reviews are append-only');
END;
CREATE TRIGGER effect_reviews_no_delete BEFORE DELETE ON effect_reviews
BEGIN
    SELECT RAISE(ABORT, 'effect_reviews are append-only');
END;
