#!/usr/bin/env bash
# Makes sure the three-node Citus test cluster (coordinator 127.0.0.1:5441,
# workers 5442 and 5443) is up, for the Citus tests (make test-citus). The
# cluster comes from ../shared/citus beside the repository (setup-citus.sh,
# which installs Citus from its prebuilt tarball when missing); nothing is
# written there. Test databases are made per test package by internal/pgtest,
# on every node, so the script creates none of its own.
#
# When the cluster cannot be found or started, it says why and fails under
# CI=true; elsewhere it exits 0, and the Citus tests skip.
set -uo pipefail

coord_url="${TENANTGEN_TEST_CITUS_URL:-postgres://postgres@127.0.0.1:5441/postgres?sslmode=disable}"

give_up() {
  echo "ensure-citus: $*" >&2
  if [[ "${CI:-}" == "true" ]]; then
    exit 1
  fi
  echo "ensure-citus: going on without Citus; the Citus tests will skip (they fail under CI=true)" >&2
  exit 0
}

# usable: the coordinator answers and preloads Citus.
usable() {
  [[ "$(PGCONNECT_TIMEOUT=5 psql -X "$coord_url" -Atqc "SELECT current_setting('shared_preload_libraries') ~ 'citus'" 2>/dev/null)" == "t" ]]
}

if [[ -n "${TENANTGEN_TEST_CITUS_URL:-}" ]]; then
  # Someone else's cluster: only check it.
  usable || give_up "no Citus coordinator answers at TENANTGEN_TEST_CITUS_URL"
  exit 0
fi

top=$(git -C "$(dirname "${BASH_SOURCE[0]}")" rev-parse --show-toplevel 2>/dev/null) ||
  top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# Beside the clone (CI), or beside the main checkout when this is a git
# worktree of it; TENANTGEN_CITUS_SHARED overrides.
shared="${TENANTGEN_CITUS_SHARED:-$top/../shared/citus}"
if [[ -z "${TENANTGEN_CITUS_SHARED:-}" && ! -d "$shared" ]]; then
  common=$(git -C "$top" rev-parse --path-format=absolute --git-common-dir 2>/dev/null) &&
    shared="$(dirname "$common")/../shared/citus"
fi
setup="$shared/setup-citus.sh"
if [[ ! -x "$setup" && ! -f "$setup" ]]; then
  if usable; then exit 0; fi
  give_up "no Citus cluster at 127.0.0.1:5441 and no $setup to start one"
fi
command -v pg_lsclusters >/dev/null 2>&1 || give_up "pg_lsclusters missing: setup-citus.sh needs Debian's postgresql-common (scripts/ensure-postgres.sh installs it)"

# setup-citus.sh is idempotent (under 2 s when up); its CITUS_DBS default
# (app) is kept: our databases come and go with the test packages.
if ! out=$(bash "$setup" up 2>&1); then
  echo "$out" >&2
  give_up "setup-citus.sh failed"
fi
echo "$out" | tail -n 1
usable || give_up "setup-citus.sh ran but the coordinator does not answer at $coord_url"
