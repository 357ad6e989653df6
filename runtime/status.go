package runtime

import (
	"context"
	"fmt"
)

// SetStatus is the state of one migration set in one schema.
type SetStatus struct {
	Version int64 `json:"version"`
	Latest  int64 `json:"latest"`
	Pending int   `json:"pending"`
}

// TenantStatus is one tenant's line of Status.
type TenantStatus struct {
	Tenant string      `json:"tenant"`
	State  TenantState `json:"state"`
	SetStatus
	Note string `json:"note,omitempty"` // "behind", "ahead of the files", ...
}

// FleetStatus is what `tenantgen status` shows.
type FleetStatus struct {
	Shared   SetStatus      `json:"shared"`
	Tenants  []TenantStatus `json:"tenants"`
	UpToDate int            `json:"up_to_date"`
	Behind   int            `json:"behind"`
	Ahead    int            `json:"ahead"`
}

// Status reads the versions of public and of every registered tenant, in a
// constant number of round trips.
func (db *DB) Status(ctx context.Context) (*FleetStatus, error) {
	sharedFiles, tenantFiles := db.migs.Versions()
	st := &FleetStatus{Tenants: []TenantStatus{}}
	v, err := db.SharedVersion(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading the shared version: %w", err)
	}
	st.Shared = setStatus(v, sharedFiles)
	infos, err := db.Tenants(ctx)
	if err != nil {
		return nil, err
	}
	names := make([]string, len(infos))
	for i, ti := range infos {
		names[i] = ti.Tenant.name
	}
	versions, err := db.TenantVersions(ctx, names)
	if err != nil {
		return nil, err
	}
	for _, ti := range infos {
		ts := TenantStatus{Tenant: ti.Tenant.name, State: ti.State, SetStatus: setStatus(versions[ti.Tenant.name], tenantFiles)}
		switch {
		case ts.Version > ts.Latest:
			ts.Note = "ahead of the files"
			st.Ahead++
		case ts.Pending > 0:
			ts.Note = "behind"
			st.Behind++
		default:
			st.UpToDate++
		}
		st.Tenants = append(st.Tenants, ts)
	}
	return st, nil
}

func setStatus(v int64, files []int64) SetStatus {
	s := SetStatus{Version: v}
	for _, f := range files {
		if f > v {
			s.Pending++
		}
		s.Latest = max(s.Latest, f)
	}
	return s
}
