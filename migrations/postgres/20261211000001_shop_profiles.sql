-- A shop's own words, kept by whoever keeps the shop (crate::policy::Action::EditShop): its name
-- in English and its story in Chinese and in English. One row per shop key (`c12`, `h34`,
-- `v350725100201`, see crate::domain::shop); empty text means not given. A household's story is
-- shown only with its consent, whoever wrote it. Kept equivalent to
-- ../sqlite/20261211000001_shop_profiles.sql.
CREATE TABLE shop_profiles (
    shop_key   TEXT PRIMARY KEY CHECK (length(shop_key) BETWEEN 2 AND 24),
    name_en    TEXT NOT NULL DEFAULT '',
    story      TEXT NOT NULL DEFAULT '',
    story_en   TEXT NOT NULL DEFAULT '',
    updated_by BIGINT NOT NULL REFERENCES users (id),
    updated_at BIGINT NOT NULL
);
