-- name: ListPlans :many
SELECT id, name, price_cents FROM plans ORDER BY id;

-- name: CreateCustomer :one
INSERT INTO customers (name, email, plan_id) VALUES ($1, $2, $3) RETURNING id;

-- name: OpenOrders :many
SELECT o.id, c.name, o.status FROM orders o JOIN customers c ON c.id = o.customer_id
WHERE o.status = 'open' ORDER BY o.id;
