-- Personal data sealed per family (events.keys): master keys known to this database, each
-- family's data keys wrapped by one of them, and which key seals each stream. A destroyed
-- key has no wrapped bytes left: what it sealed can never be opened again.
CREATE TABLE master_keys (
    key_id        text PRIMARY KEY,
    version       integer NOT NULL UNIQUE,
    registered_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE family_keys (
    key_id        uuid PRIMARY KEY,
    family_id     text NOT NULL,
    wrapped       bytea,
    master_key_id text NOT NULL REFERENCES master_keys (key_id),
    created_at    timestamptz NOT NULL DEFAULT now(),
    destroyed_at  timestamptz,
    CHECK ((wrapped IS NULL) = (destroyed_at IS NOT NULL))
);
-- One live key per family (a family referred again after an erasure gets a new one).
CREATE UNIQUE INDEX family_keys_live ON family_keys (family_id) WHERE destroyed_at IS NULL;

CREATE TABLE stream_keys (
    stream_id text PRIMARY KEY,
    key_id    uuid NOT NULL REFERENCES family_keys (key_id)
);

-- The key sealing a stream: the one tied to it, else the family's live key (the fresh one
-- offered when there is none), tied to the stream now. Safe under concurrent callers.
CREATE FUNCTION ifss_stream_key(
    p_stream_id text, p_family_id text, p_key_id uuid, p_wrapped bytea, p_master_key_id text
) RETURNS TABLE (key_id uuid, wrapped bytea, master_key_id text)
LANGUAGE plpgsql AS $$
DECLARE
    v_key uuid;
BEGIN
    SELECT s.key_id INTO v_key FROM stream_keys s WHERE s.stream_id = p_stream_id;
    IF v_key IS NULL THEN
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
