# Shell functions shared by bench/run.sh and bench/soak.sh (sourced; they
# read $BASE, $org and $cookie from the caller).

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
