#!/usr/bin/env bash
# Makes sure a PgBouncer in transaction pooling mode listens on 127.0.0.1:6432
# in front of the test PostgreSQL server (127.0.0.1:5432, user postgres, trust
# authentication, as scripts/ensure-postgres.sh sets up), for the PgBouncer
# tests (runtime/pgbouncer_test.go). It installs Debian's pgbouncer with apt
# when missing, writes its own configuration under $TENANTGEN_PGBOUNCER_DIR
# (default /tmp/tenantgen-pgbouncer) and starts it as a daemon. It does
# nothing when a suitable PgBouncer already answers.
#
# When TENANTGEN_TEST_PGBOUNCER_URL names a PgBouncer, it only checks it.
#
# When PgBouncer cannot be installed or started, it says why and fails under
# CI=true; elsewhere it exits 0, and the PgBouncer tests skip.
set -uo pipefail

dir="${TENANTGEN_PGBOUNCER_DIR:-/tmp/tenantgen-pgbouncer}"
listen_addr=127.0.0.1
listen_port=6432
backend_host=127.0.0.1
backend_port=5432
url="${TENANTGEN_TEST_PGBOUNCER_URL:-postgres://postgres@$listen_addr:$listen_port/postgres?sslmode=disable}"
admin_url="postgres://postgres@$listen_addr:$listen_port/pgbouncer?sslmode=disable"

give_up() {
  echo "ensure-pgbouncer: $*" >&2
  if [[ "${CI:-}" == "true" ]]; then
    exit 1
  fi
  echo "ensure-pgbouncer: going on without PgBouncer; its tests will skip (they fail under CI=true)" >&2
  exit 0
}

# usable: a query through PgBouncer reaches PostgreSQL.
usable() { PGCONNECT_TIMEOUT=5 psql "$url" -Atqc 'select 1' >/dev/null 2>&1; }

# ours: the PgBouncer on the port pools by transaction (asked on its console).
ours() {
  [[ "$(PGCONNECT_TIMEOUT=5 psql "$admin_url" -Atqc 'SHOW CONFIG' 2>/dev/null | awk -F'|' '$1 == "pool_mode" { print $2 }')" == "transaction" ]]
}

answers() { (exec 3<>"/dev/tcp/$listen_addr/$listen_port") 2>/dev/null; }

if [[ -n "${TENANTGEN_TEST_PGBOUNCER_URL:-}" ]]; then
  command -v psql >/dev/null 2>&1 || exit 0 # nothing to check with; the tests will tell
  usable || give_up "TENANTGEN_TEST_PGBOUNCER_URL ($url) does not answer queries"
  exit 0
fi

if command -v psql >/dev/null 2>&1 && usable && ours; then
  exit 0
fi

if ! command -v pgbouncer >/dev/null 2>&1 && [[ ! -x /usr/sbin/pgbouncer ]]; then
  if ! command -v apt-get >/dev/null 2>&1; then
    give_up "pgbouncer is not installed, and there is no apt-get to install it with"
  fi
  echo "ensure-pgbouncer: installing PgBouncer with apt" >&2
  export DEBIAN_FRONTEND=noninteractive
  if ! { apt-get update -qq && apt-get install -y -qq pgbouncer >/dev/null; }; then
    give_up "installing pgbouncer with apt failed"
  fi
  # Debian's package may start its own service (on this same port, with no
  # databases and md5 authentication) where the init system allows it: stop
  # that one, which this install just started.
  if [[ -f /var/run/postgresql/pgbouncer.pid ]]; then
    if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet pgbouncer 2>/dev/null; then
      systemctl stop pgbouncer || true
    elif [[ -x /etc/init.d/pgbouncer ]]; then
      /etc/init.d/pgbouncer stop >/dev/null 2>&1 || true
    fi
  fi
fi
pgbouncer_bin="$(command -v pgbouncer || echo /usr/sbin/pgbouncer)"

if answers; then
  # Something is on the port. Our own PgBouncer from an earlier run that no
  # longer works (say its config changed) is restarted; anything else is left
  # alone.
  if [[ -f "$dir/pgbouncer.pid" ]] && kill -0 "$(cat "$dir/pgbouncer.pid")" 2>/dev/null; then
    kill "$(cat "$dir/pgbouncer.pid")" 2>/dev/null || true
    for _ in $(seq 1 50); do answers || break; sleep 0.1; done
  fi
  if answers; then
    give_up "$listen_addr:$listen_port is taken by something that is not a usable transaction-pooling PgBouncer for the tests (set TENANTGEN_TEST_PGBOUNCER_URL to use another)"
  fi
fi

# pgbouncer refuses to run as root: it runs as postgres (made by the
# postgresql package), or as the current user when not root.
run_as=()
if [[ "$(id -u)" == 0 ]]; then
  id postgres >/dev/null 2>&1 || give_up "no postgres user to run pgbouncer as (pgbouncer refuses to run as root)"
  run_as=(-u postgres)
fi

# PgBouncer 1.21 and later can keep named prepared statements working across
# server connections (pgx's default exec mode needs them); 1.18, Debian 12's,
# cannot.
prepared=""
version="$("$pgbouncer_bin" --version 2>/dev/null | awk 'NR == 1 { print $2 }')"
if [[ -n "$version" && "$(printf '%s\n' 1.21 "$version" | sort -V | head -1)" == 1.21 ]]; then
  prepared="max_prepared_statements = 200"
fi

mkdir -p "$dir" || give_up "cannot create $dir"
cat >"$dir/pgbouncer.ini" <<EOF || give_up "cannot write $dir/pgbouncer.ini"
; Written by scripts/ensure-pgbouncer.sh for tenantgen's PgBouncer tests.
[databases]
* = host=$backend_host port=$backend_port

[pgbouncer]
listen_addr = $listen_addr
listen_port = $listen_port
unix_socket_dir =
pool_mode = transaction
; Few server connections per database, so that the tests' many clients
; genuinely share them.
default_pool_size = 4
min_pool_size = 0
reserve_pool_size = 0
max_client_conn = 200
auth_type = trust
auth_file = $dir/userlist.txt
admin_users = postgres
; pgx sends search_path (tenantgen's ConfigurePool sets it) as a startup
; parameter, which PgBouncer rejects unless told to ignore it. Ignored, the
; server connections keep the server's default search_path.
ignore_startup_parameters = search_path,extra_float_digits,options
$prepared
logfile = $dir/pgbouncer.log
pidfile = $dir/pgbouncer.pid
EOF
echo '"postgres" ""' >"$dir/userlist.txt" || give_up "cannot write $dir/userlist.txt"
if [[ ${#run_as[@]} -gt 0 ]]; then
  chown -R postgres: "$dir" || give_up "cannot give $dir to postgres"
fi
rm -f "$dir/pgbouncer.pid"

if ! "$pgbouncer_bin" -d "${run_as[@]}" "$dir/pgbouncer.ini"; then
  tail -5 "$dir/pgbouncer.log" >&2 2>/dev/null
  give_up "pgbouncer did not start"
fi
for _ in $(seq 1 50); do
  if command -v psql >/dev/null 2>&1; then
    usable && exit 0
  elif answers; then
    exit 0
  fi
  sleep 0.2
done
tail -5 "$dir/pgbouncer.log" >&2 2>/dev/null
give_up "PgBouncer started but $url does not answer queries"
