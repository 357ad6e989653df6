-- tenantgen's own tables in public: the tenant registry. Migrated with the
-- version table tenantgen_goose_db_version, apart from the application's.

-- +goose Up
CREATE TABLE tenantgen_tenants (
    name       text PRIMARY KEY CHECK (name ~ '^[a-z_][a-z0-9_]{0,62}$' AND name NOT LIKE 'pg\_%'),
    -- Where the tenant lives: a name from the runtime's database map, so that
    -- tenants can later spread over several servers or a Citus cluster.
    database   text NOT NULL DEFAULT 'default',
    state      text NOT NULL DEFAULT 'creating' CHECK (state IN ('creating', 'active', 'dropping')),
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE tenantgen_domains (
    domain     text PRIMARY KEY CHECK (domain = lower(domain) AND domain <> ''),
    tenant     text NOT NULL REFERENCES tenantgen_tenants (name) ON DELETE CASCADE,
    is_primary boolean NOT NULL DEFAULT false
);
CREATE UNIQUE INDEX tenantgen_domains_one_primary ON tenantgen_domains (tenant) WHERE is_primary;
CREATE INDEX tenantgen_domains_tenant ON tenantgen_domains (tenant);

-- +goose Down
DROP TABLE tenantgen_domains;
DROP TABLE tenantgen_tenants;
