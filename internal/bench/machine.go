package bench

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"strings"

	"github.com/jackc/pgx/v5"
)

// machine is what the report says about where it ran.
type machine struct {
	nproc          int
	cpu            string
	memTotal       string
	goVersion      string
	osArch         string
	pgVersion      string
	pgSettings     string
	deps           map[string]string // module path -> version
	commit         string
	loadStart      string
	loadEnd        string
	serverIsRemote bool
}

func readMachine(ctx context.Context, admin *pgx.Conn) machine {
	m := machine{
		nproc:     runtime.NumCPU(),
		goVersion: runtime.Version(),
		osArch:    runtime.GOOS + "/" + runtime.GOARCH,
		deps:      map[string]string{},
		loadStart: loadAvg(),
	}
	m.cpu = procField("/proc/cpuinfo", "model name")
	if v := procField("/proc/meminfo", "MemTotal"); v != "" {
		var kb float64
		if _, err := fmt.Sscanf(v, "%f kB", &kb); err == nil {
			m.memTotal = fmt.Sprintf("%.1f GiB", kb/(1<<20))
		} else {
			m.memTotal = v
		}
	}
	_ = admin.QueryRow(ctx, `SELECT current_setting('server_version')`).Scan(&m.pgVersion)
	var mc, sb, fsync, sc, locks string
	_ = admin.QueryRow(ctx, `SELECT current_setting('max_connections'), current_setting('shared_buffers'),
		current_setting('fsync'), current_setting('synchronous_commit'), current_setting('max_locks_per_transaction')`).Scan(&mc, &sb, &fsync, &sc, &locks)
	m.pgSettings = "max_connections=" + mc + ", shared_buffers=" + sb + ", fsync=" + fsync + ", synchronous_commit=" + sc + ", max_locks_per_transaction=" + locks
	host := admin.Config().Host
	m.serverIsRemote = !(host == "127.0.0.1" || host == "localhost" || host == "::1" || strings.HasPrefix(host, "/"))
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, d := range bi.Deps {
			v := d.Version
			if d.Replace != nil {
				v = d.Replace.Version + " (replaced)"
			}
			m.deps[d.Path] = v
		}
	}
	if out, err := exec.CommandContext(ctx, "git", "rev-parse", "--short", "HEAD").Output(); err == nil {
		m.commit = strings.TrimSpace(string(out))
		if out, err := exec.CommandContext(ctx, "git", "status", "--porcelain", "--untracked-files=no").Output(); err == nil && len(strings.TrimSpace(string(out))) > 0 {
			m.commit += " (with uncommitted changes)"
		}
	}
	return m
}

func procField(path, key string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if ok && strings.TrimSpace(k) == key {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

func loadAvg() string {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "n/a"
	}
	f := strings.Fields(string(data))
	if len(f) < 3 {
		return "n/a"
	}
	return strings.Join(f[:3], " ")
}
