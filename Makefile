# tenantgen's make targets. `make test` is the test command CI runs.
GO ?= go
export CGO_ENABLED ?= 1

.PHONY: test build vet fmt-check bench demo generate-example tidy

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
	$(GO) test -count=1 -timeout 20m ./...

# Benchmarks against a real server; writes BENCHMARKS.md. Scale or select
# with BENCHFLAGS, e.g. make bench BENCHFLAGS='-keep -only query -dur 2s'
# (go run ./cmd/tenantgen-bench -h lists the flags).
bench:
	./scripts/ensure-postgres.sh
	$(GO) run ./cmd/tenantgen-bench -out BENCHMARKS.md $(BENCHFLAGS)

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
