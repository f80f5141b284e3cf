#!/usr/bin/env bash
# The PostgreSQL message log measured in one run: one iflowd on PostgreSQL against two on the
# same database, and PostgreSQL against SQLite per message.
#
#   bench/postgres.sh                  3 rounds of 10 s per side, 64 connections
#   ROUNDS=5 DURATION=20s CONNECTIONS=32 bench/postgres.sh
#   SIDES="sqlite pg1" bench/postgres.sh     some of the sides only (default: sqlite pg1 pg2)
#   SIDES="sqliteq pg1q pg2q" bench/postgres.sh     the delivery queue's sides
#
# Sides:
#   sqlite  one iflowd, the SQLite log in bench/out/postgres/ (what bench/store.sh's "on" runs)
#   pg1     one iflowd, the log in PostgreSQL
#   pg2     two iflowd on the same PostgreSQL database, each sent half the connections
#   sqliteq, pg1q, pg2q   the same with the endpoint's delivery = "async" (the queue): a side's
#           rate counts until its queue is empty (answered but unprocessed is not throughput),
#           and its CPU includes the queue's work until then; pg2q's instances share one queue
# Every request is the Change in Manager fixture with a fresh externalEventId (bench/store.lua),
# so each writes a new entry (PROCESSING, then COMPLETED, bodies included), committed durably
# before it is answered: SQLite syncs its WAL, PostgreSQL runs with fsync = on and iflowd's
# synchronous_commit = on. PostgreSQL is a throwaway cluster of this run in bench/out/postgres/
# (tests/support/postgres.sh, the tests' own, with fsync on), on the same disk as the repository.
#
# The machine has 2 cores: iflowd (one or both) and PostgreSQL share CPU 0 (taskset), wrk runs on
# CPU 1 (one wrk per instance for pg2, together on CPU 1). So a second instance adds no CPU: what
# pg2 against pg1 shows is what the sharing costs or gains on the same core, not what a second
# machine would add (see bench/README.md). Reported per side: requests/s, and CPU µs per request
# of iflowd (all its processes and threads) and of PostgreSQL (the postmaster and every backend).
# Medians of the rounds; the sides alternate and each round starts from an empty log.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

duration=${DURATION:-10s}
connections=${CONNECTIONS:-64}
rounds=${ROUNDS:-3}
out=bench/out/postgres
read -r -a sides <<<"${SIDES:-sqlite pg1 pg2}"

say() { echo "bench/postgres.sh: $*" >&2; }
die() { echo "bench/postgres.sh: $*" >&2; exit 1; }
source bench/lib.sh
need_tools wrk taskset curl psql
need_cores 0 1
declare -A label=(
    [sqlite]="one iflowd, SQLite"
    [pg1]="one iflowd, PostgreSQL"
    [pg2]="two iflowd, one PostgreSQL"
    [sqliteq]="queued: one iflowd, SQLite"
    [pg1q]="queued: one iflowd, PostgreSQL"
    [pg2q]="queued: two iflowd, one PostgreSQL"
)
for side in "${sides[@]}"; do
    [[ -n ${label[$side]:-} ]] || die "unknown side $side (sqlite, pg1, pg2, sqliteq, pg1q, pg2q)"
done

rm -rf "$out"
mkdir -p "$out/cluster"
cargo build --release --quiet
iflowd_bin=$(target_dir)/release/iflowd

# The cluster: its script holds it up until its standard input closes (at exit, whatever happens).
coproc PG { POSTGRES_FSYNC=on taskset -c 0 bash tests/support/postgres.sh "$PWD/$out/cluster"; }
read -r ready pg_port <&"${PG[0]}" || die "PostgreSQL did not start"
[[ $ready == ready ]] || die "PostgreSQL did not start"
postmaster=$(head -1 "$out/cluster/data/postmaster.pid")
say "PostgreSQL $(psql -h 127.0.0.1 -p "$pg_port" -U postgres -Atc 'SHOW server_version') on port $pg_port (pid $postmaster), fsync $(psql -h 127.0.0.1 -p "$pg_port" -U postgres -Atc 'SHOW fsync')"
cleanup() {
    for f in "$out"/server-*.pid; do [[ -e $f ]] && kill "$(cat "$f")" 2>/dev/null; done
    [[ -n ${PG_PID:-} ]] && { eval "exec ${PG[1]}>&-"; wait "$PG_PID" 2>/dev/null; }
    return 0
}
trap cleanup EXIT

config() { # $1 = side, $2 = instance, $3 = port, $4 = database
    cat <<TOML
listen = "127.0.0.1:$3"
data_dir = "$out/data-$1-$2"

[store]
payloads = true
TOML
    [[ $1 == sqlite* ]] || echo "url = \"postgres://postgres@127.0.0.1:$pg_port/$4\""
    cat <<TOML

[log]
level = "warn"

[[users]]
name = "bench"
password = "bench"
TOML
    [[ $1 == *q ]] || return 0
    cat <<TOML

[[endpoints]]
name = "ISC_Events"
adapter = "soap"
address = "/isc/events"
delivery = "async"
TOML
}

# Messages still queued (PROCESSING or RETRY) in side $1's log ($2: the database).
queued() {
    local status="status IN ('PROCESSING', 'RETRY')"
    if [[ $1 == sqlite* ]]; then
        sqlite3 "$out/data-$1-1/messages.db" "SELECT count(*) FROM messages WHERE $status"
    else
        psql -h 127.0.0.1 -p "$pg_port" -U postgres -d "$2" -Atc "SELECT count(*) FROM messages WHERE $status"
    fi
}

# Records how many messages side $1 still had queued when wrk stopped ($2: the database), waits
# (at most 600 s) until none is, and prints how long that took in milliseconds.
drain() {
    local started left
    started=$(date +%s%N)
    left=$(queued "$1" "$2")
    echo "$left" >"$out/queued-$1.txt"
    for _ in $(seq 1 3000); do
        ((left == 0)) && break
        sleep 0.2
        left=$(queued "$1" "$2")
    done
    ((left == 0)) || die "side $1: $left messages still queued 600 s after the load"
    echo $((($(date +%s%N) - started) / 1000000))
}

# CPU ticks of the postmaster and every process it started (backends, writers).
pg_ticks() {
    local total=0 pid
    for pid in $postmaster $(pgrep -P "$postmaster"); do
        [[ -r /proc/$pid/stat ]] && total=$((total + $(cpu_ticks "$pid")))
    done
    echo "$total"
}

auth="Basic $(printf 'bench:bench' | base64)"
run() { # $1 = side, $2 = round → prints requests/s, iflowd µs/request, PostgreSQL µs/request
    local side=$1 db="bench_$1_$2" count=1 pids=() ports=() i side_number
    # Ports of their own per side: a port just closed may not be free again at once.
    case $side in sqlite) side_number=0 ;; pg1) side_number=1 ;; pg2) side_number=2 ;;
        sqliteq) side_number=4 ;; pg1q) side_number=5 ;; *) side_number=6 ;; esac
    [[ $side == pg2* ]] && count=2
    rm -rf "$out"/data-"$side"-*
    [[ $side == sqlite* ]] || psql -h 127.0.0.1 -p "$pg_port" -U postgres -qc "CREATE DATABASE $db"
    wait_idle
    for ((i = 1; i <= count; i++)); do
        local port=$((18490 + 2 * side_number + i))
        config "$side" "$i" "$port" "$db" >"$out/iflowd-$side-$i.toml"
        taskset -c 0 "$iflowd_bin" serve --config "$out/iflowd-$side-$i.toml" >"$out/server-$side-$i.log" 2>&1 &
        pids+=($!)
        ports+=("$port")
        echo "$!" >"$out/server-$side-$i.pid"
        wait_health "http://127.0.0.1:$port/health" "$!" "$out/server-$side-$i.log"
    done
    local before=0 after=0 pg_before pg_after pid
    for pid in "${pids[@]}"; do before=$((before + $(cpu_ticks "$pid"))); done
    pg_before=$(pg_ticks)
    local wrks=()
    for ((i = 1; i <= count; i++)); do
        taskset -c 1 wrk -t1 -c$((connections / count)) -d"$duration" --latency \
            -s bench/store.lua "http://127.0.0.1:${ports[i - 1]}/cxf/isc/events" \
            -- "$PWD/fixtures/change-in-manager.xml" "$side$i" "$auth" \
            >"$out/wrk-$side-$i.txt" 2>"$out/wrk-$side-$i.err" &
        wrks+=($!)
    done
    wait "${wrks[@]}"
    local drained_ms=0
    [[ $side == *q ]] && drained_ms=$(drain "$side" "$db")
    for pid in "${pids[@]}"; do after=$((after + $(cpu_ticks "$pid"))); done
    pg_after=$(pg_ticks)
    for ((i = 1; i <= count; i++)); do
        kill "${pids[i - 1]}"
        wait "${pids[i - 1]}" 2>/dev/null || true
        rm -f "$out/server-$side-$i.pid"
        if [[ -s "$out/wrk-$side-$i.err" ]] || grep -qE "Non-2xx|Socket errors" "$out/wrk-$side-$i.txt"; then
            die "side $side: some answers were not 200, or sockets failed (see $out/)"
        fi
    done
    sync
    local entries
    if [[ $side == sqlite* ]]; then
        entries=$(sqlite3 "$out/data-$side-1/messages.db" "SELECT count(*) FROM messages WHERE status = 'COMPLETED'" 2>/dev/null || echo "?")
    else
        entries=$(psql -h 127.0.0.1 -p "$pg_port" -U postgres -d "$db" -Atc "SELECT count(*) FROM messages WHERE status = 'COMPLETED'")
    fi
    cat "$out"/wrk-"$side"-*.txt | awk -v ticks=$((after - before)) -v pg=$((pg_after - pg_before)) \
        -v hz="$(getconf CLK_TCK)" -v entries="$entries" -v drained="$drained_ms" '
        /requests in/ { n += $1; secs = $4; sub(/s,?$/, "", secs) }
        /^Requests\/sec/ { rps += $2 }
        END {
            if (drained > 0) rps = n / (secs + drained / 1000)
            printf "%.0f %.1f %.1f %s\n", rps, ticks / hz * 1e6 / n, pg / hz * 1e6 / n, entries
        }'
}

declare -A rps cpu pgcpu
for round in $(seq 1 "$rounds"); do
    line="round $round:"
    for side in "${sides[@]}"; do
        r='' c='' p='' e=''
        read -r r c p e < <(run "$side" "$round") || true
        [[ -n ${p:-} ]] || die "side $side: no figures (see $out/)"
        rps[$side]+="$r " cpu[$side]+="$c " pgcpu[$side]+="$p "
        extra=""
        [[ -e $out/queued-$side.txt ]] && extra=", $(cat "$out/queued-$side.txt") still queued when wrk stopped"
        line+=" $side $r requests/s (iflowd $c, PostgreSQL $p µs CPU each; $e COMPLETED$extra),"
    done
    echo "${line%,}"
done
echo "median of $rounds rounds ($duration each, $connections connections in all):"
for side in "${sides[@]}"; do
    printf '%-30s %6s requests/s, CPU per request: iflowd %s µs, PostgreSQL %s µs\n' "${label[$side]}:" \
        "$(median_of "${rps[$side]}")" "$(median_of "${cpu[$side]}")" "$(median_of "${pgcpu[$side]}")"
done
for side in "${sides[@]}"; do
    echo "--- last round, $side"
    grep -hE "Latency|50%|99%" "$out"/wrk-"$side"-*.txt
done
