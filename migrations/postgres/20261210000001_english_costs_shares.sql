-- A listing's English title and description (optional: empty when the seller gave none), and
-- what its seller declares about the part of the price that does not go to households, per
-- unit in fen (NULL: not declared). Kept equivalent to ../sqlite/20261210000001_english_costs_shares.sql.
ALTER TABLE listings
    ADD COLUMN title_en TEXT NOT NULL DEFAULT '',
    ADD COLUMN description_en TEXT NOT NULL DEFAULT '',
    ADD COLUMN cost_fen BIGINT CHECK (cost_fen IS NULL OR cost_fen >= 0),
    ADD COLUMN logistics_fen BIGINT CHECK (logistics_fen IS NULL OR logistics_fen >= 0),
    ADD COLUMN margin_fen BIGINT CHECK (margin_fen IS NULL OR margin_fen >= 0);

-- The search document gains the English title and description: search matches both languages.
CREATE OR REPLACE FUNCTION listings_derived() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM listing_beneficiaries WHERE listing_id = NEW.id;
    INSERT INTO listing_beneficiaries (listing_id, household_id)
    SELECT NEW.id, NEW.household_id WHERE NEW.household_id IS NOT NULL
    UNION
    SELECT NEW.id, (j.value ->> 0)::BIGINT
      FROM jsonb_array_elements(CASE WHEN jsonb_typeof(NEW.benefit_terms::jsonb -> 'terms') = 'array'
                                     THEN NEW.benefit_terms::jsonb -> 'terms' ELSE '[]'::jsonb END) j
     WHERE NEW.organisation_id IS NOT NULL;
    INSERT INTO listing_search (listing_id, doc)
    VALUES (NEW.id, concat_ws(' ', NEW.title, NEW.title_en, NEW.unit, NEW.description, NEW.description_en,
        (SELECT string_agg(name || ' ' || COALESCE(name_en, ''), ' ') FROM regions
          WHERE code IN (NEW.origin_code, substr(NEW.origin_code, 1, 9), substr(NEW.origin_code, 1, 6))),
        (SELECT name FROM organisations WHERE id = NEW.organisation_id)))
    ON CONFLICT (listing_id) DO UPDATE SET doc = EXCLUDED.doc;
    RETURN NULL;
END
$$;

DROP TRIGGER listings_derived ON listings;
CREATE TRIGGER listings_derived
AFTER INSERT OR UPDATE OF title, title_en, unit, description, description_en, origin_code, household_id, organisation_id, benefit_terms ON listings
FOR EACH ROW EXECUTE FUNCTION listings_derived();

-- Impact receipts their buyers chose to share: a random token (the short link `/s/r…`) per
-- order. Deleting the row stops the sharing; the order and its ledger rows are untouched.
CREATE TABLE impact_shares (
    token      TEXT PRIMARY KEY CHECK (length(token) = 12),
    order_id   BIGINT NOT NULL UNIQUE REFERENCES orders (id),
    created_at BIGINT NOT NULL
);
