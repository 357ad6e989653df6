-- name: GetItem :one
SELECT id, name, status, qty, created_at FROM items WHERE id = $1;

-- name: CreateItem :exec
INSERT INTO items (name, status, qty) VALUES ($1, $2, $3);
