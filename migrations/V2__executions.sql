-- Executions, their history, and the intents API nodes record for them (signals).
--
-- An execution row carries everything a scheduler needs to advance it: the definition it started
-- with (a later update of the state machine does not change a running execution), the
-- interpreter's snapshot, and `due_at`, the time a scheduler must look at it next. Schedulers
-- claim rows whose `due_at` has come with SELECT ... FOR UPDATE SKIP LOCKED.

CREATE TABLE executions (
    seq               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    arn               text        NOT NULL UNIQUE,
    account           text        NOT NULL,
    region            text        NOT NULL,
    state_machine_arn text        NOT NULL,
    name              text        NOT NULL,
    machine_type      text        NOT NULL,
    definition        text        NOT NULL,
    role_arn          text        NOT NULL,
    -- Input and output exactly as given and produced.
    input             text        NOT NULL,
    status            text        NOT NULL DEFAULT 'RUNNING'
                      CHECK (status IN ('RUNNING', 'SUCCEEDED', 'FAILED', 'TIMED_OUT', 'ABORTED')),
    output            text,
    error             text,
    cause             text,
    trace_header      text,
    started_at        timestamptz NOT NULL,
    stopped_at        timestamptz,
    -- The interpreter's state between steps (JSON); NULL until a scheduler starts the execution.
    snapshot          text,
    -- When a scheduler must step the execution next; NULL while it waits only on outside events.
    due_at            timestamptz,
    history_length    integer     NOT NULL DEFAULT 0
) WITH (fillfactor = 80);

CREATE INDEX executions_due ON executions (due_at) WHERE due_at IS NOT NULL;
CREATE INDEX executions_by_machine ON executions (state_machine_arn, seq DESC);

-- Append-only; ids are 1..n without gaps per execution. Events are stored as the JSON text the
-- API returns, so a page of history is read and sent without re-encoding.
CREATE TABLE history_events (
    execution_seq bigint  NOT NULL REFERENCES executions (seq) ON DELETE CASCADE,
    id            integer NOT NULL,
    event         text    NOT NULL,
    PRIMARY KEY (execution_seq, id)
);

-- Intents recorded by API nodes for a scheduler to apply: a stop request, a task's result.
CREATE TABLE signals (
    seq           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    execution_seq bigint      NOT NULL REFERENCES executions (seq) ON DELETE CASCADE,
    body          jsonb       NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX signals_by_execution ON signals (execution_seq, seq);

-- Activity tasks: scheduled by a scheduler's step, taken by a worker's GetActivityTask, closed
-- by a result, a timeout, or the end of their state. The token is random and opaque; the row
-- ties it to the execution and to the interpreter's task id.
CREATE TABLE tasks (
    token             text        PRIMARY KEY,
    execution_seq     bigint      NOT NULL REFERENCES executions (seq) ON DELETE CASCADE,
    task_id           bigint      NOT NULL,
    activity_arn      text        NOT NULL,
    input             text        NOT NULL,
    status            text        NOT NULL DEFAULT 'SCHEDULED'
                      CHECK (status IN ('SCHEDULED', 'STARTED', 'CLOSED')),
    worker_name       text,
    scheduled_at      timestamptz NOT NULL DEFAULT now(),
    started_at        timestamptz,
    -- Written by API nodes on SendTaskHeartbeat; read by the scheduler when a heartbeat
    -- deadline comes.
    last_heartbeat_at timestamptz,
    UNIQUE (execution_seq, task_id)
);

CREATE INDEX tasks_waiting ON tasks (activity_arn, scheduled_at) WHERE status = 'SCHEDULED';
