-- The money path (SQLite): listings, orders, allocations and the append-only income ledger.
-- Kept equivalent to ../postgres/20261128000002_market.sql.

CREATE TABLE listings (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    -- Exactly one seller: a household's own listing, or a co-op/enterprise selling for its households.
    household_id       INTEGER REFERENCES households (id),
    organisation_id    INTEGER REFERENCES organisations (id),
    title              TEXT NOT NULL,
    category           TEXT NOT NULL CHECK (category IN ('tea', 'vegetables', 'fruit', 'grain_oil', 'aquatic', 'livestock', 'handicraft', 'other')),
    description        TEXT NOT NULL DEFAULT '',
    unit               TEXT NOT NULL,
    price_fen          INTEGER NOT NULL CHECK (price_fen > 0),
    stock              INTEGER NOT NULL CHECK (stock >= 0),
    origin_code        TEXT NOT NULL REFERENCES regions (code),
    harvest_date       TEXT,
    status             TEXT NOT NULL CHECK (status IN ('draft', 'on_sale', 'sold_out', 'withdrawn')),
    -- JSON of domain::allocation::BenefitTerms: who receives what of each sale.
    benefit_terms      TEXT NOT NULL,
    stalled            INTEGER NOT NULL DEFAULT 0 CHECK (stalled IN (0, 1)),
    stalled_reason     TEXT,
    stalled_quantity   INTEGER,
    is_demo            INTEGER NOT NULL DEFAULT 0 CHECK (is_demo IN (0, 1)),
    created_by         INTEGER NOT NULL REFERENCES users (id),
    created_at         INTEGER NOT NULL,
    updated_at         INTEGER NOT NULL,
    CHECK ((household_id IS NULL) <> (organisation_id IS NULL))
);
CREATE INDEX listings_status ON listings (status, stalled, created_at);
CREATE INDEX listings_origin ON listings (origin_code);

CREATE TABLE listing_photos (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    listing_id INTEGER NOT NULL REFERENCES listings (id),
    position   INTEGER NOT NULL,
    path       TEXT NOT NULL,
    thumb_path TEXT NOT NULL,
    UNIQUE (listing_id, position)
);

-- 扶贫产品认定: recorded by an official of the listing's county.
CREATE TABLE certificates (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    listing_id  INTEGER NOT NULL REFERENCES listings (id),
    number      TEXT NOT NULL,
    valid_from  TEXT NOT NULL,
    valid_until TEXT NOT NULL,
    recorded_by INTEGER NOT NULL REFERENCES users (id),
    created_at  INTEGER NOT NULL,
    CHECK (valid_from <= valid_until)
);
CREATE INDEX certificates_listing ON certificates (listing_id);

-- An institution's annual purchase pledge (以购代捐承诺).
CREATE TABLE pledges (
    organisation_id INTEGER NOT NULL REFERENCES organisations (id),
    year            INTEGER NOT NULL,
    amount_fen      INTEGER NOT NULL CHECK (amount_fen > 0),
    PRIMARY KEY (organisation_id, year)
);

-- One checkout (one idempotency key) makes one order per seller.
CREATE TABLE checkouts (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    buyer_id        INTEGER NOT NULL REFERENCES users (id),
    idempotency_key TEXT NOT NULL,
    created_at      INTEGER NOT NULL,
    UNIQUE (buyer_id, idempotency_key)
);

CREATE TABLE orders (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    checkout_id     INTEGER NOT NULL REFERENCES checkouts (id),
    buyer_id        INTEGER NOT NULL REFERENCES users (id),
    -- The institution the buyer purchased for, counted toward its pledge.
    institution_id  INTEGER REFERENCES organisations (id),
    seller_household_id    INTEGER REFERENCES households (id),
    seller_organisation_id INTEGER REFERENCES organisations (id),
    status          TEXT NOT NULL CHECK (status IN ('placed', 'paid', 'shipped', 'delivered', 'cancelled', 'refunded')),
    total_fen       INTEGER NOT NULL CHECK (total_fen > 0),
    created_at      INTEGER NOT NULL,
    paid_at         INTEGER,
    paid_by         INTEGER REFERENCES users (id),
    updated_at      INTEGER NOT NULL
);
CREATE INDEX orders_buyer ON orders (buyer_id, created_at);
CREATE INDEX orders_seller_org ON orders (seller_organisation_id, status);
CREATE INDEX orders_seller_household ON orders (seller_household_id, status);

CREATE TABLE order_items (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    order_id       INTEGER NOT NULL REFERENCES orders (id),
    listing_id     INTEGER NOT NULL REFERENCES listings (id),
    quantity       INTEGER NOT NULL CHECK (quantity > 0),
    unit_price_fen INTEGER NOT NULL CHECK (unit_price_fen > 0),
    line_total_fen INTEGER NOT NULL CHECK (line_total_fen > 0)
);
CREATE INDEX order_items_order ON order_items (order_id);
CREATE INDEX order_items_listing ON order_items (listing_id);

-- What each household receives of an order item, fixed when the order is placed.
CREATE TABLE order_item_allocations (
    order_item_id INTEGER NOT NULL REFERENCES order_items (id),
    household_id  INTEGER NOT NULL REFERENCES households (id),
    amount_fen    INTEGER NOT NULL CHECK (amount_fen > 0),
    PRIMARY KEY (order_item_id, household_id)
);

-- 收入台账: append-only. Corrections and refunds are new rows.
CREATE TABLE ledger_entries (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    household_id  INTEGER NOT NULL REFERENCES households (id),
    amount_fen    INTEGER NOT NULL CHECK (amount_fen <> 0),
    source_type   TEXT NOT NULL CHECK (source_type IN ('sale', 'sale_reversal', 'wages', 'subsidy', 'other_business', 'other')),
    order_item_id INTEGER REFERENCES order_items (id),
    note          TEXT,
    recorded_by   INTEGER REFERENCES users (id),
    occurred_at   INTEGER NOT NULL,
    created_at    INTEGER NOT NULL,
    CHECK ((source_type IN ('sale', 'sale_reversal')) = (order_item_id IS NOT NULL))
);
CREATE INDEX ledger_household ON ledger_entries (household_id, occurred_at);
CREATE INDEX ledger_item ON ledger_entries (order_item_id);
-- A sale is posted once and reversed at most once per household and item.
CREATE UNIQUE INDEX ledger_sale_once ON ledger_entries (order_item_id, household_id, source_type) WHERE order_item_id IS NOT NULL;

CREATE TRIGGER ledger_no_update BEFORE UPDATE ON ledger_entries
BEGIN
    SELECT RAISE(ABORT, 'ledger_entries are append-only');
END;
CREATE TRIGGER ledger_no_delete BEFORE DELETE ON ledger_entries
BEGIN
    SELECT RAISE(ABORT, 'ledger_entries are append-only');
END;

-- Payment-provider notifications already processed (replay protection).
CREATE TABLE payment_events (
    event_id    TEXT PRIMARY KEY,
    order_id    INTEGER NOT NULL REFERENCES orders (id),
    received_at INTEGER NOT NULL
);
