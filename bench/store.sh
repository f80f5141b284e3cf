#!/usr/bin/env bash
# Requests per second with the durable message log on versus off, measured in one run.
#
#   bench/store.sh                 3 rounds of 20 s per side, 64 connections
#   ROUNDS=5 DURATION=10s CONNECTIONS=16 LATE_MS=2 bench/store.sh
#   SIDES="off on" bench/store.sh         some of the sides only (default: off on late)
#   SIDES="off async" CONNECTIONS=256 bench/store.sh    the async endpoint against the log off
#   PAYLOADS=false bench/store.sh          the store without bodies
#   BASE_BIN=/tmp/iflowd-main SIDES="off on-base on async-base async" CONNECTIONS=256 bench/store.sh
#                                          before and after in one run: the -base sides run the
#                                          binary BASE_BIN (another commit's release build) with
#                                          the same configuration as their side
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
# from /proc), wrk's median and 99th percentile latency, the bytes the server wrote to the disk
# per request (/proc/PID/io write_bytes: the WAL and the checkpoints into the database, each page
# counted when it was dirtied; 0 for the sides without a store), and after the server stopped,
# the bytes at rest per entry (the database's pages in use) beside the bodies' own bytes per
# entry. Each round ends with bench/fsync_probe.py on the same disk: the disk's own fdatasync
# latency, measured in the same run, to compare the latencies with. The sides alternate (off, on, late, off, ...) and each round starts from an empty data
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
    [on-base]="store on, BASE_BIN"
    [async-base]="store on, async endpoint, BASE_BIN"
)
((${#sides[@]} > 0)) || die "SIDES names no side (off, on, late)"
for side in "${sides[@]}"; do
    [[ -n ${label[$side]:-} ]] || die "unknown side $side (off, on, late, async, on-base, async-base)"
    if [[ $side == *-base ]]; then
        [[ -x ${BASE_BIN:-} ]] || die "side $side needs BASE_BIN, an iflowd binary"
    fi
done

rm -rf "$out"
mkdir -p "$out"
[[ ${BENCH_NO_BUILD:-} == 1 ]] || cargo build --release --quiet
iflowd_bin=$(target_dir)/release/iflowd

config() { # $1 = side (off, on, late, async; a -base side has its side's), $2 = port
    local side=${1%-base}
    bench_config "$side" "$2" "$out/data-$1" "${PAYLOADS:-true}"
    [[ $side == late ]] || return 0
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

# The latency wrk reports at percentile $2 (50%, 99%) in its report $1, in milliseconds.
latency_ms() {
    awk -v p="$2" '$1 == p {
        v = $2
        if (v ~ /us$/) { sub(/us$/, "", v); v /= 1000 }
        else if (v ~ /ms$/) { sub(/ms$/, "", v) }
        else if (v ~ /s$/) { sub(/s$/, "", v); v *= 1000 }
        printf "%.2f\n", v
    }' "$1"
}

# The bytes process $1 has caused to be written to the disk so far.
written_bytes() { awk '$1 == "write_bytes:" { print $2 }' "/proc/$1/io"; }

# After a side's server stopped: the bytes at rest per entry (the database's pages in use) and
# the bodies' own bytes per entry, or "- -" without a log. Reads either layout of the bodies
# (one table before migration 0006, requests and responses after), for BASE_BIN's sides.
at_rest() { # $1 = the database
    [[ -e $1 ]] || { echo "- -"; return 0; }
    local entries pages bodies
    entries=$(sqlite3 "$1" "SELECT count(*) FROM messages")
    pages=$(sqlite3 "$1" "SELECT (p.page_count - f.freelist_count) * s.page_size
        FROM pragma_page_count() p, pragma_freelist_count() f, pragma_page_size() s")
    bodies=$(sqlite3 "$1" "SELECT (SELECT coalesce(sum(length(body)), 0) FROM requests)
        + (SELECT coalesce(sum(length(body)), 0) FROM responses)" 2>/dev/null ||
        sqlite3 "$1" "SELECT coalesce(sum(length(request)), 0) + coalesce(sum(length(response)), 0)
            FROM bodies")
    awk -v e="$entries" -v p="$pages" -v b="$bodies" 'BEGIN { printf "%.0f %.0f\n", p / e, b / e }'
}

run() { # $1 = side, $2 = port → requests/s, CPU µs, p50 ms, p99 ms, written, at rest, bodies
    config "$1" "$2" >"$out/iflowd-$1.toml"
    local bin=$iflowd_bin
    [[ $1 == *-base ]] && bin=$BASE_BIN
    wait_idle
    taskset -c 0 "$bin" serve --config "$out/iflowd-$1.toml" >"$out/server-$1.log" 2>&1 &
    local pid=$!
    echo "$pid" >"$out/server-$1.pid"
    wait_health "http://127.0.0.1:$2/health" "$pid" "$out/server-$1.log"
    local before after written_before written_after
    before=$(cpu_ticks "$pid")
    written_before=$(written_bytes "$pid")
    taskset -c 1 wrk -t1 -c"$connections" -d"$duration" --latency \
        -s bench/store.lua "http://127.0.0.1:$2/cxf/isc/events" \
        -- "$PWD/fixtures/change-in-manager.xml" "$1" "$auth" >"$out/wrk-$1.txt" 2>"$out/wrk-$1.err"
    local drained_ms=0
    if [[ ${1%-base} == async ]]; then
        drained_ms=$(drain "$out/data-$1/messages.db" "$1")
    fi
    after=$(cpu_ticks "$pid")
    written_after=$(written_bytes "$pid")
    kill "$pid"
    wait "$pid" 2>/dev/null || true
    rm -f "$out/server-$1.pid"
    sync
    if [[ -s "$out/wrk-$1.err" ]] || grep -qE "Non-2xx|Socket errors" "$out/wrk-$1.txt"; then
        die "side $1: some answers were not 200, or sockets failed (see $out/)"
    fi
    local rest
    rest=$(at_rest "$out/data-$1/messages.db")
    # An async side's rate counts until its queue was empty: answers nobody processed yet are
    # not throughput.
    awk -v ticks=$((after - before)) -v hz="$(getconf CLK_TCK)" -v drained="$drained_ms" \
        -v p50="$(latency_ms "$out/wrk-$1.txt" 50%)" -v p99="$(latency_ms "$out/wrk-$1.txt" 99%)" \
        -v written=$((written_after - written_before)) -v rest="$rest" '
        /requests in/ { n = $1; secs = $4; sub(/s,?$/, "", secs) }
        /^Requests\/sec/ { rps = $2 }
        END {
            if (drained > 0) rps = n / (secs + drained / 1000)
            printf "%.2f %.1f %s %s %.0f %s\n", rps, ticks / hz * 1e6 / n, p50, p99, written / n, rest
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

declare -A rps cpu p50 p99 written rest bodies
declare -A ports=([on]=18481 [off]=18482 [late]=18483 [async]=18484 [on-base]=18485 [async-base]=18486)
probes=""
for round in $(seq 1 "$rounds"); do
    line="round $round:"
    for side in "${sides[@]}"; do
        rm -rf "$out/data-$side"
        r='' c='' l50='' l99='' w='' a='' b=''
        read -r r c l50 l99 w a b < <(run "$side" "${ports[$side]}") || true
        [[ -n ${c:-} ]] || die "side $side: no figures (see $out/)"
        rps[$side]+="$r " cpu[$side]+="$c " p50[$side]+="$l50 " p99[$side]+="$l99 "
        written[$side]+="$w " rest[$side]+="$a " bodies[$side]+="$b "
        line+=" $side $r requests/s ($c µs CPU, p99 $l99 ms),"
    done
    if [[ -e $out/data-on/messages.db ]]; then
        line+=" $(sqlite3 "$out/data-on/messages.db" "SELECT count(*) FROM messages WHERE status = 'COMPLETED'") COMPLETED entries written,"
    fi
    if [[ -e $out/queued-async.txt ]]; then
        line+=" async: $(awk '/^Requests\/sec/ { print $2 }' "$out/wrk-async.txt") answers/s, $(cat "$out/queued-async.txt") still queued when wrk stopped,"
    fi
    echo "${line%,}"
    probe=$(python3 bench/fsync_probe.py "$out")
    echo "round $round: $probe"
    probes+="$(sed -n 's/.* p99 \([0-9.]*\) ms.*/\1/p' <<<"$probe") "
done
median_or_dash() { if grep -q '[0-9]' <<<"$1"; then median_of "$1"; else echo -; fi; }
echo "median of $rounds rounds ($duration each, $connections connections):"
printf '%-44s %12s %9s %8s %8s %10s %9s %9s\n' side requests/s "CPU µs" "p50 ms" "p99 ms" \
    "written B" "rest B" "bodies B"
for side in "${sides[@]}"; do
    printf '%-44s %12s %9s %8s %8s %10s %9s %9s\n' "${label[$side]}" \
        "$(median_of "${rps[$side]}")" "$(median_of "${cpu[$side]}")" \
        "$(median_of "${p50[$side]}")" "$(median_of "${p99[$side]}")" \
        "$(median_of "${written[$side]}")" "$(median_or_dash "${rest[$side]}")" \
        "$(median_or_dash "${bodies[$side]}")"
done
echo "(written: bytes the server wrote to the disk per request; rest and bodies: per entry, after the run)"
echo "the disk's own fdatasync p99 (bench/fsync_probe.py, one per round): median $(median_of "$probes") ms"
if [[ -z ${rps[off]:-} ]]; then
    echo "no ratios: SIDES has no off side"
else
    off=$(median_of "${rps[off]}")
    for side in "${sides[@]}"; do
        [[ $side == off ]] && continue
        awk -v r="$(median_of "${rps[$side]}")" -v off="$off" -v side="$side" 'BEGIN {
            target = side ~ /^on/ ? "   (issue 19: at least 0.8)" : side ~ /^async/ ? "   (issue 19: at least 0.9)" : ""
            printf "%s / off: %.2f%s\n", side, r / off, target""
        }'
    done
fi
for side in "${sides[@]}"; do
    echo "--- last round, $side"
    grep -E "Latency|50%|99%" "$out/wrk-$side.txt"
done
