// Package fleet is what the fleet families (migrate, create) share: the
// fleet database with fleetdb's shared set applied, a runtime on it, and
// fleetdb's tenant set as plain DDL for their baselines.
package fleet

//go:generate go run github.com/tenantgen/tenantgen/cmd/tenantgen generate -f ../fleetdb/tenantgen.yaml

import (
	"context"
	"fmt"
	"io"
	"log/slog"

	"github.com/tenantgen/tenantgen/internal/bench"
	"github.com/tenantgen/tenantgen/internal/bench/fleetdb"
	"github.com/tenantgen/tenantgen/runtime"
)

// Fleet is the opened fleet database.
type Fleet struct {
	RT  *runtime.DB // with fleetdb's migration sets, its shared set applied
	URL string      // the fleet database's URL
	DDL string      // fleetdb's tenant set: the Up sections, without goose
}

// Open creates the fleet database (once per run: see bench.Env.OpenFleet)
// and opens the runtime on it.
func Open(ctx context.Context, e *bench.Env) (*Fleet, error) {
	ddl, err := bench.UpSQL(fleetdb.Migrations().Tenant)
	if err != nil {
		return nil, err
	}
	url, err := e.OpenFleet(ctx)
	if err != nil {
		return nil, err
	}
	cfg, err := bench.PoolConfig(url, 4)
	if err != nil {
		return nil, err
	}
	rt, err := runtime.OpenConfig(ctx, cfg, runtime.WithMigrations(fleetdb.Migrations()),
		runtime.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	if err != nil {
		return nil, err
	}
	if _, err := rt.MigrateShared(ctx); err != nil {
		rt.Close()
		return nil, fmt.Errorf("migrating the fleet's shared set: %w", err)
	}
	return &Fleet{RT: rt, URL: url, DDL: ddl}, nil
}

// Close closes the runtime.
func (f *Fleet) Close() { f.RT.Close() }
