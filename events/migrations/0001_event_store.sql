-- The append-only event store.
--
-- Ordering: global_position comes from an identity sequence, so a transaction that took
-- position 5 may commit after one that took position 6. Readers therefore read in
-- (transaction_id, global_position) order and only below the visibility watermark
-- pg_snapshot_xmin(pg_current_snapshot()): every transaction with a smaller id has
-- finished, so nothing can appear later below the watermark (see README, "Ordering").

CREATE TABLE events (
    global_position bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    transaction_id  xid8        NOT NULL DEFAULT pg_current_xact_id(),
    stream_id       text        NOT NULL,
    stream_version  bigint      NOT NULL CHECK (stream_version > 0),
    event_id        uuid        NOT NULL,
    type            text        NOT NULL,
    schema_version  integer     NOT NULL CHECK (schema_version > 0),
    data            jsonb       NOT NULL,
    metadata        jsonb       NOT NULL,
    occurred_at     timestamptz NOT NULL,
    recorded_at     timestamptz NOT NULL DEFAULT now(),
    content_digest  bytea       NOT NULL,
    chain_hash      bytea       NOT NULL,
    CONSTRAINT events_event_id_key UNIQUE (event_id),
    CONSTRAINT events_stream_version_key UNIQUE (stream_id, stream_version)
);

CREATE INDEX events_commit_order ON events (transaction_id, global_position);
CREATE INDEX events_type ON events (type);

-- Append-only in the database too: hand edits must go through a superuser disabling this
-- trigger, and `ifss audit verify` then finds the broken hash link.
CREATE FUNCTION events_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the events table is append-only: % refused', TG_OP
        USING ERRCODE = 'IF003';
END $$;

CREATE TRIGGER events_append_only
    BEFORE UPDATE OR DELETE ON events
    FOR EACH ROW EXECUTE FUNCTION events_refuse_change();

CREATE TRIGGER events_no_truncate
    BEFORE TRUNCATE ON events
    FOR EACH STATEMENT EXECUTE FUNCTION events_refuse_change();

-- One round trip per append: optimistic concurrency, idempotent retries, hash chain, insert.
-- No NOTIFY here: NOTIFY takes a global lock at commit and would serialise every writer;
-- the store sends a coalesced wake-up after commit instead.
CREATE FUNCTION ifss_append(
    p_stream_id text,
    p_expected_version bigint,
    p_event_ids uuid[],
    p_types text[],
    p_schema_versions integer[],
    p_data jsonb[],
    p_metadata jsonb[],
    p_occurred_at timestamptz[],
    p_digests bytea[]
) RETURNS TABLE (out_position bigint, out_version bigint)
LANGUAGE plpgsql AS $$
DECLARE
    v_count   integer := cardinality(p_event_ids);
    v_found   integer;
    v_same    integer;
    v_bad     uuid;
    v_version bigint;
    v_hash    bytea;
    v_hashes  bytea[] := '{}';
BEGIN
    SELECT e.stream_version, e.chain_hash INTO v_version, v_hash
      FROM events e WHERE e.stream_id = p_stream_id
     ORDER BY e.stream_version DESC LIMIT 1;
    v_version := coalesce(v_version, 0);

    IF v_version <> p_expected_version THEN
        -- A retried append whose events are all stored with identical content already
        -- happened: return what was stored. Anything else is a conflict.
        SELECT count(*),
               count(*) FILTER (WHERE e.stream_id = p_stream_id AND e.content_digest = d.digest),
               min(e.event_id::text) FILTER (WHERE e.stream_id <> p_stream_id
                                                OR e.content_digest <> d.digest)::uuid
          INTO v_found, v_same, v_bad
          FROM unnest(p_event_ids, p_digests) AS d(event_id, digest)
          JOIN events e ON e.event_id = d.event_id;
        IF v_found = v_count AND v_same = v_count THEN
            RETURN QUERY
                SELECT e.global_position, e.stream_version FROM events e
                 WHERE e.event_id = ANY (p_event_ids);
            RETURN;
        END IF;
        IF v_bad IS NOT NULL THEN
            RAISE EXCEPTION 'event id reused with different content'
                USING ERRCODE = 'IF002', DETAIL = v_bad::text;
        END IF;
        RAISE EXCEPTION 'stream version conflict'
            USING ERRCODE = 'IF001', DETAIL = v_version::text;
    END IF;

    v_hash := coalesce(v_hash, ''::bytea);
    FOR i IN 1 .. v_count LOOP
        v_hash := sha256(v_hash || p_digests[i]);
        v_hashes := v_hashes || v_hash;
    END LOOP;

    RETURN QUERY
    INSERT INTO events (stream_id, stream_version, event_id, type, schema_version,
                        data, metadata, occurred_at, content_digest, chain_hash)
    SELECT p_stream_id, p_expected_version + x.n, x.event_id, x.type, x.schema_version,
           x.data, x.metadata, x.occurred_at, x.digest, x.hash
      FROM unnest(p_event_ids, p_types, p_schema_versions, p_data, p_metadata,
                  p_occurred_at, p_digests, v_hashes)
           WITH ORDINALITY AS x(event_id, type, schema_version, data, metadata,
                                occurred_at, digest, hash, n)
     ORDER BY x.n
    RETURNING global_position, stream_version;
END $$;
