// Command polls serves the tour's polls API: `make demo` runs it.
//
//	ADDR          listen address (default 127.0.0.1:8080)
//	DATABASE_URL  PostgreSQL (default the local test server)
package main

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"time"

	"github.com/tenantgen/tenantgen/example/polls"
	"github.com/tenantgen/tenantgen/example/polls/db"
	"github.com/tenantgen/tenantgen/runtime"
)

func main() {
	if err := run(); err != nil {
		slog.Error("polls", "err", err)
		os.Exit(1)
	}
}

func run() error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	addr := env("ADDR", "127.0.0.1:8080")
	url := env("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable")
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))

	rt, err := runtime.Open(ctx, url, runtime.WithMigrations(db.Migrations()), runtime.WithLogger(logger))
	if err != nil {
		return err
	}
	defer rt.Close()
	if err := polls.Bootstrap(ctx, rt, os.Stderr); err != nil {
		return err
	}
	// Listen before saying so: "serving" means connections are accepted.
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: polls.Handler(rt, logger), ReadHeaderTimeout: 5 * time.Second}
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	logger.Info("polls: serving", "addr", "http://"+addr, "try", "curl -H 'Host: thor.polls.local' http://"+addr+"/polls")
	if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

func env(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}
