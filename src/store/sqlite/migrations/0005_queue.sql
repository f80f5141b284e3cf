-- The delivery queue. A queued message is a log entry (status PROCESSING, RETRY, then COMPLETED or
-- ESCALATED) with its place in the queue; synchronous entries leave these columns NULL.
ALTER TABLE messages ADD COLUMN attempts INTEGER;        -- attempts started so far (the lease's fencing token)
ALTER TABLE messages ADD COLUMN failures INTEGER;        -- failed attempts counting towards max_attempts
ALTER TABLE messages ADD COLUMN next_attempt_at INTEGER; -- waiting: when the next attempt is due (epoch ms)
ALTER TABLE messages ADD COLUMN lease_until INTEGER;     -- running: the attempt's lease (epoch ms)

-- Only queued messages are in these, so finding the due ones and the expired leases, and the
-- queue's depth, cost what the queue holds, not what the log holds.
CREATE INDEX messages_waiting ON messages (next_attempt_at) WHERE next_attempt_at IS NOT NULL;
CREATE INDEX messages_leased ON messages (lease_until) WHERE lease_until IS NOT NULL;

-- Each attempt of a queued message.
CREATE TABLE attempts (
    message_id INTEGER NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    number     INTEGER NOT NULL, -- 1, 2, ...
    started    INTEGER NOT NULL, -- epoch milliseconds, UTC
    ended      INTEGER,
    status     TEXT    NOT NULL, -- RUNNING, COMPLETED, FAILED, INTERRUPTED
    error_text TEXT,
    error_step TEXT,             -- the handler that failed
    retry_at   INTEGER,          -- the next attempt it scheduled, if it failed
    PRIMARY KEY (message_id, number)
) WITHOUT ROWID;
