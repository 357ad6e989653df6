-- +goose Up
-- tenantgen:shared
CREATE TABLE announcements (id serial PRIMARY KEY, body text NOT NULL, topic_id int);
-- Written after the table that references it: the Citus conversion must
-- still take topics first.
CREATE TABLE topics (id serial PRIMARY KEY, name text NOT NULL);
ALTER TABLE announcements ADD FOREIGN KEY (topic_id) REFERENCES topics (id);

-- +goose Down
DROP TABLE announcements;
DROP TABLE topics;
