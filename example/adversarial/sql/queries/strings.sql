-- Object names inside strings and values evaluated at run time.

-- name: NextAuditIDBySerial :one
SELECT nextval(pg_get_serial_sequence('audit', 'id'))::bigint AS id;

-- name: SetTicketSeq :one
SELECT setval('ticket_seq', 5000)::bigint AS v;

-- name: NextTicketQuoted :one
SELECT nextval('"ticket_seq"'::regclass)::bigint AS n;

-- name: TasksOfOwnTable :many
SELECT tenant, title FROM tasks WHERE tableoid = 'tasks'::regclass ORDER BY id;

-- name: AuditIfPresent :many
SELECT tenant, msg FROM audit WHERE to_regclass('audit') IS NOT NULL ORDER BY id;

-- name: CurrentSchema :one
SELECT current_schema()::text AS s;

-- name: CreateNote :one
-- notes.tenant defaults to tenant_schema(), a tenant function pinned to its schema.
INSERT INTO notes (body) VALUES ($1) RETURNING id, tenant, body;

-- name: CountRowsDynamic :one
SELECT count_rows('tasks')::bigint AS n;

-- name: TaskLabels :many
SELECT task_label(tasks)::text AS label FROM tasks ORDER BY id;

-- name: AuditFromValues :exec
INSERT INTO audit (tenant, msg) VALUES (sqlc.arg(tenant), (SELECT title FROM tasks WHERE tasks.id = sqlc.arg(task_id)));

-- name: ReturningSubquery :one
INSERT INTO tasks (tenant, title) VALUES ($1, $2)
RETURNING id, tenant, (SELECT count(*) FROM audit)::bigint AS audits;

-- name: TasksWithPlan :many
SELECT t.tenant, t.title, p.name FROM tasks t LEFT JOIN plans p ON p.id = t.plan_id ORDER BY t.id;
