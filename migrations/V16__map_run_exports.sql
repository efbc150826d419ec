-- A Distributed Map run whose ResultWriter puts files in S3 (`exports`) writes its results
-- when it is aborted with its parent too: it is ABORTED at once, stays due until its stopped
-- children ended and its files are written, and `failing` then says how it ends.
ALTER TABLE map_runs ADD COLUMN exports boolean NOT NULL DEFAULT false;

-- Due runs are RUNNING, or ABORTED and writing their results: every other run has no due time.
DROP INDEX map_runs_due;
CREATE INDEX map_runs_due ON map_runs (due_at) WHERE due_at IS NOT NULL;
