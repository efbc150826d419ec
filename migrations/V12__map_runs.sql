-- Distributed Map runs: a DISTRIBUTED Map state starts a run, whose items run as child
-- executions; the parent's Map state waits for the run's end.
--
-- A run belongs to the parent execution's Map task (`execution_seq`, `task_id`): closing that
-- task (the parent stopped, failed or moved on) aborts the run. `spec` is the interpreter's
-- `MapRunSpec` (what each child runs and with which input); the counters are what
-- DescribeMapRun reports. Schedulers drive runs: a run is claimed with SKIP LOCKED when it is
-- due or children of it ended, children are created in batches up to MaxConcurrency, and
-- each child is created once (UNIQUE (map_run_seq, map_index)).
CREATE TABLE map_runs (
    seq                          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    arn                          text        NOT NULL UNIQUE,
    account                      text        NOT NULL,
    region                       text        NOT NULL,
    execution_seq                bigint      NOT NULL REFERENCES executions (seq) ON DELETE CASCADE,
    task_id                      bigint      NOT NULL,
    status                       text        NOT NULL DEFAULT 'RUNNING'
                                 CHECK (status IN ('RUNNING', 'SUCCEEDED', 'FAILED', 'ABORTED')),
    spec                         text        NOT NULL,
    max_concurrency              integer     NOT NULL,
    -- NULL: not set (DescribeMapRun reports 0; with neither set, any failure fails the run).
    tolerated_failure_count      bigint,
    tolerated_failure_percentage double precision,
    -- Items in the run, children created so far, and children ended by status.
    total                        bigint      NOT NULL,
    started                      bigint      NOT NULL DEFAULT 0,
    succeeded                    bigint      NOT NULL DEFAULT 0,
    failed                       bigint      NOT NULL DEFAULT 0,
    timed_out                    bigint      NOT NULL DEFAULT 0,
    aborted                      bigint      NOT NULL DEFAULT 0,
    started_at                   timestamptz NOT NULL,
    stopped_at                   timestamptz,
    -- When a scheduler must look at the run next; NULL while it waits for children to end.
    due_at                       timestamptz,
    UNIQUE (execution_seq, task_id)
);

CREATE INDEX map_runs_due ON map_runs (due_at) WHERE status = 'RUNNING' AND due_at IS NOT NULL;

-- Children that ended, appended by the step that ended them and folded into the run's
-- counters by the scheduler that drives the run (an append keeps the steps of many children
-- from queueing on the run's row).
CREATE TABLE map_run_ends (
    map_run_seq bigint NOT NULL REFERENCES map_runs (seq) ON DELETE CASCADE,
    status      text   NOT NULL,
    count       bigint NOT NULL
);

CREATE INDEX map_run_ends_by_run ON map_run_ends (map_run_seq);

ALTER TABLE executions
    ADD COLUMN map_run_seq bigint REFERENCES map_runs (seq) ON DELETE CASCADE,
    ADD COLUMN map_index   bigint;

CREATE UNIQUE INDEX executions_by_map_run ON executions (map_run_seq, map_index)
    WHERE map_run_seq IS NOT NULL;
