-- One open episode per family. The case holding each family's open episode; a referral
-- claims its family atomically, and may take the claim over only from a case whose
-- episode has ended (or whose referral was never recorded). Derived, never the record:
-- the events say which episodes are open, this table only makes the check race-free.
CREATE TABLE family_episodes (
    family_id text PRIMARY KEY,
    case_id text NOT NULL,
    claimed_at timestamptz NOT NULL DEFAULT now()
);
