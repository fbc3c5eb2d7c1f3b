-- Read models (projections/): rebuildable at any time from the events table.
-- A rebuild creates `<table>__rebuild (LIKE <table> INCLUDING ALL)`, fills it, and swaps it
-- in with the checkpoint in one transaction; so the live definitions live here.

CREATE TABLE projection_checkpoints (
    name            text PRIMARY KEY,
    position        bigint NOT NULL DEFAULT 0,   -- global_position of the last event applied
    events_applied  bigint NOT NULL DEFAULT 0,
    last_recorded_at timestamptz,                -- recorded_at of the last event applied
    updated_at      timestamptz NOT NULL DEFAULT now(),
    status          text NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'failed')),
    error           text,
    error_position  bigint
);

CREATE TABLE case_summary (
    case_id              text PRIMARY KEY,
    family_id            text NOT NULL,
    team_id              text NOT NULL,
    area                 text NOT NULL,
    referring_agency     text NOT NULL,
    priority             int NOT NULL,
    phase                text NOT NULL,
    key_worker_id        text,
    policy_version       text,
    referred_on          date NOT NULL,
    decision             text,            -- accepted | rejected
    decided_at           timestamptz,
    rejection_reason     text,
    waitlisted_at        timestamptz,
    allocated_at         timestamptz,
    first_meeting_due_at timestamptz,
    first_meeting_at     timestamptz,
    intensive_ends_on    date,
    last_contact_at      timestamptz,
    sessions             int NOT NULL DEFAULT 0,
    goals                int NOT NULL DEFAULT 0,
    closed_on            date,
    closure_kind         text,
    next_review_id       text,
    next_review_due_on   date,
    first_meeting_overdue boolean NOT NULL DEFAULT false,
    no_contact_overdue   boolean NOT NULL DEFAULT false,
    intensive_overrun    boolean NOT NULL DEFAULT false,
    review_overdue       boolean NOT NULL DEFAULT false,
    previous_case_id     text,
    end_reason           text,
    pending_reviews      text NOT NULL DEFAULT '{}',  -- JSON: review id -> due date
    version              int NOT NULL,
    updated_at           timestamptz NOT NULL
);
CREATE INDEX case_summary_team_phase ON case_summary (team_id, phase);
CREATE INDEX case_summary_key_worker ON case_summary (key_worker_id, phase);

CREATE TABLE case_timeline (
    global_position bigint PRIMARY KEY,
    case_id         text NOT NULL,
    stream_version  int NOT NULL,
    event_id        uuid NOT NULL,
    type            text NOT NULL,
    description     text NOT NULL,
    actor_id        text NOT NULL,
    actor_role      text NOT NULL,
    occurred_at     timestamptz NOT NULL,
    recorded_at     timestamptz NOT NULL,
    policy_version  text
);
CREATE INDEX case_timeline_case ON case_timeline (case_id, stream_version);

CREATE TABLE key_workers (
    team_id        text NOT NULL,
    key_worker_id  text NOT NULL,
    caseload_limit int NOT NULL,
    active         boolean NOT NULL,
    PRIMARY KEY (team_id, key_worker_id)
);

CREATE TABLE waitlist (
    case_id       text PRIMARY KEY,
    team_id       text NOT NULL,
    priority      int NOT NULL,
    referred_on   date NOT NULL,
    waitlisted_at timestamptz NOT NULL
);
CREATE INDEX waitlist_team ON waitlist (team_id, priority, referred_on, case_id);

CREATE TABLE review_schedule (
    case_id          text NOT NULL,
    review_id        text NOT NULL,
    month            int NOT NULL,
    due_on           date NOT NULL,
    original_due_on  date NOT NULL,
    status           text NOT NULL,   -- scheduled | due | overdue | completed
    rescheduled      boolean NOT NULL DEFAULT false,
    completed_at     timestamptz,
    regressed_goals  int NOT NULL DEFAULT 0,
    PRIMARY KEY (case_id, review_id)
);
CREATE INDEX review_schedule_due ON review_schedule (due_on);

CREATE TABLE access_log (
    global_position bigint PRIMARY KEY,
    case_id         text NOT NULL,
    actor_id        text NOT NULL,
    actor_role      text NOT NULL,
    view            text NOT NULL,
    interface       text NOT NULL,
    as_of           timestamptz,
    allowed         boolean NOT NULL,
    viewed_at       timestamptz NOT NULL
);
CREATE INDEX access_log_case ON access_log (case_id, global_position);
