#!/usr/bin/env bash
# What PostgreSQL's row-level security costs: the members page, a search,
# role changes and the audit log, with the policies on, then off (the same
# server, the same data, one run), then on again; and the query plans of
# those pages as Roster runs them (as roster_app, its organization named).
#
#   bash bench/rls.sh
#
# Needs wrk and a PostgreSQL server at $BENCH_PG_ADMIN (default
# postgres://postgres@127.0.0.1:5432/postgres). "Off" disables row-level
# security on every table that has it; Roster still opens the same
# transactions and names its organization, so the difference is the
# policies' own cost. With OLD_BIN=/path/to/an/earlier/roster (a build
# from before row-level security), the same cases run last on that binary
# and the same database (its migration row removed, the policies off, as
# the login itself): the cost of the whole change, scoped transactions
# included. Results go to bench/results/rls.txt.
set -euo pipefail
cd "$(dirname "$0")/.."

MEMBERS=${MEMBERS:-100000}
DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-32}
THREADS=${THREADS:-2}
PORT=${PORT:-18081}
PG_ADMIN=${BENCH_PG_ADMIN:-postgres://postgres@127.0.0.1:5432/postgres}
BASE="http://127.0.0.1:$PORT"

command -v wrk >/dev/null || { echo "wrk is missing: apt-get install wrk" >&2; exit 1; }
cargo build --release --quiet
BIN=target/release/roster
mkdir -p bench/results
# shellcheck source=bench/lib.sh
source bench/lib.sh

out=bench/results/rls.txt
work=$(mktemp -d)
psql "$PG_ADMIN" -qc "DROP DATABASE IF EXISTS roster_rls WITH (FORCE)"
psql "$PG_ADMIN" -qc "CREATE DATABASE roster_rls"
url="${PG_ADMIN%/*}/roster_rls"
# One signed-in person drives all the connections: their limit of
# requests in flight (4 by default) would answer most of them 429.
export DATABASE_URL=$url ROSTER_DATA_DIR=$work ROSTER_BIND=127.0.0.1:$PORT RUST_LOG=warn \
  ROSTER_REQUESTS_PER_PERSON=64
{
  echo "# row-level security — $(date -u +%Y-%m-%dT%H:%MZ) — $(nproc) cores — $MEMBERS members"
  "$BIN" seed-bench --members "$MEMBERS" --targets-file "$work/targets.txt" 2>&1
} | tee "$out"
org=$(grep -o 'Organization id: .*' "$out" | tail -n 1 | cut -d' ' -f3)
owner=$(grep -o 'Sign in as [^ ]*' "$out" | tail -n 1 | cut -d' ' -f4)
tables=$(psql "$url" -Atc "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
  WHERE n.nspname = 'public' AND c.relkind = 'r' AND c.relrowsecurity ORDER BY 1")
echo "tables with row-level security: $(echo "$tables" | wc -l)" | tee -a "$out"

policies() {
  local sql=""
  for t in $tables; do
    if [ "$1" = on ]; then
      sql+="ALTER TABLE $t ENABLE ROW LEVEL SECURITY; ALTER TABLE $t FORCE ROW LEVEL SECURITY; "
    else
      sql+="ALTER TABLE $t NO FORCE ROW LEVEL SECURITY; ALTER TABLE $t DISABLE ROW LEVEL SECURITY; "
    fi
  done
  psql "$url" -q -1 -c "$sql"
}

"$BIN" serve >"$work/server.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 1 50); do curl -fs "$BASE/healthz" >/dev/null && break; sleep 0.2; done
jar="$work/jar"
signin "$owner"
export ROSTER_ORG=$org ROSTER_CSRF=$token ROSTER_TARGETS="$work/targets.txt"

bench() {
  local label=$1; shift
  echo "## $label" | tee -a "$out"
  wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency -H "Cookie: $cookie" "$@" 2>&1 |
    grep -E 'Requests/sec|Non-2xx|Non-303|Socket errors|^ +50%|^ +99%' | tee -a "$out"
}
cases() {
  bench "$1: members page 1" "$BASE/orgs/$org/members"
  bench "$1: search by email fragment" "$BASE/orgs/$org/members?q=user4242"
  bench "$1: role change POST" -s bench/role_change.lua "$BASE"
  bench "$1: audit log page 1" "$BASE/orgs/$org/audit"
}
cases "policies on"
policies off
cases "policies off"
policies on
cases "policies on again"

if [ -n "${OLD_BIN:-}" ]; then
  kill "$pid"
  wait "$pid" 2>/dev/null || true
  policies off
  psql "$url" -qc "DELETE FROM seaql_migrations WHERE version = 'm20261205_000015_row_level_security'"
  "$OLD_BIN" serve >"$work/old-server.log" 2>&1 &
  pid=$!
  for _ in $(seq 1 50); do curl -fs "$BASE/healthz" >/dev/null && break; sleep 0.2; done
  signin "$owner"
  export ROSTER_CSRF=$token
  cases "before row-level security ($OLD_BIN)"
  kill "$pid"
  wait "$pid" 2>/dev/null || true
  policies on
fi

echo "## query plans as roster_app, acting for the organization" | tee -a "$out"
as_roster() {
  psql "$url" -At -1 \
    -c "SELECT FROM (SELECT set_config('role', 'roster_app', true), set_config('roster.org_id', '$org', true)) s" \
    -c "EXPLAIN $1" | sed '/^$/d'
}
while IFS='|' read -r label sql; do
  echo "-- $label" | tee -a "$out"
  as_roster "$sql" | tee -a "$out"
done <<SQL
members page 1 (ids by name)|SELECT id FROM memberships WHERE org_id = '$org' AND role <> 'none' ORDER BY sort_name, id LIMIT 50
members page 1 (rows with their people)|SELECT m.id, u.name FROM memberships m JOIN users u ON u.id = m.user_id WHERE m.id IN (SELECT id FROM memberships WHERE org_id = '$org' AND role <> 'none' ORDER BY sort_name, id LIMIT 50) ORDER BY m.sort_name, m.id
members total (trigger-kept counts)|SELECT SUM(members) FROM member_counts WHERE org_id = '$org' AND role <> 'none'
search by email fragment|SELECT COUNT(*) FROM memberships WHERE org_id = '$org' AND role <> 'none' AND (sort_name || ' ' || email_normalized) LIKE '%user4242%'
role change (the member, by id)|SELECT * FROM memberships WHERE id = 'x' AND org_id = '$org'
audit log page 1|SELECT * FROM audit_events WHERE org_id = '$org' ORDER BY created_at DESC, id DESC LIMIT 51
the switcher (a person's organizations)|SELECT o.name FROM memberships m JOIN organizations o ON o.id = m.org_id WHERE m.user_id = 'u'
SQL
kill "$pid" 2>/dev/null || true
wait "$pid" 2>/dev/null || true
echo "-- search by email fragment on its named path (roster_cross), as Roster runs it" | tee -a "$out"
psql "$url" -At -1 \
  -c "SELECT FROM (SELECT set_config('role', 'roster_cross', true)) s" \
  -c "EXPLAIN SELECT id FROM memberships WHERE org_id = '$org' AND (sort_name || ' ' || email_normalized) LIKE '%user4242%' ORDER BY sort_name, id LIMIT 50" |
  sed '/^$/d' | tee -a "$out"
psql "$PG_ADMIN" -qc "DROP DATABASE IF EXISTS roster_rls WITH (FORCE)" || true
