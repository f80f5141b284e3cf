# Shared by the bench/*.sh scripts (sourced, after each defines say and die).

# Installs wrk when it is missing (apt-get; sudo when not root), then checks every tool named.
need_tools() {
  if ! command -v wrk >/dev/null; then
    say "installing wrk"
    if [[ $(id -u) -eq 0 ]]; then
      apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null
    else
      sudo apt-get update -qq >/dev/null && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null
    fi
  fi
  local tool
  for tool in "$@"; do
    command -v "$tool" >/dev/null || die "$tool is needed"
  done
}

# Checks that cores $1 (server) and $2 (wrk) exist.
need_cores() {
  local cpus
  cpus=$(nproc --all)
  (($1 < cpus && $2 < cpus)) || die "cores $1 and $2 needed, $cpus present"
}

# Cargo's target directory (CARGO_TARGET_DIR or the workspace's).
target_dir() {
  cargo metadata --format-version 1 --no-deps | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p'
}

# The median of the numbers on standard input, one per line.
median() {
  sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# Waits until the machine is at least 90 % idle for 2 s in a row (at most IDLE_WAIT seconds, 300 by
# default; 0 does not wait) and says what it saw: other work on a 2-core machine skews the figures.
wait_idle() {
  local max=${IDLE_WAIT:-300}
  ((max > 0)) || return 0
  local seen
  seen=$(
    idle() { read -r _ u n s i w x y z _ </proc/stat; echo $((i + w)) $((u + n + s + i + w + x + y + z)); }
    ok=0
    for ((t = 0; t < max; t++)); do
      read -r i1 a1 < <(idle); sleep 1; read -r i2 a2 < <(idle)
      pct=$((100 * (i2 - i1) / (a2 - a1)))
      if ((pct >= 90)); then ok=$((ok + 1)); else ok=0; fi
      ((ok >= 2)) && { echo "idle ($pct%) after ${t}s"; exit 0; }
    done
    echo "not idle after ${max}s"
  ) || true
  say "machine: $seen; load average $(cut -d' ' -f1-3 /proc/loadavg)"
}

# Polls the URL $1 (a /health) for at most 10 s while process $2 runs; dies when the process
# exits or the URL never answers, showing the end of the server's log $3 when given.
wait_health() {
  local url=$1 pid=$2 log=${3:-}
  for _ in $(seq 1 100); do
    curl -fsS -o /dev/null "$url" 2>/dev/null && return 0
    kill -0 "$pid" 2>/dev/null || { show_log "$log"; die "the server (pid $pid) exited during start-up"; }
    sleep 0.1
  done
  show_log "$log"
  die "no answer on $url within 10 s"
}

# Like wait_health, but any HTTP answer will do: a server that started on a full disk answers
# /health with 503 (bench/reliability.sh).
wait_listening() {
  local url=$1 pid=$2 log=${3:-}
  for _ in $(seq 1 100); do
    [[ $(curl -s -o /dev/null -w '%{http_code}' "$url" 2>/dev/null) != 000 ]] && return 0
    kill -0 "$pid" 2>/dev/null || { show_log "$log"; die "the server (pid $pid) exited during start-up"; }
    sleep 0.1
  done
  show_log "$log"
  die "no answer on $url within 10 s"
}

# The last lines of the log file $1, if there is one, on standard error.
show_log() {
  [[ -n $1 && -s $1 ]] || return 0
  echo "--- the end of $1:" >&2
  tail -n 20 "$1" >&2
}

# Stops the server whose pid is in server_pid, if any (e2e.sh and tls.sh: their EXIT trap).
server_pid=""
stop_server() {
  if [[ -n $server_pid ]]; then
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
    server_pid=""
  fi
}

# The CPU time so far (user + system, all threads) of process $1, in clock ticks.
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

# The median of a space-separated list.
median_of() { tr ' ' '\n' <<<"$1" | grep . | median; }

# Dies unless the wrk report $2 (of bench/post.lua) says every answer was 200 and no socket
# failed, and has a Requests/sec line; $1 names the run.
check_report() {
  local name=$1 report=$2
  grep -q '^non-200 responses: 0 of ' "$report" || die "$name: some answers were not 200 (see $report)"
  grep -q '^socket errors: connect 0, read 0, write 0, timeout 0' "$report" ||
    die "$name: socket errors (see $report)"
  grep -q '^Requests/sec:' "$report" || die "$name: no Requests/sec in $report"
}

# The configuration of one iflowd under load (bench/store.sh, bench/profile.sh): the bench user,
# warnings only, the message log on for $1 = on or async (async: the default endpoint with
# delivery = "async"), off for anything else; $2 the port, $3 the data directory, $4 whether
# bodies are stored (default true).
bench_config() {
    local side=$1 enabled=false
    [[ $side == on || $side == async ]] && enabled=true
    cat <<TOML
listen = "127.0.0.1:$2"
data_dir = "$3"

[store]
enabled = $enabled
payloads = ${4:-true}

[log]
level = "warn"

[[users]]
name = "bench"
password = "bench"
TOML
    [[ $side == async ]] || return 0
    cat <<TOML

[[endpoints]]
name = "ISC_Events"
adapter = "soap"
address = "/isc/events"
delivery = "async"
TOML
}
