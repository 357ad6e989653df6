-- Queries that touch only shared tables are shared queries.

-- name: CreatePlan :one
INSERT INTO plans (name) VALUES ($1) RETURNING *;

-- name: ListPlans :many
SELECT * FROM plans ORDER BY id;
