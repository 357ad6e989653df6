package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/tenantgen/tenantgen/internal/pgtest"
)

// TestCitusCLI: on the Citus cluster (make test-citus), tenants are placed
// with create --node, list and status show each tenant's node, tenant move
// moves one, tenant rebalance spreads them.
func TestCitusCLI(t *testing.T) {
	p := newCLIProjectOn(t, pgtest.NewCitusDatabase(t))
	p.must(p.db("migrate")...)
	ws := p.workers()

	p.must(p.db("tenant", "create", "thor", "--node", ws[0])...)
	p.must(p.db("tenant", "create", "loki", "odin", "--node", ws[1])...)
	p.wantNodes(map[string]string{"thor": ws[0], "loki": ws[1], "odin": ws[1]})
	out := p.must(p.db("tenant", "list")...)
	if !strings.Contains(out, "NODE") || !strings.Contains(out, ws[0]) {
		t.Errorf("tenant list:\n%s", out)
	}

	// status: a NODE column, the workers' counts, and the same in --json.
	out = p.must(p.db("status")...)
	if !strings.Contains(out, "NODE") || !strings.Contains(out, "node "+ws[1]+": 2 tenant(s)") {
		t.Errorf("status:\n%s", out)
	}
	var st struct {
		Tenants []struct {
			Tenant string `json:"tenant"`
			Node   string `json:"node"`
		} `json:"tenants"`
		Nodes []struct {
			Node    string `json:"node"`
			Tenants int    `json:"tenants"`
		} `json:"nodes"`
		UpToDate int `json:"up_to_date"`
	}
	if err := json.Unmarshal([]byte(p.must(p.db("status", "--json")...)), &st); err != nil {
		t.Fatal(err)
	}
	if len(st.Tenants) != 3 || st.Tenants[2].Tenant != "thor" || st.Tenants[2].Node != ws[0] || len(st.Nodes) != 2 || st.UpToDate != 3 {
		t.Errorf("status --json: %+v", st)
	}

	out = p.must(p.db("tenant", "move", "--node", ws[1], "thor")...)
	if !strings.Contains(out, "tenant thor is on "+ws[1]) {
		t.Errorf("move: %s", out)
	}
	p.wantNodes(map[string]string{"thor": ws[1], "loki": ws[1], "odin": ws[1]})
	if _, errb := p.expect(1, p.db("tenant", "move", "--node", "127.0.0.1:1", "thor")...); !strings.Contains(errb, "not an active Citus worker") {
		t.Errorf("move to no worker: %s", errb)
	}

	out = p.must(p.db("tenant", "rebalance")...)
	if !strings.Contains(out, "rebalanced") || strings.Contains(out, ": 0 tenant(s)") {
		t.Errorf("rebalance:\n%s", out)
	}
}

// workers lists the Citus workers that hold tenants.
func (p *cliProject) workers() []string {
	p.t.Helper()
	rows, _ := p.admin.Query(p.t.Context(), `SELECT nodename || ':' || nodeport FROM pg_dist_node
		WHERE isactive AND noderole = 'primary' AND shouldhaveshards ORDER BY 1`)
	ws, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil || len(ws) < 2 {
		p.t.Fatalf("want two workers, have %v (%v)", ws, err)
	}
	return ws
}

// wantNodes checks tenant list --json's node of every tenant.
func (p *cliProject) wantNodes(want map[string]string) {
	p.t.Helper()
	got := map[string]string{}
	for _, r := range parseList(p.t, p.must(p.db("tenant", "list", "--json")...)) {
		if r.Node == nil {
			p.t.Fatalf("tenant list --json: no node for %s", r.Name)
		}
		got[r.Name] = *r.Node
	}
	for name, node := range want {
		if got[name] != node {
			p.t.Errorf("tenant %s on %q, want %q (all: %v)", name, got[name], node, got)
		}
	}
}
