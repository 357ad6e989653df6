-- +goose Up
-- tenantgen:tenant
CREATE TYPE task_status AS ENUM ('todo', 'doing', 'done');
CREATE DOMAIN priority AS integer CHECK (VALUE BETWEEN 1 AND 5);
CREATE TYPE estimate AS (hours integer, confidence text);
CREATE TABLE tasks (
    id bigserial PRIMARY KEY,
    tenant text NOT NULL, -- every row carries its tenant's name, for isolation checks
    title text NOT NULL,
    status task_status NOT NULL DEFAULT 'todo',
    history task_status[] NOT NULL DEFAULT '{}',
    prio priority NOT NULL DEFAULT 3,
    est estimate,
    checkpoints priority[] NOT NULL DEFAULT '{}',
    estimates estimate[] NOT NULL DEFAULT '{}'
);

-- +goose Down
DROP TABLE tasks;
DROP TYPE estimate;
DROP DOMAIN priority;
DROP TYPE task_status;
