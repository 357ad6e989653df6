-- name: AddComment :one
INSERT INTO comments (tenant, task_id, author_id, body) VALUES ($1, $2, $3, $4) RETURNING *;

-- name: ListComments :many
SELECT c.id, c.tenant, c.body, u.email
FROM comments c LEFT JOIN users u ON u.id = c.author_id
WHERE c.task_id = $1
ORDER BY c.id;

-- name: ListAudit :many
SELECT * FROM audit ORDER BY id DESC LIMIT $1;

-- name: RecentAudit :many
SELECT id, tenant, msg FROM audit WHERE at > now() - sqlc.arg(since)::interval ORDER BY id;

-- name: AddAttachment :one
INSERT INTO attachments (tenant, task_id, filename, size, content) VALUES ($1, $2, $3, $4, $5) RETURNING id, tenant, filename;

-- name: ListAttachments :many
SELECT id, tenant, filename, size FROM attachments WHERE task_id = $1 ORDER BY filename;

-- name: DeleteAttachment :execrows
DELETE FROM attachments WHERE id = $1;

-- name: PurgeAudit :execrows
DELETE FROM audit WHERE id < $1;

-- name: LatestAuditPerTenant :many
SELECT DISTINCT ON (tenant) tenant, msg FROM audit ORDER BY tenant, id DESC;

-- name: UserProjects :many
-- A shared table driving a tenant one.
SELECT u.email, m.tenant, p.name
FROM users u JOIN members m ON m.user_id = u.id JOIN projects p ON p.id = m.project_id
WHERE u.email = $1
ORDER BY p.name;
