#!/usr/bin/env bash
# Where a message's time goes under load: perf record of iflowd while wrk posts to it, folded
# into categories by bench/perf_categories.py (the writer's parts, HTTP, parsing, tokio, other).
#
#   bench/profile.sh                       store on, synchronous endpoint, 256 connections
#   SIDE=async bench/profile.sh            the async endpoint (SIDE=off: the store off)
#   CONNECTIONS=32 PERF_SECONDS=8 bench/profile.sh
#
# iflowd (release build of this tree, or IFLOWD_BIN) runs on CPU 0 with the same configuration
# as bench/store.sh's side of that name (bench/store.lua: a fresh externalEventId per request);
# wrk and perf run on CPU 1. After WARMUP (3) seconds of load, perf records PERF_SECONDS (5) of
# the server's threads at 499 Hz with DWARF call stacks. Prints the categories and the server's
# CPU time per request over the whole load; keeps perf.data and the folded text in
# bench/out/profile/ (`perf report -i bench/out/profile/perf.data` to look further).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

side=${SIDE:-on}
connections=${CONNECTIONS:-256}
warmup=${WARMUP:-3}
perf_seconds=${PERF_SECONDS:-5}
out=bench/out/profile
port=18487

say() { echo "bench/profile.sh: $*" >&2; }
die() { echo "bench/profile.sh: $*" >&2; exit 1; }
source bench/lib.sh
need_tools wrk taskset curl perf python3
need_cores 0 1
[[ $side == on || $side == off || $side == async ]] || die "SIDE is on, off or async"

rm -rf "$out"
mkdir -p "$out"
if [[ -n ${IFLOWD_BIN:-} ]]; then
    iflowd_bin=$IFLOWD_BIN
else
    cargo build --release --quiet
    iflowd_bin=$(target_dir)/release/iflowd
fi

bench_config "$side" "$port" "$out/data" >"$out/iflowd.toml"

wait_idle
taskset -c 0 "$iflowd_bin" serve --config "$out/iflowd.toml" >"$out/server.log" 2>&1 &
server_pid=$!
trap stop_server EXIT
wait_health "http://127.0.0.1:$port/health" "$server_pid" "$out/server.log"

auth="Basic $(printf 'bench:bench' | base64)"
load_seconds=$((warmup + perf_seconds + 2))
before=$(cpu_ticks "$server_pid")
taskset -c 1 wrk -t1 -c"$connections" -d"${load_seconds}s" --latency \
    -s bench/store.lua "http://127.0.0.1:$port/cxf/isc/events" \
    -- "$PWD/fixtures/change-in-manager.xml" "profile" "$auth" >"$out/wrk.txt" 2>"$out/wrk.err" &
wrk_pid=$!
sleep "$warmup"
taskset -c 1 perf record -q -F 499 --call-graph dwarf,16384 -p "$server_pid" \
    -o "$out/perf.data" -- sleep "$perf_seconds" 2>"$out/perf.err"
wait "$wrk_pid"
after=$(cpu_ticks "$server_pid")
stop_server

requests=$(awk '/requests in/ { print $1 }' "$out/wrk.txt")
say "folding the samples (perf script with DWARF stacks takes a while)"
perf script -i "$out/perf.data" 2>/dev/null >"$out/perf.txt"
echo "side $side, $connections connections: $(awk '/^Requests\/sec/ { print $2 }' "$out/wrk.txt") requests/s," \
    "$(awk -v t=$((after - before)) -v hz="$(getconf CLK_TCK)" -v n="$requests" 'BEGIN { printf "%.1f", t / hz * 1e6 / n }') µs server CPU per request"
python3 bench/perf_categories.py <"$out/perf.txt"
