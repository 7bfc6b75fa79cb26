#!/usr/bin/env bash
# The Members page with pending people: page 1 of 100,000 members before
# and after 10,000 pending invitations exist, the Pending filter, and a
# bulk role change of 50 rows; with OLD_BIN set (a release build of an
# earlier commit), page 1 is first measured on that build, with its own
# seed of the same size (an earlier build does not open a newer schema),
# so "today's throughput" comes from the same run.
#
#   bash bench/members_page.sh
#   OLD_BIN=/tmp/roster-old BACKENDS=sqlite bash bench/members_page.sh
#
# Results go to bench/results/members-page-<backend>.txt; bench/README.md
# has the figures.
set -euo pipefail
cd "$(dirname "$0")/.."

MEMBERS=${MEMBERS:-100000}
INVITATIONS=${INVITATIONS:-10000}
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

start_server() {
  "$1" serve >"$work/server.log" 2>&1 &
  pid=$!
  for _ in $(seq 1 50); do curl -fs "$BASE/healthz" >/dev/null && break; sleep 0.2; done
}

stop_server() {
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

# Sets $url to an empty database of $1 (sqlite or postgres) in $work.
fresh_database() {
  if [ "$1" = postgres ]; then
    psql "$PG_ADMIN" -qc "DROP DATABASE IF EXISTS roster_bench WITH (FORCE)"
    psql "$PG_ADMIN" -qc "CREATE DATABASE roster_bench"
    url="${PG_ADMIN%/*}/roster_bench"
  else
    rm -f "$work"/roster.db*
    url="sqlite://$work/roster.db?mode=rwc"
  fi
  export DATABASE_URL=$url
}

# Seeds with binary $1 and sets $org and $owner.
seed() {
  "$1" seed-bench --members "$MEMBERS" --products 100 --audit-rows 1000 \
    --targets-file "$work/targets.txt" 2>/dev/null | tee -a "$out"
  org=$(grep -o 'Organization id: .*' "$out" | tail -n 1 | cut -d' ' -f3)
  owner=$(grep -o 'Sign in as [^ ]*' "$out" | tail -n 1 | cut -d' ' -f4)
}

run_backend() {
  local backend=$1 url org owner key
  out="bench/results/members-page-$1.txt"
  work=$(mktemp -d)
  export ROSTER_DATA_DIR=$work ROSTER_BIND=127.0.0.1:$PORT RUST_LOG=warn \
    ROSTER_API_REQUESTS_PER_MINUTE=100000000 ROSTER_REQUESTS_PER_PERSON=64 \
    ROSTER_INVITATIONS_PER_DAY=1000000
  echo "# Members page with pending people on $backend — $(date -u +%Y-%m-%dT%H:%MZ) — $(nproc) cores — $MEMBERS members" | tee "$out"
  trap 'kill $pid 2>/dev/null || true' EXIT
  local jar="$work/jar" token cookie

  bench() {
    local label=$1; shift
    echo "## $label" | tee -a "$out"
    wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency -H "Cookie: $cookie" "$@" 2>&1 |
      grep -E 'Requests/sec|Non-2xx|Non-200|Socket errors|^ +50%|^ +99%|requests in|refused' | tee -a "$out"
  }

  if [ -n "${OLD_BIN:-}" ]; then
    fresh_database "$backend"
    seed "$OLD_BIN"
    start_server "$OLD_BIN"
    signin "$owner"
    bench "HTML members page 1, the earlier build ($OLD_BIN), no invitations" "$BASE/orgs/$org/members"
    stop_server
  fi
  fresh_database "$backend"
  seed "$BIN"
  key=$("$BIN" create-api-key --org "$org" --name bench --role admin --days 1 2>/dev/null)
  start_server "$BIN"
  signin "$owner"
  bench "HTML members page 1, no invitations" "$BASE/orgs/$org/members"

  # 10,000 pending invitations, 100 addresses per request.
  local batch body
  for batch in $(seq 1 $((INVITATIONS / 100))); do
    body=$(python3 -c "import json,sys; b=int(sys.argv[1]); print(json.dumps({'emails':[f'pending{b}-{i}@invited.test' for i in range(100)],'role':'member'}))" "$batch")
    curl -fs -o /dev/null -H "Authorization: Bearer $key" -H 'Content-Type: application/json' \
      -d "$body" "$BASE/api/v1/invitations" || { echo "invitation batch $batch failed" >&2; exit 1; }
  done
  echo "## $INVITATIONS pending invitations sent" | tee -a "$out"
  bench "HTML members page 1, $INVITATIONS pending invitations" "$BASE/orgs/$org/members"
  bench "HTML members, the Pending filter (page 1)" "$BASE/orgs/$org/members?status=pending"
  export ROSTER_ORG=$org ROSTER_CSRF=$token ROSTER_TARGETS="$work/targets.txt"
  bench "HTML bulk role change of 50 members (one request = 50 changes)" -s bench/bulk_role.lua "$BASE"
  echo "## server peak RSS" | tee -a "$out"
  grep VmHWM "/proc/$pid/status" | tee -a "$out"
  stop_server
  if [ "$backend" = postgres ]; then
    psql "$PG_ADMIN" -qc "DROP DATABASE IF EXISTS roster_bench WITH (FORCE)"
  fi
  rm -rf "$work"
}

for backend in $BACKENDS; do
  run_backend "$backend"
done
