// Package bind holds the binding-overhead benchmarks, as testing.B: what
// binding generated SQL to a tenant costs per query, with no fleet around
// it. It has no code of its own; run it with
//
//	go test -run '^$' -bench . -benchmem ./internal/bench/bind
//
// BenchmarkBind times contract.Bind on the SQL the generator emits;
// BenchmarkTenantQueryRow a point SELECT on a real server, raw pgx with the
// SQL already bound against the same call through the runtime's tenant-bound
// DBTX and through the generated handle, so the difference is the binding.
package bind
