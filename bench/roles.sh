#!/usr/bin/env bash
# Custom roles: the members page and a role change before and after 20
# custom roles are in use (each held by 50 members, organization-wide or
# in a workspace), in one run; then the access check of the API, one
# member's module levels and batches of 10 checks (a batch counts as 10).
#
#   bash bench/roles.sh               # SQLite, then PostgreSQL
#   BACKENDS=sqlite MEMBERS=20000 bash bench/roles.sh
#
# Results go to bench/results/roles-<backend>.txt; bench/README.md has the
# figures.
set -euo pipefail
cd "$(dirname "$0")/.."

MEMBERS=${MEMBERS:-100000}
DURATION=${DURATION:-15s}
CONNECTIONS=${CONNECTIONS:-32}
THREADS=${THREADS:-2}
PORT=${PORT:-18080}
BACKENDS=${BACKENDS:-"sqlite postgres"}
PG_ADMIN=${BENCH_PG_ADMIN:-postgres://postgres@127.0.0.1:5432/postgres}
BASE="http://127.0.0.1:$PORT"

command -v wrk >/dev/null || { echo "wrk is missing: apt-get install wrk" >&2; exit 1; }
cargo build --release --quiet
BIN=target/release/roster
mkdir -p bench/results

# shellcheck source=bench/lib.sh
source bench/lib.sh  # the script runs from the repository root

run_backend() {
  local backend=$1 out="bench/results/roles-$1.txt" work url
  work=$(mktemp -d)
  if [ "$backend" = postgres ]; then
    psql "$PG_ADMIN" -qc "DROP DATABASE IF EXISTS roster_bench WITH (FORCE)"
    psql "$PG_ADMIN" -qc "CREATE DATABASE roster_bench"
    url="${PG_ADMIN%/*}/roster_bench"
  else
    url="sqlite://$work/roster.db?mode=rwc"
  fi
  export DATABASE_URL=$url ROSTER_DATA_DIR=$work ROSTER_BIND=127.0.0.1:$PORT RUST_LOG=warn \
    ROSTER_API_REQUESTS_PER_MINUTE=100000000 ROSTER_REQUESTS_PER_PERSON=64
  {
    echo "# Custom roles on $backend — $(date -u +%Y-%m-%dT%H:%MZ) — $(nproc) cores — $MEMBERS members"
    "$BIN" seed-bench --members "$MEMBERS" --products 100 --audit-rows 1000 \
      --targets-file "$work/targets.txt" 2>/dev/null
  } | tee "$out"
  local org owner key
  org=$(grep -o 'Organization id: .*' "$out" | tail -n 1 | cut -d' ' -f3)
  owner=$(grep -o 'Sign in as [^ ]*' "$out" | tail -n 1 | cut -d' ' -f4)
  key=$("$BIN" create-api-key --org "$org" --name bench --role admin --days 1 2>/dev/null)

  "$BIN" serve >"$work/server.log" 2>&1 &
  pid=$!
  # Stopped however the run ends (a failed step ends the script).
  trap 'kill $pid 2>/dev/null || true' EXIT
  for _ in $(seq 1 50); do curl -fs "$BASE/healthz" >/dev/null && break; sleep 0.2; done

  local jar="$work/jar" token cookie
  signin "$owner"
  curl -fs -o /dev/null -H "Cookie: $cookie" "$BASE/orgs/$org/members" || { echo "sign-in failed" >&2; exit 1; }

  bench() {
    local label=$1 header=$2; shift 2
    echo "## $label" | tee -a "$out"
    wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency -H "$header" "$@" 2>&1 |
      grep -E 'Requests/sec|Non-2xx|Non-200|Non-303|Socket errors|^ +50%|^ +99%|requests in' | tee -a "$out"
  }
  local page="Cookie: $cookie" api="Authorization: Bearer $key"
  export ROSTER_ORG=$org ROSTER_CSRF=$token ROSTER_TARGETS="$work/targets.txt"
  bench "HTML members page 1, no custom roles" "$page" "$BASE/orgs/$org/members"
  bench "HTML role change POST, no custom roles" "$page" -s bench/role_change.lua "$BASE"

  # Twenty custom roles over two modules of the organization's own, each
  # held by 50 members: the even ones organization-wide, the odd ones in
  # the first workspace.
  local workspace
  workspace=$(curl -fs -H "$api" "$BASE/api/v1/workspaces" | grep -o '"id":"[^"]*"' | head -n 1 | cut -d'"' -f4)
  for module in Campaigns Reports; do
    curl -fs -o /dev/null -H "Cookie: $cookie" --data-urlencode "csrf_token=$token" \
      --data-urlencode "name=$module" "$BASE/orgs/$org/modules"
  done
  local n=0 role where
  for i in $(seq 1 20); do
    role=$(curl -s -o /dev/null -w '%{redirect_url}' -H "Cookie: $cookie" \
      --data-urlencode "csrf_token=$token" --data-urlencode "name=Bench role $i" \
      --data-urlencode "scope=both" --data-urlencode "level_campaigns=$([ $((i % 2)) = 0 ] && echo write || echo read)" \
      --data-urlencode "level_reports=read" --data-urlencode "level_members=read" \
      "$BASE/orgs/$org/roles" | sed 's#.*/##')
    [ -n "$role" ] || { echo "could not make role $i" >&2; exit 1; }
    where=""
    [ $((i % 2)) = 1 ] && where=$workspace
    for member in $(sed -n "$(( (i - 1) * 50 + 1 )),$(( i * 50 ))p" "$work/targets.txt"); do
      curl -fs -o /dev/null -H "Cookie: $cookie" --data-urlencode "csrf_token=$token" \
        --data-urlencode "workspace_id=$where" --data-urlencode "role=$role" \
        "$BASE/orgs/$org/members/$member/roles" && n=$((n + 1))
    done
  done
  echo "## 20 custom roles made, $n grants" | tee -a "$out"
  bench "HTML members page 1, 20 custom roles in use" "$page" "$BASE/orgs/$org/members"
  bench "HTML role change POST, 20 custom roles in use" "$page" -s bench/role_change.lua "$BASE"
  local first
  first=$(head -n 1 "$work/targets.txt")
  bench "API one member's module levels in a workspace" "$api" \
    "$BASE/api/v1/members/$first/access?workspace_id=$workspace"
  export ROSTER_WORKSPACE=$workspace
  bench "API access checks, batches of 10" "$api" -s bench/access_check.lua "$BASE"
  echo "## server peak RSS" | tee -a "$out"
  grep VmHWM "/proc/$pid/status" | tee -a "$out"
  kill "$pid"
  wait "$pid" 2>/dev/null || true
  if [ "$backend" = postgres ]; then
    psql "$PG_ADMIN" -qc "DROP DATABASE IF EXISTS roster_bench WITH (FORCE)"
  fi
  rm -rf "$work"
}

for backend in $BACKENDS; do
  run_backend "$backend"
done
