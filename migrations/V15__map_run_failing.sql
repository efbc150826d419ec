-- A Distributed Map run that failed while it has a ResultWriter: its running children are
-- stopped first, then its results are written (the failed and aborted children among them),
-- and only then does it end with this outcome (the interpreter's `MapRunOutcome`, as JSON).
ALTER TABLE map_runs ADD COLUMN failing text;
