package tenanthttp_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tenantgen/tenantgen/runtime"
	"github.com/tenantgen/tenantgen/runtime/tenanthttp"
)

// registry is a DomainLookup over a map that counts its calls: the resolver's
// own interface, faked to observe caching.
type registry struct {
	mu      sync.Mutex
	domains map[string]string // domain -> tenant name
	err     error
	asked   []string
	calls   atomic.Int64
	// hook, if set, runs in TenantByDomain before the answer.
	hook func(ctx context.Context, domain string) error
}

func newRegistry() *registry {
	return &registry{domains: map[string]string{
		"thor.example.com":        "thor",
		"loki.example.com":        "loki",
		"under_score.example.com": "under_score",
		"::1":                     "local6",
		"127.0.0.1":               "local4",
	}}
}

func (g *registry) TenantByDomain(ctx context.Context, domain string) (runtime.Tenant, bool, error) {
	g.calls.Add(1)
	g.mu.Lock()
	g.asked = append(g.asked, domain)
	hook, err := g.hook, g.err
	name, ok := g.domains[domain]
	g.mu.Unlock()
	if hook != nil {
		if err := hook(ctx, domain); err != nil {
			return runtime.Tenant{}, false, err
		}
	}
	if err != nil {
		return runtime.Tenant{}, false, err
	}
	if !ok {
		return runtime.Tenant{}, false, nil
	}
	t, err := runtime.ParseTenant(name)
	return t, err == nil, err
}

func (g *registry) set(domain, tenant string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if tenant == "" {
		delete(g.domains, domain)
	} else {
		g.domains[domain] = tenant
	}
}

func (g *registry) setErr(err error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.err = err
}

func (g *registry) askedFor() []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]string(nil), g.asked...)
}

// clock is a settable clock for WithClock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// syncBuffer is a log destination the server's goroutines and the test can
// share.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// echo answers with the tenant it was given and the path it sees.
var echo = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	name := "-"
	if t, ok := tenanthttp.TenantFrom(r); ok {
		name = t.String()
	}
	fmt.Fprintf(w, "tenant=%s path=%s raw=%s", name, r.URL.Path, r.URL.RawPath)
})

func serve(t *testing.T, res tenanthttp.Resolver, opts ...tenanthttp.Option) *httptest.Server {
	t.Helper()
	return serveHandler(t, tenanthttp.Middleware(res, opts...)(echo))
}

func serveHandler(t *testing.T, h http.Handler) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

// request is one request of a table: host "" keeps the server's address.
type request struct {
	host   string
	path   string
	header map[string]string
	// raw sends the request by hand, for a Host net/http's client would
	// rewrite (it drops IPv6 zones).
	raw bool
}

// get makes rq to srv and returns the response's status and body.
func get(t *testing.T, client *http.Client, srv *httptest.Server, rq request) (int, string) {
	t.Helper()
	status, body, err := fetch(client, srv, rq)
	if err != nil {
		t.Fatal(err)
	}
	return status, body
}

// fetch is get for goroutines other than the test's, which may not t.Fatal.
func fetch(client *http.Client, srv *httptest.Server, rq request) (int, string, error) {
	path := rq.path
	if path == "" {
		path = "/"
	}
	if rq.raw {
		return fetchRaw(srv, path, rq.host)
	}
	req, err := http.NewRequest(http.MethodGet, srv.URL+path, nil)
	if err != nil {
		return 0, "", fmt.Errorf("building request: %w", err)
	}
	if rq.host != "" {
		req.Host = rq.host
	}
	for k, v := range rq.header {
		req.Header.Set(k, v)
	}
	if client == nil {
		client = srv.Client()
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, "", fmt.Errorf("GET %s (Host %.40q): %w", path, rq.host, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, "", fmt.Errorf("reading body of GET %s: %w", path, err)
	}
	return resp.StatusCode, string(body), nil
}

func fetchRaw(srv *httptest.Server, path, host string) (int, string, error) {
	conn, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		return 0, "", fmt.Errorf("dialling the test server: %w", err)
	}
	defer conn.Close()
	if _, err := fmt.Fprintf(conn, "GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n", path, host); err != nil {
		return 0, "", fmt.Errorf("writing request: %w", err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		return 0, "", fmt.Errorf("reading response to GET %s (Host %q): %w", path, host, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, "", fmt.Errorf("reading body of GET %s: %w", path, err)
	}
	return resp.StatusCode, string(body), nil
}

func ok(tenant, path string) string { return "tenant=" + tenant + " path=" + path + " raw=" }

const unknown = "unknown tenant\n"

func TestDomainHostNormalisation(t *testing.T) {
	label63 := strings.Repeat("a", 63)
	host253 := strings.Join([]string{label63, label63, label63, strings.Repeat("b", 61)}, ".") // 253 bytes
	host255 := strings.Join([]string{label63, label63, label63, label63}, ".")                 // 255 bytes
	type hostCase struct {
		name       string
		host       string
		wantStatus int
		wantBody   string
		wantAsked  string // the domain looked up; "" for no lookup
		raw        bool   // send by hand (see request)
	}
	tests := []hostCase{
		{"plain", "thor.example.com", 200, ok("thor", "/"), "thor.example.com", false},
		{"upper case", "THOR.Example.COM", 200, ok("thor", "/"), "thor.example.com", false},
		{"port", "thor.example.com:8080", 200, ok("thor", "/"), "thor.example.com", false},
		{"empty port", "thor.example.com:", 200, ok("thor", "/"), "thor.example.com", false},
		{"trailing dot", "thor.example.com.", 200, ok("thor", "/"), "thor.example.com", false},
		{"upper, trailing dot and port", "Loki.Example.Com.:443", 200, ok("loki", "/"), "loki.example.com", false},
		{"underscore", "under_score.example.com", 200, ok("under_score", "/"), "under_score.example.com", false},
		{"IPv4 with port", "127.0.0.1:8080", 200, ok("local4", "/"), "127.0.0.1", false},
		{"IPv6 with port", "[::1]:8080", 200, ok("local6", "/"), "::1", false},
		{"IPv6 without port", "[::1]", 200, ok("local6", "/"), "::1", false},
		{"IPv6 non-canonical", "[0:0:0:0:0:0:0:1]:80", 200, ok("local6", "/"), "::1", false},
		{"unknown host", "nobody.example.com", 404, unknown, "nobody.example.com", false},
		{"253 bytes is looked up", host253, 404, unknown, host253, false},
		{"255 bytes", host255, 404, unknown, "", false},
		{"over 64 KiB", strings.Repeat("a", 70<<10), 404, unknown, "", false},
		{"64-byte label", strings.Repeat("a", 64) + ".example.com", 404, unknown, "", false},
		{"empty label", "thor..example.com", 404, unknown, "", false},
		{"two trailing dots", "thor.example.com..", 404, unknown, "", false},
		{"leading dot", ".thor.example.com", 404, unknown, "", false},
		{"bang", "thor!.example.com", 404, unknown, "", false},
		{"percent", "th%6Fr.example.com", 404, unknown, "", false},
		{"bad port", "thor.example.com:http", 404, unknown, "", false},
		{"long port", "thor.example.com:123456", 404, unknown, "", false},
		{"IPv6 zone", "[fe80::1%25eth0]:80", 404, unknown, "", true},
		{"bare IPv6", "0::1", 200, ok("local6", "/"), "::1", true},
		{"bare IPv6 with junk", "::1::2", 404, unknown, "", true},
		{"IPv4 in brackets", "[127.0.0.1]", 404, unknown, "", false},
		{"unclosed bracket", "[::1:80", 404, unknown, "", false},
		{"garbage after bracket", "[::1]x", 404, unknown, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reg := newRegistry()
			srv := serve(t, tenanthttp.Domain(reg))
			status, body := get(t, nil, srv, request{host: tt.host, raw: tt.raw})
			if status != tt.wantStatus || body != tt.wantBody {
				t.Errorf("got %d %q, want %d %q", status, body, tt.wantStatus, tt.wantBody)
			}
			asked := reg.askedFor()
			switch {
			case tt.wantAsked == "" && len(asked) != 0:
				t.Errorf("looked up %.80q, want no lookup", asked)
			case tt.wantAsked != "" && (len(asked) != 1 || asked[0] != tt.wantAsked):
				t.Errorf("looked up %.80q, want [%q]", asked, tt.wantAsked)
			}
		})
	}
}

func TestNotFoundHandler(t *testing.T) {
	reg := newRegistry()
	teapot := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusTeapot)
		io.WriteString(w, "no such tenant: "+r.Host)
	})
	tests := []struct {
		name       string
		opts       []tenanthttp.Option
		wantStatus int
		wantBody   string
		wantType   string
	}{
		{"default", nil, 404, unknown, "text/plain; charset=utf-8"},
		{"custom", []tenanthttp.Option{tenanthttp.WithNotFound(teapot)}, 418, "no such tenant: nobody.example.com", "text/plain; charset=utf-8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := serve(t, tenanthttp.Domain(reg), tt.opts...)
			req, _ := http.NewRequest(http.MethodGet, srv.URL, nil)
			req.Host = "nobody.example.com"
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tt.wantStatus || string(body) != tt.wantBody {
				t.Errorf("got %d %q, want %d %q", resp.StatusCode, body, tt.wantStatus, tt.wantBody)
			}
			if ct := resp.Header.Get("Content-Type"); ct != tt.wantType {
				t.Errorf("Content-Type %q, want %q", ct, tt.wantType)
			}
		})
	}
}

var errBoom = errors.New("registry unreachable")

func TestLookupErrors(t *testing.T) {
	panicky := func(context.Context, string) error { panic("kaboom") }
	slow := func(ctx context.Context, _ string) error { <-ctx.Done(); return ctx.Err() }
	failing := func(setup func(*registry)) func() tenanthttp.DomainLookup {
		return func() tenanthttp.DomainLookup {
			reg := newRegistry()
			setup(reg)
			return reg
		}
	}
	tests := []struct {
		name     string
		lookup   func() tenanthttp.DomainLookup
		domOpts  []tenanthttp.DomainOption
		wantIs   error  // the error handler's error wraps this
		wantText string // and mentions this
	}{
		{"error", failing(func(g *registry) { g.setErr(errBoom) }), nil, errBoom, "registry unreachable"},
		{"zero tenant", func() tenanthttp.DomainLookup { return zeroLookup{} }, nil, nil, "zero Tenant"},
		{"panic", failing(func(g *registry) { g.hook = panicky }), nil, nil, "kaboom"},
		{"timeout", failing(func(g *registry) { g.hook = slow }), []tenanthttp.DomainOption{tenanthttp.WithLookupTimeout(20 * time.Millisecond)}, context.DeadlineExceeded, "deadline"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lookup := tt.lookup()

			t.Run("default handler", func(t *testing.T) {
				logs := &syncBuffer{}
				logger := slog.New(slog.NewTextHandler(logs, nil))
				srv := serve(t, tenanthttp.Domain(lookup, tt.domOpts...), tenanthttp.WithLogger(logger))
				status, body := get(t, nil, srv, request{host: "Thor.example.com:99"})
				if status != 500 || body != "tenant lookup failed\n" {
					t.Errorf("got %d %q, want 500 %q", status, body, "tenant lookup failed\n")
				}
				log := logs.String()
				for _, want := range []string{"level=ERROR", "tenant lookup failed", `thor.example.com`, tt.wantText, "host=Thor.example.com:99"} {
					if !strings.Contains(log, want) {
						t.Errorf("log %q lacks %q", log, want)
					}
				}
			})

			t.Run("custom handler", func(t *testing.T) {
				errs := make(chan error, 1)
				onErr := func(w http.ResponseWriter, r *http.Request, err error) {
					errs <- err
					http.Error(w, "try later", http.StatusServiceUnavailable)
				}
				srv := serve(t, tenanthttp.Domain(lookup, tt.domOpts...), tenanthttp.WithErrorHandler(onErr))
				status, body := get(t, nil, srv, request{host: "thor.example.com"})
				if status != 503 || body != "try later\n" {
					t.Errorf("got %d %q, want 503 %q", status, body, "try later\n")
				}
				err := <-errs
				if tt.wantIs != nil && !errors.Is(err, tt.wantIs) {
					t.Errorf("error %v does not wrap %v", err, tt.wantIs)
				}
				if msg := err.Error(); !strings.Contains(msg, `"thor.example.com"`) || !strings.Contains(msg, tt.wantText) {
					t.Errorf("error %q should name the domain and say %q", msg, tt.wantText)
				}
			})
		})
	}
}

// zeroLookup claims every domain for the zero Tenant: a buggy registry.
type zeroLookup struct{}

func (zeroLookup) TenantByDomain(context.Context, string) (runtime.Tenant, bool, error) {
	return runtime.Tenant{}, true, nil
}

func TestZeroTenantFromCustomResolver(t *testing.T) {
	res := tenanthttp.ResolverFunc(func(*http.Request) (runtime.Tenant, bool, error) {
		return runtime.Tenant{}, true, nil
	})
	srv := serve(t, res, tenanthttp.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	if status, body := get(t, nil, srv, request{}); status != 500 {
		t.Errorf("got %d %q, want 500", status, body)
	}
}

// TestDomainCache steps through the cache's life with a fake clock; each
// step says how many lookups should have been made by its end.
func TestDomainCache(t *testing.T) {
	type step struct {
		do         func(*tenanthttp.DomainResolver, *registry, *clock)
		host       string // "" for a step that only acts
		wantStatus int
		wantTenant string
		wantCalls  int64
	}
	advance := func(d time.Duration) func(*tenanthttp.DomainResolver, *registry, *clock) {
		return func(_ *tenanthttp.DomainResolver, _ *registry, c *clock) { c.Add(d) }
	}
	invalidate := func(d *tenanthttp.DomainResolver, _ *registry, _ *clock) { d.Invalidate() }
	tests := []struct {
		name  string
		opts  []tenanthttp.DomainOption
		steps []step
	}{
		{"hits until the default TTL", nil, []step{
			{host: "thor.example.com", wantStatus: 200, wantTenant: "thor", wantCalls: 1},
			{host: "THOR.example.com.:8443", wantStatus: 200, wantTenant: "thor", wantCalls: 1},
			{do: advance(29 * time.Second), host: "thor.example.com", wantStatus: 200, wantTenant: "thor", wantCalls: 1},
			{do: advance(time.Second), host: "thor.example.com", wantStatus: 200, wantTenant: "thor", wantCalls: 2},
			{host: "thor.example.com", wantStatus: 200, wantTenant: "thor", wantCalls: 2},
		}},
		{"negative caching", nil, []step{
			{host: "nobody.example.com", wantStatus: 404, wantCalls: 1},
			{host: "nobody.example.com", wantStatus: 404, wantCalls: 1},
			{do: func(_ *tenanthttp.DomainResolver, g *registry, _ *clock) { g.set("nobody.example.com", "thor") },
				host: "nobody.example.com", wantStatus: 404, wantCalls: 1},
			{do: advance(31 * time.Second), host: "nobody.example.com", wantStatus: 200, wantTenant: "thor", wantCalls: 2},
		}},
		{"custom TTL", []tenanthttp.DomainOption{tenanthttp.WithCacheTTL(5 * time.Second)}, []step{
			{host: "thor.example.com", wantStatus: 200, wantTenant: "thor", wantCalls: 1},
			{do: advance(4 * time.Second), host: "thor.example.com", wantStatus: 200, wantTenant: "thor", wantCalls: 1},
			{do: advance(time.Second), host: "thor.example.com", wantStatus: 200, wantTenant: "thor", wantCalls: 2},
		}},
		{"caching off", []tenanthttp.DomainOption{tenanthttp.WithCacheTTL(0)}, []step{
			{host: "thor.example.com", wantStatus: 200, wantTenant: "thor", wantCalls: 1},
			{host: "thor.example.com", wantStatus: 200, wantTenant: "thor", wantCalls: 2},
			{host: "nobody.example.com", wantStatus: 404, wantCalls: 3},
			{host: "nobody.example.com", wantStatus: 404, wantCalls: 4},
		}},
		{"invalidate a moved domain", nil, []step{
			{host: "thor.example.com", wantStatus: 200, wantTenant: "thor", wantCalls: 1},
			{do: func(_ *tenanthttp.DomainResolver, g *registry, _ *clock) { g.set("thor.example.com", "odin") },
				host: "thor.example.com", wantStatus: 200, wantTenant: "thor", wantCalls: 1},
			{do: invalidate, host: "thor.example.com", wantStatus: 200, wantTenant: "odin", wantCalls: 2},
			{host: "thor.example.com", wantStatus: 200, wantTenant: "odin", wantCalls: 2},
		}},
		{"invalidate a negative answer", nil, []step{
			{host: "odin.example.com", wantStatus: 404, wantCalls: 1},
			{do: func(_ *tenanthttp.DomainResolver, g *registry, _ *clock) { g.set("odin.example.com", "odin") },
				host: "odin.example.com", wantStatus: 404, wantCalls: 1},
			{do: invalidate, host: "odin.example.com", wantStatus: 200, wantTenant: "odin", wantCalls: 2},
		}},
		{"invalidate a removed domain", nil, []step{
			{host: "loki.example.com", wantStatus: 200, wantTenant: "loki", wantCalls: 1},
			{do: func(d *tenanthttp.DomainResolver, g *registry, _ *clock) {
				g.set("loki.example.com", "")
				d.Invalidate()
			}, host: "loki.example.com", wantStatus: 404, wantCalls: 2},
		}},
		{"size bound evicts the oldest", []tenanthttp.DomainOption{tenanthttp.WithCacheSize(2)}, []step{
			{host: "thor.example.com", wantStatus: 200, wantTenant: "thor", wantCalls: 1},
			{do: advance(time.Second), host: "loki.example.com", wantStatus: 200, wantTenant: "loki", wantCalls: 2},
			{do: advance(time.Second), host: "nobody.example.com", wantStatus: 404, wantCalls: 3},
			{host: "loki.example.com", wantStatus: 200, wantTenant: "loki", wantCalls: 3},
			{host: "nobody.example.com", wantStatus: 404, wantCalls: 3},
			{host: "thor.example.com", wantStatus: 200, wantTenant: "thor", wantCalls: 4},
			{host: "loki.example.com", wantStatus: 200, wantTenant: "loki", wantCalls: 5},
		}},
		{"expired entries make room first", []tenanthttp.DomainOption{tenanthttp.WithCacheSize(2), tenanthttp.WithCacheTTL(10 * time.Second)}, []step{
			{host: "thor.example.com", wantStatus: 200, wantTenant: "thor", wantCalls: 1},
			{do: advance(5 * time.Second), host: "loki.example.com", wantStatus: 200, wantTenant: "loki", wantCalls: 2},
			{do: advance(6 * time.Second), host: "thor.example.com", wantStatus: 200, wantTenant: "thor", wantCalls: 3},
			{host: "loki.example.com", wantStatus: 200, wantTenant: "loki", wantCalls: 3},
		}},
		{"errors are not cached", nil, []step{
			{do: func(_ *tenanthttp.DomainResolver, g *registry, _ *clock) { g.setErr(errBoom) },
				host: "thor.example.com", wantStatus: 500, wantCalls: 1},
			{host: "thor.example.com", wantStatus: 500, wantCalls: 2},
			{do: func(_ *tenanthttp.DomainResolver, g *registry, _ *clock) { g.setErr(nil) },
				host: "thor.example.com", wantStatus: 200, wantTenant: "thor", wantCalls: 3},
			{host: "thor.example.com", wantStatus: 200, wantTenant: "thor", wantCalls: 3},
		}},
	}
	quiet := tenanthttp.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil)))
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reg, clk := newRegistry(), newClock()
			dom := tenanthttp.Domain(reg, append([]tenanthttp.DomainOption{tenanthttp.WithClock(clk.Now)}, tt.opts...)...)
			srv := serve(t, dom, quiet)
			for i, s := range tt.steps {
				if s.do != nil {
					s.do(dom, reg, clk)
				}
				status, body := get(t, nil, srv, request{host: s.host})
				want := map[int]string{200: ok(s.wantTenant, "/"), 404: unknown, 500: "tenant lookup failed\n"}[s.wantStatus]
				if status != s.wantStatus || body != want {
					t.Errorf("step %d (%s): got %d %q, want %d %q", i, s.host, status, body, s.wantStatus, want)
				}
				if n := reg.calls.Load(); n != s.wantCalls {
					t.Errorf("step %d (%s): %d lookups, want %d", i, s.host, n, s.wantCalls)
				}
			}
		})
	}
}

// TestDomainWaiterCancel checks that a request gives up waiting for a slow
// lookup when it ends, while the lookup itself, shared, runs on and is
// cached for the next request.
func TestDomainWaiterCancel(t *testing.T) {
	reg := newRegistry()
	entered, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	reg.hook = func(ctx context.Context, _ string) error {
		once.Do(func() { close(entered) })
		select {
		case <-release:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	errs := make(chan error, 1)
	srv := serve(t, tenanthttp.Domain(reg), tenanthttp.WithErrorHandler(func(w http.ResponseWriter, r *http.Request, err error) {
		errs <- err
	}))

	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL, nil)
	req.Host = "thor.example.com"
	done := make(chan error, 1)
	go func() {
		resp, err := srv.Client().Do(req)
		if err == nil {
			resp.Body.Close()
		}
		done <- err
	}()
	<-entered
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("client: %v, want context.Canceled", err)
	}
	select {
	case err := <-errs:
		if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "thor.example.com") {
			t.Errorf("waiter error %v, want a wrapped context.Canceled naming the domain", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the waiting request did not end with its client")
	}
	close(release)
	// The lookup was not cancelled with the request that started it: the
	// next request shares it, or finds its answer cached.
	status, body := get(t, nil, srv, request{host: "thor.example.com"})
	if status != 200 || body != ok("thor", "/") {
		t.Errorf("got %d %q, want 200 %q", status, body, ok("thor", "/"))
	}
	if n := reg.calls.Load(); n != 1 {
		t.Errorf("%d lookups, want the first one's answer reused", n)
	}
}

func TestSubdomain(t *testing.T) {
	srv := serve(t, tenanthttp.Subdomain("Polls.Local."))
	tests := []struct {
		host       string
		wantStatus int
		wantBody   string
	}{
		{"thor.polls.local", 200, ok("thor", "/")},
		{"THOR.Polls.Local.:8080", 200, ok("thor", "/")},
		{"eu.thor.polls.local", 200, ok("thor", "/")},
		{"my_shop.polls.local", 200, ok("my_shop", "/")},
		{"polls.local", 404, unknown},
		{"www.polls.local", 404, unknown},
		{"WWW.polls.local", 404, unknown},
		{"thor.other.local", 404, unknown},
		{"thorpolls.local", 404, unknown},
		{"my-shop.polls.local", 404, unknown},
		{"1st.polls.local", 404, unknown},
		{"public.polls.local", 404, unknown},
		{"pg_catalog.polls.local", 404, unknown},
		{strings.Repeat("a", 64) + ".polls.local", 404, unknown},
		{"[::1]:80", 404, unknown},
	}
	for _, tt := range tests {
		t.Run(tt.host, func(t *testing.T) {
			status, body := get(t, nil, srv, request{host: tt.host})
			if status != tt.wantStatus || body != tt.wantBody {
				t.Errorf("got %d %q, want %d %q", status, body, tt.wantStatus, tt.wantBody)
			}
		})
	}
}

func TestHeader(t *testing.T) {
	srv := serve(t, tenanthttp.Header("x-tenant"))
	tests := []struct {
		name       string
		header     map[string]string
		wantStatus int
		wantBody   string
	}{
		{"set", map[string]string{"X-Tenant": "thor"}, 200, ok("thor", "/")},
		{"spaces", map[string]string{"X-Tenant": "  thor "}, 200, ok("thor", "/")},
		{"missing", nil, 404, unknown},
		{"empty", map[string]string{"X-Tenant": ""}, 404, unknown},
		{"upper case", map[string]string{"X-Tenant": "THOR"}, 404, unknown},
		{"public", map[string]string{"X-Tenant": "public"}, 404, unknown},
		{"injection", map[string]string{"X-Tenant": `thor"; drop schema thor; --`}, 404, unknown},
		{"other header", map[string]string{"X-Tenant-Id": "thor"}, 404, unknown},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := get(t, nil, srv, request{header: tt.header})
			if status != tt.wantStatus || body != tt.wantBody {
				t.Errorf("got %d %q, want %d %q", status, body, tt.wantStatus, tt.wantBody)
			}
		})
	}
}

func TestPathPrefix(t *testing.T) {
	tests := []struct {
		prefix     string
		path       string
		wantStatus int
		wantBody   string
	}{
		{"/t/", "/t/thor/polls", 200, ok("thor", "/polls")},
		{"/t/", "/t/thor/polls/7/?x=1", 200, ok("thor", "/polls/7/")},
		{"/t/", "/t/thor", 200, ok("thor", "/")},
		{"/t/", "/t/thor/", 200, ok("thor", "/")},
		{"t", "/t/thor/polls", 200, ok("thor", "/polls")},
		{"/", "/thor/polls", 200, ok("thor", "/polls")},
		{"/api/tenants/", "/api/tenants/thor/polls", 200, ok("thor", "/polls")},
		{"/t/", "/t/thor/a%2Fb/c", 200, "tenant=thor path=/a/b/c raw=/a%2Fb/c"},
		{"/t/", "/t/%74hor/x", 200, ok("thor", "/x")},
		{"/t/", "/t/thor%2Fx/y", 404, unknown},
		{"/t/", "/t/", 404, unknown},
		{"/t/", "/t//polls", 404, unknown},
		{"/t/", "/t", 404, unknown},
		{"/t/", "/x/thor/polls", 404, unknown},
		{"/t/", "/tt/thor/polls", 404, unknown},
		{"/t/", "/t/Thor/polls", 404, unknown},
		{"/t/", "/t/public/polls", 404, unknown},
		{"/t/", "/polls", 404, unknown},
	}
	for _, tt := range tests {
		t.Run(tt.prefix+" "+tt.path, func(t *testing.T) {
			srv := serve(t, tenanthttp.PathPrefix(tt.prefix))
			status, body := get(t, nil, srv, request{path: tt.path})
			if status != tt.wantStatus || body != tt.wantBody {
				t.Errorf("got %d %q, want %d %q", status, body, tt.wantStatus, tt.wantBody)
			}
		})
	}
}

// TestPathPrefixRouting mounts an ordinary ServeMux behind the middleware:
// routes are written without the tenant prefix, and the request the
// middleware was given is left as it was.
func TestPathPrefixRouting(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /polls/{id}", func(w http.ResponseWriter, r *http.Request) {
		tn, _ := runtime.TenantFromContext(r.Context())
		fmt.Fprintf(w, "%s poll %s uri %s", tn, r.PathValue("id"), r.RequestURI)
	})
	mw := tenanthttp.Middleware(tenanthttp.First(tenanthttp.Header("X-Tenant"), tenanthttp.PathPrefix("/t/")))(mux)
	outer := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		before := r.URL.String()
		mw.ServeHTTP(w, r)
		if after := r.URL.String(); after != before {
			t.Errorf("the middleware changed its request's URL from %q to %q", before, after)
		}
	})
	srv := serveHandler(t, outer)
	tests := []struct {
		path       string
		header     map[string]string
		wantStatus int
		wantBody   string
	}{
		{"/t/thor/polls/7", nil, 200, "thor poll 7 uri /t/thor/polls/7"},
		{"/t/loki/polls/8?q=1", nil, 200, "loki poll 8 uri /t/loki/polls/8?q=1"},
		// The header wins, so nothing is stripped and the mux finds no route.
		{"/t/thor/polls/7", map[string]string{"X-Tenant": "loki"}, 404, "404 page not found\n"},
		{"/polls/7", map[string]string{"X-Tenant": "loki"}, 200, "loki poll 7 uri /polls/7"},
		{"/polls/7", nil, 404, unknown},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			status, body := get(t, nil, srv, request{path: tt.path, header: tt.header})
			if status != tt.wantStatus || body != tt.wantBody {
				t.Errorf("got %d %q, want %d %q", status, body, tt.wantStatus, tt.wantBody)
			}
		})
	}
}

func TestFirst(t *testing.T) {
	reg := newRegistry()
	reg.set("down.example.com", "down")
	reg.hook = func(_ context.Context, domain string) error {
		if domain == "down.example.com" {
			return errBoom
		}
		return nil
	}
	var customCalls atomic.Int64
	custom := tenanthttp.ResolverFunc(func(r *http.Request) (runtime.Tenant, bool, error) {
		customCalls.Add(1)
		if r.URL.Query().Get("tenant") == "" {
			return runtime.Tenant{}, false, nil
		}
		t, err := runtime.ParseTenant(r.URL.Query().Get("tenant"))
		return t, err == nil, err
	})
	res := tenanthttp.First(
		tenanthttp.PathPrefix("/t/"),
		tenanthttp.Header("X-Tenant"),
		tenanthttp.Domain(reg),
		tenanthttp.Subdomain("polls.local"),
		custom,
	)
	srv := serve(t, res, tenanthttp.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	tests := []struct {
		name       string
		rq         request
		wantStatus int
		wantBody   string
		wantCustom bool // whether the last resolver is reached
	}{
		{"path wins", request{host: "loki.example.com", path: "/t/thor/polls", header: map[string]string{"X-Tenant": "odin"}}, 200, ok("thor", "/polls"), false},
		{"header next", request{host: "loki.example.com", path: "/polls", header: map[string]string{"X-Tenant": "odin"}}, 200, ok("odin", "/polls"), false},
		{"invalid header falls through", request{host: "loki.example.com", path: "/polls", header: map[string]string{"X-Tenant": "Odin!"}}, 200, ok("loki", "/polls"), false},
		{"domain next", request{host: "LOKI.example.com", path: "/polls"}, 200, ok("loki", "/polls"), false},
		{"subdomain after unknown domain", request{host: "frey.polls.local", path: "/polls"}, 200, ok("frey", "/polls"), false},
		{"custom last", request{host: "nobody.example.com", path: "/polls?tenant=njord"}, 200, ok("njord", "/polls"), true},
		{"custom error", request{host: "nobody.example.com", path: "/polls?tenant=NJORD"}, 500, "tenant lookup failed\n", true},
		{"nothing matches", request{host: "nobody.example.com", path: "/polls"}, 404, unknown, true},
		{"registry error fails closed", request{host: "down.example.com", path: "/polls?tenant=njord"}, 500, "tenant lookup failed\n", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := customCalls.Load()
			status, body := get(t, nil, srv, tt.rq)
			if status != tt.wantStatus || body != tt.wantBody {
				t.Errorf("got %d %q, want %d %q", status, body, tt.wantStatus, tt.wantBody)
			}
			if reached := customCalls.Load() > before; reached != tt.wantCustom {
				t.Errorf("last resolver reached: %v, want %v", reached, tt.wantCustom)
			}
		})
	}
}

func TestOptional(t *testing.T) {
	reg := newRegistry()
	res := tenanthttp.First(tenanthttp.PathPrefix("/t/"), tenanthttp.Domain(reg))
	srv := serve(t, res, tenanthttp.Optional())
	tests := []struct {
		name       string
		rq         request
		wantStatus int
		wantBody   string
	}{
		{"tenant by domain", request{host: "thor.example.com", path: "/polls"}, 200, ok("thor", "/polls")},
		{"tenant by path", request{host: "example.com", path: "/t/loki/polls"}, 200, ok("loki", "/polls")},
		{"public site", request{host: "example.com", path: "/signup"}, 200, ok("-", "/signup")},
		{"invalid path tenant left alone", request{host: "example.com", path: "/t/Loki/polls"}, 200, ok("-", "/t/Loki/polls")},
		{"absurd host", request{host: "a!b", path: "/"}, 200, ok("-", "/")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := get(t, nil, srv, tt.rq)
			if status != tt.wantStatus || body != tt.wantBody {
				t.Errorf("got %d %q, want %d %q", status, body, tt.wantStatus, tt.wantBody)
			}
		})
	}

	t.Run("errors still fail", func(t *testing.T) {
		reg := newRegistry()
		reg.setErr(errBoom)
		srv := serve(t, tenanthttp.Domain(reg), tenanthttp.Optional(), tenanthttp.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
		if status, body := get(t, nil, srv, request{host: "thor.example.com"}); status != 500 {
			t.Errorf("got %d %q, want 500", status, body)
		}
	})
}

func TestResolveRequestWithoutRewrite(t *testing.T) {
	r := httptest.NewRequest(http.MethodGet, "/t/thor/polls", nil)
	tn, ok, err := tenanthttp.PathPrefix("/t/").Resolve(r)
	if err != nil || !ok || tn.String() != "thor" {
		t.Fatalf("Resolve = %v, %v, %v; want thor", tn, ok, err)
	}
	tn, ok, err = tenanthttp.First(tenanthttp.Header("X-Tenant"), tenanthttp.PathPrefix("t")).Resolve(r)
	if err != nil || !ok || tn.String() != "thor" || r.URL.Path != "/t/thor/polls" {
		t.Fatalf("First.Resolve = %v, %v, %v, path %q; want thor and the path untouched", tn, ok, err, r.URL.Path)
	}
	tn, r2, ok, err := tenanthttp.ResolveRequest(tenanthttp.Header("X-Tenant"), r)
	if err != nil || ok || r2 != r {
		t.Fatalf("ResolveRequest(Header) = %v, %p, %v, %v; want no match and the same request", tn, r2, ok, err)
	}
}

func TestConstructorsRejectNil(t *testing.T) {
	tests := map[string]func(){
		"Middleware":         func() { tenanthttp.Middleware(nil) },
		"First":              func() { tenanthttp.First(tenanthttp.Header("X-Tenant"), nil) },
		"Domain":             func() { tenanthttp.Domain(nil) },
		"Header":             func() { tenanthttp.Header("") },
		"Subdomain bad base": func() { tenanthttp.Subdomain("polls..local") },
	}
	for name, f := range tests {
		t.Run(name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Error("no panic")
				}
			}()
			f()
		})
	}
}

// TestConcurrent hits one server from many goroutines (run it with -race).
// With no expiry and no invalidation, each domain must be looked up exactly
// once however the requests interleave: coalescing plus the cache.
func TestConcurrent(t *testing.T) {
	reg := newRegistry()
	reg.hook = func(context.Context, string) error {
		time.Sleep(2 * time.Millisecond) // let requests pile up on the lookup
		return nil
	}
	clk := newClock()
	dom := tenanthttp.Domain(reg, tenanthttp.WithClock(clk.Now))
	srv := serve(t, tenanthttp.First(tenanthttp.PathPrefix("/t/"), dom))
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	t.Cleanup(client.CloseIdleConnections)

	cases := []struct {
		rq         request
		wantStatus int
		wantBody   string
	}{
		{request{host: "thor.example.com", path: "/a"}, 200, ok("thor", "/a")},
		{request{host: "LOKI.example.com:80", path: "/b"}, 200, ok("loki", "/b")},
		{request{host: "[::1]:8080"}, 200, ok("local6", "/")},
		{request{host: "127.0.0.1"}, 200, ok("local4", "/")},
		{request{host: "under_score.example.com."}, 200, ok("under_score", "/")},
		{request{host: "nobody.example.com"}, 404, unknown},
		{request{host: "nobody2.example.com"}, 404, unknown},
		{request{host: "frey.example.com", path: "/t/frey/x"}, 200, ok("frey", "/x")},
		{request{host: "bad!.example.com"}, 404, unknown},
	}
	const wantLookups = 7 // distinct well-formed hosts

	run := func(t *testing.T, goroutines, perG int) {
		var wg sync.WaitGroup
		errs := make(chan string, goroutines)
		for g := range goroutines {
			wg.Go(func() {
				for i := range perG {
					c := cases[(g+i)%len(cases)]
					status, body, err := fetch(client, srv, c.rq)
					if err != nil {
						errs <- err.Error()
						return
					}
					if status != c.wantStatus || body != c.wantBody {
						errs <- fmt.Sprintf("%v: got %d %q, want %d %q", c.rq, status, body, c.wantStatus, c.wantBody)
						return
					}
				}
			})
		}
		wg.Wait()
		close(errs)
		for e := range errs {
			t.Error(e)
		}
	}

	t.Run("coalesced and cached", func(t *testing.T) {
		run(t, 32, 30)
		if n := reg.calls.Load(); n != wantLookups {
			t.Errorf("%d lookups, want %d", n, wantLookups)
		}
	})

	t.Run("with invalidation and expiry", func(t *testing.T) {
		stop := make(chan struct{})
		var bg sync.WaitGroup
		bg.Go(func() {
			for {
				select {
				case <-stop:
					return
				case <-time.After(time.Millisecond):
					dom.Invalidate()
					clk.Add(10 * time.Second)
				}
			}
		})
		run(t, 32, 30)
		close(stop)
		bg.Wait()
		if n := reg.calls.Load(); n <= wantLookups {
			t.Errorf("%d lookups: invalidation and expiry should have caused more", n)
		}
	})
}
