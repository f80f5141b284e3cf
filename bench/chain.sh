#!/usr/bin/env bash
# The handler chain's overhead: requests per second through three chains of one iflowd, measured
# in one run, one after the other, with the same payload (fixtures/change-in-manager.xml):
#
#   log       ["log"]
#   filtered  ["log", "route", "archive"]: a forward whose `when` never matches (only the filter
#             runs), then a jsonl archive written and flushed per message
#   forward   ["log", "to-sink"]: a forward to a local sink answering 204
#
# iflowd runs on CPU 0, wrk and the sink on CPU 1 (taskset). The chains take turns for ROUNDS
# rounds and the medians are compared. The configuration, iflowd's log, the archive and wrk's
# reports are kept in bench/out/chain/. Figures are only comparable within one run; quote them as
# ratios. Needs taskset, and wrk (installed when missing, see bench/lib.sh).
#
#   bench/chain.sh                       # 3 rounds of 10 s per chain, 32 connections
#   DURATION=30s CONNECTIONS=64 ROUNDS=5 bench/chain.sh
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-32}
ROUNDS=${ROUNDS:-3}
PORT=${PORT:-18480}
SINK_PORT=${SINK_PORT:-18481}

say() { echo "bench/chain.sh: $*" >&2; }
die() { echo "bench/chain.sh: $*" >&2; exit 1; }
source bench/lib.sh
need_tools wrk taskset curl
need_cores 0 1

cargo build --release --quiet --bin iflowd --example sink
target_dir=$(target_dir)
BIN=$target_dir/release/iflowd
SINK=$target_dir/release/examples/sink

work=bench/out/chain
rm -rf "$work"
mkdir -p "$work"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT

cat >"$work/iflowd.toml" <<TOML
listen = "127.0.0.1:$PORT"

# The message log off: every request carries the fixture's one externalEventId, which the log
# would answer as a duplicate (or refuse while a copy runs); bench/store.sh measures the log.
[store]
enabled = false

[log]
level = "info"

[[users]]
name = "bench"
password = "bench"

[[endpoints]]
name = "Log"
address = "/bench/log"
handlers = ["log"]

[[endpoints]]
name = "Filtered"
address = "/bench/filtered"
handlers = ["log", "route", "archive"]

[[endpoints]]
name = "Forward"
address = "/bench/forward"
handlers = ["log", "to-sink"]

[handlers.route]
type = "forward"
url = "http://127.0.0.1:$SINK_PORT/terminations"
when = { kind = "termination" }

[handlers.archive]
type = "jsonl"
path = "$work/events.jsonl"

[handlers.to-sink]
type = "forward"
url = "http://127.0.0.1:$SINK_PORT/managers"
retries = 0
TOML

taskset -c 1 "$SINK" "127.0.0.1:$SINK_PORT" &
pids+=($!)
taskset -c 0 "$BIN" serve --config "$work/iflowd.toml" >/dev/null 2>"$work/iflowd.log" &
pids+=($!)
wait_health "http://127.0.0.1:$PORT/health" "${pids[-1]}" "$work/iflowd.log"

export BENCH_BODY="$PWD/fixtures/change-in-manager.xml"
export BENCH_AUTH="Basic $(printf bench:bench | base64)"
check=$(curl -s -o /dev/null -w '%{http_code}' -u bench:bench -H 'Content-Type: text/xml' \
  --data-binary @"$BENCH_BODY" "http://127.0.0.1:$PORT/cxf/bench/forward")
[ "$check" = 200 ] || { echo "the forward chain answers $check" >&2; cat "$work/iflowd.log" >&2; exit 1; }

echo "iflowd on CPU 0; wrk (1 thread, $CONNECTIONS connections, $DURATION per chain) and the sink on CPU 1"
echo "$ROUNDS rounds, the chains interleaved so that background noise hits all of them"
printf '%-6s %-10s %12s %10s %10s\n' round chain requests/s p50 p99
declare -A results
for round in $(seq "$ROUNDS"); do
  for chain in log filtered forward; do
    url="http://127.0.0.1:$PORT/cxf/bench/$chain"
    taskset -c 1 wrk -t1 -c"$CONNECTIONS" -d2s -s bench/post.lua "$url" >/dev/null   # warm-up
    report=$work/wrk-$chain.txt
    taskset -c 1 wrk -t1 -c"$CONNECTIONS" -d"$DURATION" --latency -s bench/post.lua "$url" >"$report"
    check_report "$chain" "$report"
    out=$(<"$report")
    rps=$(awk '/^Requests\/sec/ {print $2}' <<<"$out")
    p50=$(awk '$1 == "50%" {print $2}' <<<"$out")
    p99=$(awk '$1 == "99%" {print $2}' <<<"$out")
    results[$chain]+="$rps "
    printf '%-6s %-10s %12s %10s %10s\n' "$round" "$chain" "$rps" "$p50" "$p99"
  done
done

base=$(median_of "${results[log]}")
echo
printf '%-10s %18s %8s\n' chain "median requests/s" "vs log"
for chain in log filtered forward; do
  m=$(median_of "${results[$chain]}")
  printf '%-10s %18.0f %8.2f\n' "$chain" "$m" "$(awk -v r="$m" -v b="$base" 'BEGIN {print r / b}')"
done
echo "archived lines: $(wc -l <"$work/events.jsonl")"
