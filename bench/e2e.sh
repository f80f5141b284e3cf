#!/usr/bin/env bash
# End-to-end throughput: iflowd against a bare axum handler, same request, same machine.
#
#   bench/e2e.sh                      # one round, 10 s per server, logs to a file
#   ROUNDS=3 bench/e2e.sh             # three alternating rounds, medians reported
#   LOG=null bench/e2e.sh             # iflowd's log lines to /dev/null instead of a file
#
# Each server runs pinned to core SERVER_CPU (0), wrk to core WRK_CPU (1): on a 2-core machine the
# server has one core to itself and its tokio runtime sizes itself to that core. The request is
# fixtures/change-in-manager.xml with Basic credentials and Content-Type text/xml, posted by
# bench/post.lua, which also counts answers that are not 200; any such answer fails the run.
#
# iflowd runs with its default endpoint (`log` handler) and the message log (SQLite store) turned
# OFF, through a configuration file written to bench/out/e2e-iflowd.toml: this benchmark is the
# core path (HTTP, Basic auth, parsing, the chain, the log line, the answer). The fixture's constant
# externalEventId would make every repeat a duplicate with the store on; the store's own cost is
# bench/store.sh's business.
#
# Before each measured run the script waits (at most IDLE_WAIT seconds, 300) for the machine to be
# at least 90 % idle for 2 s (`wait_idle` in bench/lib.sh) and prints
# the load average it saw, since other work on a 2-core machine skews the figures.
#
# Settings (environment):
#   DURATION=10s  CONNECTIONS=32  THREADS=1  WARMUP=2s  ROUNDS=1
#   SERVER_CPU=0  WRK_CPU=1  IFLOWD_PORT=18080  BARE_PORT=18081
#   LOG=file|null   where iflowd's standard error (one `log` handler line per event) goes:
#                   file = bench/out/iflowd.log (the default, as a deployment would keep it),
#                   null = /dev/null
#   IFLOWD_LOG      passed through to iflowd (tracing filter; default: iflowd's own, info), and so
#                   is NO_COLOR (no ANSI colour codes in the log lines)
#   BENCH_NO_BUILD=1  use the release binaries already built
#   IFLOWD_BIN=path   measure that iflowd binary instead of this tree's (e.g. an older build, to
#                     compare before and after a change in one run)
#   IDLE_WAIT=300     seconds to wait for an idle machine before each run (0: do not wait)
#
# Output: wrk's report for each run, then a summary: req/s and server CPU time per request of
# each, and the ratio of the req/s; a warning when a server did not keep its core busy (a shared
# machine: the figures are then not comparable). See bench/README.md. Files in bench/out/
# (git-ignored): the wrk reports and iflowd's log of the last round.
set -euo pipefail

cd "$(dirname "$0")/.."
DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-32}
THREADS=${THREADS:-1}
WARMUP=${WARMUP:-2s}
ROUNDS=${ROUNDS:-1}
SERVER_CPU=${SERVER_CPU:-0}
WRK_CPU=${WRK_CPU:-1}
IFLOWD_PORT=${IFLOWD_PORT:-18080}
BARE_PORT=${BARE_PORT:-18081}
LOG=${LOG:-file}
IDLE_WAIT=${IDLE_WAIT:-300}
BODY=fixtures/change-in-manager.xml
USER_NAME=isc
PASSWORD=bench-secret
OUT=bench/out
mkdir -p "$OUT"

say() { printf '[e2e] %s\n' "$*" >&2; }
die() { printf '[e2e] error: %s\n' "$*" >&2; exit 1; }

case "$LOG" in
  file) iflowd_stderr=$OUT/iflowd.log ;;
  null) iflowd_stderr=/dev/null ;;
  *) die "LOG must be file or null, not '$LOG'" ;;
esac

# --- tools ---------------------------------------------------------------------------------------
source bench/lib.sh
need_tools wrk taskset curl
need_cores "$SERVER_CPU" "$WRK_CPU"
[[ $SERVER_CPU != "$WRK_CPU" ]] || say "warning: server and wrk share core $SERVER_CPU"

# --- binaries ------------------------------------------------------------------------------------
if [[ ${BENCH_NO_BUILD:-} != 1 ]]; then
  say "cargo build --release --locked --bin iflowd --example bare_server"
  cargo build --release --locked --bin iflowd --example bare_server
fi
target_dir=$(target_dir)
iflowd_bin=${IFLOWD_BIN:-$target_dir/release/iflowd}
bare_bin=$target_dir/release/examples/bare_server
[[ -x $iflowd_bin && -x $bare_bin ]] || die "release binaries missing under $target_dir/release"

# --- servers -------------------------------------------------------------------------------------
trap stop_server EXIT

# The core path only: the default endpoint and user, the message log off (see the top).
IFLOWD_CONFIG_FILE=$OUT/e2e-iflowd.toml
cat >"$IFLOWD_CONFIG_FILE" <<'TOML'
# Written by bench/e2e.sh: iflowd's defaults with the message log (SQLite store) off.
[store]
enabled = false
TOML

start_iflowd() {
  : >"$OUT/iflowd.log"
  IFLOWD_LISTEN=127.0.0.1:$IFLOWD_PORT IFLOWD_USER=$USER_NAME IFLOWD_PASSWORD=$PASSWORD \
    taskset -c "$SERVER_CPU" "$iflowd_bin" serve --config "$IFLOWD_CONFIG_FILE" \
    >"$OUT/iflowd.stdout" 2>"$iflowd_stderr" &
  server_pid=$!
  wait_health "http://127.0.0.1:$IFLOWD_PORT/health" "$server_pid" "$iflowd_stderr"
}

start_bare() {
  taskset -c "$SERVER_CPU" "$bare_bin" "127.0.0.1:$BARE_PORT" >"$OUT/bare.stdout" 2>&1 &
  server_pid=$!
  wait_health "http://127.0.0.1:$BARE_PORT/health" "$server_pid" "$OUT/bare.stdout"
}

# --- load ----------------------------------------------------------------------------------------
export BENCH_BODY=$BODY
BENCH_AUTH="Basic $(printf '%s:%s' "$USER_NAME" "$PASSWORD" | base64 -w0)"
export BENCH_AUTH

sys_ticks() { awk '{ print $15 }' "/proc/$1/stat"; }

HZ=$(getconf CLK_TCK)

# run NAME PORT: one measured run (after a warm-up); checks its answers and prints
# "REQ/S BUSY CPU_US SYS_US": BUSY is the share of its core the server used (%), well under 100
# meaning that something else ran on that core or the server waited on something other than the
# CPU; CPU_US is the server's CPU time (user + system) per request, in µs, SYS_US the part of it
# spent in the kernel (system calls, network stack).
run() {
  local name=$1 port=$2 url report status rps t0 t1 n0 n1 s0 s1 busy requests cpu_us sys_us
  url=http://127.0.0.1:$port/cxf/isc/events
  status=$(curl -sS -o /dev/null -w '%{http_code}' -u "$USER_NAME:$PASSWORD" \
    -H 'Content-Type: text/xml' --data-binary "@$BODY" "$url")
  [[ $status == 200 ]] || die "$name answered $status to a single request"
  wait_idle
  taskset -c "$WRK_CPU" wrk -t"$THREADS" -c"$CONNECTIONS" -d"$WARMUP" -s bench/post.lua "$url" >/dev/null
  report=$OUT/wrk-$name.txt
  t0=$(cpu_ticks "$server_pid") s0=$(sys_ticks "$server_pid") n0=$(date +%s%N)
  taskset -c "$WRK_CPU" wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency \
    -s bench/post.lua "$url" >"$report"
  t1=$(cpu_ticks "$server_pid") s1=$(sys_ticks "$server_pid") n1=$(date +%s%N)
  busy=$(awk -v t=$((t1 - t0)) -v ns=$((n1 - n0)) -v hz="$HZ" 'BEGIN { printf "%.0f", 100 * t / hz / (ns / 1e9) }')
  sed 's/^/    /' "$report" >&2
  check_report "$name" "$report"
  rps=$(awk '/^Requests\/sec:/ { print $2 }' "$report")
  requests=$(awk '/^non-200 responses:/ { print $5 }' "$report")
  cpu_us=$(awk -v t=$((t1 - t0)) -v hz="$HZ" -v n="$requests" 'BEGIN { printf "%.1f", 1e6 * t / hz / n }')
  sys_us=$(awk -v t=$((s1 - s0)) -v hz="$HZ" -v n="$requests" 'BEGIN { printf "%.1f", 1e6 * t / hz / n }')
  echo "$rps $busy $cpu_us $sys_us"
}

say "wrk -t$THREADS -c$CONNECTIONS -d$DURATION (warm-up $WARMUP), server on core $SERVER_CPU, wrk on core $WRK_CPU"
say "iflowd log: $([[ $LOG == file ]] && echo "$OUT/iflowd.log" || echo /dev/null), filter ${IFLOWD_LOG:-info (default)}"
say "iflowd configuration: $IFLOWD_CONFIG_FILE (message log off)"
bare_all=() iflowd_all=() busy_all=() bare_cpu=() iflowd_cpu=() bare_sys=() iflowd_sys=()
for round in $(seq 1 "$ROUNDS"); do
  say "round $round/$ROUNDS: bare axum handler"
  start_bare
  read -r rps busy cpu sys < <(run bare "$BARE_PORT") || exit 1
  [[ -n $rps ]] || exit 1
  bare_all+=("$rps") busy_all+=("$busy") bare_cpu+=("$cpu") bare_sys+=("$sys")
  stop_server
  say "round $round/$ROUNDS: iflowd"
  start_iflowd
  read -r rps busy cpu sys < <(run iflowd "$IFLOWD_PORT") || exit 1
  [[ -n $rps ]] || exit 1
  iflowd_all+=("$rps") busy_all+=("$busy") iflowd_cpu+=("$cpu") iflowd_sys+=("$sys")
  stop_server
  say "round $round/$ROUNDS: bare ${bare_all[-1]} req/s (core ${busy_all[-2]}% busy, ${bare_cpu[-1]} µs CPU/request, ${bare_sys[-1]} in the kernel)," \
    "iflowd ${iflowd_all[-1]} req/s (core ${busy_all[-1]}% busy, ${iflowd_cpu[-1]} µs CPU/request, ${iflowd_sys[-1]} in the kernel)"
done

bare=$(printf '%s\n' "${bare_all[@]}" | median)
iflowd=$(printf '%s\n' "${iflowd_all[@]}" | median)
log_lines=$([[ $LOG == file ]] && wc -l <"$OUT/iflowd.log" || echo "n/a")
echo
echo "end-to-end, $CONNECTIONS connections, $DURATION per run, $ROUNDS round(s)$( ((ROUNDS > 1)) && echo ', medians')"
bare_us=$(printf '%s\n' "${bare_cpu[@]}" | median)
iflowd_us=$(printf '%s\n' "${iflowd_cpu[@]}" | median)
bare_sys_us=$(printf '%s\n' "${bare_sys[@]}" | median)
iflowd_sys_us=$(printf '%s\n' "${iflowd_sys[@]}" | median)
printf '  bare axum handler  %10.0f req/s   %6.1f µs server CPU per request (%.1f in the kernel)\n' \
  "$bare" "$bare_us" "$bare_sys_us"
printf '  iflowd             %10.0f req/s   %6.1f µs server CPU per request (%.1f in the kernel)\n' \
  "$iflowd" "$iflowd_us" "$iflowd_sys_us"
printf '  iflowd             message log off (%s)\n' "$IFLOWD_CONFIG_FILE"
printf '  iflowd log         %s (%s lines from the last iflowd), filter %s\n' \
  "$([[ $LOG == file ]] && echo "$OUT/iflowd.log" || echo /dev/null)" "$log_lines" "${IFLOWD_LOG:-info}"
awk -v i="$iflowd" -v b="$bare" 'BEGIN { printf "  ratio              %10.1f %%   (target: at least 55 %%)\n", 100 * i / b }'
for busy in "${busy_all[@]}"; do
  if ((busy < 90)); then
    echo "  warning: a server used only $busy% of core $SERVER_CPU in one run: something else was running"
    echo "  there (see 'top'), or the server was waiting; the figures are not comparable"
    break
  fi
done
