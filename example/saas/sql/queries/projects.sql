-- name: CreateProject :one
INSERT INTO projects (tenant, name, owner_id) VALUES ($1, $2, $3) RETURNING *;

-- name: GetProject :one
SELECT * FROM projects WHERE id = $1;

-- name: ListProjects :many
SELECT * FROM projects WHERE NOT archived ORDER BY id;

-- name: UpsertProject :one
INSERT INTO projects (tenant, name) VALUES ($1, $2)
ON CONFLICT (name) DO UPDATE SET archived = false
RETURNING id, tenant, name;

-- name: ArchiveProject :execrows
UPDATE projects SET archived = true WHERE id = $1;

-- name: DeleteProject :exec
DELETE FROM projects WHERE id = $1;

-- name: ProjectOwners :many
-- A tenant table joined with a shared one.
SELECT p.id, p.tenant, p.name, u.email, o.name AS org
FROM projects p
JOIN users u ON u.id = p.owner_id
LEFT JOIN organisations o ON o.id = u.org_id
ORDER BY p.id;

-- name: AddMember :exec
INSERT INTO members (project_id, user_id, role_id, tenant) VALUES ($1, $2, $3, $4)
ON CONFLICT (project_id, user_id) DO UPDATE SET role_id = EXCLUDED.role_id;

-- name: ListMembers :many
SELECT m.project_id, m.tenant, u.name, r.name AS role
FROM members m JOIN users u ON u.id = m.user_id JOIN roles r ON r.id = m.role_id
WHERE m.project_id = $1
ORDER BY u.name;

-- name: WritableProjects :many
SELECT p.id, p.tenant, p.name FROM projects p
WHERE EXISTS (
    SELECT 1 FROM members m JOIN roles r ON r.id = m.role_id
    WHERE m.project_id = p.id AND m.user_id = $1 AND r.can_write
)
ORDER BY p.id;

-- name: ProjectStats :many
SELECT * FROM project_stats ORDER BY id;

-- name: ProjectTaskCount :one
SELECT task_count(sqlc.arg(project_id))::bigint AS n;

-- name: TouchProject :exec
SELECT touch_project($1);

-- name: CreateProjectsBatch :batchexec
INSERT INTO projects (tenant, name) VALUES ($1, $2);

-- name: GetProjectsBatch :batchone
SELECT id, tenant, name FROM projects WHERE id = $1;
