-- The typed events of each entry, one row per event in the envelope's order: what the monitor
-- filters by (an event's kind, its userId). An envelope carries zero, one or many events, so
-- these are rows of their own rather than columns of the entry. Entries written before this
-- step have none.
CREATE TABLE message_events (
    message_id INTEGER NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    position   INTEGER NOT NULL, -- 0 for the first event of the envelope
    kind       TEXT    NOT NULL, -- change_in_manager, hire, rehire, termination, other
    user_id    TEXT,             -- the userId key (or param), when the event has one
    PRIMARY KEY (message_id, position)
) WITHOUT ROWID;
CREATE INDEX message_events_by_user ON message_events (user_id);
