-- Tenant states for suspension and the spare pool, and domains that follow
-- their tenant's rename.

-- +goose Up
ALTER TABLE tenantgen_tenants DROP CONSTRAINT tenantgen_tenants_state_check,
    ADD CONSTRAINT tenantgen_tenants_state_check CHECK (state IN ('creating', 'active', 'suspended', 'spare', 'dropping'));
ALTER TABLE tenantgen_domains DROP CONSTRAINT tenantgen_domains_tenant_fkey,
    ADD CONSTRAINT tenantgen_domains_tenant_fkey FOREIGN KEY (tenant) REFERENCES tenantgen_tenants (name) ON DELETE CASCADE ON UPDATE CASCADE;

-- +goose Down
ALTER TABLE tenantgen_domains DROP CONSTRAINT tenantgen_domains_tenant_fkey,
    ADD CONSTRAINT tenantgen_domains_tenant_fkey FOREIGN KEY (tenant) REFERENCES tenantgen_tenants (name) ON DELETE CASCADE;
ALTER TABLE tenantgen_tenants DROP CONSTRAINT tenantgen_tenants_state_check,
    ADD CONSTRAINT tenantgen_tenants_state_check CHECK (state IN ('creating', 'active', 'dropping'));
