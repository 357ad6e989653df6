-- Later migrations need no markers for objects whose scope is known.
-- +goose Up
ALTER TABLE tasks ADD COLUMN priority int NOT NULL DEFAULT 0;
CREATE INDEX tasks_priority_idx ON tasks (priority);
COMMENT ON COLUMN tasks.priority IS 'higher first';
ALTER TABLE plans ADD COLUMN seats int;
INSERT INTO plans (name, tier) VALUES ('free', 'free');

-- +goose Down
DELETE FROM plans WHERE name = 'free';
ALTER TABLE plans DROP COLUMN seats;
DROP INDEX tasks_priority_idx;
ALTER TABLE tasks DROP COLUMN priority;
