#!/usr/bin/env bash
# Benchmarks the JSON API beside the HTML pages it mirrors, in the same run:
# the members list (first page and a search) and a role change, through the
# page with a session cookie and through /api/v1 with an organization key;
# and what recognizing a key costs (an API request for a missing member,
# which is one key check, one rate-limit count and one indexed read,
# beside a key refused by its checksum, which reads nothing).
#
#   bash bench/api.sh               # SQLite, then PostgreSQL
#   BACKENDS=sqlite MEMBERS=20000 bash bench/api.sh
#
# Results go to bench/results/api-<backend>.txt; bench/README.md has the
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
  local backend=$1 out="bench/results/api-$1.txt" work url
  work=$(mktemp -d)
  if [ "$backend" = postgres ]; then
    psql "$PG_ADMIN" -qc "DROP DATABASE IF EXISTS roster_bench WITH (FORCE)"
    psql "$PG_ADMIN" -qc "CREATE DATABASE roster_bench"
    url="${PG_ADMIN%/*}/roster_bench"
  else
    url="sqlite://$work/roster.db?mode=rwc"
  fi
  # The per-key limit and the per-person cap on running requests are
  # lifted: the load comes from one key and one session.
  export DATABASE_URL=$url ROSTER_DATA_DIR=$work ROSTER_BIND=127.0.0.1:$PORT RUST_LOG=warn \
    ROSTER_API_REQUESTS_PER_MINUTE=100000000 ROSTER_REQUESTS_PER_PERSON=64
  {
    echo "# API on $backend — $(date -u +%Y-%m-%dT%H:%MZ) — $(nproc) cores — $MEMBERS members"
    "$BIN" seed-bench --members "$MEMBERS" --products 100 --audit-rows 1000 \
      --targets-file "$work/targets.txt" 2>/dev/null
  } | tee "$out"
  local org owner key
  org=$(grep -o 'Organization id: .*' "$out" | tail -n 1 | cut -d' ' -f3)
  owner=$(grep -o 'Sign in as [^ ]*' "$out" | tail -n 1 | cut -d' ' -f4)
  key=$("$BIN" create-api-key --org "$org" --name bench --role admin --days 1 2>/dev/null)

  "$BIN" serve >"$work/server.log" 2>&1 &
  local pid=$!
  trap 'kill $pid 2>/dev/null || true' RETURN
  for _ in $(seq 1 50); do curl -fs "$BASE/healthz" >/dev/null && break; sleep 0.2; done

  local jar="$work/jar" token cookie
  signin "$owner"
  curl -fs -o /dev/null -H "Cookie: $cookie" "$BASE/orgs/$org/members" || { echo "sign-in failed" >&2; exit 1; }
  curl -fs -o /dev/null -H "Authorization: Bearer $key" "$BASE/api/v1/members" || { echo "the key failed" >&2; exit 1; }

  bench() {
    local label=$1 header=$2; shift 2
    echo "## $label" | tee -a "$out"
    wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency -H "$header" "$@" 2>&1 |
      grep -E 'Requests/sec|Non-2xx|Non-200|Non-303|Socket errors|^ +50%|^ +99%|requests in' | tee -a "$out"
  }
  local page="Cookie: $cookie" api="Authorization: Bearer $key"
  local missing=00000000-0000-4000-8000-000000000000
  local typo="${key%?}x"
  [ "$typo" = "$key" ] && typo="${key%?}y"
  bench "HTML members page 1" "$page" "$BASE/orgs/$org/members"
  bench "API members page 1" "$api" "$BASE/api/v1/members"
  bench "HTML search by email fragment" "$page" "$BASE/orgs/$org/members?q=user4242"
  bench "API search by email fragment" "$api" "$BASE/api/v1/members?q=user4242"
  bench "API a missing member (key check + rate count + one read)" "$api" "$BASE/api/v1/members/$missing"
  bench "HTML a missing member (session + membership + one read)" "$page" "$BASE/orgs/$org/members/$missing"
  bench "API a mistyped key (refused by its checksum, no read)" "Authorization: Bearer $typo" "$BASE/api/v1/members"
  export ROSTER_ORG=$org ROSTER_CSRF=$token ROSTER_TARGETS="$work/targets.txt"
  bench "HTML role change POST" "$page" -s bench/role_change.lua "$BASE"
  bench "API role change PATCH" "$api" -s bench/api_role_change.lua "$BASE"
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
