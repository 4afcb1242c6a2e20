-- The CRM schema, written once for both SQLite and PostgreSQL: ids are text, moments are
-- RFC 3339 UTC text (they sort and compare alike in both), amounts DOUBLE PRECISION, flags
-- BIGINT 0/1 (sqlx's Any driver reads no SQLite boolean), custom
-- fields a JSON object in text.

CREATE TABLE teams (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL
);

CREATE TABLE users (
    id TEXT PRIMARY KEY,
    email TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('admin', 'manager', 'sales', 'analyst')),
    team_id TEXT REFERENCES teams (id),
    password_hash TEXT,
    active BIGINT NOT NULL,
    created_at TEXT NOT NULL
);

CREATE TABLE api_tokens (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (id),
    name TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    scopes TEXT NOT NULL,
    created_at TEXT NOT NULL,
    last_used_at TEXT,
    revoked_at TEXT
);

CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (id),
    csrf_token TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
);

CREATE TABLE custom_field_defs (
    id TEXT PRIMARY KEY,
    entity TEXT NOT NULL,
    name TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('text', 'number', 'integer', 'boolean', 'date', 'choice')),
    required BIGINT NOT NULL,
    options TEXT NOT NULL,
    created_at TEXT NOT NULL,
    UNIQUE (entity, name)
);

CREATE TABLE imports (
    id TEXT PRIMARY KEY,
    entity TEXT NOT NULL,
    source TEXT NOT NULL,
    mode TEXT NOT NULL,
    key_field TEXT,
    actor_id TEXT,
    started_at TEXT NOT NULL,
    finished_at TEXT,
    rows_created BIGINT NOT NULL,
    rows_updated BIGINT NOT NULL,
    status TEXT NOT NULL,
    undone_at TEXT
);

CREATE TABLE companies (
    id TEXT PRIMARY KEY,
    external_id TEXT UNIQUE,
    name TEXT NOT NULL,
    domain TEXT,
    industry TEXT,
    employees BIGINT,
    country TEXT,
    owner_id TEXT REFERENCES users (id),
    custom_fields TEXT NOT NULL,
    import_id TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX companies_name ON companies (name);
CREATE INDEX companies_domain ON companies (domain);
CREATE INDEX companies_owner ON companies (owner_id);
CREATE INDEX companies_import ON companies (import_id);

CREATE TABLE customers (
    id TEXT PRIMARY KEY,
    external_id TEXT UNIQUE,
    name TEXT NOT NULL,
    email TEXT,
    phone TEXT,
    company_id TEXT REFERENCES companies (id),
    owner_id TEXT REFERENCES users (id),
    segment TEXT,
    clv DOUBLE PRECISION,
    p_alive DOUBLE PRECISION,
    next_action TEXT,
    scored_at TEXT,
    custom_fields TEXT NOT NULL,
    import_id TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX customers_name ON customers (name);
CREATE INDEX customers_email ON customers (email);
CREATE INDEX customers_company ON customers (company_id);
CREATE INDEX customers_owner ON customers (owner_id);
CREATE INDEX customers_import ON customers (import_id);

CREATE TABLE pipelines (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    position BIGINT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

CREATE TABLE stages (
    id TEXT PRIMARY KEY,
    pipeline_id TEXT NOT NULL REFERENCES pipelines (id),
    name TEXT NOT NULL,
    position BIGINT NOT NULL,
    probability DOUBLE PRECISION,
    kind TEXT NOT NULL CHECK (kind IN ('open', 'won', 'lost')),
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    UNIQUE (pipeline_id, name)
);

CREATE TABLE lost_reasons (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

CREATE TABLE deals (
    id TEXT PRIMARY KEY,
    external_id TEXT UNIQUE,
    name TEXT NOT NULL,
    pipeline_id TEXT NOT NULL REFERENCES pipelines (id),
    stage_id TEXT NOT NULL REFERENCES stages (id),
    amount DOUBLE PRECISION,
    currency TEXT,
    customer_id TEXT REFERENCES customers (id),
    company_id TEXT REFERENCES companies (id),
    owner_id TEXT REFERENCES users (id),
    expected_close TEXT,
    closed_at TEXT,
    lost_reason_id TEXT REFERENCES lost_reasons (id),
    custom_fields TEXT NOT NULL,
    import_id TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX deals_pipeline_stage ON deals (pipeline_id, stage_id, amount);
CREATE INDEX deals_stage_amount ON deals (stage_id, amount);
CREATE INDEX deals_owner ON deals (owner_id);
CREATE INDEX deals_amount ON deals (amount);
CREATE INDEX deals_updated ON deals (updated_at);
CREATE INDEX deals_customer ON deals (customer_id);
CREATE INDEX deals_company ON deals (company_id);
CREATE INDEX deals_import ON deals (import_id);

CREATE TABLE deal_stage_history (
    id TEXT PRIMARY KEY,
    deal_id TEXT NOT NULL REFERENCES deals (id),
    from_stage_id TEXT REFERENCES stages (id),
    to_stage_id TEXT NOT NULL REFERENCES stages (id),
    changed_by TEXT,
    changed_at TEXT NOT NULL
);
CREATE INDEX deal_stage_history_deal ON deal_stage_history (deal_id, changed_at);

CREATE TABLE activities (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('note', 'task', 'call', 'meeting')),
    subject TEXT NOT NULL,
    body TEXT,
    due_at TEXT,
    done BIGINT,
    record_type TEXT NOT NULL,
    record_id TEXT NOT NULL,
    owner_id TEXT REFERENCES users (id),
    custom_fields TEXT NOT NULL,
    import_id TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX activities_record ON activities (record_type, record_id);
CREATE INDEX activities_owner ON activities (owner_id);
CREATE INDEX activities_import ON activities (import_id);

CREATE TABLE products (
    id TEXT PRIMARY KEY,
    sku TEXT UNIQUE,
    name TEXT NOT NULL,
    category TEXT,
    price DOUBLE PRECISION,
    custom_fields TEXT NOT NULL,
    import_id TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX products_import ON products (import_id);

CREATE TABLE orders (
    id TEXT PRIMARY KEY,
    external_id TEXT UNIQUE,
    customer_id TEXT NOT NULL REFERENCES customers (id),
    ordered_at TEXT NOT NULL,
    amount DOUBLE PRECISION NOT NULL,
    status TEXT,
    currency TEXT,
    channel TEXT,
    custom_fields TEXT NOT NULL,
    import_id TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX orders_customer ON orders (customer_id, ordered_at);
CREATE INDEX orders_import ON orders (import_id);

CREATE TABLE order_lines (
    id TEXT PRIMARY KEY,
    order_id TEXT NOT NULL REFERENCES orders (id),
    product_id TEXT REFERENCES products (id),
    quantity DOUBLE PRECISION NOT NULL,
    unit_price DOUBLE PRECISION NOT NULL,
    import_id TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX order_lines_order ON order_lines (order_id);
CREATE INDEX order_lines_import ON order_lines (import_id);

CREATE TABLE tags (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

CREATE TABLE taggings (
    id TEXT PRIMARY KEY,
    tag_id TEXT NOT NULL REFERENCES tags (id),
    record_type TEXT NOT NULL,
    record_id TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    UNIQUE (tag_id, record_type, record_id)
);
CREATE INDEX taggings_record ON taggings (record_type, record_id);

CREATE TABLE audit_log (
    id TEXT PRIMARY KEY,
    occurred_at TEXT NOT NULL,
    actor_id TEXT,
    action TEXT NOT NULL,
    entity TEXT NOT NULL,
    record_id TEXT,
    changes TEXT NOT NULL,
    import_id TEXT
);
CREATE INDEX audit_log_record ON audit_log (entity, record_id);
CREATE INDEX audit_log_at ON audit_log (occurred_at);
CREATE INDEX audit_log_actor ON audit_log (actor_id, occurred_at);

CREATE TABLE import_changes (
    import_id TEXT NOT NULL REFERENCES imports (id),
    seq BIGINT NOT NULL,
    entity TEXT NOT NULL,
    record_id TEXT NOT NULL,
    prior TEXT NOT NULL,
    PRIMARY KEY (import_id, seq)
);
