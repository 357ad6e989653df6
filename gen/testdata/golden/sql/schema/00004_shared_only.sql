-- +goose Up
-- tenantgen:shared
CREATE TABLE announcements (id serial PRIMARY KEY, body text NOT NULL);

-- +goose Down
DROP TABLE announcements;
