-- The heartbeats a scheduler step reads: open tasks of its executions that a worker has
-- reported on. With only the (execution_seq, task_id) index, every step read every task its
-- execution ever had, so a step of a long loop of tasks cost more the longer the execution ran.
-- Tasks enter this index only once a heartbeat arrived, and leave it when they close.
CREATE INDEX tasks_heartbeats ON tasks (execution_seq)
    WHERE status <> 'CLOSED' AND last_heartbeat_at IS NOT NULL;

-- Signals are a queue: inserted by API nodes, deleted by the step that applies them. The dead
-- rows and index entries they leave are read by every later step of the same execution until
-- a vacuum removes them, so this table is vacuumed after a few hundred deletions rather than
-- after a fifth of its (always small) size.
ALTER TABLE signals SET (autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 500);
