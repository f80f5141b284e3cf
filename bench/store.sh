#!/usr/bin/env bash
# Requests per second with the durable message log on versus off, measured in one run.
#
#   bench/store.sh                 3 rounds of 20 s per side, 64 connections
#   ROUNDS=5 DURATION=10s CONNECTIONS=16 bench/store.sh
#
# The server runs on CPU 0 (taskset -c 0), wrk on CPU 1, both release builds of this tree. Each
# request is the Change in Manager fixture with a fresh externalEventId (bench/store.lua), so with
# the store on every request writes a new entry (PROCESSING, then COMPLETED, bodies included) and
# its final entry is committed and its WAL synced (fdatasync) before its answer. The data directory is under bench/out/
# (on the same disk as the repository, not a tmpfs). The endpoint runs only the built-in "log"
# handler, with logging at "warn" so the terminal is not the bottleneck.
#
# The sides alternate (off, on, off, on, ...) and each round starts from an empty data directory;
# the medians are compared, because the machine is shared and noisy. After each run the script
# flushes the page cache's dirty pages (`sync`), and before each it waits for the machine to be
# idle (IDLE_WAIT, see bench/lib.sh): otherwise the kernel writes back the hundreds of megabytes a
# store-on run left behind while the next run is measured (a store-off run after a store-on one
# came out at half its speed). Prints every round, the
# medians and their ratio; exits non-zero if any answer was not 200.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

duration=${DURATION:-20s}
connections=${CONNECTIONS:-64}
rounds=${ROUNDS:-3}
out=bench/out/store
port_on=18481
port_off=18482

say() { echo "bench/store.sh: $*" >&2; }
die() { echo "bench/store.sh: $*" >&2; exit 1; }
source bench/lib.sh
need_tools wrk taskset curl sqlite3
need_cores 0 1

cargo build --release --quiet
rm -rf "$out"
mkdir -p "$out"

config() { # $1 = enabled, $2 = port
    cat <<TOML
listen = "127.0.0.1:$2"
data_dir = "$out/data-$1"

[store]
enabled = $1
payloads = ${PAYLOADS:-true}

[log]
level = "warn"

[[users]]
name = "bench"
password = "bench"
TOML
}

auth="Basic $(printf 'bench:bench' | base64)"
pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; }
trap cleanup EXIT

run() { # $1 = enabled, $2 = port → prints requests/s
    config "$1" "$2" >"$out/iflowd-$1.toml"
    wait_idle
    taskset -c 0 target/release/iflowd serve --config "$out/iflowd-$1.toml" >"$out/server-$1.log" 2>&1 &
    local pid=$!
    pids+=("$pid")
    for _ in $(seq 1 100); do
        curl -fsS "http://127.0.0.1:$2/health" >/dev/null 2>&1 && break
        sleep 0.1
    done
    taskset -c 1 wrk -t1 -c"$connections" -d"$duration" --latency \
        -s bench/store.lua "http://127.0.0.1:$2/cxf/isc/events" \
        -- "$PWD/fixtures/change-in-manager.xml" "$1" "$auth" >"$out/wrk-$1.txt" 2>"$out/wrk-$1.err"
    kill "$pid"
    wait "$pid" 2>/dev/null || true
    sync
    if [[ -s "$out/wrk-$1.err" ]] || grep -q "Non-2xx" "$out/wrk-$1.txt"; then
        echo "bench/store.sh: store $1: some answers were not 200 (see $out/)" >&2
        exit 1
    fi
    awk '/^Requests\/sec/ {print $2}' "$out/wrk-$1.txt"
}

offs=()
ons=()
for round in $(seq 1 "$rounds"); do
    rm -rf "$out/data-false" "$out/data-true"
    offs+=("$(run false "$port_off")")
    ons+=("$(run true "$port_on")")
    entries=$(sqlite3 "$out/data-true/messages.db" "SELECT count(*) FROM messages WHERE status = 'COMPLETED'" 2>/dev/null || echo "?")
    echo "round $round: store off ${offs[-1]} requests/s, store on ${ons[-1]} requests/s ($entries COMPLETED entries written)"
done
off=$(printf '%s\n' "${offs[@]}" | median)
on=$(printf '%s\n' "${ons[@]}" | median)
echo "median of $rounds rounds ($duration each, $connections connections):"
echo "store off: $off requests/s"
echo "store on:  $on requests/s"
awk -v on="$on" -v off="$off" 'BEGIN { printf "store on / store off: %.2f (the store costs %.0f%% of the throughput)\n", on / off, 100 * (1 - on / off) }'
for side in false true; do
    echo "--- last round, store enabled=$side"
    grep -E "Latency|50%|99%" "$out/wrk-$side.txt"
done
