-- Accounts: one-time codes (password reset, registration) and the notification outbox that
-- carries them to the owner of the phone number or e-mail address; expired sessions are swept.

CREATE TABLE one_time_codes (
    id          INTEGER PRIMARY KEY,
    login       TEXT    NOT NULL,
    purpose     TEXT    NOT NULL CHECK (purpose IN ('reset', 'register')),
    code_hash   TEXT    NOT NULL,
    -- What the code completes (a pending registration's password hash and name), as JSON.
    payload     TEXT,
    attempts    INTEGER NOT NULL DEFAULT 0,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL
);
CREATE INDEX one_time_codes_login ON one_time_codes (login, purpose);
CREATE INDEX one_time_codes_expires ON one_time_codes (expires_at);

-- What would go out by SMS or e-mail. A sender delivers and stamps sent_at; without one
-- configured the rows stay here (and the log says so), which is what tests read.
CREATE TABLE notifications (
    id          INTEGER PRIMARY KEY,
    recipient   TEXT    NOT NULL,
    channel     TEXT    NOT NULL CHECK (channel IN ('sms', 'email')),
    body        TEXT    NOT NULL,
    created_at  INTEGER NOT NULL,
    sent_at     INTEGER
);
CREATE INDEX notifications_recipient ON notifications (recipient, id);

CREATE INDEX sessions_expires ON sessions (expires_at);
