#!/usr/bin/env bash
# Prints the query plans of the members and products pages' queries on a
# seeded database, to check that every page load walks an index.
#
#   bash bench/plans.sh sqlite PATH/roster.db ORG_ID [RESTRICTED_MEMBERSHIP_ID]
#   bash bench/plans.sh postgres postgres://postgres@127.0.0.1/roster_bench ORG_ID [RESTRICTED_MEMBERSHIP_ID]
set -euo pipefail
backend=$1 target=$2 org=$3 member=${4:-none}

read -r -d '' queries <<SQL || true
-- a deep page by name: page ids from the covering index, those rows with their people, the total from the trigger-kept counts
SELECT m.id, m.org_id, u.name, u.email, (SELECT SUM(members) FROM member_counts c WHERE c.org_id = '$org' AND c.role <> 'none') AS total FROM memberships m JOIN users u ON u.id = m.user_id WHERE m.id IN (SELECT id FROM memberships WHERE org_id = '$org' AND role <> 'none' ORDER BY sort_name, id LIMIT 50 OFFSET 94950) ORDER BY m.sort_name, m.id;
-- a page reached by Next (keyset): the seek starts at the cursor
SELECT id FROM memberships WHERE org_id = '$org' AND (sort_name, id) > ('m', '') AND role <> 'none' ORDER BY sort_name, id LIMIT 50;
-- the first page by last activity
SELECT m.id, m.org_id, u.name, u.email FROM memberships m JOIN users u ON u.id = m.user_id WHERE m.id IN (SELECT id FROM memberships WHERE org_id = '$org' AND role <> 'none' ORDER BY last_active_at DESC, id DESC LIMIT 50) ORDER BY m.last_active_at DESC, m.id DESC;
-- the session, the person and their organizations (the switcher)
SELECT u.id, m.role, o.name FROM user_sessions s LEFT JOIN users u ON s.user_id = u.id LEFT JOIN memberships m ON u.id = m.user_id LEFT JOIN organizations o ON m.org_id = o.id WHERE s.id = 's' ORDER BY o.name, o.id;
-- products page 150 by name, with workspace and owner
SELECT p.id, w.title, p.name, u.name FROM products p JOIN workspaces w ON p.workspace_id = w.id LEFT JOIN users u ON p.owner_id = u.id WHERE p.id IN (SELECT id FROM products WHERE org_id = '$org' ORDER BY name_normalized, id LIMIT 50 OFFSET 7450) ORDER BY p.name_normalized, p.id;
-- products total
SELECT COUNT(*) FROM products WHERE org_id = '$org';
-- products search by name fragment
SELECT COUNT(*) FROM products WHERE org_id = '$org' AND name_normalized LIKE '%04242%';
-- products of a restricted member: only those granted
SELECT p.id, w.title, p.name FROM products p JOIN workspaces w ON p.workspace_id = w.id WHERE p.org_id = '$org' AND p.id IN (SELECT product_id FROM product_grants WHERE membership_id = '$member') ORDER BY p.name_normalized, p.id LIMIT 50;
-- a member's grants on one page of products
SELECT * FROM product_grants WHERE membership_id = '$member' AND product_id IN ('a', 'b', 'c');
-- audit log: the newest page, and an older one by its cursor
SELECT * FROM audit_events WHERE org_id = '$org' ORDER BY created_at DESC, id DESC LIMIT 51;
SELECT * FROM audit_events WHERE org_id = '$org' AND (created_at, id) < (1700000000, 'z') ORDER BY created_at DESC, id DESC LIMIT 1000;
-- audit log by action
SELECT * FROM audit_events WHERE org_id = '$org' AND action = 'workspace.role_granted' ORDER BY created_at DESC, id DESC LIMIT 51;
-- audit log about a member: by account id, and by each address (reads merged)
SELECT * FROM audit_events WHERE org_id = '$org' AND target_id = 'u' ORDER BY created_at DESC, id DESC LIMIT 51;
SELECT * FROM audit_events WHERE org_id = '$org' AND target_label = 'a@x' ORDER BY created_at DESC, id DESC LIMIT 51;
-- a member's own changes (timeline)
SELECT * FROM audit_events WHERE org_id = '$org' AND actor_user_id = 'u' ORDER BY created_at DESC, id DESC LIMIT 20;
-- access review: least recently active first, and the inactive only
SELECT m.id, u.name FROM memberships m JOIN users u ON u.id = m.user_id WHERE m.org_id = '$org' AND m.role <> 'none' ORDER BY m.last_active_at, m.id LIMIT 50;
SELECT COUNT(*) FROM memberships WHERE org_id = '$org' AND role <> 'none' AND last_active_at < 1700000000;
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
