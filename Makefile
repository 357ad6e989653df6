# tenantgen's make targets. `make test` is the test command CI runs.
GO ?= go
export CGO_ENABLED ?= 1

.PHONY: test test-citus build vet fmt-check bench demo generate-example tidy

build:
	$(GO) build ./...

# Every test, the PostgreSQL-backed ones included: a server is started (or
# installed) first when none is reachable, and a transaction-pooling PgBouncer
# in front of it for the PgBouncer tests.
test:
	./scripts/ensure-postgres.sh
	./scripts/ensure-pgbouncer.sh
	$(GO) vet ./...
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || (echo "gofmt needed:"; gofmt -l $$(git ls-files '*.go'); exit 1)
	$(GO) test -count=1 -timeout 20m -skip '^TestCitus' ./...
	$(MAKE) test-citus

# Benchmarks against a real server; writes BENCHMARKS.md. Scale or select
# with BENCHFLAGS, e.g. make bench BENCHFLAGS='-keep -only query -dur 2s'
# (go run ./internal/bench/cmd/tenantgen-bench -h lists the flags). Binding
# overhead is a testing.B benchmark: go test -bench . ./internal/bench/bind
bench:
	./scripts/ensure-postgres.sh
	$(GO) run ./internal/bench/cmd/tenantgen-bench -out BENCHMARKS.md $(BENCHFLAGS)

# The tour: migrates, creates thor and potter (idempotently) and serves the
# polls API on $(ADDR) (default 127.0.0.1:8080) against $(DATABASE_URL),
# default a tenantgen_demo database on the local server, created when the
# URL names one that does not exist.
DEMO_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/tenantgen_demo?sslmode=disable
demo:
	./scripts/ensure-postgres.sh
	DATABASE_URL="$${DATABASE_URL:-$(DEMO_DATABASE_URL)}"; \
	$(GO) run ./scripts/demodb "$$DATABASE_URL" && \
	DATABASE_URL="$$DATABASE_URL" $(GO) run ./example/polls/cmd/polls

# The Citus suites: the three-node cluster of ../shared/citus is started
# (about 15-19 s fresh, under 2 s when up), then the tests run with their
# package database on the coordinator (made on every node by internal/pgtest):
# the TestCitus tests and a selection of the runtime's lifecycle and isolation
# tests (CITUS_RUN; CITUS_RUN=. runs the whole runtime suite, about 6 min), the
# polls and kitchensink suites whole, unchanged, and the CLI's TestCitus tests.
# Without a cluster they skip, saying why; under CI=true they fail.
CITUS_URL ?= postgres://postgres@127.0.0.1:5441/postgres?sslmode=disable
CITUS_RUN ?= ^(TestCitus|TestREADMEGooseCommands|TestCreateTenantIsAtomic|TestDropTenant|TestDownTo|TestSwitchingTenantsOnOneConnection|TestFaultsDoNotLeak|TestRollingMigration)
test-citus:
	./scripts/ensure-citus.sh
	TENANTGEN_TEST_DATABASE_URL='$(CITUS_URL)' $(GO) test -count=1 -timeout 15m -run '$(CITUS_RUN)' ./internal/pgtest/ ./runtime/ ./gen/
	TENANTGEN_TEST_DATABASE_URL='$(CITUS_URL)' $(GO) test -count=1 -timeout 10m ./example/polls/ ./example/kitchensink/
	TENANTGEN_TEST_DATABASE_URL='$(CITUS_URL)' $(GO) test -count=1 -timeout 5m -run '^TestCitus' ./cmd/tenantgen/
