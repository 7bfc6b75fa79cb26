# Shell functions shared by bench/run.sh, bench/api.sh and bench/soak.sh
# (sourced; they read $BASE, $org, $jar and $cookie from the caller).

# The href of the Next link on members page $1 of organization $org, reached
# as a person reaches it: by number up to page 100 (the deepest a number
# reaches), then by following Next links, which carry a keyset cursor.
members_next_link() {
  local target=$1 n path link
  n=$(( target < 100 ? target : 100 ))
  path="?page=$n"
  while :; do
    link=$(curl -fs -H "Cookie: $cookie" "$BASE/orgs/$org/members$path" |
      grep -o 'href="[^"]*" rel="next"' | sed 's/^href="//; s/" rel="next"$//; s/&#38;/\&/g')
    [ -n "$link" ] || return 1
    [ "$n" -ge "$target" ] && { printf '%s' "$link"; return 0; }
    path=$link
    n=$(( n + 1 ))
  done
}

# Signs in as $1 (password bench-password-1) and sets the caller's $token
# (the session's CSRF token) and $cookie (its session cookie), kept in $jar.
signin() {
  rm -f "$jar"
  token=$(curl -s -c "$jar" -b "$jar" "$BASE/signin" | grep -o 'name="csrf_token" value="[^"]*"' | head -n 1 | sed 's/.*value="//; s/"$//')
  curl -s -o /dev/null -c "$jar" -b "$jar" --data-urlencode "email=$1" \
    --data-urlencode "password=bench-password-1" --data-urlencode "csrf_token=$token" "$BASE/signin"
  token=$(curl -s -c "$jar" -b "$jar" "$BASE/account" | grep -o 'name="csrf_token" value="[^"]*"' | head -n 1 | sed 's/.*value="//; s/"$//')
  cookie="roster_session=$(awk '$6 == "roster_session" { print $7 }' "$jar" | tail -n 1)"
}

# Runs wrk with the caller's $THREADS, $CONNECTIONS and $DURATION plus the
# arguments given, appends its summary lines to $out, and prints
# "<requests/s> <p99 in ms>" on the last line of its own output to $wrk_last.
wrk_measure() {
  local raw
  raw=$(wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency "$@" 2>&1)
  printf '%s\n' "$raw" |
    grep -E 'Requests/sec|Non-2xx|Non-303|Socket errors|^ +50%|^ +99%|requests in' | tee -a "$out"
  wrk_last=$(printf '%s\n' "$raw" | awk '
    /Requests\/sec/ { rps = $2 }
    /^ +99%/ { v = $2; unit = v; sub(/[0-9.]+/, "", unit); sub(/[a-z]+$/, "", v);
               ms = (unit == "us") ? v / 1000 : (unit == "s") ? v * 1000 : (unit == "m") ? v * 60000 : v }
    END { printf "%.0f %.1f", rps, ms }')
}

# Starts the Django peer (../shared/peers/django_members) on $PEER_PORT in
# the background and sets $peer_pid and $peer_cookie. Its first start makes
# a virtualenv and seeds 100,000 members (a few minutes); later ones reuse
# them.
start_peer() {
  local log=$1
  setsid bash "$PEER_DIR/serve.sh" "$PEER_PORT" >"$log" 2>&1 &
  peer_pid=$!
  for _ in $(seq 1 3000); do
    grep -q '^COOKIE ' "$log" 2>/dev/null && break
    kill -0 "$peer_pid" 2>/dev/null || { cat "$log" >&2; echo "the peer did not start" >&2; return 1; }
    sleep 0.2
  done
  peer_cookie=$(grep '^COOKIE ' "$log" | head -n 1 | cut -d' ' -f2-)
  [ -n "$peer_cookie" ] || { echo "the peer printed no cookie" >&2; return 1; }
}

stop_peer() {
  # serve.sh runs in its own session: end gunicorn and its workers too.
  kill -- -"$peer_pid" 2>/dev/null || true
  wait "$peer_pid" 2>/dev/null || true
}
