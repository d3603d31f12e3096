-- Issue 8: delivery. An address book per buyer, each seller's delivery terms, and on each
-- order how it travels, what shipping cost (apart from the produce), where it goes, the
-- invoice asked for, and the courier's tracking number.

CREATE TABLE addresses (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id     INTEGER NOT NULL REFERENCES users (id),
    recipient   TEXT NOT NULL,
    mobile      TEXT NOT NULL,
    -- A township (9 digits) or a village (12) of the division hierarchy.
    region_code TEXT NOT NULL REFERENCES regions (code),
    detail      TEXT NOT NULL,
    -- Institutions: the unit goods are delivered to.
    unit_name   TEXT,
    is_default  INTEGER NOT NULL DEFAULT 0,
    created_at  INTEGER NOT NULL,
    removed_at  INTEGER
);
CREATE INDEX addresses_user ON addresses (user_id, removed_at);

-- A seller's delivery terms (one row per household or organisation that sells).
CREATE TABLE seller_delivery (
    id                     INTEGER PRIMARY KEY AUTOINCREMENT,
    seller_household_id    INTEGER UNIQUE REFERENCES households (id),
    seller_organisation_id INTEGER UNIQUE REFERENCES organisations (id),
    courier_fee_fen        INTEGER NOT NULL DEFAULT 0 CHECK (courier_fee_fen >= 0),
    free_above_fen         INTEGER CHECK (free_above_fen > 0),
    pickup_point           TEXT,
    institution_delivery   INTEGER NOT NULL DEFAULT 0,
    dispatch_hours         INTEGER NOT NULL DEFAULT 48 CHECK (dispatch_hours > 0),
    updated_at             INTEGER NOT NULL,
    CHECK ((seller_household_id IS NULL) <> (seller_organisation_id IS NULL))
);

-- Bulky goods: a per-unit shipping surcharge.
ALTER TABLE listings ADD COLUMN shipping_surcharge_fen INTEGER NOT NULL DEFAULT 0 CHECK (shipping_surcharge_fen >= 0);

-- total_fen stays the amount paid: the produce plus shipping_fen. Allocations, and so household
-- income, come from the lines only.
ALTER TABLE orders ADD COLUMN shipping_fen INTEGER NOT NULL DEFAULT 0 CHECK (shipping_fen >= 0);
ALTER TABLE orders ADD COLUMN delivery_method TEXT CHECK (delivery_method IN ('courier', 'pickup', 'institution'));
ALTER TABLE orders ADD COLUMN ship_recipient TEXT;
ALTER TABLE orders ADD COLUMN ship_mobile TEXT;
ALTER TABLE orders ADD COLUMN ship_region TEXT;
ALTER TABLE orders ADD COLUMN ship_detail TEXT;
ALTER TABLE orders ADD COLUMN ship_unit TEXT;
ALTER TABLE orders ADD COLUMN pickup_point TEXT;
ALTER TABLE orders ADD COLUMN invoice_title TEXT;
ALTER TABLE orders ADD COLUMN invoice_tax_no TEXT;
ALTER TABLE orders ADD COLUMN dispatch_hours INTEGER;
ALTER TABLE orders ADD COLUMN courier TEXT;
ALTER TABLE orders ADD COLUMN tracking_no TEXT;
ALTER TABLE orders ADD COLUMN shipped_at INTEGER;
ALTER TABLE orders ADD COLUMN delivered_at INTEGER;
-- How the order became delivered: the buyer, or automatically after the configured days.
ALTER TABLE orders ADD COLUMN delivered_by TEXT CHECK (delivered_by IN ('buyer', 'auto'));
CREATE INDEX orders_shipped ON orders (status, shipped_at);
