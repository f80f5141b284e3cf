-- The audit log (CPI's AuditLogs): start and stop, the configuration loaded, refused
-- credentials, replays and retries started by a user. Never a credential: names, addresses and
-- words only. Kept as long as message entries (retention_days).
CREATE TABLE audit_log (
    id      INTEGER PRIMARY KEY, -- the ChangeId
    at      INTEGER NOT NULL,    -- epoch milliseconds, UTC
    action  TEXT    NOT NULL,    -- START, STOP, CONFIGURATION_LOADED, LOGIN_FAILED, REPLAY, RETRY
    user    TEXT,                -- the user or client name, when there is one
    object  TEXT    NOT NULL,    -- what it was done to or with
    source  TEXT,                -- the caller's address
    details TEXT    NOT NULL
);

CREATE INDEX audit_log_by_time ON audit_log (at);

-- Each event's eventId and own type (legacy v1 events carry one; the others have their entry's
-- application_message_type), beside its kind and userId: with them the events are the entry's
-- custom header properties (CPI's MessageProcessingLogCustomHeaderProperties). Events written
-- before this step have neither; their properties are the type and the userId.
ALTER TABLE message_events ADD COLUMN event_id TEXT;
ALTER TABLE message_events ADD COLUMN event_type TEXT;
