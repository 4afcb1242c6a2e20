-- PostgreSQL only. Lists sort null as the smallest value in both databases (ascending NULLS
-- FIRST, descending NULLS LAST), which is how SQLite's indexes are ordered already; a
-- PostgreSQL index has to be built in that order to serve such a sort without sorting.
DROP INDEX deals_pipeline_stage;
DROP INDEX deals_stage_amount;
DROP INDEX deals_amount;
CREATE INDEX deals_pipeline_stage ON deals (pipeline_id, stage_id, amount NULLS FIRST);
CREATE INDEX deals_stage_amount ON deals (stage_id, amount NULLS FIRST);
CREATE INDEX deals_amount ON deals (amount NULLS FIRST);
DROP INDEX customers_email;
CREATE INDEX customers_email ON customers (email NULLS FIRST);
CREATE INDEX customers_clv ON customers (clv NULLS FIRST);
