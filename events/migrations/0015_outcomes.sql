-- The outcomes read model (episode_outcomes): one row per case, the coded facts the
-- evaluation report counts. A new projection: it starts at position 0 and reads every
-- case stream once.
CREATE TABLE episode_outcomes (
    case_id     text PRIMARY KEY,
    team_id     text,
    area        text,
    referred_on date,
    facts       jsonb NOT NULL
);
CREATE INDEX episode_outcomes_team ON episode_outcomes (team_id);
