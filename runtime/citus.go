package runtime

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// Citus schema-based sharding (Citus 12+): every tenant schema is a
// distributed schema whose tables live together on one worker; the
// coordinator routes each query by the schema it names, which is the
// schema-qualified SQL tenantgen generates. The runtime connects to the
// coordinator only.
//
// What changes on Citus, and only there:
//   - CreateTenant distributes the new schema in the creation's own
//     transaction (citus_schema_distribute), whether or not the
//     coordinator's citus.enable_schema_based_sharding is on, and places it on
//     CreateOptions.Node when given;
//   - migration sessions set citus.enable_unsafe_triggers, without which
//     CREATE TRIGGER on a distributed table is refused;
//   - MoveTenant, TenantNode(s), CitusNodes, RebalanceTenants.
//
// Shared tables become reference tables in the generated shared migrations
// themselves (a statement guarded by a check for the extension), so that
// plain goose gets them too. tenantgen's registry tables stay
// coordinator-local: only the coordinator reads and writes them, no tenant or
// shared table references them, and a local table keeps the creation's
// transaction (registry row and CREATE SCHEMA) from writing every node.

// CitusInfo is what the runtime found about Citus on its database.
type CitusInfo struct {
	Enabled        bool   // the runtime treats the database as a Citus coordinator
	Installed      bool   // the citus extension is installed in the database
	Version        string // the extension's version, when installed
	SchemaSharding bool   // citus.enable_schema_based_sharding is on for new sessions
	Forced         bool   // WithCitus decided Enabled, not detection
}

type citusState struct {
	override *bool
	mu       sync.Mutex
	done     bool // info holds a detection; errors are not kept, so a cancelled first caller does not decide for later ones
	info     CitusInfo
}

// WithCitus overrides the detection of Citus: true makes the runtime treat
// the database as a Citus coordinator (CreateTenant then fails when the
// extension is missing), false makes it ignore Citus even when installed,
// so that tenant schemas stay coordinator-local. Without it the runtime
// detects the extension on first use.
func WithCitus(on bool) Option { return func(db *DB) { db.citus.override = &on } }

// Citus reports what the runtime found about Citus, detecting it on first
// use (one query) unless WithCitus decided.
func (db *DB) Citus(ctx context.Context) (CitusInfo, error) { return db.citusInfo(ctx, db.pool) }

// citusInfo is Citus on q: callers holding a connection of a small pool
// detect on it rather than wait for another.
func (db *DB) citusInfo(ctx context.Context, q querier) (CitusInfo, error) {
	c := &db.citus
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.done {
		info, err := db.detectCitus(ctx, q)
		if err != nil {
			return info, err
		}
		c.info, c.done = info, true
	}
	return c.info, nil
}

func (db *DB) detectCitus(ctx context.Context, q querier) (CitusInfo, error) {
	var info CitusInfo
	var version, sharding *string
	err := q.QueryRow(ctx, `
		SELECT (SELECT extversion FROM pg_extension WHERE extname = 'citus'),
		       current_setting('citus.enable_schema_based_sharding', true)`).Scan(&version, &sharding)
	if err != nil {
		return info, fmt.Errorf("tenantgen: detecting Citus: %w", err)
	}
	if version != nil {
		info.Installed, info.Version = true, *version
	}
	info.SchemaSharding = sharding != nil && *sharding == "on"
	info.Enabled = info.Installed
	if o := db.citus.override; o != nil {
		info.Enabled, info.Forced = *o, true
	}
	return info, nil
}

// citusEnabled is Citus(ctx).Enabled, with an error when forced on a
// database without the extension.
func (db *DB) citusEnabled(ctx context.Context) (bool, error) { return db.citusEnabledOn(ctx, db.pool) }

func (db *DB) citusEnabledOn(ctx context.Context, q querier) (bool, error) {
	info, err := db.citusInfo(ctx, q)
	if err != nil {
		return false, err
	}
	if info.Enabled && !info.Installed {
		return false, errors.New("tenantgen: WithCitus(true), but the citus extension is not installed in this database")
	}
	return info.Enabled, nil
}

// citusSessionParams adds the settings of a migration session on Citus:
// citus.enable_unsafe_triggers, since CREATE TRIGGER on a distributed (or
// reference) table is refused without it. The triggers then run on the
// worker holding the tenant; what they may not do there is in the README.
// Detection errors leave the session plain: the migration itself will say
// what is wrong with the database.
func (db *DB) citusSessionParams(params map[string]string) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if on, err := db.citusEnabled(ctx); err == nil && on {
		params["citus.enable_unsafe_triggers"] = "on"
	}
}

// citusPrepareTenant runs in CreateTenant's first transaction, right after
// CREATE SCHEMA: on Citus it checks the node asked for and makes the schema a
// distributed one (a no-op when citus.enable_schema_based_sharding already
// did), so that the tenant's tables are created distributed and the whole
// creation stays one thing to undo.
func (db *DB) citusPrepareTenant(ctx context.Context, tx pgx.Tx, t Tenant, opts CreateOptions) error {
	on, err := db.citusEnabledOn(ctx, tx)
	if err != nil {
		return err
	}
	if !on {
		if opts.Node != "" {
			return fmt.Errorf("placing a tenant on node %s needs Citus, and this database is not a Citus coordinator", opts.Node)
		}
		return nil
	}
	if opts.Node != "" {
		if _, err := db.citusNode(ctx, tx, opts.Node); err != nil {
			return err
		}
	}
	_, err = tx.Exec(ctx, `SELECT citus_schema_distribute($1::regnamespace)
		WHERE NOT EXISTS (SELECT 1 FROM pg_dist_schema WHERE schemaid = $1::regnamespace)`, t.name)
	if err != nil {
		return fmt.Errorf("distributing schema %s: %w", t.name, err)
	}
	return nil
}

// citusPlaceTenant runs in CreateTenant after the tenant's migrations: it
// moves the new tenant to opts.Node when Citus put it elsewhere. Nothing
// writes to a tenant being created, so the move blocks writes instead of
// replicating (a plain copy, a fraction of a logical move).
func (db *DB) citusPlaceTenant(ctx context.Context, conn *pgx.Conn, t Tenant, opts CreateOptions) error {
	if opts.Node == "" {
		return nil
	}
	if err := db.moveSchema(ctx, conn, t, opts.Node, "block_writes"); err != nil {
		return err
	}
	// Nobody has read the new tenant: its old copy can go now, not when
	// Citus's daemon gets to it, so that an early MoveTenant back finds no
	// leftover.
	if _, err := conn.Exec(ctx, `CALL citus_cleanup_orphaned_resources()`); err != nil {
		db.logger.WarnContext(ctx, "tenantgen: Citus cleanup after placing a tenant", "tenant", t.name, "err", err)
	}
	return nil
}

// CitusNode is a worker of the cluster.
type CitusNode struct {
	Node    string // host:port
	Tenants int    // tenants whose schema lives on it
}

// CitusNodes lists the nodes that can hold tenants (active primaries with
// shouldhaveshards), with the number of tenants on each.
func (db *DB) CitusNodes(ctx context.Context) ([]CitusNode, error) {
	if err := db.requireCitus(ctx); err != nil {
		return nil, err
	}
	rows, err := db.pool.Query(ctx, `
		SELECT n.nodename || ':' || n.nodeport,
		       (SELECT count(DISTINCT s.schemaid) FROM pg_dist_schema s
		          JOIN pg_dist_partition p ON p.colocationid = s.colocationid
		          JOIN pg_dist_shard sh ON sh.logicalrelid = p.logicalrelid
		          JOIN pg_dist_placement pl ON pl.shardid = sh.shardid
		          JOIN public.tenantgen_tenants tt ON tt.name = s.schemaid::regnamespace::text
		         WHERE pl.groupid = n.groupid)
		FROM pg_dist_node n
		WHERE n.isactive AND n.noderole = 'primary' AND n.shouldhaveshards
		ORDER BY n.nodename, n.nodeport`)
	if err != nil {
		return nil, fmt.Errorf("listing Citus nodes: %w", err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (CitusNode, error) {
		var n CitusNode
		var count int64
		err := r.Scan(&n.Node, &count)
		n.Tenants = int(count)
		return n, err
	})
}

// TenantNodes returns the node of every tenant schema that has tables, read
// live from Citus's metadata (never copied into the registry: Citus's
// rebalancer and citus_schema_move run outside tenantgen would leave a copy
// stale). On plain PostgreSQL it returns an empty map.
func (db *DB) TenantNodes(ctx context.Context) (map[string]string, error) {
	out := map[string]string{}
	on, err := db.citusEnabled(ctx)
	if err != nil || !on {
		return out, err
	}
	rows, err := db.pool.Query(ctx, tenantNodeSQL+` GROUP BY 1`)
	if err != nil {
		return nil, fmt.Errorf("reading tenant placement: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var name, node string
		if err := rows.Scan(&name, &node); err != nil {
			return nil, err
		}
		out[name] = node
	}
	return out, rows.Err()
}

// tenantNodeSQL maps each distributed schema with tables to its node. A
// schema's tables are colocated: one node per schema (min picks it when a
// move is half-way and both hold placements).
const tenantNodeSQL = `
	SELECT s.schemaid::regnamespace::text, min(n.nodename || ':' || n.nodeport)
	FROM pg_dist_schema s
	JOIN pg_dist_partition p ON p.colocationid = s.colocationid
	JOIN pg_dist_shard sh ON sh.logicalrelid = p.logicalrelid
	JOIN pg_dist_placement pl ON pl.shardid = sh.shardid AND pl.shardstate = 1
	JOIN pg_dist_node n ON n.groupid = pl.groupid`

// TenantNode returns the node holding t's schema, or "" when it has no
// tables yet or the database is not Citus.
func (db *DB) TenantNode(ctx context.Context, t Tenant) (string, error) {
	on, err := db.citusEnabled(ctx)
	if err != nil || !on {
		return "", err
	}
	var node string
	err = db.pool.QueryRow(ctx, tenantNodeSQL+` WHERE s.schemaid = to_regnamespace($1) GROUP BY 1`, t.name).Scan(new(string), &node)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("reading the node of tenant %s: %w", t.name, err)
	}
	return node, nil
}

// MoveTenant moves t's schema, all its tables at once, to node (host:port
// of a Citus worker) with citus_schema_move, online: writes go on while the
// data is copied and replicated, and block only for the final switch.
// A tenant already on node is left alone. It waits for a creation or a drop
// of the tenant in progress, and they wait for it.
func (db *DB) MoveTenant(ctx context.Context, t Tenant, node string) error {
	if t.IsZero() {
		return errZeroTenant
	}
	if err := db.requireCitus(ctx); err != nil {
		return err
	}
	conn, unlock, err := db.lockTenantName(ctx, t)
	if err != nil {
		return fmt.Errorf("moving tenant %s: %w", t.name, err)
	}
	defer unlock()
	var state string
	err = conn.QueryRow(ctx, `SELECT state FROM public.tenantgen_tenants WHERE name = $1`, t.name).Scan(&state)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return fmt.Errorf("moving tenant %s: %w", t.name, ErrTenantNotFound)
	case err != nil:
		return fmt.Errorf("moving tenant %s: %w", t.name, err)
	case state != "active":
		return fmt.Errorf("moving tenant %s: it is %s, not active", t.name, state)
	}
	if err := db.moveSchema(ctx, conn, t, node, "auto"); err != nil {
		return err
	}
	db.logger.InfoContext(ctx, "tenantgen: tenant moved", "tenant", t.name, "node", node)
	return nil
}

// moveSchema runs citus_schema_move unless the schema is on node already.
// mode is a Citus shard_transfer_mode: auto (logical replication; every
// table needs a replica identity) or block_writes.
func (db *DB) moveSchema(ctx context.Context, conn *pgx.Conn, t Tenant, node string, mode string) error {
	target, err := db.citusNode(ctx, conn, node)
	if err != nil {
		return fmt.Errorf("moving tenant %s: %w", t.name, err)
	}
	var current *string
	err = conn.QueryRow(ctx, tenantNodeSQL+` WHERE s.schemaid = to_regnamespace($1) GROUP BY 1`, t.name).Scan(new(string), &current)
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("moving tenant %s: its schema is not distributed or has no tables", t.name)
	}
	if err != nil {
		return fmt.Errorf("moving tenant %s: %w", t.name, err)
	}
	if current != nil && *current == target.String() {
		return nil
	}
	for attempt := 1; ; attempt++ {
		// A move leaves the source's copy behind, dropped later by Citus's
		// maintenance daemon; a move back onto that node before then fails
		// ("orphaned shard ... could not be cleaned up"). Drop them first,
		// and again after a short wait while a reader of the old copy keeps
		// it locked.
		if _, err := conn.Exec(ctx, `CALL citus_cleanup_orphaned_resources()`); err != nil {
			return fmt.Errorf("moving tenant %s: cleaning up after earlier moves: %w", t.name, err)
		}
		_, err := conn.Exec(ctx, `SELECT citus_schema_move($1::regnamespace, $2, $3, shard_transfer_mode => $4::citus.shard_transfer_mode)`,
			t.name, target.host, target.port, mode)
		if err == nil {
			return nil
		}
		if attempt >= orphanRetries || !isOrphanLeftover(err) {
			return fmt.Errorf("moving tenant %s to %s: %w", t.name, node, err)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("moving tenant %s to %s: %w", t.name, node, errors.Join(err, ctx.Err()))
		case <-time.After(time.Duration(attempt) * 500 * time.Millisecond):
		}
	}
}

// orphanRetries bounds the waits for a previous move's leftovers (about
// 20 s in all, past Citus's default 15 s deferred-drop interval).
const orphanRetries = 9

func isOrphanLeftover(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "XX000" && strings.Contains(pe.Message, "orphaned shard")
}

type citusNodeAddr struct {
	host string
	port int
}

func (n citusNodeAddr) String() string { return n.host + ":" + strconv.Itoa(n.port) }

type querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// citusNode checks that node is host:port of an active worker that may hold
// tenants, and says which nodes are when it is not.
func (db *DB) citusNode(ctx context.Context, q querier, node string) (citusNodeAddr, error) {
	host, p, err := net.SplitHostPort(node)
	port, perr := strconv.Atoi(p)
	if err != nil || perr != nil || port <= 0 || port > 65535 {
		return citusNodeAddr{}, fmt.Errorf("node %q: want host:port of a Citus worker", node)
	}
	var ok bool
	var all []string
	err = q.QueryRow(ctx, `
		SELECT coalesce(bool_or(nodename = $1 AND nodeport = $2), false),
		       coalesce(array_agg(nodename || ':' || nodeport ORDER BY nodename, nodeport), '{}')
		FROM pg_dist_node WHERE isactive AND noderole = 'primary' AND shouldhaveshards`, host, port).Scan(&ok, &all)
	if err != nil {
		return citusNodeAddr{}, fmt.Errorf("reading Citus nodes: %w", err)
	}
	if !ok {
		sort.Strings(all)
		return citusNodeAddr{}, fmt.Errorf("node %s is not an active Citus worker that holds tenants (they are: %v)", node, all)
	}
	return citusNodeAddr{host, port}, nil
}

func (db *DB) requireCitus(ctx context.Context) error {
	on, err := db.citusEnabled(ctx)
	if err != nil {
		return err
	}
	if !on {
		return errors.New("tenantgen: this database is not a Citus coordinator (no citus extension, or WithCitus(false))")
	}
	return nil
}

// RebalanceTenants spreads tenant schemas over the workers with Citus's
// rebalancer (rebalance_table_shards: each schema moves as one colocation
// group, online) and returns when it is done.
func (db *DB) RebalanceTenants(ctx context.Context) error {
	if err := db.requireCitus(ctx); err != nil {
		return err
	}
	// In the foreground: citus_rebalance_start's background tasks took
	// twice as long to be scheduled and waited for on the test cluster.
	if _, err := db.pool.Exec(ctx, `SELECT rebalance_table_shards(shard_transfer_mode => 'auto')`); err != nil {
		return fmt.Errorf("rebalancing tenants: %w", err)
	}
	return nil
}
