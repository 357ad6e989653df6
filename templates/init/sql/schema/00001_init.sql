-- +goose Up
-- tenantgen:shared
-- Shared tables live once, in public: plans, global settings, ...
CREATE TABLE plans (
    id   bigserial PRIMARY KEY,
    name text NOT NULL UNIQUE
);

-- tenantgen:tenant
-- Tenant tables are created in every tenant's schema.
CREATE TABLE notes (
    id         bigserial PRIMARY KEY,
    body       text NOT NULL,
    plan_id    bigint REFERENCES plans (id),
    created_at timestamptz NOT NULL DEFAULT now()
);

-- +goose Down
-- Down statements need no markers: they act on objects whose scope is known.
DROP TABLE notes;
DROP TABLE plans;
