-- +goose Up
-- tenantgen:tenant
-- Per-tenant enum: its OID differs in every tenant schema.
CREATE TYPE item_status AS ENUM ('draft', 'active', 'archived');
CREATE TABLE items (
    id bigserial PRIMARY KEY,
    name text NOT NULL, -- '<tenant>-<n>': the benchmark checks it names the tenant asked for
    status item_status NOT NULL DEFAULT 'draft',
    qty integer NOT NULL DEFAULT 0,
    created_at timestamptz NOT NULL DEFAULT now()
);

-- +goose Down
DROP TABLE items;
DROP TYPE item_status;
