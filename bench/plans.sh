#!/usr/bin/env bash
# Prints the query plans of the members page's queries on a seeded
# database, to check that every page load walks an index.
#
#   bash bench/plans.sh sqlite PATH/roster.db ORG_ID
#   bash bench/plans.sh postgres postgres://postgres@127.0.0.1/roster_bench ORG_ID
set -euo pipefail
backend=$1 target=$2 org=$3

read -r -d '' queries <<SQL || true
-- total of an unsearched view (counts kept by triggers)
SELECT role, members FROM member_counts WHERE org_id = '$org';
-- ids of a deep page, by name
SELECT id FROM memberships WHERE org_id = '$org' AND role <> 'none' ORDER BY sort_name, id LIMIT 50 OFFSET 94950;
-- ids of the first page by last activity
SELECT id FROM memberships WHERE org_id = '$org' AND role <> 'none' ORDER BY last_active_at DESC, id DESC LIMIT 50;
-- the page's rows with their people
SELECT m.id, m.org_id, u.name, u.email FROM memberships m JOIN users u ON u.id = m.user_id WHERE m.id IN ('a', 'b');
-- a person's organizations (the switcher)
SELECT o.id, o.name, m.role FROM memberships m LEFT JOIN organizations o ON m.org_id = o.id WHERE m.user_id = 'u' ORDER BY o.name;
SQL

if [ "$backend" = sqlite ]; then
  search="SELECT COUNT(*) FROM memberships WHERE memberships.rowid IN (SELECT rowid FROM member_search WHERE text LIKE '%user4242%') AND +memberships.org_id = '$org' AND role <> 'none';"
  while IFS= read -r line; do
    case "$line" in
      --*) echo; echo "$line" ;;
      *) sqlite3 "$target" "EXPLAIN QUERY PLAN $line" ;;
    esac
  done <<<"$queries"
  echo; echo "-- search by fragment"; sqlite3 "$target" "EXPLAIN QUERY PLAN $search"
else
  search="SELECT COUNT(*) FROM memberships WHERE org_id = '$org' AND role <> 'none' AND (sort_name || ' ' || email_normalized) LIKE '%user4242%';"
  while IFS= read -r line; do
    case "$line" in
      --*) echo; echo "$line" ;;
      *) psql "$target" -Atc "EXPLAIN $line" ;;
    esac
  done <<<"$queries"
  echo; echo "-- search by fragment"; psql "$target" -Atc "EXPLAIN $search"
fi
