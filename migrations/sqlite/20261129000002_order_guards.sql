-- Orders that cannot be gamed (issue 8).
-- A checkout remembers what it asked for: its idempotency key sent again with another cart is
-- refused. NULL for checkouts made before this column existed.
ALTER TABLE checkouts ADD COLUMN request_hash TEXT;
-- An unpaid order holds its stock until expires_at; then the sweep cancels it and the stock
-- returns. NULL: placed before orders expired, never expires by itself.
ALTER TABLE orders ADD COLUMN expires_at BIGINT;
-- Who or what cancelled an order.
ALTER TABLE orders ADD COLUMN cancel_reason TEXT CHECK (cancel_reason IN ('buyer', 'seller', 'admin', 'expired'));
CREATE INDEX orders_unpaid ON orders (status, expires_at);
-- A listing's version: every save by its seller adds one, and a save from a form loaded at an
-- older version is refused. Sales change stock without it; the form's stock is applied as a
-- change, so an edit never overwrites units sold meanwhile.
ALTER TABLE listings ADD COLUMN version BIGINT NOT NULL DEFAULT 1;
-- A 扶贫产品 certificate stops counting when the listing's title, category or origin changes,
-- until an official records a new one.
ALTER TABLE certificates ADD COLUMN revoked_at BIGINT;
