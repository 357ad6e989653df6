-- +goose Up
-- tenantgen:shared
CREATE TABLE city (
    slug text PRIMARY KEY,
    name text NOT NULL
)
;
