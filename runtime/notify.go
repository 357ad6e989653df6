package runtime

import (
	"context"

	"github.com/jackc/pgx/v5/pgxpool"
)

type listener struct{}

func (db *DB) startListener(ctx context.Context, cfg *pgxpool.Config) error { return nil }
func (db *DB) stopListener()                                                {}
