#!/usr/bin/env bash
# At least once across kill -9: every acknowledged async message is processed after a restart.
#
#   bench/crash.sh                                   5 rounds
#   ROUNDS=10 CONCURRENCY=128 KILL_AFTER="0.2 2.0" bench/crash.sh
#
# Each round starts iflowd (release build of this tree) on an empty data directory with one
# async endpoint whose chain is: a 5 ms delay drill, a drill that fails 10 % of the attempts
# (retried 100 ms later, doubling up to 1 s, 50 attempts allowed), and a jsonl handler that
# appends what it processed (the message id is in every line). `iflowd send --fresh-ids` loads
# it with CONCURRENCY posts in flight, each with a new externalEventId; the posts it reports as
# acknowledged (200 with an acknowledgement, and the message id the answer carried) are the
# messages iflowd promised to process. After a random time within KILL_AFTER (seconds), the
# server gets SIGKILL (then the load generator is stopped), so the queue holds waiting, running
# and retrying messages. iflowd is started again on the same data directory, and the script
# waits until nothing is PROCESSING or RETRY any more (the monitoring API's $count), then stops it.
#
# Per round it prints: acknowledged, processed (distinct message ids in the jsonl file: also
# messages queued whose answer never arrived), lost (acknowledged but never processed: must be
# 0), run more than once (processed again after the restart because the crash came after the
# chain but before its completion was on the disk: at least once), escalated (must be 0). Exits
# non-zero if any round lost a message.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

rounds=${ROUNDS:-5}
concurrency=${CONCURRENCY:-64}
read -r kill_min kill_max <<<"${KILL_AFTER:-0.5 2.0}"
out=bench/out/crash
port=18491

say() { echo "bench/crash.sh: $*" >&2; }
die() { echo "bench/crash.sh: $*" >&2; exit 1; }
source bench/lib.sh
need_tools curl awk sort comm
rm -rf "$out"
mkdir -p "$out"
cargo build --release --quiet
iflowd_bin=$(target_dir)/release/iflowd
base="http://127.0.0.1:$port"

config() { # $1 = round directory
    cat <<TOML
listen = "127.0.0.1:$port"
data_dir = "$1/data"

[log]
level = "warn"

[[users]]
name = "bench"
password = "bench"
roles = ["ESBMessaging.send", "MonitoringDataRead"]

[[endpoints]]
name = "Crash"
address = "/crash"
delivery = "async"
handlers = ["slow", "flaky", "archive"]

[endpoints.retry]
interval_ms = 100
exponential = true
max_interval_ms = 1000
max_attempts = 50

[handlers.slow]
type = "fault"
mode = "delay"
delay_ms = 5

[handlers.flaky]
type = "fault"
mode = "soap-fault"
percent = 10
seed = 7

[handlers.archive]
type = "jsonl"
path = "$1/processed.jsonl"
TOML
}

server_pid=""
load_pid=""
cleanup() {
    [[ -n $load_pid ]] && kill "$load_pid" 2>/dev/null
    [[ -n $server_pid ]] && kill -9 "$server_pid" 2>/dev/null
    return 0
}
trap cleanup EXIT

start_server() { # $1 = round directory
    "$iflowd_bin" serve --config "$1/iflowd.toml" >>"$1/server.log" 2>&1 &
    server_pid=$!
    wait_health "$base/health" "$server_pid" "$1/server.log"
}

# The number of messages the API finds with $1 as $filter.
count() {
    curl -fsS -u bench:bench -G "$base/api/v1/MessageProcessingLogs/\$count" \
        --data-urlencode "\$filter=$1"
}

# Waits (at most 120 s) until no message is PROCESSING or RETRY; prints how long it took.
wait_drained() {
    local started=$SECONDS left
    for _ in $(seq 1 1200); do
        left=$(count "Status eq 'PROCESSING' or Status eq 'RETRY'")
        if [[ $left == 0 ]]; then
            echo $((SECONDS - started))
            return 0
        fi
        sleep 0.1
    done
    die "the queue still holds $left messages after 120 s"
}

total_lost=0
for round in $(seq 1 "$rounds"); do
    dir="$PWD/$out/round-$round"
    mkdir -p "$dir"
    config "$dir" >"$dir/iflowd.toml"
    start_server "$dir"
    "$iflowd_bin" send --url "$base/cxf/crash" --user bench --password bench --fresh-ids \
        --repeat 1000000 --concurrency "$concurrency" --timeout 10 \
        fixtures/change-in-manager.xml >"$dir/send.txt" 2>&1 &
    load_pid=$!
    pause=$(awk -v lo="$kill_min" -v hi="$kill_max" -v r="$RANDOM" 'BEGIN { printf "%.2f", lo + (hi - lo) * r / 32767 }')
    sleep "$pause"
    queued=$(count "Status eq 'PROCESSING' or Status eq 'RETRY'")
    kill -9 "$server_pid"
    wait "$server_pid" 2>/dev/null || true
    server_pid=""
    kill "$load_pid" 2>/dev/null || true
    wait "$load_pid" 2>/dev/null || true
    load_pid=""

    start_server "$dir"
    drained=$(wait_drained)
    escalated=$(count "Status eq 'ESCALATED'")
    kill "$server_pid"
    wait "$server_pid" 2>/dev/null || true
    server_pid=""

    grep ' acknowledged status=' "$dir/send.txt" | grep -o '\[MPL AG[A-Za-z0-9_-]*\]' |
        tr -d '[]' | cut -d' ' -f2 | sort -u >"$dir/acknowledged.txt"
    grep -o '"messageId":"AG[A-Za-z0-9_-]*"' "$dir/processed.jsonl" | cut -d'"' -f4 |
        sort >"$dir/processed-all.txt"
    sort -u "$dir/processed-all.txt" >"$dir/processed.txt"
    acknowledged=$(wc -l <"$dir/acknowledged.txt")
    processed=$(wc -l <"$dir/processed.txt")
    lost=$(comm -23 "$dir/acknowledged.txt" "$dir/processed.txt" | wc -l)
    again=$(uniq -d "$dir/processed-all.txt" | wc -l)
    total_lost=$((total_lost + lost))
    echo "round $round: killed after ${pause} s with $queued messages PROCESSING or RETRY;" \
        "acknowledged $acknowledged, processed $processed, lost $lost," \
        "run more than once $again, escalated $escalated; queue empty ${drained} s after the restart"
    ((escalated == 0)) || die "round $round: $escalated messages escalated (see $dir)"
done
echo "lost over $rounds rounds: $total_lost"
((total_lost == 0)) || die "acknowledged messages were lost (see $out)"
