-- A call is kept as the JSON text the scheduler wrote. As jsonb it could not hold a workflow's
-- data with the NUL character (JSON "\u0000"), and the step scheduling such a call failed on
-- every retry.
ALTER TABLE tasks ALTER COLUMN call TYPE text USING call::text;
