-- Catalogue search and the "from households under monitoring" filter (SQLite).
-- Kept equivalent to ../postgres/20261128000003_search.sql. Both tables are derived from
-- `listings` by the triggers below, so every writer (the app, the seed, the benchmark) keeps
-- them current; neither is a record of its own.

-- The households each listing benefits: its own household, or those named in its benefit terms
-- (JSON of domain::allocation::BenefitTerms, `{"kind": "per_unit" | "shares", "terms": [[household_id, n], ...]}`).
CREATE TABLE listing_beneficiaries (
    listing_id   INTEGER NOT NULL REFERENCES listings (id),
    household_id INTEGER NOT NULL REFERENCES households (id),
    PRIMARY KEY (listing_id, household_id)
);
CREATE INDEX listing_beneficiaries_household ON listing_beneficiaries (household_id);

-- One search document per listing (rowid = listing id): title, unit, description, the origin
-- village, township and county (Chinese and English names) and the co-op's name. The trigram
-- tokenizer matches any run of 3+ characters, which suits Chinese (no spaces between words);
-- shorter queries use LIKE on the same documents.
CREATE VIRTUAL TABLE listing_search USING fts5 (doc, tokenize = 'trigram');

CREATE TRIGGER listings_derived_update
AFTER UPDATE OF title, unit, description, origin_code, household_id, organisation_id, benefit_terms ON listings
BEGIN
    DELETE FROM listing_beneficiaries WHERE listing_id = OLD.id;
    INSERT INTO listing_beneficiaries (listing_id, household_id)
    SELECT NEW.id, NEW.household_id WHERE NEW.household_id IS NOT NULL
    UNION
    SELECT NEW.id, json_extract(j.value, '$[0]') FROM json_each(NEW.benefit_terms, '$.terms') j
     WHERE NEW.organisation_id IS NOT NULL;
    DELETE FROM listing_search WHERE rowid = OLD.id;
    INSERT INTO listing_search (rowid, doc)
    VALUES (NEW.id, NEW.title || ' ' || NEW.unit || ' ' || NEW.description || ' '
        || COALESCE((SELECT group_concat(name || ' ' || COALESCE(name_en, ''), ' ') FROM regions
                      WHERE code IN (NEW.origin_code, substr(NEW.origin_code, 1, 9), substr(NEW.origin_code, 1, 6))), '')
        || ' ' || COALESCE((SELECT name FROM organisations WHERE id = NEW.organisation_id), ''));
END;

-- A new listing: touching it runs the update trigger above, the one place both tables are derived.
CREATE TRIGGER listings_derived_insert AFTER INSERT ON listings
BEGIN
    UPDATE listings SET benefit_terms = benefit_terms WHERE id = NEW.id;
END;

-- Existing listings: the update trigger fills both tables.
UPDATE listings SET title = title;

-- The catalogue's default order (need) and "newest" read straight from an index, so a page's
-- 100 ids come without sorting every listing; they replace the plain status index.
DROP INDEX listings_status;
CREATE INDEX listings_need ON listings (status = 'sold_out', stalled DESC, COALESCE(stalled_quantity, 0) DESC, created_at DESC, id DESC)
    WHERE status IN ('on_sale', 'sold_out');
CREATE INDEX listings_newest ON listings (status = 'sold_out', created_at DESC, id DESC)
    WHERE status IN ('on_sale', 'sold_out');
