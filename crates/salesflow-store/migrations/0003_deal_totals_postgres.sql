-- The kanban reads these totals instead of scanning the deals: one row per (pipeline, stage,
-- owner) with the count and summed amount of its deals, kept by triggers so that every write
-- path (API, import, undo, merge, delete) keeps them true in the writing transaction. Per
-- owner so a sales user's board (own and team's deals) is a sum over a few rows. No owner is
-- stored as '' because a primary key column cannot hold NULL .
--
-- The amount is a running sum of additions and subtractions of batch sums, so it is kept as an
-- exact NUMERIC (of each amount's 15 significant digits): in floating point, importing deals
-- in batches and undoing the import in one statement leaves a residue, as does adding and
-- later removing a deal of 1e9 (SQLite, one row at a time, keeps a compensation term instead).
CREATE TABLE deal_totals (
    pipeline_id TEXT NOT NULL,
    stage_id TEXT NOT NULL,
    owner_id TEXT NOT NULL,
    deals BIGINT NOT NULL,
    amount NUMERIC NOT NULL,
    PRIMARY KEY (pipeline_id, stage_id, owner_id)
);

INSERT INTO deal_totals (pipeline_id, stage_id, owner_id, deals, amount)
SELECT pipeline_id, stage_id, COALESCE(owner_id, ''), COUNT(*), COALESCE(SUM(amount::numeric), 0)
FROM deals GROUP BY pipeline_id, stage_id, COALESCE(owner_id, '');

-- Statement-level with transition tables, so a bulk import's batch of thousands of rows is one
-- aggregated upsert rather than one per row. Changes are applied in key order so two
-- transactions moving deals in opposite directions lock the rows in the same order.
CREATE FUNCTION deal_totals_apply() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO deal_totals (pipeline_id, stage_id, owner_id, deals, amount)
        SELECT pipeline_id, stage_id, COALESCE(owner_id, ''), COUNT(*), COALESCE(SUM(amount::numeric), 0)
        FROM new_deals GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
        ON CONFLICT (pipeline_id, stage_id, owner_id) DO UPDATE SET
            deals = deal_totals.deals + excluded.deals,
            amount = deal_totals.amount + excluded.amount;
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO deal_totals (pipeline_id, stage_id, owner_id, deals, amount)
        SELECT pipeline_id, stage_id, COALESCE(owner_id, ''), -COUNT(*), -COALESCE(SUM(amount::numeric), 0)
        FROM old_deals GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
        ON CONFLICT (pipeline_id, stage_id, owner_id) DO UPDATE SET
            deals = deal_totals.deals + excluded.deals,
            amount = deal_totals.amount + excluded.amount;
    ELSE
        -- Only rows whose counted columns changed; a rename moves nothing.
        INSERT INTO deal_totals (pipeline_id, stage_id, owner_id, deals, amount)
        SELECT pipeline_id, stage_id, owner_id, SUM(deals), SUM(amount)
        FROM (
            SELECT o.pipeline_id, o.stage_id, COALESCE(o.owner_id, '') AS owner_id,
                   -1 AS deals, -COALESCE(o.amount::numeric, 0) AS amount
            FROM old_deals o JOIN new_deals n ON n.id = o.id
            WHERE (o.pipeline_id, o.stage_id, o.owner_id, o.amount)
                IS DISTINCT FROM (n.pipeline_id, n.stage_id, n.owner_id, n.amount)
            UNION ALL
            SELECT n.pipeline_id, n.stage_id, COALESCE(n.owner_id, ''), 1, COALESCE(n.amount::numeric, 0)
            FROM old_deals o JOIN new_deals n ON n.id = o.id
            WHERE (o.pipeline_id, o.stage_id, o.owner_id, o.amount)
                IS DISTINCT FROM (n.pipeline_id, n.stage_id, n.owner_id, n.amount)
        ) moved
        GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
        ON CONFLICT (pipeline_id, stage_id, owner_id) DO UPDATE SET
            deals = deal_totals.deals + excluded.deals,
            amount = deal_totals.amount + excluded.amount;
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER deal_totals_insert AFTER INSERT ON deals
    REFERENCING NEW TABLE AS new_deals FOR EACH STATEMENT EXECUTE FUNCTION deal_totals_apply();
CREATE TRIGGER deal_totals_delete AFTER DELETE ON deals
    REFERENCING OLD TABLE AS old_deals FOR EACH STATEMENT EXECUTE FUNCTION deal_totals_apply();
CREATE TRIGGER deal_totals_update AFTER UPDATE ON deals
    REFERENCING OLD TABLE AS old_deals NEW TABLE AS new_deals
    FOR EACH STATEMENT EXECUTE FUNCTION deal_totals_apply();
