-- The kanban reads these totals instead of scanning the deals: one row per (pipeline, stage,
-- owner) with the count and summed amount of its deals, kept by triggers so that every write
-- path (API, import, undo, merge, delete) keeps them true in the writing transaction. Per
-- owner so a sales user's board (own and team's deals) is a sum over a few rows. No owner is
-- stored as '' because a primary key column cannot hold NULL in PostgreSQL.
--
-- The amount is a running sum of additions and subtractions, so it is kept with Neumaier's
-- compensation term (`amount_error`): without it, adding and later removing a deal of 1e9
-- leaves a stage of 40 at 39.99999999994. The total is `amount + amount_error`.
CREATE TABLE deal_totals (
    pipeline_id TEXT NOT NULL,
    stage_id TEXT NOT NULL,
    owner_id TEXT NOT NULL,
    deals BIGINT NOT NULL,
    amount DOUBLE PRECISION NOT NULL,
    amount_error DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (pipeline_id, stage_id, owner_id)
);

INSERT INTO deal_totals (pipeline_id, stage_id, owner_id, deals, amount, amount_error)
SELECT pipeline_id, stage_id, COALESCE(owner_id, ''), COUNT(*), COALESCE(SUM(amount), 0), 0
FROM deals GROUP BY pipeline_id, stage_id, COALESCE(owner_id, '');

CREATE TRIGGER deal_totals_insert AFTER INSERT ON deals BEGIN
    INSERT INTO deal_totals (pipeline_id, stage_id, owner_id, deals, amount, amount_error)
    VALUES (NEW.pipeline_id, NEW.stage_id, COALESCE(NEW.owner_id, ''), 1, COALESCE(NEW.amount, 0), 0)
    ON CONFLICT (pipeline_id, stage_id, owner_id) DO UPDATE SET
        deals = deals + excluded.deals,
        amount = amount + excluded.amount,
        amount_error = amount_error + CASE WHEN abs(amount) >= abs(excluded.amount) THEN (amount - (amount + excluded.amount)) + excluded.amount ELSE (excluded.amount - (amount + excluded.amount)) + amount END;
END;

CREATE TRIGGER deal_totals_delete AFTER DELETE ON deals BEGIN
    INSERT INTO deal_totals (pipeline_id, stage_id, owner_id, deals, amount, amount_error)
    VALUES (OLD.pipeline_id, OLD.stage_id, COALESCE(OLD.owner_id, ''), -1, -COALESCE(OLD.amount, 0), 0)
    ON CONFLICT (pipeline_id, stage_id, owner_id) DO UPDATE SET
        deals = deals + excluded.deals,
        amount = amount + excluded.amount,
        amount_error = amount_error + CASE WHEN abs(amount) >= abs(excluded.amount) THEN (amount - (amount + excluded.amount)) + excluded.amount ELSE (excluded.amount - (amount + excluded.amount)) + amount END;
END;

CREATE TRIGGER deal_totals_update AFTER UPDATE OF pipeline_id, stage_id, owner_id, amount ON deals
WHEN OLD.pipeline_id IS NOT NEW.pipeline_id OR OLD.stage_id IS NOT NEW.stage_id
  OR OLD.owner_id IS NOT NEW.owner_id OR OLD.amount IS NOT NEW.amount
BEGIN
    INSERT INTO deal_totals (pipeline_id, stage_id, owner_id, deals, amount, amount_error)
    VALUES (OLD.pipeline_id, OLD.stage_id, COALESCE(OLD.owner_id, ''), -1, -COALESCE(OLD.amount, 0), 0)
    ON CONFLICT (pipeline_id, stage_id, owner_id) DO UPDATE SET
        deals = deals + excluded.deals,
        amount = amount + excluded.amount,
        amount_error = amount_error + CASE WHEN abs(amount) >= abs(excluded.amount) THEN (amount - (amount + excluded.amount)) + excluded.amount ELSE (excluded.amount - (amount + excluded.amount)) + amount END;
    INSERT INTO deal_totals (pipeline_id, stage_id, owner_id, deals, amount, amount_error)
    VALUES (NEW.pipeline_id, NEW.stage_id, COALESCE(NEW.owner_id, ''), 1, COALESCE(NEW.amount, 0), 0)
    ON CONFLICT (pipeline_id, stage_id, owner_id) DO UPDATE SET
        deals = deals + excluded.deals,
        amount = amount + excluded.amount,
        amount_error = amount_error + CASE WHEN abs(amount) >= abs(excluded.amount) THEN (amount - (amount + excluded.amount)) + excluded.amount ELSE (excluded.amount - (amount + excluded.amount)) + amount END;
END;
