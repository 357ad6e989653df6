-- +goose Up
-- tenantgen:shared
CREATE TYPE plan_tier AS ENUM ('free', 'pro');
CREATE TABLE plans (
    id bigserial PRIMARY KEY,
    name text NOT NULL UNIQUE,
    tier plan_tier NOT NULL DEFAULT 'free',
    features jsonb NOT NULL DEFAULT '{}'
);

-- tenantgen:tenant
-- Per-tenant enum: its OID differs in every tenant schema.
CREATE TYPE item_status AS ENUM ('draft', 'active', 'archived');
CREATE TABLE items (
    id bigserial PRIMARY KEY,
    tenant text NOT NULL, -- every row carries its tenant's name, for isolation checks
    name text NOT NULL,
    status item_status NOT NULL DEFAULT 'draft',
    tags text[] NOT NULL DEFAULT '{}',
    attrs jsonb,
    price numeric(10, 2),
    plan_id bigint REFERENCES plans (id),
    note text,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE events (
    id bigserial PRIMARY KEY,
    item_id bigint NOT NULL REFERENCES items (id) ON DELETE CASCADE,
    kind text NOT NULL
);
CREATE FUNCTION item_count() RETURNS bigint LANGUAGE sql STABLE AS $$ SELECT count(*) FROM items $$;
CREATE FUNCTION log_item() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO events (item_id, kind) VALUES (NEW.id, 'created');
    RETURN NEW;
END;
$$;
CREATE TRIGGER items_log AFTER INSERT ON items FOR EACH ROW EXECUTE FUNCTION log_item();
CREATE VIEW active_items AS SELECT id, tenant, name FROM items WHERE status = 'active';

-- +goose Down
DROP VIEW active_items;
DROP TRIGGER items_log ON items;
DROP FUNCTION log_item();
DROP FUNCTION item_count();
DROP TABLE events;
DROP TABLE items;
DROP TYPE item_status;
DROP TABLE plans;
DROP TYPE plan_tier;
