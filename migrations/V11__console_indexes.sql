-- The console's lists: every execution of an account and region, newest first, optionally of
-- one status or with a name prefix, paged by key; and a machine's failed executions counted
-- beside its running ones (`executions_running`).
--
-- Building them locks the executions table against writes while it lasts (seconds per million
-- executions; see "Upgrades and migrations" in docs/operations.md).
CREATE INDEX executions_by_scope ON executions (account, region, seq DESC);
CREATE INDEX executions_by_scope_status ON executions (account, region, status, seq DESC);
CREATE INDEX executions_by_name ON executions (account, region, name text_pattern_ops);
CREATE INDEX executions_failed ON executions (state_machine_arn) WHERE status = 'FAILED';
