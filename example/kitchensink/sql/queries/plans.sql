-- name: CreatePlan :one
INSERT INTO plans (name, tier, features) VALUES ($1, $2, $3) RETURNING *;

-- name: ListPlans :many
SELECT * FROM plans ORDER BY id;

-- name: GetPlanByName :one
SELECT * FROM plans WHERE name = $1;

-- name: ListPlansInTenant :many
-- tenantgen:tenant
-- A shared-only query made available to tenant code by its marker.
SELECT id, name FROM plans ORDER BY id;
