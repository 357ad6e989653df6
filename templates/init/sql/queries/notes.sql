-- Queries that touch a tenant table are tenant queries: they can only be
-- called on a handle bound to one tenant.

-- name: CreateNote :one
INSERT INTO notes (body, plan_id) VALUES ($1, $2) RETURNING *;

-- name: ListNotes :many
SELECT * FROM notes ORDER BY id;
