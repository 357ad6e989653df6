-- CTE scoping: a CTE name shadows a table in the statement level that
-- declares it and below, not in its own body, not as a DML target.

-- name: ShadowInSubqueryOnly :one
-- The CTE named tasks is declared in a scalar subquery: the other tasks is the table.
SELECT (SELECT count(*) FROM tasks)::bigint AS real,
       (WITH tasks AS (SELECT 1 AS id) SELECT count(*) FROM tasks)::bigint AS shadowed;

-- name: UpdateThroughShadow :execrows
WITH tasks AS (SELECT id FROM tasks WHERE status = 'todo')
UPDATE tasks SET title = title || '!' WHERE id IN (SELECT id FROM tasks);

-- name: DeleteThroughShadow :execrows
WITH audit AS (SELECT id FROM audit ORDER BY id LIMIT 1)
DELETE FROM audit WHERE id IN (SELECT id FROM audit);

-- name: ShadowedJoin :many
WITH nodes AS (SELECT id, tenant, label FROM nodes WHERE parent_id IS NULL)
SELECT nodes.id, nodes.tenant, nodes.label, t.title
FROM nodes JOIN tasks t ON t.id = nodes.id
ORDER BY nodes.id;

-- name: NestedWith :many
WITH a AS (SELECT id, tenant FROM tasks),
     b AS (WITH tasks AS (SELECT id, tenant FROM a) SELECT id, tenant FROM tasks)
SELECT b.id, b.tenant FROM b JOIN audit ON audit.id = b.id ORDER BY b.id;

-- name: RecursiveTree :many
WITH RECURSIVE tree AS (
    SELECT id, parent_id, tenant, label, 0 AS depth FROM nodes WHERE parent_id IS NULL
    UNION ALL
    SELECT n.id, n.parent_id, n.tenant, n.label, tree.depth + 1 FROM nodes n JOIN tree ON n.parent_id = tree.id
)
SELECT id, tenant, label, depth::int AS depth FROM tree ORDER BY id;

-- name: AliasNamedLikeTable :many
-- The alias audit is the tasks table; the real audit table is joined as a.
SELECT audit.tenant, audit.title, a.msg FROM tasks audit LEFT JOIN audit a ON a.id = audit.id ORDER BY audit.id;

-- name: QuotedAndCased :many
SELECT "tenant", "title" FROM "tasks" WHERE id IN (SELECT id FROM TASKS) ORDER BY id;
