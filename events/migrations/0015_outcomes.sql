-- The outcomes read model (episode_outcomes): one row per case, the coded facts the
-- evaluation report counts. A new projection: it starts at position 0 and reads every
-- case stream once.
CREATE TABLE episode_outcomes (
    case_id     text PRIMARY KEY,
    team_id     text,
    area        text,
    referred_on date,
    facts       json NOT NULL  -- text as written: read back without re-serialising
);
-- Rows of 2-3 kB: kept uncompressed (out of line), so a report reads them without
-- decompressing each one.
ALTER TABLE episode_outcomes ALTER COLUMN facts SET STORAGE EXTERNAL;
CREATE INDEX episode_outcomes_team ON episode_outcomes (team_id);
