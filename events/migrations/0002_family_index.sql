-- Re-referrals: find a family's earlier episodes without scanning every referral.
CREATE INDEX events_referral_family
    ON events ((data ->> 'family_id'), global_position)
    WHERE type = 'ReferralReceived';
