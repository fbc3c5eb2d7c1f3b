-- Alerts: where each user wants them delivered, and the `alerts` read model (the inbox).

-- A user's alert channels (configuration, like users: stamped, not event-sourced). A user
-- with no row is told in the inbox only.
CREATE TABLE alert_routes (
    user_id    text NOT NULL REFERENCES users (user_id),
    channel    text NOT NULL CHECK (channel IN ('webhook', 'email')),
    address    text NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, channel)
);

-- One row per alert, from case and team streams (raised, acknowledged, escalated,
-- resolved) and delivery streams (delivered, failed).
CREATE TABLE alerts (
    alert_ref              text PRIMARY KEY,          -- <raising stream>:<alert_id>
    stream_id              text NOT NULL,
    alert_id               text NOT NULL,
    case_id                text,                      -- null for a team's own alerts
    team_id                text,                      -- for team alerts and escalations
    rule                   text NOT NULL,
    severity               text NOT NULL,
    subject                text,
    to_key_worker          text,
    to_supervisors_of_team text,
    raised_at              timestamptz NOT NULL,
    acknowledge_by         timestamptz NOT NULL,
    acknowledged_at        timestamptz,
    acknowledged_by        text,
    escalated_at           timestamptz,
    escalation_reason      text,
    resolved_at            timestamptz,
    resolution             text,
    deliveries             jsonb NOT NULL DEFAULT '[]'::jsonb
);
CREATE INDEX alerts_key_worker ON alerts (to_key_worker) WHERE to_key_worker IS NOT NULL;
CREATE INDEX alerts_case ON alerts (case_id);
CREATE INDEX alerts_open ON alerts (raised_at) WHERE acknowledged_at IS NULL AND resolved_at IS NULL;

