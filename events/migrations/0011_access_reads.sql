-- The access log also records list reads (CasesListed: one row per case returned) and why
-- personal data was opened (purpose, and an auditor's reason).
ALTER TABLE access_log ADD COLUMN purpose text, ADD COLUMN reason text;
ALTER TABLE access_log DROP CONSTRAINT access_log_pkey;
ALTER TABLE access_log ADD PRIMARY KEY (global_position, case_id);
