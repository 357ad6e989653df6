-- +goose Up
-- tenantgen:shared
CREATE TYPE org_plan AS ENUM ('free', 'team', 'enterprise');
CREATE TABLE organisations (
    id bigserial PRIMARY KEY,
    name text NOT NULL UNIQUE,
    plan org_plan NOT NULL DEFAULT 'free',
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE users (
    id bigserial PRIMARY KEY,
    org_id bigint REFERENCES organisations (id),
    email text NOT NULL UNIQUE,
    name text NOT NULL,
    active boolean NOT NULL DEFAULT true
);
CREATE TABLE roles (
    id serial PRIMARY KEY,
    name text NOT NULL UNIQUE,
    can_write boolean NOT NULL DEFAULT false
);
CREATE FUNCTION normalize_email(e text) RETURNS text LANGUAGE sql IMMUTABLE AS $$ SELECT lower(trim(e)) $$;

-- tenantgen:tenant
CREATE TYPE task_status AS ENUM ('todo', 'doing', 'done');
CREATE SEQUENCE ticket_seq START 1000;
CREATE TABLE projects (
    id bigserial PRIMARY KEY,
    tenant text NOT NULL, -- every row carries its tenant's name
    name text NOT NULL UNIQUE,
    owner_id bigint REFERENCES users (id),
    archived boolean NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE members (
    project_id bigint NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    user_id bigint NOT NULL REFERENCES users (id),
    role_id int NOT NULL REFERENCES roles (id),
    tenant text NOT NULL,
    PRIMARY KEY (project_id, user_id)
);
CREATE TABLE tasks (
    id bigserial PRIMARY KEY,
    tenant text NOT NULL,
    project_id bigint NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    ref text NOT NULL DEFAULT 'T-' || nextval('ticket_seq'),
    title text NOT NULL,
    status task_status NOT NULL DEFAULT 'todo',
    priority int NOT NULL DEFAULT 0,
    assignee_id bigint REFERENCES users (id),
    estimate numeric(8, 2),
    due date,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX tasks_project_idx ON tasks (project_id, status);
CREATE TABLE comments (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant text NOT NULL,
    task_id bigint NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
    author_id bigint REFERENCES users (id),
    body text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE audit (
    id bigserial PRIMARY KEY,
    tenant text NOT NULL,
    msg text NOT NULL,
    at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE attachments (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant text NOT NULL,
    task_id bigint NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
    filename text NOT NULL,
    size bigint NOT NULL DEFAULT 0,
    content bytea
);
CREATE FUNCTION task_count(p bigint) RETURNS bigint LANGUAGE sql STABLE AS $$ SELECT count(*) FROM tasks WHERE project_id = p $$;
CREATE FUNCTION audit_task() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO audit (tenant, msg) VALUES (NEW.tenant, TG_OP || ' task ' || NEW.id);
    RETURN NEW;
END;
$$;
CREATE TRIGGER tasks_audit AFTER INSERT OR UPDATE ON tasks FOR EACH ROW EXECUTE FUNCTION audit_task();
CREATE FUNCTION touch_project(p bigint) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO audit (tenant, msg) SELECT tenant, 'touched ' || name FROM projects WHERE id = p;
END;
$$;
CREATE VIEW open_tasks AS SELECT id, tenant, project_id, title, status FROM tasks WHERE status <> 'done';
CREATE VIEW project_stats AS
    SELECT p.id, p.tenant, p.name, count(t.id) AS tasks, count(t.id) FILTER (WHERE t.status = 'done') AS done
    FROM projects p LEFT JOIN tasks t ON t.project_id = p.id
    GROUP BY p.id;

-- +goose Down
DROP VIEW project_stats;
DROP VIEW open_tasks;
DROP FUNCTION touch_project(bigint);
DROP TRIGGER tasks_audit ON tasks;
DROP FUNCTION audit_task();
DROP FUNCTION task_count(bigint);
DROP TABLE attachments;
DROP TABLE audit;
DROP TABLE comments;
DROP TABLE tasks;
DROP TABLE members;
DROP TABLE projects;
DROP SEQUENCE ticket_seq;
DROP TYPE task_status;
DROP FUNCTION normalize_email(text);
DROP TABLE roles;
DROP TABLE users;
DROP TABLE organisations;
DROP TYPE org_plan;
