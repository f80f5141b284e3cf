#!/usr/bin/env bash
# Requests per second with the durable message log on versus off, measured in one run.
#
#   bench/store.sh                 3 rounds of 20 s per side, 64 connections
#   ROUNDS=5 DURATION=10s CONNECTIONS=16 LATE_MS=2 bench/store.sh
#   SIDES="off on" bench/store.sh         some of the sides only (default: off on late)
#   SIDES="off async" CONNECTIONS=256 bench/store.sh    the async endpoint against the log off
#   PAYLOADS=false bench/store.sh          the store without bodies
#
# The server runs on CPU 0 (taskset -c 0), wrk on CPU 1, both release builds of this tree. Each
# request is the Change in Manager fixture with a fresh externalEventId (bench/store.lua), so with
# the store on every request writes a new entry (PROCESSING, then COMPLETED, bodies included) and
# its final entry is committed and its WAL synced (fdatasync) before its answer. The data
# directory is under bench/out/ (on the same disk as the repository, not a tmpfs). The endpoint
# runs only the built-in "log" handler, with logging at "warn" so the terminal is not the
# bottleneck.
#
# A third side, "late", runs with the store off and a `delay` drill after "log": every answer
# leaves LATE_MS (1) milliseconds later, and nothing is stored. It shows what answering later
# costs by itself in this set-up, which a store that waits for the disk before answering cannot
# avoid (see bench/README.md).
#
# A fourth side, "async", has the store on and the endpoint's `delivery = "async"`: each answer
# leaves once the queued entry (and the request) is committed and synced; the chain ("log") runs
# on the queue's workers, and its completion is written lazily. Its rate counts until the queue
# is empty again (requests / (wrk's time + the time to drain)), CPU time included: answering
# faster than the queue processes only builds a backlog. The round's line also gives the rate of
# answers and how many messages were still queued when wrk stopped.
#
# Each side also reports the server's CPU time per request (all its threads, user and system,
# from /proc). The sides alternate (off, on, late, off, ...) and each round starts from an empty data
# directory; the medians are compared, because the machine is shared and noisy. After each run
# the script flushes the page cache's dirty pages (`sync`), and before each it waits for the
# machine to be idle (IDLE_WAIT, see bench/lib.sh): otherwise the kernel writes back the hundreds
# of megabytes a store-on run left behind while the next run is measured (a store-off run after
# a store-on one came out at half its speed). Prints every round, the medians and their ratios;
# exits non-zero if any answer was not 200.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

duration=${DURATION:-20s}
connections=${CONNECTIONS:-64}
rounds=${ROUNDS:-3}
out=bench/out/store
read -r -a sides <<<"${SIDES:-off on late}"
late_ms=${LATE_MS:-1}

say() { echo "bench/store.sh: $*" >&2; }
die() { echo "bench/store.sh: $*" >&2; exit 1; }
source bench/lib.sh
need_tools wrk taskset curl sqlite3
need_cores 0 1
declare -A label=(
    [off]="store off"
    [on]="store on"
    [late]="store off, answers ${late_ms} ms late (drill)"
    [async]="store on, async endpoint (queued, synced)"
)
((${#sides[@]} > 0)) || die "SIDES names no side (off, on, late)"
for side in "${sides[@]}"; do
    [[ -n ${label[$side]:-} ]] || die "unknown side $side (off, on, late, async)"
done

rm -rf "$out"
mkdir -p "$out"
cargo build --release --quiet
iflowd_bin=$(target_dir)/release/iflowd

config() { # $1 = side (off, on, late, async), $2 = port
    local enabled=false
    [[ $1 == on || $1 == async ]] && enabled=true
    cat <<TOML
listen = "127.0.0.1:$2"
data_dir = "$out/data-$1"

[store]
enabled = $enabled
payloads = ${PAYLOADS:-true}

[log]
level = "warn"

[[users]]
name = "bench"
password = "bench"
TOML
    if [[ $1 == async ]]; then
        cat <<TOML

[[endpoints]]
name = "ISC_Events"
adapter = "soap"
address = "/isc/events"
delivery = "async"
TOML
    fi
    [[ $1 == late ]] || return 0
    # The default endpoint, with a drill that answers every call late_ms later, normally.
    cat <<TOML

[[endpoints]]
name = "ISC_Events"
adapter = "soap"
address = "/isc/events"
handlers = ["log", "late"]

[handlers.late]
type = "fault"
mode = "delay"
delay_ms = $late_ms
TOML
}

auth="Basic $(printf 'bench:bench' | base64)"
# run() runs in a subshell, so the servers' pids go through files for the trap.
cleanup() { for f in "$out"/server-*.pid; do [[ -e $f ]] && kill "$(cat "$f")" 2>/dev/null; done; return 0; }
trap cleanup EXIT

run() { # $1 = side, $2 = port → prints requests/s and the server's CPU µs per request
    config "$1" "$2" >"$out/iflowd-$1.toml"
    wait_idle
    taskset -c 0 "$iflowd_bin" serve --config "$out/iflowd-$1.toml" >"$out/server-$1.log" 2>&1 &
    local pid=$!
    echo "$pid" >"$out/server-$1.pid"
    wait_health "http://127.0.0.1:$2/health" "$pid" "$out/server-$1.log"
    local before after
    before=$(cpu_ticks "$pid")
    taskset -c 1 wrk -t1 -c"$connections" -d"$duration" --latency \
        -s bench/store.lua "http://127.0.0.1:$2/cxf/isc/events" \
        -- "$PWD/fixtures/change-in-manager.xml" "$1" "$auth" >"$out/wrk-$1.txt" 2>"$out/wrk-$1.err"
    local drained_ms=0
    if [[ $1 == async ]]; then
        drained_ms=$(drain "$out/data-$1/messages.db" "$1")
    fi
    after=$(cpu_ticks "$pid")
    kill "$pid"
    wait "$pid" 2>/dev/null || true
    rm -f "$out/server-$1.pid"
    sync
    if [[ -s "$out/wrk-$1.err" ]] || grep -qE "Non-2xx|Socket errors" "$out/wrk-$1.txt"; then
        die "side $1: some answers were not 200, or sockets failed (see $out/)"
    fi
    # An async side's rate counts until its queue was empty: answers nobody processed yet are
    # not throughput.
    awk -v ticks=$((after - before)) -v hz="$(getconf CLK_TCK)" -v drained="$drained_ms" '
        /requests in/ { n = $1; secs = $4; sub(/s,?$/, "", secs) }
        /^Requests\/sec/ { rps = $2 }
        END {
            if (drained > 0) rps = n / (secs + drained / 1000)
            printf "%.2f %.1f\n", rps, ticks / hz * 1e6 / n
        }' "$out/wrk-$1.txt"
}

# Records how many messages the async side still had queued when wrk stopped, waits (at most
# 600 s) until none is, and prints how long that took in milliseconds ($1: the database, $2:
# the side).
drain() {
    local db=$1 side=$2 started left
    started=$(date +%s%N)
    left=$(sqlite3 "$db" "SELECT count(*) FROM messages WHERE status IN ('PROCESSING', 'RETRY')")
    echo "$left" >"$out/queued-$side.txt"
    for _ in $(seq 1 3000); do
        ((left == 0)) && break
        sleep 0.2
        left=$(sqlite3 "$db" "SELECT count(*) FROM messages WHERE status IN ('PROCESSING', 'RETRY')")
    done
    ((left == 0)) || die "side $side: $left messages still queued 600 s after the load"
    echo $((($(date +%s%N) - started) / 1000000))
}

declare -A rps cpu
declare -A ports=([on]=18481 [off]=18482 [late]=18483 [async]=18484)
for round in $(seq 1 "$rounds"); do
    line="round $round:"
    for side in "${sides[@]}"; do
        rm -rf "$out/data-$side"
        r='' c=''
        read -r r c < <(run "$side" "${ports[$side]}") || true
        [[ -n ${c:-} ]] || die "side $side: no figures (see $out/)"
        rps[$side]+="$r "
        cpu[$side]+="$c "
        line+=" $side $r requests/s ($c µs CPU each),"
    done
    if [[ -e $out/data-on/messages.db ]]; then
        line+=" $(sqlite3 "$out/data-on/messages.db" "SELECT count(*) FROM messages WHERE status = 'COMPLETED'") COMPLETED entries written"
    fi
    if [[ -e $out/queued-async.txt ]]; then
        line+=" async: $(awk '/^Requests\/sec/ { print $2 }' "$out/wrk-async.txt") answers/s, $(cat "$out/queued-async.txt") still queued when wrk stopped"
    fi
    echo "${line%,}"
done
echo "median of $rounds rounds ($duration each, $connections connections):"
for side in "${sides[@]}"; do
    printf '%-50s %s requests/s, %s µs server CPU per request\n' "${label[$side]}:" \
        "$(median_of "${rps[$side]}")" "$(median_of "${cpu[$side]}")"
done
if [[ -z ${rps[off]:-} ]]; then
    echo "no ratios: SIDES has no off side"
else
    off=$(median_of "${rps[off]}")
    for side in "${sides[@]}"; do
        [[ $side == off ]] && continue
        awk -v r="$(median_of "${rps[$side]}")" -v off="$off" -v side="$side" 'BEGIN {
            target = side == "on" ? "   (target: at least 0.6)" : side == "async" ? "   (target: at least 0.8)" : ""
            printf "%s / off: %.2f%s\n", side, r / off, target""
        }'
    done
fi
for side in "${sides[@]}"; do
    echo "--- last round, $side"
    grep -E "Latency|50%|99%" "$out/wrk-$side.txt"
done
