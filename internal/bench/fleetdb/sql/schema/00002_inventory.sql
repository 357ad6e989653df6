-- +goose Up
-- tenantgen:tenant
CREATE TABLE warehouses (
    id bigserial PRIMARY KEY,
    name text NOT NULL UNIQUE
);
CREATE TABLE stock (
    warehouse_id bigint NOT NULL REFERENCES warehouses (id),
    product_id bigint NOT NULL REFERENCES products (id),
    qty integer NOT NULL DEFAULT 0,
    PRIMARY KEY (warehouse_id, product_id)
);
CREATE INDEX stock_product_idx ON stock (product_id);

-- +goose Down
DROP TABLE stock;
DROP TABLE warehouses;
