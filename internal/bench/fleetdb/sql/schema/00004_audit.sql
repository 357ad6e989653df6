-- +goose Up
-- tenantgen:tenant
CREATE TABLE audit_log (
    id bigserial PRIMARY KEY,
    at timestamptz NOT NULL DEFAULT now(),
    actor text NOT NULL,
    action text NOT NULL,
    payload jsonb
);
CREATE INDEX audit_log_at_idx ON audit_log (at);
ALTER TABLE customers ADD COLUMN phone text;

-- +goose Down
ALTER TABLE customers DROP COLUMN phone;
DROP TABLE audit_log;
