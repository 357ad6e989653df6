-- +goose Up
-- tenantgen:shared
CREATE TABLE plans (
    id bigserial PRIMARY KEY,
    name text NOT NULL UNIQUE,
    price_cents integer NOT NULL DEFAULT 0
);

-- tenantgen:tenant
CREATE TYPE order_status AS ENUM ('open', 'paid', 'shipped', 'cancelled');
CREATE TABLE customers (
    id bigserial PRIMARY KEY,
    name text NOT NULL,
    email text NOT NULL UNIQUE,
    plan_id bigint REFERENCES plans (id),
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE products (
    id bigserial PRIMARY KEY,
    sku text NOT NULL UNIQUE,
    name text NOT NULL,
    price numeric(12, 2) NOT NULL
);
CREATE TABLE orders (
    id bigserial PRIMARY KEY,
    customer_id bigint NOT NULL REFERENCES customers (id),
    status order_status NOT NULL DEFAULT 'open',
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX orders_customer_idx ON orders (customer_id);
CREATE TABLE order_lines (
    order_id bigint NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    product_id bigint NOT NULL REFERENCES products (id),
    qty integer NOT NULL CHECK (qty > 0),
    PRIMARY KEY (order_id, product_id)
);

-- +goose Down
DROP TABLE order_lines;
DROP TABLE orders;
DROP TABLE products;
DROP TABLE customers;
DROP TYPE order_status;
DROP TABLE plans;
