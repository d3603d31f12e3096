-- Issue 8: where each yuan of income comes from, a tamper-evident ledger, and payments through
-- providers.

-- The evidence a ledger row rests on: a verified provider notification ('provider', with its
-- transaction id), a transfer the seller confirmed ('transfer', with its reference), or an
-- official's record ('official', with who and a note). Rows from before this migration have
-- none. Each row also carries a SHA-256 over its content and the previous row's hash.
ALTER TABLE ledger_entries ADD COLUMN evidence TEXT CHECK (evidence IN ('provider', 'transfer', 'official'));
ALTER TABLE ledger_entries ADD COLUMN evidence_ref TEXT;
ALTER TABLE ledger_entries ADD COLUMN prev_hash TEXT;
ALTER TABLE ledger_entries ADD COLUMN row_hash TEXT;

-- New rows must carry their evidence and their place in the chain.
CREATE TRIGGER ledger_needs_evidence BEFORE INSERT ON ledger_entries
WHEN NEW.evidence IS NULL OR NEW.prev_hash IS NULL OR NEW.row_hash IS NULL
  OR (NEW.evidence = 'official' AND (NEW.recorded_by IS NULL OR NEW.note IS NULL))
  OR (NEW.evidence IN ('provider', 'transfer') AND NEW.evidence_ref IS NULL)
BEGIN
    SELECT RAISE(ABORT, 'ledger rows need evidence and a hash');
END;

-- The head of the chain: the last row's hash. Every posting updates this one row, so postings
-- are serialised and each links to the one before. last_hash is NULL until the rows from
-- before the chain are sealed (at start-up).
CREATE TABLE ledger_head (
    id        INTEGER PRIMARY KEY CHECK (id = 1),
    last_id   INTEGER,
    last_hash TEXT,
    -- The last row written before the chain existed (0: none); only those may lack a hash.
    sealed_through INTEGER
);
INSERT INTO ledger_head (id) VALUES (1);
CREATE TRIGGER ledger_head_no_delete BEFORE DELETE ON ledger_head
BEGIN
    SELECT RAISE(ABORT, 'the ledger head stays');
END;

-- A payment of one order through a provider (WeChat Pay, Alipay) or by bank transfer.
CREATE TABLE payments (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    order_id       INTEGER NOT NULL REFERENCES orders (id),
    provider       TEXT NOT NULL CHECK (provider IN ('wechat', 'alipay', 'transfer')),
    out_trade_no   TEXT NOT NULL UNIQUE,
    amount_fen     INTEGER NOT NULL CHECK (amount_fen > 0),
    status         TEXT NOT NULL CHECK (status IN ('created', 'paid', 'refunded')),
    transaction_id TEXT,
    created_at     INTEGER NOT NULL,
    paid_at        INTEGER,
    refund_id      TEXT,
    refunded_at    INTEGER,
    -- 'qr' (a code to scan) or 'redirect' (the provider's page), and its address
    pay_kind       TEXT CHECK (pay_kind IN ('qr', 'redirect')),
    pay_url        TEXT
);
CREATE INDEX payments_order ON payments (order_id, id);

-- Every verified notification, once per provider event: a duplicate changes nothing.
CREATE TABLE payment_notifications (
    provider    TEXT NOT NULL,
    event_id    TEXT NOT NULL,
    payment_id  INTEGER NOT NULL REFERENCES payments (id),
    amount_fen  INTEGER NOT NULL,
    outcome     TEXT NOT NULL CHECK (outcome IN ('paid', 'refund_due', 'refunded')),
    received_at INTEGER NOT NULL,
    PRIMARY KEY (provider, event_id)
);

-- A payment that arrived for an order no longer waiting for one (cancelled or expired
-- meanwhile, or paid twice): recorded, and resolved by a refund.
ALTER TABLE orders ADD COLUMN refund_due INTEGER NOT NULL DEFAULT 0;
-- How the order was paid, and the evidence (transaction id or transfer reference).
ALTER TABLE orders ADD COLUMN paid_with TEXT CHECK (paid_with IN ('wechat', 'alipay', 'transfer'));
ALTER TABLE orders ADD COLUMN paid_ref TEXT;
