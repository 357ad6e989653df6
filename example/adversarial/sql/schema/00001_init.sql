-- +goose Up
-- tenantgen:shared
CREATE TABLE plans (
    id bigserial PRIMARY KEY,
    name text NOT NULL UNIQUE
);

-- tenantgen:tenant
CREATE TYPE task_status AS ENUM ('todo', 'doing', 'done');
CREATE SEQUENCE ticket_seq START 1000;
CREATE TABLE tasks (
    id bigserial PRIMARY KEY,
    tenant text NOT NULL, -- every row carries its tenant's name
    title text NOT NULL,
    status task_status NOT NULL DEFAULT 'todo',
    amount numeric(12, 4) NOT NULL DEFAULT 0,
    plan_id bigint REFERENCES plans (id)
);
CREATE TABLE nodes (
    id bigserial PRIMARY KEY,
    tenant text NOT NULL,
    parent_id bigint REFERENCES nodes (id),
    label text NOT NULL
);
CREATE TABLE audit (
    id bigserial PRIMARY KEY,
    tenant text NOT NULL,
    msg text NOT NULL
);
-- A default evaluated at run time, in the caller's session: current_schema()
-- there would be the session's (the generator rejects it), so the default calls
-- a tenant function, whose search_path is pinned to its tenant's schema.
CREATE FUNCTION tenant_schema() RETURNS text LANGUAGE sql STABLE AS 'SELECT current_schema()';
CREATE TABLE notes (
    id bigserial PRIMARY KEY,
    tenant text NOT NULL DEFAULT tenant_schema(),
    body text NOT NULL
);
CREATE FUNCTION task_label(t tasks) RETURNS text LANGUAGE sql STABLE AS $$ SELECT t.tenant || ':' || t.title $$;
CREATE FUNCTION count_rows(tbl text) RETURNS bigint LANGUAGE plpgsql STABLE AS $$
DECLARE n bigint;
BEGIN
    EXECUTE 'SELECT count(*) FROM ' || quote_ident(tbl) INTO n;
    RETURN n;
END;
$$;

-- +goose Down
DROP FUNCTION count_rows(text);
DROP FUNCTION task_label(tasks);
DROP TABLE notes;
DROP TABLE audit;
DROP TABLE nodes;
DROP TABLE tasks;
DROP SEQUENCE ticket_seq;
DROP TYPE task_status;
DROP TABLE plans;
