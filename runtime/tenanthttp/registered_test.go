package tenanthttp_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"testing"

	"github.com/tenantgen/tenantgen/runtime"
	"github.com/tenantgen/tenantgen/runtime/tenanthttp"
)

// states is a StateByName over a map, counting its calls.
type states struct {
	mu    sync.Mutex
	m     map[string]runtime.TenantState
	calls int
	err   error
}

func (s *states) TenantState(_ context.Context, t runtime.Tenant) (runtime.TenantState, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	if s.err != nil {
		return "", s.err
	}
	st, ok := s.m[t.String()]
	if !ok {
		return "", fmt.Errorf("tenant %s: %w", t.String(), runtime.ErrTenantNotFound)
	}
	return st, nil
}

func (s *states) set(name string, st runtime.TenantState) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.m[name] = st
}

// TestRegistered: a subdomain or path tenant is served only when the
// registry has it active; suspended gets the suspended response; answers
// are cached until Invalidate.
func TestRegistered(t *testing.T) {
	reg := &states{m: map[string]runtime.TenantState{"thor": runtime.StateActive, "loki": runtime.StateSuspended, "halfmade": runtime.StateCreating}}
	sub := tenanthttp.Registered(reg, tenanthttp.Subdomain("polls.local"))
	srv := serve(t, sub, tenanthttp.WithLogger(slog.New(slog.DiscardHandler)))
	paths := serve(t, tenanthttp.Registered(reg, tenanthttp.PathPrefix("/t/")), tenanthttp.WithSuspended(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "come back later", http.StatusServiceUnavailable)
	})))
	tests := []struct {
		srvName    string
		rq         request
		wantStatus int
		wantBody   string
	}{
		{"sub", request{host: "thor.polls.local"}, 200, ok("thor", "/")},
		{"sub", request{host: "loki.polls.local"}, 403, "tenant suspended\n"},
		{"sub", request{host: "halfmade.polls.local"}, 404, unknown},
		{"sub", request{host: "nobody.polls.local"}, 404, unknown},
		{"sub", request{host: "www.polls.local"}, 404, unknown},
		{"path", request{path: "/t/thor/polls"}, 200, ok("thor", "/polls")},
		{"path", request{path: "/t/loki/polls"}, 503, "come back later\n"},
		{"path", request{path: "/t/nobody/polls"}, 404, unknown},
	}
	for _, tt := range tests {
		s := srv
		if tt.srvName == "path" {
			s = paths
		}
		if status, body := get(t, nil, s, tt.rq); status != tt.wantStatus || body != tt.wantBody {
			t.Errorf("%s %+v: got %d %q, want %d %q", tt.srvName, tt.rq, status, body, tt.wantStatus, tt.wantBody)
		}
	}
	// Cached: asking again costs nothing; after Invalidate a change shows.
	calls := func() int {
		reg.mu.Lock()
		defer reg.mu.Unlock()
		return reg.calls
	}
	before := calls()
	get(t, nil, srv, request{host: "thor.polls.local"})
	if calls() != before {
		t.Fatalf("%d lookups for a cached tenant", calls()-before)
	}
	reg.set("thor", runtime.StateSuspended)
	if status, _ := get(t, nil, srv, request{host: "thor.polls.local"}); status != 200 {
		t.Fatalf("cached answer: %d", status)
	}
	sub.Invalidate()
	if status, body := get(t, nil, srv, request{host: "thor.polls.local"}); status != 403 || body != "tenant suspended\n" {
		t.Fatalf("after Invalidate: %d %q", status, body)
	}
	// A registry error is a lookup failure, not a 404.
	reg.mu.Lock()
	reg.err = errors.New("registry down")
	reg.mu.Unlock()
	sub.Invalidate()
	if status, _ := get(t, nil, srv, request{host: "thor.polls.local"}); status != 500 {
		t.Fatalf("registry down: %d", status)
	}
}
