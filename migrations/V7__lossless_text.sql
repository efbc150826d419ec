-- Strings a user controls may hold the NUL character (JSON "\u0000"), which PostgreSQL's text
-- and jsonb cannot store: a step writing one failed on every retry and held up its batch.
--
-- Signals are kept as the JSON text the writer serialized (which escapes NUL), with the task
-- they answer in a column of their own, filled in by the statements that find the task.
ALTER TABLE signals ALTER COLUMN body TYPE text USING body::text;
ALTER TABLE signals ADD COLUMN task_id bigint;

-- Plain strings a user controls are kept as JSON string literals (see the store's `text`
-- module), which escape NUL; the values already stored are converted once here.
UPDATE executions
SET error = to_json(error)::text, cause = to_json(cause)::text,
    trace_header = to_json(trace_header)::text
WHERE error IS NOT NULL OR cause IS NOT NULL OR trace_header IS NOT NULL;
UPDATE tasks SET worker_name = to_json(worker_name)::text WHERE worker_name IS NOT NULL;
