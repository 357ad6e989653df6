-- More places a name can hide: data-modifying CTEs, CTEs named like shared
-- tables, set operations, types named in casts and strings.

-- name: MoveAuditToNotes :execrows
WITH moved AS (DELETE FROM audit WHERE audit.id = sqlc.arg(audit_id) RETURNING tenant, msg)
INSERT INTO notes (tenant, body) SELECT tenant, msg FROM moved;

-- name: ShadowSharedTable :many
-- A CTE named like the shared table plans, built from it.
WITH plans AS (SELECT id, name FROM plans)
SELECT t.tenant, t.title, plans.name FROM tasks t LEFT JOIN plans ON plans.id = t.plan_id ORDER BY t.id;

-- name: ShadowInUnionBranch :many
SELECT tenant FROM tasks
UNION ALL
(WITH tasks AS (SELECT 'cte'::text AS tenant) SELECT tenant FROM tasks);

-- name: SubqueryAliasLikeTable :many
SELECT audit.tenant FROM (SELECT tenant FROM tasks) audit ORDER BY 1;

-- name: EnumArrayLiteral :one
SELECT count(*)::bigint AS n FROM tasks WHERE status = ANY('{todo,doing}'::task_status[]);

-- name: EnumCast :one
SELECT count(*)::bigint AS n FROM tasks WHERE status = CAST('todo' AS task_status);

-- name: EnumRange :one
SELECT array_length(enum_range(NULL::task_status), 1)::int AS n;

-- name: UpdateFromOtherTable :execrows
UPDATE tasks t SET title = a.msg FROM audit a WHERE a.id = t.id AND a.id = $1;

-- name: DeleteUsingOtherTable :execrows
DELETE FROM audit a USING tasks t WHERE t.id = a.id AND t.status = 'done';

-- name: UpsertTaskFromAudit :one
INSERT INTO tasks (id, tenant, title) VALUES ($1, $2, $3)
ON CONFLICT (id) DO UPDATE SET title = (SELECT msg FROM audit WHERE audit.id = EXCLUDED.id)
RETURNING id, tenant, title;

-- name: CountViaNamedArg :one
SELECT count_rows(tbl => 'nodes')::bigint AS n;

-- name: FunctionInFrom :one
SELECT n::bigint AS n FROM count_rows('audit') AS n;

-- name: ArraySubquery :many
SELECT tenant, title FROM tasks WHERE id = ANY(ARRAY(SELECT id FROM audit)) ORDER BY id;
