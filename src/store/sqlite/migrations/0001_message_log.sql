-- The message processing log: one row per call that reached an endpoint.
CREATE TABLE messages (
    id                       INTEGER PRIMARY KEY,
    message_guid             TEXT    NOT NULL UNIQUE,
    correlation_id           TEXT    NOT NULL,
    transaction_id           TEXT    NOT NULL,
    application_message_id   TEXT,             -- externalEventId
    application_message_type TEXT,             -- the event type string
    integration_flow_name    TEXT    NOT NULL, -- the endpoint's name
    sender                   TEXT    NOT NULL, -- the authenticated user
    status                   TEXT    NOT NULL, -- PROCESSING, COMPLETED, FAILED, DISCARDED, ABANDONED
    custom_status            TEXT    NOT NULL,
    log_start                INTEGER NOT NULL, -- epoch milliseconds, UTC
    log_end                  INTEGER,
    error_text               TEXT,
    error_step               TEXT,             -- the handler that failed, if one did
    event_count              INTEGER,
    repost                   INTEGER,          -- 0/1: the sender said repost=true
    original_guid            TEXT,             -- DISCARDED: the entry whose answer was repeated
    ack                      TEXT              -- COMPLETED: the acknowledgement, as JSON, for duplicates
);

CREATE INDEX messages_by_start ON messages (log_start);
-- Duplicate lookups; the status is left out so that completing an entry does not move it.
CREATE INDEX messages_duplicates ON messages (integration_flow_name, application_message_id);

-- Stored bodies: the request as received and the answer as sent.
CREATE TABLE payloads (
    message_id   INTEGER NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    kind         TEXT    NOT NULL, -- 'request' or 'response'
    stored_at    INTEGER NOT NULL, -- epoch milliseconds, UTC
    content_type TEXT    NOT NULL,
    body         BLOB    NOT NULL,
    PRIMARY KEY (message_id, kind)
) WITHOUT ROWID;

CREATE INDEX payloads_by_age ON payloads (stored_at);
