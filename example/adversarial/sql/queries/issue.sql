-- The three queries of issue 11, measured to read and write another tenant's
-- data through PgBouncer.

-- name: TaskTitlesWrapped :many
-- A CTE named like a table shadows it only outside its own body: the inner
-- tasks and nodes are the tenant's tables.
WITH tasks AS (SELECT tenant, title FROM tasks WHERE id > 0)
SELECT tasks.tenant, tasks.title, (SELECT count(*) FROM nodes) AS n FROM tasks;

-- name: RecordTaskTitles :execrows
-- A CTE never shadows the target of an INSERT.
WITH audit AS (SELECT tenant, 'title ' || title AS msg FROM tasks)
INSERT INTO audit (tenant, msg) SELECT tenant, msg FROM audit;

-- name: ResetTaskSeq :one
-- A table named inside a string.
SELECT setval(pg_get_serial_sequence('tasks','id'), coalesce(max(id),0)+1000)::bigint FROM tasks;
