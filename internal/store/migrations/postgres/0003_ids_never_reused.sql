-- Ids are never reused. The identity sequences already never hand out an id twice; this
-- makes sure they also start past any id that the audit trail or the revoked tokens still
-- name (a row deleted, or restored from an older backup, before this migration), the same
-- guarantee SQLite's 0003 gives. The sequence only ever moves forward.
DO $$
DECLARE
    seq  text := pg_get_serial_sequence('users', 'id');
    seen bigint;
BEGIN
    SELECT GREATEST((SELECT COALESCE(MAX(id), 0) FROM users),
                    (SELECT COALESCE(MAX(user_id), 0) FROM audit_events),
                    (SELECT COALESCE(MAX(user_id), 0) FROM revoked_tokens)) INTO seen;
    IF seen > 0 THEN
        EXECUTE format('SELECT setval(%L, GREATEST(%s, (SELECT last_value FROM %s)))', seq, seen, seq);
    END IF;
END $$;
