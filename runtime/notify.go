package runtime

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Registry notifications. Every runtime opened with Open or OpenConfig
// listens on a dedicated connection for the registry changes the others
// make (CLI, other app instances): a tenant created, dropped or recreated,
// a domain added or removed. Each change runs the receiving runtime's
// OnRegistryChange callbacks (the HTTP middleware's domain cache) and, for
// the tenants named, its stale-statement reset (stale.go), within the
// notification's delivery time, milliseconds. The sender names the tenants
// whose objects were recreated; a change without names (domains) only runs
// the callbacks. When the listening connection is lost, the runtime
// reconnects with backoff and then acts as if everything changed (all
// statements reset, callbacks run), since notifications sent meanwhile are
// lost.
//
// Behind a transaction pooler LISTEN cannot work (the session is not
// kept): such a runtime sends notifications but receives none.

// registryChannel is the NOTIFY channel of registry changes.
const registryChannel = "tenantgen_registry"

// maxPayload keeps a notification under PostgreSQL's 8000-byte limit; a
// longer list of names is sent as a full refresh instead.
const maxPayload = 7900

// fullRefresh is the payload's tenant list meaning "assume everything".
const fullRefresh = "*"

// WithoutRegistryNotifications keeps the runtime from listening for
// registry changes made by other processes (it still announces its own).
func WithoutRegistryNotifications() Option { return func(db *DB) { db.noListen = true } }

// listener is the goroutine holding the LISTEN connection.
type listener struct {
	cancel context.CancelFunc
	done   chan struct{}
}

// newOrigin names this runtime in its notifications, so that it skips its own.
func newOrigin() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// startListener listens for registry changes on a connection of its own
// made from cfg. The first connection is made before Open returns, so that
// a runtime that opened without error misses nothing after; if it fails,
// the runtime opens anyway and keeps trying in the background.
func (db *DB) startListener(ctx context.Context, cfg *pgxpool.Config) error {
	if db.noListen || db.pooler {
		return nil
	}
	cc := cfg.ConnConfig.Copy()
	lctx, cancel := context.WithCancel(context.Background())
	l := &listener{cancel: cancel, done: make(chan struct{})}
	db.listener = l
	conn, err := listen(ctx, cc)
	if err != nil {
		db.logger.WarnContext(ctx, "tenantgen: not listening for registry changes yet; retrying", "err", err)
	}
	go func() {
		defer close(l.done)
		db.listenLoop(lctx, cc, conn)
	}()
	return nil
}

func listen(ctx context.Context, cc *pgx.ConnConfig) (*pgx.Conn, error) {
	conn, err := pgx.ConnectConfig(ctx, cc)
	if err != nil {
		return nil, err
	}
	if _, err := conn.Exec(ctx, "LISTEN "+registryChannel); err != nil {
		_ = conn.Close(context.Background())
		return nil, err
	}
	return conn, nil
}

// listenLoop receives notifications on conn until ctx ends, reconnecting
// with backoff whenever the connection fails.
func (db *DB) listenLoop(ctx context.Context, cc *pgx.ConnConfig, conn *pgx.Conn) {
	backoff := 50 * time.Millisecond
	for {
		if conn == nil {
			select {
			case <-ctx.Done():
				return
			case <-time.After(backoff):
			}
			backoff = min(2*backoff, 5*time.Second)
			var err error
			if conn, err = listen(ctx, cc); err != nil {
				continue
			}
			backoff = 50 * time.Millisecond
			db.logger.InfoContext(ctx, "tenantgen: listening for registry changes again; refreshing everything")
			db.remoteChanged(nil, true) // what was sent meanwhile is lost
		}
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			_ = conn.Close(context.Background())
			conn = nil
			if ctx.Err() != nil {
				return
			}
			db.logger.WarnContext(ctx, "tenantgen: lost the registry listener connection", "err", err)
			continue
		}
		db.receive(n.Payload)
	}
}

// receive acts on a notification's payload, "origin name,name,..." (or
// "origin *"), unless this runtime sent it.
func (db *DB) receive(payload string) {
	origin, names, _ := strings.Cut(payload, " ")
	if origin == db.origin {
		return
	}
	if names == fullRefresh {
		db.remoteChanged(nil, true)
		return
	}
	var ts []Tenant
	for _, n := range strings.Split(names, ",") {
		if t, err := ParseTenant(n); err == nil {
			ts = append(ts, t)
		}
	}
	db.remoteChanged(ts, false)
}

// remoteChanged applies another process's registry change: the stale
// statements of the tenants it recreated (of all, for all), then the
// callbacks.
func (db *DB) remoteChanged(ts []Tenant, all bool) {
	if all {
		db.allRecreated()
	}
	for _, t := range ts {
		db.resetTenant(t)
	}
	db.mu.Lock()
	fns := append([]func(){}, db.onChange...)
	db.mu.Unlock()
	for _, fn := range fns {
		fn()
	}
}

// allRecreated marks every cached statement stale.
func (db *DB) allRecreated() {
	if db.hooked {
		db.stale.Add(1)
		return
	}
	db.pool.Reset()
}

func (db *DB) stopListener() {
	if l := db.listener; l != nil {
		l.cancel()
		<-l.done
		db.listener = nil
	}
}

// pendingNames collects the tenants tenantRecreated was called for since
// the last announcement.
type pendingNames struct {
	mu    sync.Mutex
	names []string
}

func (p *pendingNames) add(name string) {
	p.mu.Lock()
	p.names = append(p.names, name)
	p.mu.Unlock()
}

func (p *pendingNames) take() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := p.names
	p.names = nil
	return n
}

// announceRegistry tells every other runtime on the database that this one
// changed the registry, naming the tenants it recreated since the last
// announcement. It is called from registryChanged; a failure is logged,
// not returned: the change itself is committed, and listeners that miss it
// are covered by the stale-statement retry and the domain cache's TTL.
func (db *DB) announceRegistry() {
	payload := db.announcement()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := db.pool.Exec(ctx, `SELECT pg_notify($1, $2)`, registryChannel, payload); err != nil && !errors.Is(err, context.Canceled) {
		db.logger.Warn("tenantgen: could not announce a registry change to other processes", "err", err)
	}
}

// announcement is the payload naming the tenants recreated since the last.
func (db *DB) announcement() string {
	payload := db.origin + " " + strings.Join(db.pending.take(), ",")
	if len(payload) > maxPayload {
		payload = db.origin + " " + fullRefresh
	}
	return payload
}
