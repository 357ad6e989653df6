package runtime

import (
	"errors"
	"fmt"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
)

// The one Citus error a move waits out: a previous move's copy not yet
// dropped on the target (seen under load in TestCitusIsolationWhileMoving).
func TestIsOrphanLeftover(t *testing.T) {
	orphan := &pgconn.PgError{Code: "XX000", Message: "shard move failed as the orphaned shard load_0.goose_db_version_102039 leftover from the previous move could not be cleaned up"}
	for _, c := range []struct {
		err  error
		want bool
	}{
		{orphan, true},
		{fmt.Errorf("wrapped: %w", orphan), true},
		{&pgconn.PgError{Code: "XX000", Message: "could not connect to node"}, false},
		{&pgconn.PgError{Code: "42P01", Message: "orphaned shard"}, false},
		{errors.New("orphaned shard"), false},
	} {
		if got := isOrphanLeftover(c.err); got != c.want {
			t.Errorf("isOrphanLeftover(%v) = %v", c.err, got)
		}
	}
}
