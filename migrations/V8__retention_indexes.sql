-- (There is no V6: this file was V6 until V7 was released before it, and refinery refuses a
-- migration below the version a database is at.)
--
-- Retention: schedulers delete executions that ended more than `retention.days` ago, oldest
-- first, a few hundred at a time. This index holds ended executions only, ordered by their end,
-- so each batch reads just the rows it deletes however many executions are running or kept.
CREATE INDEX executions_ended ON executions (stopped_at) WHERE status <> 'RUNNING';

-- The running executions of a machine: what DeleteStateMachine asks (may the machine go now?)
-- and what every batch in which an execution ends asks for machines marked DELETING. Through
-- `executions_by_machine` these read every execution the machine ever had that retention
-- keeps; worse, with a million rows kept the planner costed the batch's question as a scan of
-- the table and compiled it with JIT on every batch (6 ms each) although it never ran it.
CREATE INDEX executions_running ON executions (state_machine_arn) WHERE status = 'RUNNING';

-- Neither index changes while an execution runs (its machine never changes, and its status
-- and stop date change once, at its end), so a running step's update stays HOT.
