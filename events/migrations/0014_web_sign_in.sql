-- Web pages (issue 16): users sign in with a password (an argon2 hash, never the password)
-- or through the council's OpenID Connect provider (the subject an admin linked them to).
ALTER TABLE users ADD COLUMN password_hash text;
ALTER TABLE users ADD COLUMN oidc_subject text UNIQUE
    CHECK (oidc_subject IS NULL OR length(oidc_subject) BETWEEN 1 AND 255);

-- Server-side sessions: the cookie holds a random secret; only its hash is kept. A row
-- without a user is a visitor not yet signed in (their CSRF token and sign-in state).
-- Signing out deletes the row; a session idle too long is refused and deleted.
CREATE TABLE web_sessions (
    session_hash  bytea PRIMARY KEY,
    user_id       text REFERENCES users (user_id),
    csrf_token    text NOT NULL,
    data          jsonb NOT NULL DEFAULT '{}',
    created_at    timestamptz NOT NULL DEFAULT now(),
    last_seen_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX web_sessions_seen ON web_sessions (last_seen_at);

-- A form submitted twice (a double click, a resubmit after "back") records once: each form
-- carries a submission id, claimed here before its command is sent; the second sees the
-- claim and is shown the first one's result. A refused command gives its claim back.
CREATE TABLE web_submissions (
    submission_id uuid PRIMARY KEY,
    user_id       text NOT NULL,
    result_url    text,
    created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX web_submissions_created ON web_submissions (created_at);
