-- The outcomes read model (episode_outcomes): one row per case, the coded facts the
-- evaluation report counts. A new projection: it starts at position 0 and reads every
-- case stream once.
CREATE TABLE episode_outcomes (
    case_id     text PRIMARY KEY,
    team_id     text,
    referral_team_id text,
    area        text,
    referred_on date,
    facts       text NOT NULL  -- JSON, written by the fold alone: stored and read as text
);
-- Text, not json: written by the fold alone, PostgreSQL need never parse it.
CREATE INDEX episode_outcomes_team ON episode_outcomes (team_id);
CREATE INDEX episode_outcomes_referral_team ON episode_outcomes (referral_team_id);
