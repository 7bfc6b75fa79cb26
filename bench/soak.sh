#!/usr/bin/env bash
# Soak test: one long wrk run of mixed reads and role changes (bench/soak.lua)
# at 64 connections against a seeded organization, on SQLite and on
# PostgreSQL. Passes when there is no error (any answer other than the
# expected 200 / 303, socket errors, timeouts) and the server's resident
# memory after the first minute never exceeds the first minute's peak by
# more than 10 %.
#
#   bash bench/soak.sh                              # 300 s, 100,000 members, both backends
#   DURATION=30s MEMBERS=20000 BACKENDS=sqlite bash bench/soak.sh
#
# It does not build: it copies an existing release binary ($ROSTER_BIN,
# default target/release/roster) to a temporary directory and runs the copy,
# so a rebuild during the run changes nothing. Needs wrk (apt-get install
# wrk) and, for PostgreSQL, a server at $BENCH_PG_ADMIN (default
# postgres://postgres@127.0.0.1:5432/postgres).
#
# Settings (environment): MEMBERS (100000), AUDIT_ROWS (100000; seed-bench's
# default is 1,000,000, which only makes seeding longer), DURATION (300s),
# CONNECTIONS (64), THREADS (2), TIMEOUT (wrk's request timeout, 10s),
# WARMUP (seconds counted as the first minute: 60, or a fifth of a run
# shorter than 120 s), MAX_GROWTH (10, per cent), PORT (18090), BACKENDS
# ("sqlite postgres").
#
# Results: bench/results/soak-<backend>.txt (summary and wrk output) and
# bench/results/soak-<backend>-rss.tsv (one sample a second: milliseconds
# since the load started, VmRSS in KiB, threads, SQLite WAL bytes).
# Exits non-zero when a backend had errors or grew beyond MAX_GROWTH.
set -euo pipefail
cd "$(dirname "$0")/.."

MEMBERS=${MEMBERS:-100000}
AUDIT_ROWS=${AUDIT_ROWS:-100000}
DURATION=${DURATION:-300s}
CONNECTIONS=${CONNECTIONS:-64}
THREADS=${THREADS:-2}
TIMEOUT=${TIMEOUT:-10s}
MAX_GROWTH=${MAX_GROWTH:-10}
PORT=${PORT:-18090}
BACKENDS=${BACKENDS:-"sqlite postgres"}
PG_ADMIN=${BENCH_PG_ADMIN:-postgres://postgres@127.0.0.1:5432/postgres}
PG_DB=roster_soak
export PGOPTIONS="-c client_min_messages=warning"  # no NOTICE from DROP … IF EXISTS
ROSTER_BIN=${ROSTER_BIN:-target/release/roster}
BASE="http://127.0.0.1:$PORT"

# DURATION in seconds (wrk accepts 300, 300s, 5m, 1h).
case $DURATION in
  *h) duration_s=$(( ${DURATION%h} * 3600 )) ;;
  *m) duration_s=$(( ${DURATION%m} * 60 )) ;;
  *s) duration_s=${DURATION%s} ;;
  *) duration_s=$DURATION ;;
esac
if [ -z "${WARMUP:-}" ]; then
  if [ "$duration_s" -ge 120 ]; then WARMUP=60; else WARMUP=$(( duration_s / 5 )); fi
fi

command -v wrk >/dev/null || { echo "wrk is missing: apt-get install wrk" >&2; exit 1; }
[ -x "$ROSTER_BIN" ] || { echo "$ROSTER_BIN is missing: cargo build --release first" >&2; exit 1; }
mkdir -p bench/results

# Cleaned up on any exit: the server, the sampler, the work directory and
# the PostgreSQL database of the backend in progress.
server_pid="" sampler_pid="" work="" pg_created=""
cleanup() {
  [ -n "$sampler_pid" ] && kill "$sampler_pid" 2>/dev/null || true
  if [ -n "$server_pid" ]; then
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  [ -n "$pg_created" ] && psql "$PG_ADMIN" -qc "DROP DATABASE IF EXISTS $PG_DB WITH (FORCE)" >/dev/null 2>&1 || true
  [ -n "$work" ] && rm -rf "$work" || true
  server_pid="" sampler_pid="" work="" pg_created=""
}
trap cleanup EXIT

# Appends "ms rss_kib threads wal_bytes" to $3 every second while $1 lives;
# ms counts from $2 (epoch milliseconds).
sample_rss() {
  local pid=$1 start=$2 file=$3 wal=$4 now rss threads walsize
  while [ -r "/proc/$pid/status" ]; do
    now=$(date +%s%3N)
    read -r rss threads < <(awk '/^VmRSS:/ { r = $2 } /^Threads:/ { t = $2 } END { print r, t }' "/proc/$pid/status" 2>/dev/null) || break
    [ -n "$rss" ] || break
    walsize=-
    [ -n "$wal" ] && walsize=$(stat -c %s "$wal" 2>/dev/null || echo 0)
    printf '%d\t%s\t%s\t%s\n' $(( now - start )) "$rss" "$threads" "$walsize" >>"$file"
    sleep 1
  done
}

failed=0

# shellcheck source=bench/lib.sh
source bench/lib.sh  # the script runs from the repository root

run_backend() {
  local backend=$1 out="bench/results/soak-$1.txt" rss="bench/results/soak-$1-rss.tsv"
  work=$(mktemp -d)
  # The binary may be rebuilt while this runs: use a copy.
  # (set -e does not apply inside this function, called with ||: failures
  # return explicitly.)
  cp "$ROSTER_BIN" "$work/roster" && "$work/roster" --version >/dev/null ||
    { echo "cannot run a copy of $ROSTER_BIN" >&2; return 1; }
  local bin="$work/roster" url wal=""
  if [ "$backend" = postgres ]; then
    psql "$PG_ADMIN" -qc "DROP DATABASE IF EXISTS $PG_DB WITH (FORCE)" &&
      psql "$PG_ADMIN" -qc "CREATE DATABASE $PG_DB" || { echo "cannot create $PG_DB" >&2; return 1; }
    pg_created=1
    url="${PG_ADMIN%/*}/$PG_DB"
  else
    url="sqlite://$work/roster.db?mode=rwc"
    wal="$work/roster.db-wal"
  fi
  # One signed-in person drives all the connections: their limit of
  # requests in flight (4 by default) would answer most of them 429.
  export DATABASE_URL=$url ROSTER_DATA_DIR=$work ROSTER_BIND=127.0.0.1:$PORT RUST_LOG=warn \
    ROSTER_REQUESTS_PER_PERSON=64
  {
    echo "# soak, $backend — $(date -u +%Y-%m-%dT%H:%MZ) — $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "# $MEMBERS members, $AUDIT_ROWS audit rows; $DURATION, $CONNECTIONS connections, $THREADS threads; first minute = ${WARMUP} s"
    echo "## seed"
    /usr/bin/time -f "seed wall %e s, peak RSS %M KiB" \
      "$bin" seed-bench --members "$MEMBERS" --audit-rows "$AUDIT_ROWS" --targets-file "$work/targets.txt" 2>&1
  } | tee "$out"
  local org owner
  org=$(grep -o 'Organization id: .*' "$out" | tail -n 1 | cut -d' ' -f3)
  owner=$(grep -o 'Sign in as [^ ]*' "$out" | tail -n 1 | cut -d' ' -f4)
  [ -n "$org" ] && [ -n "$owner" ] && [ -s "$work/targets.txt" ] || { echo "seeding failed" >&2; return 1; }

  "$bin" serve >"$work/server.log" 2>&1 &
  server_pid=$!
  for _ in $(seq 1 100); do curl -fs "$BASE/healthz" >/dev/null && break; sleep 0.2; done
  curl -fs "$BASE/healthz" >/dev/null || { echo "the server did not start" >&2; cat "$work/server.log" >&2; return 1; }

  # Sign in and keep the session cookie and its CSRF token (as bench/run.sh).
  local jar="$work/jar" token cookie
  rm -f "$jar"
  token=$(curl -s -c "$jar" -b "$jar" "$BASE/signin" | grep -o 'name="csrf_token" value="[^"]*"' | head -n 1 | sed 's/.*value="//; s/"$//')
  curl -s -o /dev/null -c "$jar" -b "$jar" --data-urlencode "email=$owner" \
    --data-urlencode "password=bench-password-1" --data-urlencode "csrf_token=$token" "$BASE/signin"
  token=$(curl -s -c "$jar" -b "$jar" "$BASE/account" | grep -o 'name="csrf_token" value="[^"]*"' | head -n 1 | sed 's/.*value="//; s/"$//')
  cookie="roster_session=$(awk '$6 == "roster_session" { print $7 }' "$jar" | tail -n 1)"

  # The deep page as a person reaches it: the Next link of the page before
  # (a keyset cursor), at 95 % of the list.
  local deep_page=$(( MEMBERS / 50 * 95 / 100 )) deep
  [ "$deep_page" -ge 2 ] || deep_page=2
  deep=$(members_next_link $(( deep_page - 1 )))
  [ -n "$deep" ] || { echo "no Next link on members page $(( deep_page - 1 )); sign-in failed?" >&2; return 1; }

  # Every request kind once, before the load, so a wrong URL fails here.
  local first_target path code
  first_target=$(head -n 1 "$work/targets.txt")
  for path in "/orgs/$org/members" "/orgs/$org/members?q=user4242" "/orgs/$org/members$deep" \
    "/orgs/$org/members/$first_target" "/orgs/$org/products" "/orgs/$org/audit" /healthz; do
    code=$(curl -s -o /dev/null -w '%{http_code}' -H "Cookie: $cookie" "$BASE$path")
    [ "$code" = 200 ] || { echo "GET $path answered $code" >&2; return 1; }
  done
  code=$(curl -s -o /dev/null -w '%{http_code} %{redirect_url}' -H "Cookie: $cookie" -H "X-CSRF-Token: $token" \
    --data "role=viewer" "$BASE/orgs/$org/members/$first_target/role")
  [ "$code" = "303 $BASE/orgs/$org/members" ] || { echo "role change POST answered $code" >&2; return 1; }

  local idle
  idle=$(awk '/^VmRSS:/ { print $2 }' "/proc/$server_pid/status")
  echo "## load (RSS before the load: $idle KiB)" | tee -a "$out"
  printf 'ms\trss_kib\tthreads\twal_bytes\n' >"$rss"
  export ROSTER_ORG=$org ROSTER_CSRF=$token ROSTER_TARGETS="$work/targets.txt" ROSTER_MEMBERS=$MEMBERS \
    ROSTER_DEEP=$deep ROSTER_THREADS=$THREADS ROSTER_CONNECTIONS=$CONNECTIONS
  local start wrk_rc=0
  start=$(date +%s%3N)
  sample_rss "$server_pid" "$start" "$rss" "$wal" &
  sampler_pid=$!
  wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --timeout "$TIMEOUT" --latency \
    -H "Cookie: $cookie" -s bench/soak.lua "$BASE" >"$work/wrk.txt" 2>&1 || wrk_rc=$?
  kill "$sampler_pid" 2>/dev/null || true
  wait "$sampler_pid" 2>/dev/null || true
  sampler_pid=""
  tee -a "$out" <"$work/wrk.txt"

  local hwm final
  hwm=$(awk '/^VmHWM:/ { print $2 }' "/proc/$server_pid/status")
  final=$(awk '/^VmRSS:/ { print $2 }' "/proc/$server_pid/status")
  # The reading after the load is the last sample.
  printf '%d\t%s\t-\t-\n' $(( $(date +%s%3N) - start )) "$final" >>"$rss"
  local log_errors
  log_errors=$(grep -cE ' (ERROR|WARN) ' "$work/server.log" || true)
  {
    echo "## server log: $log_errors ERROR/WARN lines"
    grep -E ' (ERROR|WARN) ' "$work/server.log" | head -n 5 | cut -c1-400
  } | tee -a "$out"

  # The verdict.
  local soak errors
  soak=$(grep '^SOAK ' "$work/wrk.txt" || true)
  errors=$(sed -n 's/.* errors=\([0-9]*\).*/\1/p' <<<"$soak")
  [ -n "$errors" ] || errors=unknown
  awk -F'\t' -v warm=$(( WARMUP * 1000 )) -v max="$MAX_GROWTH" -v hwm="$hwm" -v final="$final" \
    -v idle="$idle" -v soak="$soak" -v errors="$errors" -v wrk_rc="$wrk_rc" -v logs="$log_errors" '
    NR == 1 { next }
    $1 < warm { if ($2 > first) first = $2; nfirst++ }
    $1 >= warm { if ($2 > later) later = $2; nlater++ }
    { if ($4 != "-" && $4 > wal) wal = $4 }
    END {
      growth = (first > 0 && nlater > 0) ? (later - first) * 100 / first : 0
      print "## summary"
      print soak
      printf "RSS: before load %.1f MiB, first-minute peak %.1f MiB (%d samples), later peak %.1f MiB (%d samples), growth %+.1f %% (limit %s %%), final %.1f MiB, VmHWM %.1f MiB\n", idle / 1024, first / 1024, nfirst, later / 1024, nlater, growth, max, final / 1024, hwm / 1024
      if (wal != "") printf "SQLite WAL largest: %.1f MiB\n", wal / 1048576
      ok = (errors == "0" && wrk_rc == 0 && nlater > 0 && growth <= max)
      printf "verdict: %s (errors %s, growth %+.1f %%, wrk exit %s, server log ERROR/WARN lines %s)\n", ok ? "PASS" : "FAIL", errors, growth, wrk_rc, logs
      exit ok ? 0 : 1
    }' "$rss" | tee -a "$out" || failed=1
  cleanup
}

for backend in $BACKENDS; do
  run_backend "$backend" || { echo "soak on $backend did not run to the end" >&2; failed=1; cleanup; }
done
exit "$failed"
