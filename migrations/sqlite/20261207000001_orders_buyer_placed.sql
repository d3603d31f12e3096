-- A buyer's unpaid orders, for checkout's limit on unpaid checkouts: the count reads only these
-- rows instead of every order the buyer ever placed.
CREATE INDEX orders_buyer_placed ON orders (buyer_id, expires_at, checkout_id) WHERE status = 'placed';
