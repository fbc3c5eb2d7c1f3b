-- Users and their API tokens. Configuration rather than case facts: not event-sourced, but
-- every change is stamped, and tokens are stored only as SHA-256 hashes (they are random
-- 256-bit secrets, so a fast hash is enough; the plain token is shown once, at creation).

CREATE TABLE users (
    user_id    text PRIMARY KEY CHECK (user_id ~ '^[A-Za-z0-9_.-]{1,64}$'),
    role       text NOT NULL CHECK (role IN
                   ('case_manager', 'supervisor', 'business_support', 'auditor', 'admin')),
    team_id    text,
    active     boolean NOT NULL DEFAULT true,
    created_at timestamptz NOT NULL DEFAULT now(),
    CHECK (team_id IS NOT NULL OR role IN ('auditor', 'admin'))
);

CREATE TABLE api_tokens (
    token_id    text PRIMARY KEY,
    user_id     text NOT NULL REFERENCES users (user_id),
    token_hash  bytea NOT NULL UNIQUE,
    label       text,
    created_at  timestamptz NOT NULL DEFAULT now(),
    revoked_at  timestamptz
);
