-- A Distributed Map run redriven with its parent: how often, and when last (DescribeMapRun's
-- redriveCount and redriveDate).
ALTER TABLE map_runs
    ADD COLUMN redrive_count integer NOT NULL DEFAULT 0,
    ADD COLUMN redrive_date  timestamptz;
