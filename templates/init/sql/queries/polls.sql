-- name: ListQuestions :many
SELECT * FROM questions ORDER BY id;

-- name: GetQuestion :one
SELECT * FROM questions WHERE id = $1;

-- name: CreateQuestion :one
INSERT INTO questions (text) VALUES ($1) RETURNING *;

-- name: CreateChoice :one
INSERT INTO choices (question_id, text) VALUES ($1, $2) RETURNING *;

-- name: ListChoices :many
-- The choices of a question with their vote counts.
SELECT c.id, c.text, count(v.id) AS votes
FROM choices c LEFT JOIN votes v ON v.choice_id = c.id
WHERE c.question_id = $1
GROUP BY c.id
ORDER BY c.id;

-- name: Vote :execrows
-- Records a vote for a choice of the given question; 0 rows when the
-- choice does not belong to it.
INSERT INTO votes (choice_id)
SELECT id FROM choices WHERE choices.id = sqlc.arg(choice_id) AND choices.question_id = sqlc.arg(question_id);
