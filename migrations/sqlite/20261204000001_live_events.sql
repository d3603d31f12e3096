-- 县长带你买好货: livestream sale events. A host (a county official, a co-op manager or an
-- invited guest, by their account) runs the event from its console; `host_name` is who is shown
-- on screen. `version` moves whenever what a viewer sees changes (status, the pinned product, a
-- flash sale, a paid or refunded order of the event): every server process polls it to push
-- the counters to its viewers, so several processes on one database stay in step.
CREATE TABLE live_events (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    title             TEXT NOT NULL,
    host_user_id      INTEGER NOT NULL REFERENCES users (id),
    host_name         TEXT NOT NULL,
    county_code       TEXT NOT NULL REFERENCES regions (code),
    starts_at         INTEGER NOT NULL,
    ends_at           INTEGER NOT NULL CHECK (ends_at > starts_at),
    stream_url        TEXT,
    external_url      TEXT,
    replay_url        TEXT,
    cover_listing_id  INTEGER REFERENCES listings (id),
    status            TEXT NOT NULL DEFAULT 'scheduled' CHECK (status IN ('scheduled', 'live', 'ended')),
    pinned_listing_id INTEGER REFERENCES listings (id),
    went_live_at      INTEGER,
    ended_at          INTEGER,
    version           INTEGER NOT NULL DEFAULT 0,
    created_by        INTEGER NOT NULL REFERENCES users (id),
    created_at        INTEGER NOT NULL
);
CREATE INDEX live_events_county ON live_events (county_code, starts_at);
CREATE INDEX live_events_status ON live_events (status, starts_at);

-- The line-up: featured listings, each optionally with a flash price inside a window, a cap on
-- the units sold at it and a per-buyer limit. `flash_sold` counts units reserved at the flash
-- price by orders of the current flash sale not cancelled (a conditional update keeps it under
-- the cap); a checkout moves this row's `version`, not the event's, so checkouts of an event do
-- not queue on its row.
CREATE TABLE live_event_listings (
    event_id        INTEGER NOT NULL REFERENCES live_events (id),
    listing_id      INTEGER NOT NULL REFERENCES listings (id),
    position        INTEGER NOT NULL,
    flash_price_fen INTEGER CHECK (flash_price_fen > 0),
    flash_starts_at INTEGER,
    flash_ends_at   INTEGER,
    flash_cap       INTEGER CHECK (flash_cap > 0),
    per_buyer_limit INTEGER CHECK (per_buyer_limit > 0),
    flash_sold      INTEGER NOT NULL DEFAULT 0 CHECK (flash_sold >= 0),
    -- Moves with every change of the line's flash units (see live_events.version).
    version         INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (event_id, listing_id),
    CHECK ((flash_price_fen IS NULL) = (flash_starts_at IS NULL)),
    CHECK ((flash_price_fen IS NULL) = (flash_ends_at IS NULL)),
    CHECK (flash_cap IS NULL OR flash_sold <= flash_cap)
);
CREATE INDEX live_event_listings_listing ON live_event_listings (listing_id);

-- Orders placed from an event carry it (also when paid later); an item bought at the flash
-- price says so, for the per-buyer limit and to give the units back if the order is cancelled.
ALTER TABLE orders ADD COLUMN live_event_id INTEGER REFERENCES live_events (id);
ALTER TABLE order_items ADD COLUMN live_event_id INTEGER REFERENCES live_events (id);
ALTER TABLE order_items ADD COLUMN flash INTEGER NOT NULL DEFAULT 0 CHECK (flash IN (0, 1));
CREATE INDEX orders_live_event ON orders (live_event_id, status) WHERE live_event_id IS NOT NULL;
CREATE INDEX order_items_live_event ON order_items (live_event_id, listing_id) WHERE live_event_id IS NOT NULL;
