-- A listing's English title and description (optional: empty when the seller gave none), and
-- what its seller declares about the part of the price that does not go to households, per
-- unit in fen (NULL: not declared). Kept equivalent to ../postgres/20261210000001_english_costs_shares.sql.
ALTER TABLE listings ADD COLUMN title_en TEXT NOT NULL DEFAULT '';
ALTER TABLE listings ADD COLUMN description_en TEXT NOT NULL DEFAULT '';
ALTER TABLE listings ADD COLUMN cost_fen INTEGER CHECK (cost_fen IS NULL OR cost_fen >= 0);
ALTER TABLE listings ADD COLUMN logistics_fen INTEGER CHECK (logistics_fen IS NULL OR logistics_fen >= 0);
ALTER TABLE listings ADD COLUMN margin_fen INTEGER CHECK (margin_fen IS NULL OR margin_fen >= 0);

-- The search document gains the English title and description: search matches both languages.
DROP TRIGGER listings_derived_update;
CREATE TRIGGER listings_derived_update
AFTER UPDATE OF title, title_en, unit, description, description_en, origin_code, household_id, organisation_id, benefit_terms ON listings
BEGIN
    DELETE FROM listing_beneficiaries WHERE listing_id = OLD.id;
    INSERT INTO listing_beneficiaries (listing_id, household_id)
    SELECT NEW.id, NEW.household_id WHERE NEW.household_id IS NOT NULL
    UNION
    SELECT NEW.id, json_extract(j.value, '$[0]') FROM json_each(NEW.benefit_terms, '$.terms') j
     WHERE NEW.organisation_id IS NOT NULL;
    DELETE FROM listing_search WHERE rowid = OLD.id;
    INSERT INTO listing_search (rowid, doc)
    VALUES (NEW.id, NEW.title || ' ' || NEW.title_en || ' ' || NEW.unit || ' ' || NEW.description || ' ' || NEW.description_en || ' '
        || COALESCE((SELECT group_concat(name || ' ' || COALESCE(name_en, ''), ' ') FROM regions
                      WHERE code IN (NEW.origin_code, substr(NEW.origin_code, 1, 9), substr(NEW.origin_code, 1, 6))), '')
        || ' ' || COALESCE((SELECT name FROM organisations WHERE id = NEW.organisation_id), ''));
END;

-- Impact receipts their buyers chose to share: a random token (the short link `/s/r…`) per
-- order. Deleting the row stops the sharing; the order and its ledger rows are untouched.
CREATE TABLE impact_shares (
    token      TEXT PRIMARY KEY CHECK (length(token) = 12),
    order_id   INTEGER NOT NULL UNIQUE REFERENCES orders (id),
    created_at INTEGER NOT NULL
);
