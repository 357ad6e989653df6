-- +goose Up
-- tenantgen:shared
CREATE EXTENSION IF NOT EXISTS pgcrypto;
CREATE TYPE plan_tier AS ENUM ('free', 'pro');
CREATE TABLE plans (
    id bigserial PRIMARY KEY,
    name text NOT NULL UNIQUE /* a nested /* comment */ with ; inside */,
    tier plan_tier NOT NULL DEFAULT 'free'
);
CREATE FUNCTION plan_label(p plans) RETURNS text LANGUAGE sql IMMUTABLE AS $$ SELECT p.name || ' (' || p.tier || ')' $$;

-- tenantgen:tenant
-- Tenant-scoped enum.
CREATE TYPE task_status AS ENUM ('todo', 'doing', 'done');
CREATE DOMAIN task_title AS text CHECK (length(VALUE) > 0);
CREATE SEQUENCE ticket_seq START 1000;
CREATE TABLE tasks (
    id bigserial PRIMARY KEY,
    plan_id bigint REFERENCES public.plans (id),
    title task_title NOT NULL DEFAULT E'untitled; it''s fine',
    status task_status NOT NULL DEFAULT 'todo',
    ticket bigint NOT NULL DEFAULT nextval('ticket_seq')
);
CREATE INDEX tasks_status_idx ON tasks (status);
CREATE TABLE task_log (
    id bigserial PRIMARY KEY,
    task_id bigint NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
    note text NOT NULL
);
CREATE FUNCTION log_task() RETURNS trigger LANGUAGE plpgsql AS $body$
BEGIN
    -- semicolons; inside a dollar-quoted body
    INSERT INTO task_log (task_id, note) VALUES (NEW.id, 'created: ' || NEW.title);
    RETURN NEW;
END;
$body$;
CREATE TRIGGER tasks_log AFTER INSERT ON tasks FOR EACH ROW EXECUTE FUNCTION log_task();
CREATE VIEW open_tasks AS SELECT t.id, t.title, p.name AS plan FROM tasks t LEFT JOIN plans p ON p.id = t.plan_id WHERE t.status <> 'done';
CREATE MATERIALIZED VIEW task_counts AS SELECT status, count(*) AS n FROM tasks GROUP BY status;

-- +goose Down
DROP MATERIALIZED VIEW task_counts;
DROP VIEW open_tasks;
DROP TRIGGER tasks_log ON tasks;
DROP FUNCTION log_task();
DROP TABLE task_log;
DROP TABLE tasks;
DROP SEQUENCE ticket_seq;
DROP DOMAIN task_title;
DROP TYPE task_status;
DROP FUNCTION plan_label(plans);
DROP TABLE plans;
DROP TYPE plan_tier;
