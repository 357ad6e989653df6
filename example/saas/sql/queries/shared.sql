-- name: CreateOrganisation :one
INSERT INTO organisations (name, plan) VALUES ($1, $2) RETURNING *;

-- name: ListOrganisations :many
SELECT * FROM organisations ORDER BY id;

-- name: CreateUser :one
INSERT INTO users (org_id, email, name) VALUES ($1, normalize_email(sqlc.arg(email)), sqlc.arg(name)) RETURNING *;

-- name: GetUserByEmail :one
SELECT * FROM users WHERE email = normalize_email(sqlc.arg(email));

-- name: CreateRole :one
INSERT INTO roles (name, can_write) VALUES ($1, $2) RETURNING *;

-- name: ListRoles :many
SELECT * FROM roles ORDER BY id;
