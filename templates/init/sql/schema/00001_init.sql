-- +goose Up
-- tenantgen:shared
-- Plans are global: every tenant picks one.
CREATE TABLE plans (
    id         bigserial PRIMARY KEY,
    name       text NOT NULL UNIQUE,
    max_polls  int NOT NULL
);

-- tenantgen:tenant
-- Each tenant has its own polls, in its own schema.
CREATE TABLE questions (
    id         bigserial PRIMARY KEY,
    text       text NOT NULL CHECK (text <> ''),
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE choices (
    id          bigserial PRIMARY KEY,
    question_id bigint NOT NULL REFERENCES questions (id) ON DELETE CASCADE,
    text        text NOT NULL CHECK (text <> '')
);
CREATE INDEX choices_question_idx ON choices (question_id);
CREATE TABLE votes (
    id        bigserial PRIMARY KEY,
    choice_id bigint NOT NULL REFERENCES choices (id) ON DELETE CASCADE,
    cast_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX votes_choice_idx ON votes (choice_id);

-- +goose Down
DROP TABLE votes;
DROP TABLE choices;
DROP TABLE questions;
DROP TABLE plans;
