-- Catalogue search and the "from households under monitoring" filter (PostgreSQL).
-- Kept equivalent to ../sqlite/20261128000003_search.sql. Both tables are derived from
-- `listings` by the trigger below, so every writer (the app, the seed, the benchmark) keeps
-- them current; neither is a record of its own.

-- pg_trgm is a trusted extension (PostgreSQL 13+): a database owner may create it.
CREATE EXTENSION IF NOT EXISTS pg_trgm;

-- The households each listing benefits: its own household, or those named in its benefit terms
-- (JSON of domain::allocation::BenefitTerms, `{"kind": "per_unit" | "shares", "terms": [[household_id, n], ...]}`).
CREATE TABLE listing_beneficiaries (
    listing_id   BIGINT NOT NULL REFERENCES listings (id),
    household_id BIGINT NOT NULL REFERENCES households (id),
    PRIMARY KEY (listing_id, household_id)
);
CREATE INDEX listing_beneficiaries_household ON listing_beneficiaries (household_id);

-- One search document per listing: title, unit, description, the origin village, township and
-- county (Chinese and English names) and the co-op's name. The trigram GIN index serves
-- ILIKE '%…%' for any query of 3+ characters, which suits Chinese (no spaces between words);
-- shorter queries scan the documents.
CREATE TABLE listing_search (
    listing_id BIGINT PRIMARY KEY REFERENCES listings (id),
    doc        TEXT NOT NULL
);
CREATE INDEX listing_search_doc ON listing_search USING gin (doc gin_trgm_ops);

CREATE FUNCTION listings_derived() RETURNS trigger LANGUAGE plpgsql AS $$
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
    VALUES (NEW.id, concat_ws(' ', NEW.title, NEW.unit, NEW.description,
        (SELECT string_agg(name || ' ' || COALESCE(name_en, ''), ' ') FROM regions
          WHERE code IN (NEW.origin_code, substr(NEW.origin_code, 1, 9), substr(NEW.origin_code, 1, 6))),
        (SELECT name FROM organisations WHERE id = NEW.organisation_id)))
    ON CONFLICT (listing_id) DO UPDATE SET doc = EXCLUDED.doc;
    RETURN NULL;
END
$$;

CREATE TRIGGER listings_derived
AFTER INSERT OR UPDATE OF title, unit, description, origin_code, household_id, organisation_id, benefit_terms ON listings
FOR EACH ROW EXECUTE FUNCTION listings_derived();

-- Existing listings: the trigger fills both tables.
UPDATE listings SET title = title;

-- The catalogue's default order (need) and "newest" read straight from an index, so a page's
-- 100 ids come without sorting every listing; they replace the plain status index.
DROP INDEX listings_status;
CREATE INDEX listings_need ON listings ((status = 'sold_out'), stalled DESC, COALESCE(stalled_quantity, 0) DESC, created_at DESC, id DESC)
    WHERE status IN ('on_sale', 'sold_out');
CREATE INDEX listings_newest ON listings ((status = 'sold_out'), created_at DESC, id DESC)
    WHERE status IN ('on_sale', 'sold_out');
