-- One row that /readyz writes: a database that answers reads but cannot take a write
-- (read-only, disk full, a standby) is not ready.
CREATE TABLE readiness (
    id         INTEGER PRIMARY KEY,
    checked_at BIGINT  NOT NULL
);
INSERT INTO readiness (id, checked_at) VALUES (1, 0);
