-- name: CreateTask :one
INSERT INTO tasks (tenant, title, status, history, prio, est)
VALUES (sqlc.arg(tenant), sqlc.arg(title), sqlc.arg(status), sqlc.arg(history), sqlc.arg(prio), sqlc.narg(est))
RETURNING *;

-- name: GetTask :one
SELECT * FROM tasks WHERE id = $1;

-- name: ListTasksByStatuses :many
SELECT id, tenant, title, status FROM tasks WHERE status = ANY(sqlc.arg(statuses)::task_status[]) ORDER BY id;

-- name: TaskHistories :many
SELECT id, tenant, history FROM tasks WHERE history && sqlc.arg(any_of)::task_status[] ORDER BY id;

-- name: StatusesInUse :one
SELECT coalesce(array_agg(DISTINCT status ORDER BY status), '{}')::task_status[] AS statuses FROM tasks;

-- name: SetHistory :execrows
UPDATE tasks SET history = sqlc.arg(history) WHERE id = sqlc.arg(id);

-- name: TasksByPriority :many
SELECT id, tenant, prio FROM tasks WHERE prio >= sqlc.arg(min_prio)::priority ORDER BY id;

-- name: TaskEstimates :many
SELECT id, tenant, est FROM tasks WHERE est IS NOT NULL ORDER BY id;

-- name: SetPlan :execrows
UPDATE tasks SET checkpoints = sqlc.arg(checkpoints), estimates = sqlc.arg(estimates), est = sqlc.narg(est) WHERE id = sqlc.arg(id);

-- name: TaskPlans :many
SELECT id, tenant, est, checkpoints, estimates FROM tasks ORDER BY id;
