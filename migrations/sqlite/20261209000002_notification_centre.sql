-- The notification centre (SQLite; kept equivalent to ../postgres/): what happened to a user's
-- orders, and for officials and cadres new self-reports and visit tasks, read in the app. Each
-- is also queued in the outbox (`notifications`) for the user's phone or e-mail.
CREATE TABLE user_notifications (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id    INTEGER NOT NULL REFERENCES users (id),
    kind       TEXT NOT NULL CHECK (kind IN ('order_placed', 'order_paid', 'order_to_ship', 'order_shipped',
                                             'order_delivered', 'order_refunded', 'report_filed', 'visit_task')),
    -- The order's id for order events; the report's or the task's otherwise.
    subject_id INTEGER,
    created_at INTEGER NOT NULL,
    read_at    INTEGER
);
CREATE INDEX user_notifications_user ON user_notifications (user_id, id);
CREATE INDEX user_notifications_unread ON user_notifications (user_id) WHERE read_at IS NULL;

-- The outbox retries with backoff: failed tries, when to try next (also a claim: a process
-- sending a message first moves it ahead, so another does not send it too), the last error;
-- and when an undelivered message is of no more use (a one-time code's), else it waits until sent.
ALTER TABLE notifications ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;
ALTER TABLE notifications ADD COLUMN next_attempt_at INTEGER NOT NULL DEFAULT 0;
ALTER TABLE notifications ADD COLUMN last_error TEXT;
ALTER TABLE notifications ADD COLUMN discard_after INTEGER;
CREATE INDEX notifications_pending ON notifications (next_attempt_at, id) WHERE sent_at IS NULL;
