-- The answer in a table of its own, as SQLite's migration 0006_responses.sql has it: the
-- request is written once with the PROCESSING entry, and finishing the entry inserts the answer
-- instead of updating the row that holds the request (in PostgreSQL an update writes a new
-- version of the whole row, the request's TOAST pointer or inline bytes included, and leaves
-- the old one to VACUUM). Each body keeps the time it was stored: the request the entry's start,
-- the answer its end; bodies written before this step keep their old row's time for both.
CREATE TABLE requests (
    message_id   BIGINT PRIMARY KEY REFERENCES messages (id) ON DELETE CASCADE,
    stored_at    BIGINT NOT NULL, -- epoch milliseconds, UTC
    content_type TEXT   NOT NULL,
    body         BYTEA  NOT NULL  -- the request as received
);
CREATE INDEX requests_by_age ON requests (stored_at);

CREATE TABLE responses (
    message_id   BIGINT PRIMARY KEY REFERENCES messages (id) ON DELETE CASCADE,
    stored_at    BIGINT NOT NULL, -- epoch milliseconds, UTC
    content_type TEXT   NOT NULL,
    body         BYTEA  NOT NULL  -- the answer as sent
);
CREATE INDEX responses_by_age ON responses (stored_at);

INSERT INTO requests (message_id, stored_at, content_type, body)
SELECT message_id, stored_at, request_type, request
FROM bodies WHERE request_type IS NOT NULL AND request IS NOT NULL;

INSERT INTO responses (message_id, stored_at, content_type, body)
SELECT message_id, stored_at, response_type, response
FROM bodies WHERE response_type IS NOT NULL AND response IS NOT NULL;

DROP TABLE bodies;
