-- How far a Distributed Map run's result files are written (the scheduler's `Written`, as
-- JSON): a long write goes on over bounded rounds of the run's driver, and a crash repeats at
-- most one round's files, put again under the same keys.
ALTER TABLE map_runs ADD COLUMN writing text;
