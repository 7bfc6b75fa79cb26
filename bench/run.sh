#!/usr/bin/env bash
# Benchmarks the members page, search, role changes, products, product
# access, the audit log, the access review and /healthz against a release
# build on SQLite and on PostgreSQL, with a seed of 100,000 members, 10,000
# products and 1,000,000 audit rows.
#
#   bash bench/run.sh               # both backends
#   BACKENDS=sqlite bash bench/run.sh
#
# It first starts the Django peer (../shared/peers/django_members, the same
# members page in Django + django-organizations under gunicorn) and measures
# its three URL kinds with the same wrk settings, then prints for each
# backend Roster's throughput and p99 beside the peer's, with the ratios
# the targets are stated in (PEER=0 skips the peer).
#
# Needs wrk (apt-get install wrk) and, for PostgreSQL, a server at
# $BENCH_PG_ADMIN (default postgres://postgres@127.0.0.1:5432/postgres).
# Results go to bench/results/<backend>.txt; bench/README.md has the
# figures and how to read them.
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
PEER=${PEER:-1}
PEER_PORT=${PEER_PORT:-18090}
PEER_DIR=${PEER_DIR:-../shared/peers/django_members}
# A browser's header: the pages go out compressed, as they do to people.
ENCODING=${ENCODING:-"gzip, deflate, br, zstd"}

command -v wrk >/dev/null || { echo "wrk is missing: apt-get install wrk" >&2; exit 1; }
cargo build --release --quiet
BIN=target/release/roster
mkdir -p bench/results

# shellcheck source=bench/lib.sh
source bench/lib.sh  # the script runs from the repository root

declare -A peer_rps peer_p99
# The peer's three URL kinds: page 1, a page reached by its Next link (a
# page number there), a search by email fragment.
measure_peer() {
  local out=bench/results/peer.txt log
  log=$(mktemp)
  echo "# peer — $(date -u +%Y-%m-%dT%H:%MZ) — $(nproc) cores" | tee "$out"
  start_peer "$log"
  local peer="http://127.0.0.1:$PEER_PORT"
  curl -fs -o /dev/null -H "Cookie: $peer_cookie" "$peer/orgs/acme/members" || { echo "the peer's page failed" >&2; exit 1; }
  local kind url
  for kind in page1 next search; do
    case $kind in
      page1) url="$peer/orgs/acme/members" ;;
      next) url="$peer/orgs/acme/members?page=1000" ;;
      search) url="$peer/orgs/acme/members?q=user9999" ;;
    esac
    echo "## peer $kind: $url" | tee -a "$out"
    wrk_measure -H "Cookie: $peer_cookie" -H "Accept-Encoding: $ENCODING" "$url"
    read -r "peer_rps[$kind]" "peer_p99[$kind]" <<<"$wrk_last"
  done
  stop_peer
  rm -f "$log"
}

# Prints the targets' table for one backend from $rps/$p99 (Roster) and the
# peer's figures.
summary() {
  local backend=$1 out=$2 kind
  {
    echo "## summary ($backend; wrk -t$THREADS -c$CONNECTIONS -d$DURATION; Accept-Encoding: $ENCODING)"
    printf '%-34s %10s %9s %10s %9s %8s\n' case "Roster/s" "p99 ms" "peer/s" "peer p99" ratio
    for kind in page1 next search plain_page1 plain_next plain_search; do
      local ratio=- peer=${kind#plain_}
      [ -n "${peer_rps[$peer]:-}" ] && [ "${peer_rps[$peer]}" != 0 ] &&
        ratio=$(awk -v a="${rps[$kind]}" -v b="${peer_rps[$peer]}" 'BEGIN { printf "%.0fx", a / b }')
      printf '%-34s %10s %9s %10s %9s %8s\n' "members $kind" "${rps[$kind]}" "${p99[$kind]}" \
        "${peer_rps[$peer]:--}" "${peer_p99[$peer]:--}" "$ratio"
    done
    for kind in products access audit; do
      printf '%-34s %10s %9s %31s\n' "$kind page 1" "${rps[$kind]}" "${p99[$kind]}" \
        "$(awk -v a="${rps[$kind]}" -v b="${rps[page1]}" 'BEGIN { printf "%.2f of the members page", a / b }')"
    done
    printf '%-34s %10s %9s\n' "healthz" "${rps[healthz]}" "${p99[healthz]}"
  } | tee -a "$out"
}

run_backend() {
  declare -A rps p99
  local backend=$1 out="bench/results/$1.txt" work
  work=$(mktemp -d)
  local url
  if [ "$backend" = postgres ]; then
    psql "$PG_ADMIN" -qc "DROP DATABASE IF EXISTS roster_bench WITH (FORCE)"
    psql "$PG_ADMIN" -qc "CREATE DATABASE roster_bench"
    url="${PG_ADMIN%/*}/roster_bench"
  else
    url="sqlite://$work/roster.db?mode=rwc"
  fi
  # One signed-in person drives all the connections: their limit of
  # requests in flight (4 by default) would answer most of them 429.
  export DATABASE_URL=$url ROSTER_DATA_DIR=$work ROSTER_BIND=127.0.0.1:$PORT RUST_LOG=warn \
    ROSTER_REQUESTS_PER_PERSON=64
  {
    echo "# $backend — $(date -u +%Y-%m-%dT%H:%MZ) — $(nproc) cores — $MEMBERS members"
    echo "## seed"
    /usr/bin/time -f "seed wall %e s, peak RSS %M KiB" \
      "$BIN" seed-bench --members "$MEMBERS" --targets-file "$work/targets.txt" 2>&1
  } | tee "$out"
  local org
  org=$(grep -o 'Organization id: .*' "$out" | tail -n 1 | cut -d' ' -f3)
  local owner
  owner=$(grep -o 'Sign in as [^ ]*' "$out" | tail -n 1 | cut -d' ' -f4)

  "$BIN" serve >"$work/server.log" 2>&1 &
  local pid=$!
  trap 'kill $pid 2>/dev/null || true' RETURN
  for _ in $(seq 1 50); do curl -fs "$BASE/healthz" >/dev/null && break; sleep 0.2; done

  # Sign in and keep the session cookie and its CSRF token.
  local jar="$work/jar" token cookie
  signin "$owner"
  curl -fs -o /dev/null -H "Cookie: $cookie" "$BASE/orgs/$org/members" || { echo "sign-in failed" >&2; exit 1; }

  # bench KEY LABEL WRK-ARGS...: KEY names the figures kept for the
  # summary ("-" for none).
  bench() {
    local key=$1 label=$2; shift 2
    echo "## $label" | tee -a "$out"
    wrk_measure -H "Cookie: $cookie" -H "Accept-Encoding: $ENCODING" "$@"
    [ "$key" = - ] || read -r "rps[$key]" "p99[$key]" <<<"$wrk_last"
  }
  single() {
    local label=$1; shift
    echo "## $label, one request at a time" | tee -a "$out"
    wrk -t1 -c1 -d5s --latency -H "Cookie: $cookie" -H "Accept-Encoding: $ENCODING" "$@" 2>&1 |
      grep -E 'Requests/sec|Non-2xx|^ +50%|^ +99%' | tee -a "$out"
  }
  # Page 1900 as a person reaches it: by the Next link of page 1899, which
  # carries a cursor (page 100 by number, the deepest a number reaches,
  # then Next links). A typed page number uses an offset instead, and
  # stops at page 100.
  local deep
  deep=$(members_next_link 1899)
  single "members page 1" "$BASE/orgs/$org/members"
  single "search by email fragment" "$BASE/orgs/$org/members?q=user4242"
  single "members deep page by its Next link" "$BASE/orgs/$org/members$deep"
  single "members page 100 by number (the deepest offset)" "$BASE/orgs/$org/members?page=100"
  bench healthz "healthz (baseline)" "$BASE/healthz"
  bench page1 "members page 1" "$BASE/orgs/$org/members"
  bench next "members deep page by its Next link (page 1900 of 2001)" "$BASE/orgs/$org/members$deep"
  bench - "members page 100 by number (the deepest offset)" "$BASE/orgs/$org/members?page=100"
  bench - "members sorted by last active, page 1" "$BASE/orgs/$org/members?sort=last_active"
  bench search "search by email fragment" "$BASE/orgs/$org/members?q=user4242"
  bench - "search by name fragment" "$BASE/orgs/$org/members?q=hopper"
  # The three kinds again as wrk asks by default, with no Accept-Encoding
  # (as the figures before compression were taken): compression's cost.
  local kind url
  for kind in page1 next search; do
    case $kind in
      page1) url="$BASE/orgs/$org/members" ;;
      next) url="$BASE/orgs/$org/members$deep" ;;
      search) url="$BASE/orgs/$org/members?q=user4242" ;;
    esac
    echo "## members $kind, not compressed (no Accept-Encoding)" | tee -a "$out"
    wrk_measure -H "Cookie: $cookie" "$url"
    read -r "rps[plain_$kind]" "p99[plain_$kind]" <<<"$wrk_last"
  done
  # Products: 10,000 over 10 workspaces; one member restricted to 500.
  local restricted restricted_email
  restricted=$(grep -o 'Restricted member id: .*' "$out" | tail -n 1 | cut -d' ' -f4)
  restricted_email=$(grep -o 'Restricted member email: .*' "$out" | tail -n 1 | cut -d' ' -f4)
  single "products page 1" "$BASE/orgs/$org/products"
  single "product search by name fragment" "$BASE/orgs/$org/products?q=04242"
  single "product access page of one member" "$BASE/orgs/$org/product-access/$restricted"
  bench products "products page 1 (10,000 products)" "$BASE/orgs/$org/products"
  bench - "products page 100 of 200 (the deepest by number)" "$BASE/orgs/$org/products?page=100"
  bench - "product search by name fragment" "$BASE/orgs/$org/products?q=04242"
  bench access "product access page of one restricted member" "$BASE/orgs/$org/product-access/$restricted"
  export ROSTER_ORG=$org ROSTER_CSRF=$token ROSTER_TARGETS="$work/targets.txt"
  bench - "role change POST" -s bench/role_change.lua "$BASE"
  # The audit log (1,000,000 rows), a member's timeline, the access review.
  local domain=${owner#*@}
  single "audit log page 1" "$BASE/orgs/$org/audit"
  single "audit log filtered by member" "$BASE/orgs/$org/audit?member=user7@$domain"
  single "member page with timeline" "$BASE/orgs/$org/members/$restricted"
  single "access review page 1" "$BASE/orgs/$org/access-review"
  bench audit "audit log page 1 (1,000,000 rows)" "$BASE/orgs/$org/audit"
  bench - "audit log filtered by action" "$BASE/orgs/$org/audit?action=workspace.role_granted"
  bench - "audit log filtered by member" "$BASE/orgs/$org/audit?member=user7@$domain"
  bench - "audit log filtered by dates" "$BASE/orgs/$org/audit?from=2025-01-01&to=2025-01-31"
  bench - "member page with timeline" "$BASE/orgs/$org/members/$restricted"
  bench - "access review page 1" "$BASE/orgs/$org/access-review"
  bench - "access review, inactive only" "$BASE/orgs/$org/access-review?days=90&inactive=1"
  for export in audit access-review; do
    echo "## $export CSV export, whole" | tee -a "$out"
    curl -s -o "$work/export.csv" -w "%{http_code} in %{time_total} s, %{size_download} bytes\n" \
      -H "Cookie: $cookie" "$BASE/orgs/$org/$export.csv" | tee -a "$out"
    echo "lines: $(wc -l <"$work/export.csv")" | tee -a "$out"
  done
  signin "$restricted_email"
  single "products page 1 as the restricted member" "$BASE/orgs/$org/products"
  bench - "products page 1 as the restricted member (500 granted)" "$BASE/orgs/$org/products"
  echo "## server peak RSS" | tee -a "$out"
  grep VmHWM "/proc/$pid/status" | tee -a "$out"
  summary "$backend" "$out"
  kill "$pid"
  wait "$pid" 2>/dev/null || true
  if [ "$backend" = postgres ]; then
    psql "$PG_ADMIN" -qc "DROP DATABASE IF EXISTS roster_bench WITH (FORCE)"
  fi
  rm -rf "$work"
}

[ "$PEER" = 1 ] && measure_peer
for backend in $BACKENDS; do
  run_backend "$backend"
done
