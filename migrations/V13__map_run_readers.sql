-- Distributed Map runs that read their items as they go (ItemReader) and batch them
-- (ItemBatcher).
--
-- `cursor` is where the reading stands (the interpreter's `item_reader::Cursor`: the next
-- item, the object's bytes consumed, a listing's page), written with the children its items
-- went to. `all_read`: no item is left to read. `total` is the number of items once known
-- (NULL while a reader has not reached the end). Items are counted apart from children, as a
-- child may run a batch of them (`executions.map_items`, and `map_run_ends.items`).
ALTER TABLE map_runs
    ADD COLUMN cursor          text,
    ADD COLUMN all_read        boolean NOT NULL DEFAULT false,
    ADD COLUMN items_read      bigint  NOT NULL DEFAULT 0,
    ADD COLUMN items_succeeded bigint  NOT NULL DEFAULT 0,
    ADD COLUMN items_failed    bigint  NOT NULL DEFAULT 0,
    ADD COLUMN items_timed_out bigint  NOT NULL DEFAULT 0,
    ADD COLUMN items_aborted   bigint  NOT NULL DEFAULT 0,
    ALTER COLUMN total DROP NOT NULL;

ALTER TABLE map_run_ends ADD COLUMN items bigint NOT NULL DEFAULT 1;

ALTER TABLE executions ADD COLUMN map_items integer;
