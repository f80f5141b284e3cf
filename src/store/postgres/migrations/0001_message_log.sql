-- The message processing log in PostgreSQL: the same tables as the SQLite log's migrations
-- 0001-0003 end with, plus what several instances on one database need (which instance runs a
-- PROCESSING entry, and at most one running entry per endpoint and externalEventId).
-- Times are epoch milliseconds (UTC) as in SQLite, so both keep whole milliseconds; texts compare
-- by their bytes (COLLATE "C"), whatever the database's locale, as the store's query promises.

-- One row per iflowd that opened this log for writing. An instance holds the session-level
-- advisory lock (IFLOWD_INSTANCE_LOCK, id) for as long as it runs: whoever can take that lock
-- knows the instance is gone (its connection closed: it stopped, crashed or was killed).
CREATE TABLE instances (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name       TEXT   NOT NULL, -- host name and process id, for people
    started_at BIGINT NOT NULL  -- epoch milliseconds, UTC
);

CREATE TABLE messages (
    id                       BIGINT  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    message_guid             TEXT    COLLATE "C" NOT NULL UNIQUE,
    correlation_id           TEXT    COLLATE "C" NOT NULL,
    transaction_id           TEXT    COLLATE "C" NOT NULL,
    application_message_id   TEXT    COLLATE "C",          -- externalEventId
    application_message_type TEXT    COLLATE "C",          -- the event type string
    integration_flow_name    TEXT    COLLATE "C" NOT NULL, -- the endpoint's name
    sender                   TEXT    COLLATE "C" NOT NULL, -- the authenticated user
    status                   TEXT    COLLATE "C" NOT NULL, -- PROCESSING, COMPLETED, FAILED, DISCARDED, ABANDONED
    custom_status            TEXT    COLLATE "C" NOT NULL,
    log_start                BIGINT  NOT NULL,             -- epoch milliseconds, UTC
    log_end                  BIGINT,
    error_text               TEXT,
    error_step               TEXT,                         -- the handler that failed, if one did
    event_count              BIGINT,
    repost                   BOOLEAN,                      -- the sender said repost=true
    original_guid            TEXT    COLLATE "C",          -- the entry whose answer was repeated, or the running copy
    ack                      TEXT,                         -- COMPLETED: the acknowledgement, as JSON, for duplicates
    instance_id              BIGINT                        -- PROCESSING: the instance running it
);

CREATE INDEX messages_by_start ON messages (log_start);
-- Duplicate lookups.
CREATE INDEX messages_duplicates ON messages (integration_flow_name, application_message_id);
-- At most one running delivery per endpoint and externalEventId, over every instance: the
-- second copy's insert finds the first (or waits for its transaction) instead of running too.
CREATE UNIQUE INDEX messages_running ON messages (integration_flow_name, application_message_id)
    WHERE status = 'PROCESSING';

-- Stored bodies, one row per entry: the request with the PROCESSING entry, the answer joining it.
CREATE TABLE bodies (
    message_id    BIGINT PRIMARY KEY REFERENCES messages (id) ON DELETE CASCADE,
    stored_at     BIGINT NOT NULL, -- epoch milliseconds, UTC
    request_type  TEXT,
    request       BYTEA,
    response_type TEXT,
    response      BYTEA
);
CREATE INDEX bodies_by_age ON bodies (stored_at);

-- The typed events of each entry, in the envelope's order (what the monitor filters by, and the
-- entry's custom header properties).
CREATE TABLE message_events (
    message_id BIGINT  NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    position   INTEGER NOT NULL,
    kind       TEXT    COLLATE "C" NOT NULL,
    user_id    TEXT    COLLATE "C",
    event_id   TEXT    COLLATE "C", -- the event's eventId
    event_type TEXT    COLLATE "C", -- its own type (legacy v1 events), else none
    PRIMARY KEY (message_id, position)
);
CREATE INDEX message_events_by_user ON message_events (user_id);
CREATE INDEX message_events_by_kind ON message_events (kind);

-- The audit log (CPI's AuditLogs), as SQLite's migration 0004 has it; `user` is a reserved word
-- in PostgreSQL, so the column is user_name. Never a credential.
CREATE TABLE audit_log (
    id        BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, -- the ChangeId
    at        BIGINT NOT NULL,             -- epoch milliseconds, UTC
    action    TEXT   COLLATE "C" NOT NULL, -- START, STOP, CONFIGURATION_LOADED, LOGIN_FAILED, REPLAY, RETRY
    user_name TEXT   COLLATE "C",
    object    TEXT   COLLATE "C" NOT NULL,
    source    TEXT   COLLATE "C",
    details   TEXT   COLLATE "C" NOT NULL
);
CREATE INDEX audit_log_by_time ON audit_log (at);
