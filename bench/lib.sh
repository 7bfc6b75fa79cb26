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
