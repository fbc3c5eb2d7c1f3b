-- Tying a new stream to a family's key takes the family's lock, the one an erasure holds
-- while it checks that no episode is open and destroys the keys (events.retention): a
-- referral arriving during an erasure waits, then gets a fresh key.
CREATE OR REPLACE FUNCTION ifss_stream_key(
    p_stream_id text, p_family_id text, p_key_id uuid, p_wrapped bytea, p_master_key_id text
) RETURNS TABLE (key_id uuid, wrapped bytea, master_key_id text)
LANGUAGE plpgsql AS $$
DECLARE
    v_key uuid;
BEGIN
    SELECT s.key_id INTO v_key FROM stream_keys s WHERE s.stream_id = p_stream_id;
    IF v_key IS NULL THEN
        PERFORM pg_advisory_xact_lock(hashtext('ifss-family:' || p_family_id));
        INSERT INTO family_keys (key_id, family_id, wrapped, master_key_id)
        VALUES (p_key_id, p_family_id, p_wrapped, p_master_key_id)
        ON CONFLICT (family_id) WHERE destroyed_at IS NULL DO NOTHING;
        SELECT k.key_id INTO v_key FROM family_keys k
         WHERE k.family_id = p_family_id AND k.destroyed_at IS NULL;
        INSERT INTO stream_keys (stream_id, key_id) VALUES (p_stream_id, v_key)
        ON CONFLICT (stream_id) DO NOTHING;
        SELECT s.key_id INTO v_key FROM stream_keys s WHERE s.stream_id = p_stream_id;
    END IF;
    RETURN QUERY SELECT k.key_id, k.wrapped, k.master_key_id FROM family_keys k
                  WHERE k.key_id = v_key;
END $$;
