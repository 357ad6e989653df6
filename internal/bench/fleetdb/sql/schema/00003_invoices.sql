-- +goose Up
-- tenantgen:tenant
CREATE TABLE invoices (
    id bigserial PRIMARY KEY,
    order_id bigint NOT NULL REFERENCES orders (id),
    total numeric(12, 2) NOT NULL,
    issued_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE payments (
    id bigserial PRIMARY KEY,
    invoice_id bigint NOT NULL REFERENCES invoices (id),
    amount numeric(12, 2) NOT NULL,
    paid_at timestamptz NOT NULL DEFAULT now()
);

-- +goose Down
DROP TABLE payments;
DROP TABLE invoices;
