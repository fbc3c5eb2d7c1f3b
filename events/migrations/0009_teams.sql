-- Registered teams (from TeamRegistered): what referrals, key workers and transfers may
-- name. A new projection: it starts at position 0 and reads every team stream once.
CREATE TABLE teams (
    team_id       text PRIMARY KEY,
    team_name     text NOT NULL,
    area          text NOT NULL,
    registered_at timestamptz NOT NULL
);
