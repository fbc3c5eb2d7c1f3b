-- A family's id is compared without regard to case when a referral or an import claims
-- it: "FAM-201" and "fam-201" are one family, so a second spelling is refused, naming the
-- one on record (else the family would have two open episodes and two data keys, and an
-- erasure under one spelling would leave the other's data). Ids are ASCII (events.bounds
-- CODE_PATTERN), so lower() folds them exactly.
CREATE INDEX family_episodes_folded ON family_episodes (lower(family_id));
CREATE INDEX events_referral_family_folded
    ON events (lower(data ->> 'family_id'))
    WHERE type = 'ReferralReceived';
