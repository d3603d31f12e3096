-- Reviews (评价) of delivered produce: one per order item, by its buyer, with a rating of 1–5
-- and an optional comment; the seller may reply once; an administrator may hide abusive text
-- (the row stays, with who hid it and when). Kept equivalent to ../postgres/.
CREATE TABLE listing_reviews (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    order_item_id INTEGER NOT NULL UNIQUE REFERENCES order_items (id),
    listing_id    INTEGER NOT NULL REFERENCES listings (id),
    buyer_id      INTEGER NOT NULL REFERENCES users (id),
    rating        INTEGER NOT NULL CHECK (rating BETWEEN 1 AND 5),
    body          TEXT NOT NULL DEFAULT '',
    reply         TEXT,
    replied_by    INTEGER REFERENCES users (id),
    replied_at    INTEGER,
    hidden_at     INTEGER,
    hidden_by     INTEGER REFERENCES users (id),
    created_at    INTEGER NOT NULL,
    CHECK ((reply IS NULL) = (replied_at IS NULL))
);
CREATE INDEX listing_reviews_listing ON listing_reviews (listing_id, id);

-- Shops list a seller's listings.
CREATE INDEX listings_organisation ON listings (organisation_id, id);
CREATE INDEX listings_household ON listings (household_id, id);
