-- A Distributed Map run whose ResultWriter puts files in S3 (`exports`) writes its results
-- when it is aborted with its parent too: it is ABORTED at once, due until its stopped children
-- ended and its files are written (each child's end makes it due again), and `failing` then
-- says how it ends (`map_runs::Ending`).
ALTER TABLE map_runs ADD COLUMN exports boolean NOT NULL DEFAULT false;

-- Runs under way when this came in: those whose writer names a bucket export.
UPDATE map_runs SET exports = true
WHERE status = 'RUNNING' AND spec::jsonb -> 'writer' ->> 'bucket' IS NOT NULL;

-- Runs aborted while failing kept their failing outcome; they are done.
UPDATE map_runs SET failing = NULL WHERE status <> 'RUNNING';

-- Due runs are RUNNING, or ABORTED and writing their results: every other run has no due time.
DROP INDEX map_runs_due;
CREATE INDEX map_runs_due ON map_runs (due_at) WHERE due_at IS NOT NULL;
