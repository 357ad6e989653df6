-- name: CreateTask :one
INSERT INTO tasks (tenant, project_id, title, status, priority, assignee_id, estimate, due)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
RETURNING *;

-- name: GetTask :one
SELECT * FROM tasks WHERE id = $1;

-- name: ListTasks :many
SELECT * FROM tasks WHERE project_id = $1 ORDER BY id;

-- name: ListTasksByStatus :many
SELECT id, tenant, title, status FROM tasks WHERE status = sqlc.arg(status)::task_status ORDER BY id;

-- name: ListTasksByStatuses :many
SELECT id, tenant, title FROM tasks WHERE status::text = ANY(sqlc.arg(statuses)::text[]) ORDER BY id;

-- name: SetTaskStatus :exec
UPDATE tasks SET status = $2 WHERE id = $1;

-- name: BumpPriorities :execresult
UPDATE tasks SET priority = priority + 1
FROM projects p
WHERE p.id = tasks.project_id AND p.id = $1;

-- name: DeleteDoneTasks :execrows
DELETE FROM tasks USING projects p
WHERE p.id = tasks.project_id AND p.archived AND tasks.status = 'done';

-- name: OpenTasks :many
SELECT * FROM open_tasks ORDER BY id;

-- name: NextTicket :one
SELECT nextval('ticket_seq')::bigint AS n;

-- name: TasksWithAssignee :many
SELECT t.id, t.tenant, t.title, u.name AS assignee
FROM tasks t LEFT JOIN users u ON u.id = t.assignee_id
ORDER BY t.id;

-- name: TaskSummary :many
WITH per_status AS (
    SELECT status, count(*) AS n FROM tasks GROUP BY status
)
SELECT status, n::bigint AS n FROM per_status ORDER BY status;

-- name: RankedTasks :many
SELECT id, tenant, title, rank() OVER (PARTITION BY project_id ORDER BY priority DESC, id)::bigint AS rnk
FROM tasks ORDER BY id;

-- name: LatestCommentPerTask :many
SELECT t.id, t.tenant, t.title, c.body
FROM tasks t
LEFT JOIN LATERAL (SELECT body FROM comments WHERE task_id = t.id ORDER BY id DESC LIMIT 1) c ON true
ORDER BY t.id;

-- name: SearchEverything :many
SELECT tenant, title AS text FROM tasks WHERE title LIKE '%' || sqlc.arg(term)::text || '%'
UNION ALL
SELECT tenant, body FROM comments WHERE body LIKE '%' || sqlc.arg(term)::text || '%'
UNION ALL
SELECT tenant, name FROM projects WHERE name LIKE '%' || sqlc.arg(term)::text || '%'
ORDER BY 2;

-- name: CopyTasksToProject :execrows
INSERT INTO tasks (tenant, project_id, title)
SELECT tenant, sqlc.arg(to_project)::bigint, title FROM tasks WHERE project_id = sqlc.arg(from_project)::bigint;

-- name: CopyTasks :copyfrom
INSERT INTO tasks (tenant, project_id, title) VALUES ($1, $2, $3);

-- name: LabelTask :exec
INSERT INTO task_labels (task_id, label_id) VALUES ($1, $2) ON CONFLICT DO NOTHING;

-- name: CreateLabel :one
INSERT INTO labels (tenant, name, color) VALUES ($1, $2, $3) RETURNING *;

-- name: TaskLabels :many
SELECT l.id, l.tenant, l.name FROM labels l JOIN task_labels tl ON tl.label_id = l.id WHERE tl.task_id = $1 ORDER BY l.id;

-- name: RefreshLabelCache :execrows
UPDATE tasks t SET labels_cache = coalesce((
    SELECT array_agg(l.name ORDER BY l.name) FROM labels l JOIN task_labels tl ON tl.label_id = l.id WHERE tl.task_id = t.id
), '{}');

-- name: LockTask :one
SELECT t.id, t.tenant, t.title FROM tasks t WHERE t.id = $1 FOR UPDATE OF t;

-- name: TasksDueBefore :many
SELECT id, tenant, title, due FROM tasks WHERE due < sqlc.arg(before)::date ORDER BY due, id;

-- name: StatusGrid :many
SELECT p.name AS project, coalesce(t.status::text, 'all')::text AS status, count(t.id)::bigint AS n
FROM projects p LEFT JOIN tasks t ON t.project_id = p.id
GROUP BY GROUPING SETS ((p.name, t.status), (p.name))
ORDER BY 1, 2;
