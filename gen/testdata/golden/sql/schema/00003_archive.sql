-- +goose NO TRANSACTION
-- +goose Up
CREATE INDEX CONCURRENTLY tasks_title_idx ON tasks (title);

-- +goose Down
DROP INDEX CONCURRENTLY tasks_title_idx;
