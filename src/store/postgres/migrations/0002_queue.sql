-- The delivery queue, as SQLite's migration 0005_queue.sql has it, plus which instance holds a
-- running attempt's lease (so that an instance starting up queues again only the attempts of
-- instances that are gone, never those another live instance runs). A queued message is a log
-- entry (status PROCESSING, RETRY, then COMPLETED or ESCALATED) with its place in the queue;
-- synchronous entries leave these columns NULL.
ALTER TABLE messages
    ADD COLUMN attempts        BIGINT,  -- attempts started so far (the lease's fencing token)
    ADD COLUMN failures        BIGINT,  -- failed attempts counting towards max_attempts
    ADD COLUMN next_attempt_at BIGINT,  -- waiting: when the next attempt is due (epoch ms)
    ADD COLUMN lease_until     BIGINT,  -- running: the attempt's lease (epoch ms)
    ADD COLUMN lease_instance  BIGINT;  -- running: the instance holding the lease

-- Only queued messages are in these, so finding the due ones and the expired leases, and the
-- queue's depth, cost what the queue holds, not what the log holds.
CREATE INDEX messages_waiting ON messages (next_attempt_at) WHERE next_attempt_at IS NOT NULL;
CREATE INDEX messages_leased ON messages (lease_until) WHERE lease_until IS NOT NULL;

-- One running synchronous delivery per endpoint and externalEventId, as before; a queued message
-- says PROCESSING while it waits and is not one of them (its copies meet under an advisory lock
-- in the enqueue, and an escalated message retried by hand may be PROCESSING beside a newer
-- copy, as in SQLite).
DROP INDEX messages_running;
CREATE UNIQUE INDEX messages_running ON messages (integration_flow_name, application_message_id)
    WHERE status = 'PROCESSING' AND attempts IS NULL;

-- Each attempt of a queued message.
CREATE TABLE attempts (
    message_id BIGINT NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    number     BIGINT NOT NULL, -- 1, 2, ...
    started    BIGINT NOT NULL, -- epoch milliseconds, UTC
    ended      BIGINT,
    status     TEXT   COLLATE "C" NOT NULL, -- RUNNING, COMPLETED, FAILED, INTERRUPTED
    error_text TEXT,
    error_step TEXT,            -- the handler that failed
    retry_at   BIGINT,          -- the next attempt it scheduled, if it failed
    PRIMARY KEY (message_id, number)
);
