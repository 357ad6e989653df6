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
# (go run ./internal/bench/cmd/tenantgen-bench -h lists the flags). Binding
# overhead is a testing.B benchmark: go test -bench . ./internal/bench/bind
bench:
	./scripts/ensure-postgres.sh
	$(GO) run ./internal/bench/cmd/tenantgen-bench -out BENCHMARKS.md $(BENCHFLAGS)

# The tour: migrates, creates thor and potter (idempotently) and serves the
# polls API on $(ADDR) against $(DATABASE_URL).
demo:
	./scripts/ensure-postgres.sh
	$(GO) run ./example/polls/cmd/polls
