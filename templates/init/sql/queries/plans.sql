-- name: ListPlans :many
SELECT * FROM plans ORDER BY id;

-- name: UpsertPlan :one
INSERT INTO plans (name, max_polls) VALUES ($1, $2)
ON CONFLICT (name) DO UPDATE SET max_polls = EXCLUDED.max_polls
RETURNING *;
