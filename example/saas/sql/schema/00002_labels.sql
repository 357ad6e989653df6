-- +goose Up
-- tenantgen:tenant
CREATE TABLE labels (
    id serial PRIMARY KEY,
    tenant text NOT NULL,
    name text NOT NULL UNIQUE,
    color text NOT NULL DEFAULT 'grey'
);
CREATE TABLE task_labels (
    task_id bigint NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
    label_id int NOT NULL REFERENCES labels (id) ON DELETE CASCADE,
    PRIMARY KEY (task_id, label_id)
);
ALTER TABLE tasks ADD COLUMN labels_cache text[] NOT NULL DEFAULT '{}';

-- +goose Down
ALTER TABLE tasks DROP COLUMN labels_cache;
DROP TABLE task_labels;
DROP TABLE labels;
