-- The console's lists: every execution of an account and region, newest first, optionally of
-- one status or with a name prefix, paged by key; and a machine's failed executions counted
-- beside its running ones (`executions_running`).
--
-- None of these columns changes while an execution runs (its scope and name never, its status
-- once, at its end), so a running step's update stays HOT.
CREATE INDEX executions_by_scope ON executions (account, region, seq DESC);
CREATE INDEX executions_by_scope_status ON executions (account, region, status, seq DESC);
CREATE INDEX executions_by_name ON executions (account, region, name text_pattern_ops);
CREATE INDEX executions_failed ON executions (state_machine_arn) WHERE status = 'FAILED';
