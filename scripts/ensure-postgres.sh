#!/usr/bin/env bash
# Makes sure a PostgreSQL server is reachable for the tests and the demo.
# When TENANTGEN_TEST_DATABASE_URL (or DATABASE_URL) names a server, it only
# checks it. Otherwise it starts the local Debian cluster, installing
# PostgreSQL with apt first when there is none.
set -euo pipefail

url="${TENANTGEN_TEST_DATABASE_URL:-${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable}}"

reachable() { pg_isready -q -d "$url" 2>/dev/null || psql "$url" -Atqc 'select 1' >/dev/null 2>&1; }

if command -v pg_isready >/dev/null 2>&1 && reachable; then
  exit 0
fi
if [[ -n "${TENANTGEN_TEST_DATABASE_URL:-}${DATABASE_URL:-}" ]]; then
  echo "ensure-postgres: $url is not reachable and was given explicitly; not starting a local server" >&2
  exit 1
fi

if ! ls /etc/postgresql/*/main >/dev/null 2>&1; then
  echo "ensure-postgres: installing PostgreSQL with apt" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq postgresql >/dev/null
fi
version="$(ls /etc/postgresql | sort -V | tail -1)"
# Trust local TCP connections for the postgres user, as the tests expect.
hba="/etc/postgresql/$version/main/pg_hba.conf"
if ! grep -q "tenantgen" "$hba" 2>/dev/null; then
  sed -i '1i host all postgres 127.0.0.1/32 trust # tenantgen tests\nhost all postgres ::1/128 trust # tenantgen tests' "$hba"
fi
pg_ctlcluster --skip-systemctl-redirect "$version" main start 2>/dev/null || pg_ctlcluster --skip-systemctl-redirect "$version" main reload || true
for _ in $(seq 1 30); do
  if reachable; then exit 0; fi
  sleep 1
done
echo "ensure-postgres: PostgreSQL did not become reachable at $url" >&2
exit 1
