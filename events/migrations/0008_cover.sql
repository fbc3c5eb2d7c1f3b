-- Temporary cover: another key worker reads, acts on and is alerted about a family until
-- the end of cover_until (from KeyWorkerCoverArranged / KeyWorkerCoverEnded). Rows folded before
-- this had no cover, so the new columns start empty; nothing to rebuild.
ALTER TABLE case_summary
    ADD COLUMN cover_key_worker_id text,
    ADD COLUMN cover_until date;
CREATE INDEX case_summary_cover ON case_summary (cover_key_worker_id)
    WHERE cover_key_worker_id IS NOT NULL;
