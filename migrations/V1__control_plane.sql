-- The control plane: activities and state machines, plus server-wide metadata.
--
-- Every resource row carries the account and region it belongs to; ARNs are unique across the
-- whole database because they embed both. `seq` is a monotonically increasing key used for
-- keyset pagination: list pages are stable while new rows are inserted.

CREATE TABLE server_meta (
    key   text PRIMARY KEY,
    value text NOT NULL
);

-- Secret that signs pagination tokens, shared by every API node through the database.
INSERT INTO server_meta (key, value)
VALUES ('page_token_key', md5(random()::text || clock_timestamp()::text) || md5(random()::text));

CREATE TABLE activities (
    seq                      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    arn                      text        NOT NULL UNIQUE,
    account                  text        NOT NULL,
    region                   text        NOT NULL,
    name                     text        NOT NULL,
    tags                     jsonb       NOT NULL DEFAULT '[]',
    encryption_configuration jsonb,
    created_at               timestamptz NOT NULL
);

CREATE INDEX activities_scope ON activities (account, region, seq);

CREATE TABLE state_machines (
    seq                      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    arn                      text        NOT NULL UNIQUE,
    account                  text        NOT NULL,
    region                   text        NOT NULL,
    name                     text        NOT NULL,
    type                     text        NOT NULL CHECK (type IN ('STANDARD', 'EXPRESS')),
    status                   text        NOT NULL DEFAULT 'ACTIVE' CHECK (status IN ('ACTIVE', 'DELETING')),
    -- The definition exactly as the user sent it.
    definition               text        NOT NULL,
    role_arn                 text        NOT NULL,
    logging_configuration    jsonb       NOT NULL,
    tracing_configuration    jsonb       NOT NULL,
    -- NULL when the caller set none: AWS describes such machines without the member.
    encryption_configuration jsonb,
    tags                     jsonb       NOT NULL DEFAULT '[]',
    -- Set by the first update; AWS describes a never-updated machine without a revision id.
    revision_id              uuid,
    created_at               timestamptz NOT NULL
);

CREATE INDEX state_machines_scope ON state_machines (account, region, seq);
