-- Task integrations: calls that leave the database (Lambda, HTTP, nested executions), made by
-- schedulers under a lease, and what ties a child execution or a mocked test case to its
-- execution.

-- A call is a task row with its description in `call` (the interpreter's `Invocation`); activity
-- tasks leave it NULL. `activity_arn` holds the task's resource either way. A call is
-- SCHEDULED until a scheduler made it; the scheduler making it holds it while `lease_until` is
-- in the future (renewing the lease while the call runs), and another one takes it over (calls
-- again) once the lease expired: calls are at least once. A call whose state then waits (a
-- callback, a child execution) is STARTED.
ALTER TABLE tasks ADD COLUMN call jsonb;
ALTER TABLE tasks ADD COLUMN lease_until timestamptz;
ALTER TABLE tasks ADD COLUMN call_attempts integer NOT NULL DEFAULT 0;

CREATE INDEX tasks_calls ON tasks (scheduled_at) WHERE call IS NOT NULL AND status = 'SCHEDULED';

-- An execution started by a `states:startExecution` task: the token of that task, so the
-- child's end reaches a `.sync` parent and a stopped parent stops its children.
ALTER TABLE executions ADD COLUMN parent_token text;
-- The mock configuration's test case the execution runs (`<stateMachineArn>#<case>`).
ALTER TABLE executions ADD COLUMN test_case text;

CREATE INDEX executions_by_parent ON executions (parent_token) WHERE parent_token IS NOT NULL;
