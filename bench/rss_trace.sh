#!/usr/bin/env bash
# Runs bench/run.sh (SQLite, no peer, unless told otherwise) while sampling
# the server's resident memory (VmRSS) every 0.2 s, then prints each case's
# peak: where the whole run's peak RSS comes from.
#
#   bash bench/rss_trace.sh                 # DURATION=5s, about 7 minutes
#   DURATION=10s bash bench/rss_trace.sh
#
# Raw samples and the timed log go to bench/results/rss_trace.*.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p bench/results
samples=bench/results/rss_trace.samples
log=bench/results/rss_trace.log
: >"$samples"
(
  while :; do
    pid=$(pgrep -f "target/release/roster serve" | head -n 1 || true)
    if [ -n "$pid" ]; then
      rss=$(awk '/^VmRSS/ { print $2 }' "/proc/$pid/status" 2>/dev/null || true)
      [ -n "$rss" ] && echo "$(date +%s.%N) $rss" >>"$samples"
    fi
    sleep 0.2
  done
) &
sampler=$!
trap 'kill $sampler 2>/dev/null || true' EXIT
PEER=${PEER:-0} BACKENDS=${BACKENDS:-sqlite} DURATION=${DURATION:-5s} bash bench/run.sh 2>&1 |
  while IFS= read -r line; do echo "$(date +%s.%N) $line"; done | tee "$log" | cut -d' ' -f2-
kill "$sampler" 2>/dev/null || true
echo "## peak RSS by case (MB of 1,000 kB)"
python3 - "$log" "$samples" <<'PY'
import bisect, sys
cases = []
for line in open(sys.argv[1]):
    stamp, _, text = line.partition(" ")
    if text.startswith("## "):
        cases.append((float(stamp), text.strip()[3:]))
starts = [c[0] for c in cases]
peaks = {}
for line in open(sys.argv[2]):
    stamp, rss = line.split()
    i = bisect.bisect_right(starts, float(stamp)) - 1
    if i >= 0:
        peaks[i] = max(peaks.get(i, 0), int(rss))
for i in sorted(peaks):
    print(f"{peaks[i] / 1000:7.1f}  {cases[i][1]}")
PY
