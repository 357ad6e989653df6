package runtime

import (
	"database/sql"
	"embed"
	"fmt"
	"hash/fnv"
	"io/fs"

	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
)

//go:embed registry/*.sql
var registryFS embed.FS

const (
	registryVersionTable = "tenantgen_goose_db_version"
	versionTable         = "goose_db_version"
)

// provider is a goose provider on its own *sql.DB, whose every connection
// has the search_path given: goose's Provider runs on a *sql.DB, and a path
// set by a statement on one connection would not hold on the next.
type provider struct {
	*goose.Provider
	sqlDB *sql.DB
}

func (p *provider) Close() error {
	err := p.Provider.Close()
	p.sqlDB.Close()
	return err
}

// newProvider opens a goose provider for one migration set. searchPath is
// the path every connection starts with; table the (qualified) version table.
func (db *DB) newProvider(fsys fs.FS, searchPath, table string, lockKey string) (*provider, error) {
	cc := db.pool.Config().ConnConfig.Copy()
	cc.RuntimeParams["search_path"] = searchPath
	sqlDB := stdlib.OpenDB(*cc)
	sqlDB.SetMaxOpenConns(2)
	locker, err := lock.NewPostgresSessionLocker(lock.WithLockID(lockID(lockKey)), lock.WithLockTimeout(1, 600))
	if err != nil {
		sqlDB.Close()
		return nil, err
	}
	p, err := goose.NewProvider(goose.DialectPostgres, sqlDB, fsys,
		goose.WithTableName(table),
		goose.WithSessionLocker(locker),
		goose.WithDisableGlobalRegistry(true),
		goose.WithLogger(goose.NopLogger()),
	)
	if err != nil {
		sqlDB.Close()
		return nil, fmt.Errorf("goose: %w", err)
	}
	return &provider{Provider: p, sqlDB: sqlDB}, nil
}

// lockID derives the advisory lock of one migration target, so that two
// migrators of the same schema wait for each other and different schemas
// migrate in parallel.
func lockID(key string) int64 {
	h := fnv.New64a()
	h.Write([]byte("tenantgen:" + key))
	return int64(h.Sum64() >> 1)
}

func (db *DB) registryProvider() (*provider, error) {
	sub, err := fs.Sub(registryFS, "registry")
	if err != nil {
		return nil, err
	}
	return db.newProvider(sub, "public", registryVersionTable, "registry")
}

func (db *DB) sharedProvider() (*provider, error) {
	return db.newProvider(db.migs.Shared, "public", versionTable, "shared")
}

func (db *DB) tenantProvider(t Tenant) (*provider, error) {
	return db.newProvider(db.migs.Tenant, t.Ident()+", public", t.name+"."+versionTable, "tenant:"+t.name)
}
