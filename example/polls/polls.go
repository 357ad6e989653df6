// Package polls is the tour app: django-tenant-schemas' Polls, made
// multi-tenant with tenantgen. Each tenant (thor, potter) has its own
// questions, choices and votes in its own schema; plans are shared. The
// tenant of a request comes from its Host, through the runtime's middleware.
package polls

//go:generate go run github.com/tenantgen/tenantgen/cmd/tenantgen generate

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/tenantgen/tenantgen/example/polls/db"
	"github.com/tenantgen/tenantgen/runtime"
	"github.com/tenantgen/tenantgen/runtime/tenanthttp"
)

// Poll is a question with its choices, as the API returns it.
type Poll struct {
	ID       int64    `json:"id"`
	Question string   `json:"question"`
	Choices  []Choice `json:"choices,omitempty"`
}

// Choice is one answer of a poll with its vote count.
type Choice struct {
	ID    int64  `json:"id"`
	Text  string `json:"text"`
	Votes int64  `json:"votes"`
}

// Handler serves the polls API for the tenant each request's Host names.
func Handler(rt *runtime.DB, logger *slog.Logger) http.Handler {
	q := db.New(rt)
	s := &server{q: q, log: logger}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /polls", s.list)
	mux.HandleFunc("POST /polls", s.create)
	mux.HandleFunc("GET /polls/{id}", s.get)
	mux.HandleFunc("POST /polls/{id}/vote", s.vote)

	domains := tenanthttp.Domain(rt)
	rt.OnRegistryChange(domains.Invalidate)
	return tenanthttp.Middleware(domains, tenanthttp.WithLogger(logger))(mux)
}

type server struct {
	q   *db.DB
	log *slog.Logger
}

func (s *server) list(w http.ResponseWriter, r *http.Request) {
	tq, err := s.q.FromContext(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	qs, err := tq.ListQuestions(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := make([]Poll, 0, len(qs))
	for _, q := range qs {
		out = append(out, Poll{ID: q.ID, Question: q.Text})
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *server) create(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Question string   `json:"question"`
		Choices  []string `json:"choices"`
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		writeError(w, http.StatusBadRequest, "malformed JSON: "+err.Error())
		return
	}
	if strings.TrimSpace(in.Question) == "" || len(in.Choices) < 2 {
		writeError(w, http.StatusBadRequest, "a poll needs a question and at least two choices")
		return
	}
	for _, c := range in.Choices {
		if strings.TrimSpace(c) == "" {
			writeError(w, http.StatusBadRequest, "choices must not be empty")
			return
		}
	}
	t, _ := runtime.TenantFromContext(r.Context())
	var poll Poll
	err := s.q.TenantTx(r.Context(), t, func(tq *db.TenantQueries) error {
		question, err := tq.CreateQuestion(r.Context(), in.Question)
		if err != nil {
			return err
		}
		poll = Poll{ID: question.ID, Question: question.Text}
		for _, text := range in.Choices {
			c, err := tq.CreateChoice(r.Context(), db.CreateChoiceParams{QuestionID: question.ID, Text: text})
			if err != nil {
				return err
			}
			poll.Choices = append(poll.Choices, Choice{ID: c.ID, Text: c.Text})
		}
		return nil
	})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, poll)
}

func (s *server) get(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(w, r)
	if !ok {
		return
	}
	tq, err := s.q.FromContext(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	poll, err := loadPoll(r.Context(), tq, id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, poll)
}

func (s *server) vote(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(w, r)
	if !ok {
		return
	}
	var in struct {
		ChoiceID int64 `json:"choice_id"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<16)).Decode(&in); err != nil {
		writeError(w, http.StatusBadRequest, "malformed JSON: "+err.Error())
		return
	}
	tq, err := s.q.FromContext(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	n, err := tq.Vote(r.Context(), db.VoteParams{ChoiceID: in.ChoiceID, QuestionID: id})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if n == 0 {
		writeError(w, http.StatusNotFound, "no such choice in this poll")
		return
	}
	poll, err := loadPoll(r.Context(), tq, id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, poll)
}

func loadPoll(ctx context.Context, tq *db.TenantQueries, id int64) (Poll, error) {
	q, err := tq.GetQuestion(ctx, id)
	if err != nil {
		return Poll{}, err
	}
	rows, err := tq.ListChoices(ctx, id)
	if err != nil {
		return Poll{}, err
	}
	p := Poll{ID: q.ID, Question: q.Text, Choices: make([]Choice, 0, len(rows))}
	for _, c := range rows {
		p.Choices = append(p.Choices, Choice{ID: c.ID, Text: c.Text, Votes: c.Votes})
	}
	return p, nil
}

func pathID(w http.ResponseWriter, r *http.Request) (int64, bool) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		writeError(w, http.StatusNotFound, "no such poll")
		return 0, false
	}
	return id, true
}

// fail maps errors to responses: a missing row is a 404 (another tenant's
// id is simply not there), anything else a logged 500.
func (s *server) fail(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, pgx.ErrNoRows) {
		writeError(w, http.StatusNotFound, "no such poll")
		return
	}
	s.log.ErrorContext(r.Context(), "polls: request failed", "path", r.URL.Path, "err", err)
	writeError(w, http.StatusInternalServerError, "internal error")
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg})
}
