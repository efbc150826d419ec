-- RedriveExecution: how often an execution was redriven, when last, and the client token of
-- the last redrive (a retried request with the same token redrives once).
ALTER TABLE executions
    ADD COLUMN redrive_count integer NOT NULL DEFAULT 0,
    ADD COLUMN redrive_date  timestamptz,
    ADD COLUMN redrive_token text;
