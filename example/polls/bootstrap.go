package polls

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/tenantgen/tenantgen/example/polls/db"
	"github.com/tenantgen/tenantgen/runtime"
)

// Tenants of the tour, with their domains.
var Tenants = []struct{ Name, Domain string }{
	{"thor", "thor.polls.local"},
	{"potter", "potter.polls.local"},
}

// Bootstrap brings the database to the tour's state, and may run any number
// of times: shared migrations, then every existing tenant's, then thor and
// potter created with their domains when missing.
func Bootstrap(ctx context.Context, rt *runtime.DB, log io.Writer) error {
	n, err := rt.MigrateShared(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(log, "shared: %d migration(s) applied\n", n)
	if _, err := db.New(rt).Shared().UpsertPlan(ctx, db.UpsertPlanParams{Name: "free", MaxPolls: 10}); err != nil {
		return err
	}
	rep, err := rt.MigrateTenants(ctx, runtime.MigrateOptions{})
	if err != nil {
		return err
	}
	fmt.Fprintf(log, "tenants: %d up to date, %d migrated\n", rep.UpToDate, len(rep.Results))
	for _, tn := range Tenants {
		t := runtime.MustTenant(tn.Name)
		err := rt.CreateTenant(ctx, t, runtime.CreateOptions{Domains: []string{tn.Domain}})
		switch {
		case errors.Is(err, runtime.ErrTenantExists):
			fmt.Fprintf(log, "tenant %s: exists\n", t)
		case err != nil:
			return err
		default:
			fmt.Fprintf(log, "tenant %s: created, serving %s\n", t, tn.Domain)
		}
	}
	return nil
}
