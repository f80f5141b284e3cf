#!/usr/bin/env bash
# Reliability of the synchronous endpoint (issue 18): crashes under load, slow and silent clients,
# and a full disk. Prints figures; exits non-zero if an acknowledged message is missing from the
# log, or if iflowd does not recover from the full disk by itself.
#
#   bench/reliability.sh                        all three parts
#   PARTS="crash slow" bench/reliability.sh     some of them (crash, slow, full)
#
# crash: ROUNDS (5) times, wrk posts the Change in Manager fixture with a fresh externalEventId
#   per request over 64 connections (bench/acked.lua, which writes down the message id of every
#   200 it receives: the client's own list of what it was told was accepted), and iflowd is
#   killed with SIGKILL CRASH_AFTER (3) seconds into the DURATION (6s) run. iflowd is started
#   again on the same data directory, and every acknowledged message id is looked up in the log:
#   it must be there, COMPLETED. The data directory is kept across rounds, so each restart also
#   reads the log of every earlier crash.
# slow: a normal client (wrk, 4 connections, SLOW_DURATION 10s) is timed alone, then while
#   bench/slow_clients.py holds IDLE (300) silent connections, DRIBBLE (100) sending headers a
#   byte a second and SLOW_BODY (20) sending a body a byte a second; then again with OVER (600)
#   silent connections, more than [limits] max_connections (512).
# full (as root only: it mounts a tmpfs): iflowd on a DISK_MB (8) MiB tmpfs, posted to until the
#   disk is full: how many calls were acknowledged, how the rest were answered, and that every
#   acknowledged one is in the log; the tmpfs grows, and the time until /health says UP again in
#   the same process; full again, a SIGKILL and a start on the full disk; the tmpfs grows again.
#
# The server runs on CPU 0, wrk and the slow clients on CPU 1; release build of this tree
# (IFLOWD_BIN=path measures another binary, BENCH_NO_BUILD=1 skips the build). Files in
# bench/out/reliability/. See bench/README.md for the figures.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

read -r -a parts <<<"${PARTS:-crash slow full}"
rounds=${ROUNDS:-5}
duration=${DURATION:-6s}
crash_after=${CRASH_AFTER:-3}
slow_duration=${SLOW_DURATION:-10s}
disk_mb=${DISK_MB:-8}
out=bench/out/reliability
fixture="$PWD/fixtures/change-in-manager.xml"

say() { echo "bench/reliability.sh: $*" >&2; }
die() { echo "bench/reliability.sh: $*" >&2; exit 1; }
source bench/lib.sh
need_tools wrk taskset curl sqlite3 python3
need_cores 0 1

mounted=""
cleanup() {
  stop_server
  [[ -n $mounted ]] && umount -l "$mounted" 2>/dev/null
  return 0
}
trap cleanup EXIT

rm -rf "$out"
mkdir -p "$out"
if [[ -z ${BENCH_NO_BUILD:-} && -z ${IFLOWD_BIN:-} ]]; then
  cargo build --release --quiet
fi
iflowd_bin=${IFLOWD_BIN:-$(target_dir)/release/iflowd}
auth="Basic $(printf 'bench:bench' | base64)"

config() { # $1 = data directory, $2 = port
  cat <<TOML
listen = "127.0.0.1:$2"
data_dir = "$1"

[log]
level = "warn"

[[users]]
name = "bench"
password = "bench"
roles = ["ESBMessaging.send", "MonitoringDataRead"]
TOML
}

start_server() { # $1 = name (config and log file), $2 = port; sets server_pid
  taskset -c 0 "$iflowd_bin" serve --config "$out/$1.toml" >>"$out/server-$1.log" 2>&1 &
  server_pid=$!
  wait_listening "http://127.0.0.1:$2/health" "$server_pid" "$out/server-$1.log"
}

kill_server() {
  kill -9 "$server_pid" 2>/dev/null || true
  wait "$server_pid" 2>/dev/null || true
  server_pid=""
}

# Acknowledged ids in file $2 that the log $1 does not hold as COMPLETED.
missing() {
  sqlite3 "$1" <<SQL
CREATE TEMP TABLE acked (id TEXT);
.import $2 acked
SELECT count(*) FROM acked WHERE id NOT IN (SELECT message_guid FROM messages WHERE status = 'COMPLETED');
SQL
}

count() { sqlite3 "$1" "SELECT count(*) FROM messages WHERE status = '$2'"; }

# wrk with bench/acked.lua: $1 = port, $2 = connections, $3 = duration, $4 = prefix; appends to
# $out/acked-$4.txt and $out/refused-$4.txt.
post_recorded() {
  : >"$out/acked-$4.txt"
  : >"$out/refused-$4.txt"
  taskset -c 1 wrk -t1 -c"$2" -d"$3" -s bench/acked.lua "http://127.0.0.1:$1/cxf/isc/events" \
    -- "$fixture" "$4" "$auth" "$out/acked-$4.txt" "$out/refused-$4.txt" >"$out/wrk-$4.txt" 2>&1
}

part_crash() {
  local port=18511 data="$out/crash-data" lost=0 all="$out/acked-all.txt"
  config "$data" "$port" >"$out/crash.toml"
  : >"$all"
  echo "== crash: kill -9 under load, $rounds rounds ($duration of wrk, killed after ${crash_after}s)"
  for round in $(seq 1 "$rounds"); do
    wait_idle
    start_server crash "$port"
    post_recorded "$port" 64 "$duration" "c$round" &
    local client=$!
    sleep "$crash_after"
    kill_server
    wait "$client" || true
    cat "$out/acked-c$round.txt" >>"$all"
    start_server crash "$port"
    local round_missing all_missing
    round_missing=$(missing "$data/messages.db" "$out/acked-c$round.txt")
    all_missing=$(missing "$data/messages.db" "$all")
    echo "round $round: $(wc -l <"$out/acked-c$round.txt") acknowledged before the kill, $round_missing of them missing from the log after the restart ($all_missing of all $(wc -l <"$all") so far); $(count "$data/messages.db" ABANDONED) ABANDONED in all (in flight at a kill), $(wc -l <"$out/refused-c$round.txt") answers not 200"
    lost=$((lost + round_missing))
    stop_server
  done
  ((lost == 0)) || die "$lost acknowledged messages are missing from the log"
}

# wrk's latency figures for a normal client: $1 = port, $2 = label.
timed_client() {
  taskset -c 1 wrk -t1 -c4 -d"$slow_duration" --latency -s bench/store.lua \
    "http://127.0.0.1:$1/cxf/isc/events" -- "$fixture" "$2" "$auth" >"$out/wrk-slow-$2.txt" 2>&1
  awk -v label="$2" '
    /^Requests\/sec/ { rps = $2 }
    /^ +50%/ { p50 = $2 } /^ +99%/ { p99 = $2 }
    /Non-2xx/ { bad = $4 } /Socket errors/ { sock = $0 }
    END { printf "%-48s %8s req/s, latency p50 %s, p99 %s%s%s\n", label ":", rps, p50, p99,
          bad ? ", " bad " answers not 200" : "", sock ? "; " sock : "" }' "$out/wrk-slow-$2.txt"
}

part_slow() {
  local port=18512 idle=${IDLE:-300} dribble=${DRIBBLE:-100} slow_body=${SLOW_BODY:-20}
  local over=${OVER:-600} seconds
  seconds=$((${slow_duration%s} + 4))
  # Long enough for the slow bodies to meet body_read_timeout_ms (30 s).
  local first=$((seconds > 35 ? seconds : 35))
  config "$out/slow-data" "$port" >"$out/slow.toml"
  echo "== slow and silent clients: a normal client (4 connections, $slow_duration) timed alone and under attack"
  start_server slow "$port"
  wait_idle
  timed_client "$port" "alone"
  taskset -c 1 python3 bench/slow_clients.py 127.0.0.1 "$port" "$first" --idle "$idle" \
    --dribble "$dribble" --slow-body "$slow_body" --auth "$(printf 'bench:bench' | base64)" \
    >"$out/attack.txt" 2>&1 &
  local attack=$!
  sleep 3
  timed_client "$port" "with $idle idle, $dribble dribbling, $slow_body slow bodies"
  wait "$attack"
  sed 's/^/  attack /' "$out/attack.txt"
  taskset -c 1 python3 bench/slow_clients.py 127.0.0.1 "$port" "$seconds" --idle "$over" \
    >"$out/attack-over.txt" 2>&1 &
  attack=$!
  sleep 3
  timed_client "$port" "with $over idle (over max_connections 512)"
  wait "$attack"
  sed 's/^/  attack /' "$out/attack-over.txt"
  stop_server
}

# Prints /health's status and body: $1 = port.
health() { curl -s -w ' (HTTP %{http_code})' "http://127.0.0.1:$1/health"; echo; }

# One call with curl: its status and fault text. $1 = port, $2 = externalEventId.
one_call() {
  sed "s/5e6c2a7d-8f1b-4c39-9d0e-7a4b3c2d1e0f/$2/" "$fixture" >"$out/one.xml"
  local status
  status=$(curl -s -o "$out/one-answer.xml" -w '%{http_code}' -u bench:bench \
    -H 'Content-Type: text/xml' --data-binary @"$out/one.xml" "http://127.0.0.1:$1/cxf/isc/events")
  echo "HTTP $status $(sed -n 's:.*<faultstring>\(.*\)</faultstring>.*:\1:p' "$out/one-answer.xml")"
}

# Waits until /health says UP (at most 30 s) and prints after how long: $1 = port.
until_up() {
  local start up=""
  start=$(date +%s%N)
  for _ in $(seq 1 300); do
    [[ $(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$1/health") == 200 ]] && { up=1; break; }
    sleep 0.1
  done
  [[ -n $up ]] || die "/health did not say UP within 30 s of the disk growing"
  echo "/health UP again $((($(date +%s%N) - start) / 1000000)) ms after the disk grew: $(health "$1")"
}

# Posts with wrk until the disk is full and beyond, and says how it went: $1 = port, $2 = name,
# $3 = duration.
fill() {
  local db="$disk/data/messages.db"
  post_recorded "$1" 16 "$3" "$2"
  echo "acknowledged: $(wc -l <"$out/acked-$2.txt"); not acknowledged: $(wc -l <"$out/refused-$2.txt"), answered:"
  sed 's/MPL ID for the failed message is : [A-Za-z0-9_-]*/MPL ID for the failed message is : .../' \
    "$out/refused-$2.txt" | sort | uniq -c | sort -rn | head -5 | sed 's/^/  /'
  cat "$out/acked-$2.txt" >>"$out/acked-full-all.txt"
  echo "acknowledged but not COMPLETED in the log: $(missing "$db" "$out/acked-full-all.txt")"
  echo "the log: $(count "$db" COMPLETED) COMPLETED, $(count "$db" PROCESSING) PROCESSING; database $(stat -c %s "$db") bytes, WAL $(stat -c %s "$db-wal" 2>/dev/null || echo 0) bytes; disk: $(df -k --output=avail "$disk" | tail -1 | tr -d ' ') KiB free"
  echo "/health: $(health "$1")"
}

part_full() {
  if [[ $(id -u) -ne 0 ]]; then
    echo "== full disk: skipped, it mounts a tmpfs, which needs root"
    return 0
  fi
  local port=18513 db
  disk="$out/disk"
  mkdir -p "$disk"
  mount -t tmpfs -o "size=${disk_mb}m" tmpfs "$disk"
  mounted=$disk
  db="$disk/data/messages.db"
  : >"$out/acked-full-all.txt"
  config "$disk/data" "$port" >"$out/full.toml"
  echo "== full disk: iflowd on a ${disk_mb} MiB tmpfs, posted to until it is full (wrk, 16 connections, 8 s)"
  start_server full "$port"
  fill "$port" full1 8s
  echo "one more call: $(one_call "$port" full-one)"

  echo "-- the tmpfs grows to $((disk_mb + disk_mb / 2)) MiB; the same process"
  mount -o "remount,size=$((disk_mb + disk_mb / 2))m" "$disk"
  until_up "$port"
  echo "a call: $(one_call "$port" full-two)"
  echo "-- full again (wrk, 4 s)"
  fill "$port" full2 4s

  echo "-- kill -9, and a start on the full disk"
  kill_server
  start_server full "$port"
  echo "/health: $(health "$port")"
  echo "a call: $(one_call "$port" full-three)"
  echo "the monitoring API: HTTP $(curl -s -o /dev/null -w '%{http_code}' -u bench:bench "http://127.0.0.1:$port/api/v1/MessageProcessingLogs?\$top=1")"

  echo "-- the tmpfs grows to $((2 * disk_mb)) MiB; no restart"
  mount -o "remount,size=$((2 * disk_mb))m" "$disk"
  until_up "$port"
  echo "a call: $(one_call "$port" full-four)"
  local missing_now
  missing_now=$(missing "$db" "$out/acked-full-all.txt")
  echo "acknowledged but not COMPLETED in the log: $missing_now of $(wc -l <"$out/acked-full-all.txt"); $(count "$db" ABANDONED) ABANDONED (in flight at the kill), $(count "$db" PROCESSING) PROCESSING, $(count "$db" FAILED) FAILED (handlers run, completion refused, written later)"
  ((missing_now == 0)) || die "$missing_now acknowledged messages are missing from the log"
  stop_server
  umount "$disk"
  mounted=""
}

for part in "${parts[@]}"; do
  case $part in
    crash) part_crash ;;
    slow) part_slow ;;
    full) part_full ;;
    *) die "unknown part $part (crash, slow, full)" ;;
  esac
done
