-- The answer moves out of the request's row into a table of its own, and the request's row keeps
-- only the request. Before, finishing an entry rewrote its bodies' row (the 2 KB request with
-- the answer joining it): an update of the whole row, written to the WAL a second time and
-- checkpointed again. Now the request is written once, with the PROCESSING entry, and the
-- answer is an insert of its own when the entry is final. Each body keeps the time it was
-- stored (its TimeStamp, and what payload_retention_days counts from): the request the entry's
-- start, the answer its end. Bodies written before this step keep the time of their old row's
-- last write for both.
CREATE TABLE requests (
    message_id   INTEGER PRIMARY KEY REFERENCES messages (id) ON DELETE CASCADE,
    stored_at    INTEGER NOT NULL, -- epoch milliseconds, UTC
    content_type TEXT    NOT NULL,
    body         BLOB    NOT NULL  -- the request as received
);
CREATE INDEX requests_by_age ON requests (stored_at);

CREATE TABLE responses (
    message_id   INTEGER PRIMARY KEY REFERENCES messages (id) ON DELETE CASCADE,
    stored_at    INTEGER NOT NULL, -- epoch milliseconds, UTC
    content_type TEXT    NOT NULL,
    body         BLOB    NOT NULL  -- the answer as sent
);
CREATE INDEX responses_by_age ON responses (stored_at);

INSERT INTO requests (message_id, stored_at, content_type, body)
SELECT message_id, stored_at, request_type, request
FROM bodies WHERE request_type IS NOT NULL AND request IS NOT NULL
  AND message_id IN (SELECT id FROM messages); -- none without its entry, should one be left

INSERT INTO responses (message_id, stored_at, content_type, body)
SELECT message_id, stored_at, response_type, response
FROM bodies WHERE response_type IS NOT NULL AND response IS NOT NULL
  AND message_id IN (SELECT id FROM messages);

DROP TABLE bodies;
