#!/usr/bin/env bash
# The API against its own OpenAPI document, checked by an outside tool:
# schemathesis (PyPI) generates requests for every operation from the
# served document and checks the answers: no server errors, every status
# documented, every body and content type as the document says.
#
# Usage: .ci/conformance.sh PATH-TO-ROSTER-BINARY
# One worker: schemathesis parses lambdas' sources with `ast` while it
# builds strategies, and CPython 3.11 can fail that from two threads at
# once ("AST constructor recursion depth mismatch", CPython gh-106905).
#
# Runs Roster on a fresh SQLite database seeded with the demo organization,
# with an organization key the Owner made (role Admin, the highest a key
# may hold), on 127.0.0.1:${ROSTER_CONFORMANCE_PORT:-18181}.
set -euo pipefail
cd "$(dirname "$0")/.."

bin=${1:?usage: .ci/conformance.sh PATH-TO-ROSTER-BINARY}
port=${ROSTER_CONFORMANCE_PORT:-18181}
examples=${ROSTER_CONFORMANCE_EXAMPLES:-100}
venv=target/schemathesis-venv
version=4.32.5

if ! "$venv/bin/schemathesis" --version 2>/dev/null | grep -q "$version"; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$version"
fi

data=$(mktemp -d)
server=""
cleanup() {
  if [ -n "$server" ]; then kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
  rm -rf "$data"
}
trap cleanup EXIT

export ROSTER_DATA_DIR="$data" ROSTER_BIND="127.0.0.1:$port" \
  ROSTER_BASE_URL="http://127.0.0.1:$port" \
  ROSTER_API_REQUESTS_PER_MINUTE=1000000 RUST_LOG=warn
org=$("$bin" seed-demo | sed -n 's/^Organization id: //p')
key=$("$bin" create-api-key --org "$org" --name conformance --role admin --days 1)

"$bin" >"$data/server.log" 2>&1 &
server=$!
for _ in $(seq 1 50); do
  curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break
  sleep 0.2
done

"$venv/bin/schemathesis" run "http://127.0.0.1:$port/api/v1/openapi.json" \
  --header "Authorization: Bearer $key" \
  --checks not_a_server_error,status_code_conformance,response_schema_conformance,content_type_conformance \
  --max-examples "$examples" \
  --workers 1 \
  --seed 1 \
  --warnings off
