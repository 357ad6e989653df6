-- name: CreateItem :one
INSERT INTO items (tenant, name, status, tags, attrs, price, plan_id, note)
VALUES (sqlc.arg(tenant), sqlc.arg(name), sqlc.arg(status), sqlc.arg(tags), sqlc.narg(attrs), sqlc.narg(price), sqlc.narg(plan_id), sqlc.narg(note))
RETURNING *;

-- name: GetItem :one
SELECT * FROM items WHERE id = $1;

-- name: ListItems :many
SELECT * FROM items ORDER BY id;

-- name: ListItemsByStatus :many
SELECT id, tenant, name, status FROM items WHERE status = sqlc.arg(status)::item_status ORDER BY id;

-- name: ListItemsByIDs :many
SELECT id, tenant, name FROM items WHERE id = ANY(sqlc.arg(ids)::bigint[]) ORDER BY id;

-- name: ListItemsByTag :many
SELECT id, tenant, tags FROM items WHERE sqlc.arg(tag)::text = ANY(tags) ORDER BY id;

-- name: UpdateItemStatus :exec
UPDATE items SET status = $2 WHERE id = $1;

-- name: DeleteItem :execrows
DELETE FROM items WHERE id = $1;

-- name: ArchiveAll :execresult
UPDATE items SET status = 'archived' WHERE status <> 'archived';

-- name: CopyItems :copyfrom
INSERT INTO items (tenant, name, status) VALUES ($1, $2, $3);

-- name: CreateItemsBatch :batchexec
INSERT INTO items (tenant, name) VALUES ($1, $2);

-- name: GetItemBatch :batchone
SELECT id, tenant, name FROM items WHERE id = $1;

-- name: ListEventsBatch :batchmany
SELECT id, item_id, kind FROM events WHERE item_id = $1 ORDER BY id;

-- name: GetItemWithPlan :one
SELECT sqlc.embed(items), sqlc.embed(plans)
FROM items JOIN plans ON plans.id = items.plan_id
WHERE items.id = $1;

-- name: CountItems :one
SELECT item_count()::bigint AS n;

-- name: ListActiveItems :many
SELECT * FROM active_items ORDER BY id;

-- name: ItemStats :one
WITH s AS (SELECT status, count(*) AS n FROM items GROUP BY status)
SELECT coalesce(sum(n), 0)::bigint AS total FROM s;

-- name: NextItemID :one
SELECT nextval('items_id_seq')::bigint AS id;

-- name: ListItemsBySlice :many
-- sqlc.slice passes through as plain sqlc makes it for PostgreSQL (one array
-- parameter); = ANY(sqlc.arg(ids)::bigint[]) above is the PostgreSQL idiom.
SELECT id FROM items WHERE id IN (sqlc.slice(ids));
