-- Stored bodies move to one row per entry, keyed by the entry's row id: the request is written
-- with the PROCESSING entry (so an ABANDONED entry keeps it) and the answer joins the same row
-- when the entry is final. One B-tree insert per call instead of two, and a 2 KB body fits in
-- its page (in the WITHOUT ROWID table a row of that size spilled into an overflow page).
CREATE TABLE bodies (
    message_id    INTEGER PRIMARY KEY REFERENCES messages (id) ON DELETE CASCADE,
    stored_at     INTEGER NOT NULL, -- epoch milliseconds, UTC
    request_type  TEXT,
    request       BLOB,             -- the request as received
    response_type TEXT,
    response      BLOB              -- the answer as sent
);
-- The retention purge: bodies older than payload_retention_days.
CREATE INDEX bodies_by_age ON bodies (stored_at);

INSERT INTO bodies (message_id, stored_at, request_type, request, response_type, response)
SELECT message_id,
       max(stored_at),
       max(CASE kind WHEN 'request' THEN content_type END),
       max(CASE kind WHEN 'request' THEN body END),
       max(CASE kind WHEN 'response' THEN content_type END),
       max(CASE kind WHEN 'response' THEN body END)
FROM payloads
GROUP BY message_id;

DROP TABLE payloads;
