-- Versions and aliases of state machines, UpdateStateMachine's dates, and what an execution
-- started through (a version or an alias).

ALTER TABLE state_machines
    -- Set by UpdateStateMachine; AWS describes a never-updated machine without it.
    ADD COLUMN updated_at timestamptz,
    -- The last version number given out: numbers are never reused, even after a delete.
    ADD COLUMN last_version bigint NOT NULL DEFAULT 0;

CREATE TABLE state_machine_versions (
    seq                      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    arn                      text        NOT NULL UNIQUE,
    machine_arn              text        NOT NULL REFERENCES state_machines (arn) ON DELETE CASCADE,
    version                  bigint      NOT NULL,
    definition               text        NOT NULL,
    role_arn                 text        NOT NULL,
    logging_configuration    jsonb       NOT NULL,
    tracing_configuration    jsonb       NOT NULL,
    encryption_configuration jsonb,
    -- The machine's revision the version was published from (NULL: never updated).
    revision_id              uuid,
    description              text,
    created_at               timestamptz NOT NULL
);

CREATE INDEX state_machine_versions_by_machine ON state_machine_versions (machine_arn, version DESC);

CREATE TABLE state_machine_aliases (
    seq           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    arn           text        NOT NULL UNIQUE,
    machine_arn   text        NOT NULL REFERENCES state_machines (arn) ON DELETE CASCADE,
    name          text        NOT NULL,
    description   text,
    -- [{"stateMachineVersionArn": …, "weight": …}], one or two entries.
    routing       jsonb       NOT NULL,
    created_at    timestamptz NOT NULL,
    updated_at    timestamptz NOT NULL
);

CREATE INDEX state_machine_aliases_by_machine ON state_machine_aliases (machine_arn, seq);

ALTER TABLE executions
    ADD COLUMN state_machine_version_arn text,
    ADD COLUMN state_machine_alias_arn   text;
