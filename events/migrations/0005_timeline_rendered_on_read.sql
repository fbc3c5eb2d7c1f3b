-- The timeline keeps each event's coded payload (personal parts removed) and the sentence
-- is written when it is read: a rebuild is then one INSERT ... SELECT per batch, done by
-- PostgreSQL, instead of a sentence per event in Python. The projector refills the table
-- from the first event (checkpoint reset).

TRUNCATE case_timeline;
ALTER TABLE case_timeline
    DROP COLUMN description,
    ADD COLUMN schema_version int NOT NULL,
    ADD COLUMN data jsonb NOT NULL;
UPDATE projection_checkpoints
   SET position = 0, events_applied = 0, last_recorded_at = NULL, status = 'running',
       error = NULL, error_position = NULL, updated_at = now()
 WHERE name = 'case_timeline';
