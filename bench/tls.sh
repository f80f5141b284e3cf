#!/usr/bin/env bash
# HTTPS with a bearer token against plain HTTP with Basic: one iflowd, both listeners, one run.
#
#   bench/tls.sh                    # one round, 10 s per measurement
#   ROUNDS=3 bench/tls.sh           # three alternating rounds, medians reported
#
# One iflowd (release build) serves HTTPS on TLS_PORT ([tls], certificate from `iflowd cert`) and
# plain HTTP on HTTP_PORT ([tls] http_listen), pinned to core SERVER_CPU; wrk runs on core WRK_CPU.
# Each round measures, against the same process (in an order that rotates from round to round):
#   http+basic     POST fixtures/change-in-manager.xml over HTTP with Basic (plain-text password)
#   https+basic    the same over HTTPS (isolates the cost of TLS)
#   https+bearer   the same over HTTPS with Authorization: Bearer <token> (what ISC does)
#   token          POST grant_type=client_credentials to /oauth/token over HTTPS, Basic client
#                  credentials (ISC may fetch a token per event)
# wrk keeps its connections open, so the TLS handshake is paid once per connection, not per
# request; the figures are the steady state of persistent connections. Any answer that is not 200,
# or any socket error, fails the run.
#
# Settings (environment):
#   DURATION=10s  CONNECTIONS=32  THREADS=1  WARMUP=2s  ROUNDS=1
#   SERVER_CPU=0  WRK_CPU=1  TLS_PORT=18443  HTTP_PORT=18080
#   BENCH_NO_BUILD=1  use the release binary already built
#
# Output: wrk's reports, then req/s of each and the ratios. Files in bench/out/tls/ (git-ignored).
set -euo pipefail

cd "$(dirname "$0")/.."
DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-32}
THREADS=${THREADS:-1}
WARMUP=${WARMUP:-2s}
ROUNDS=${ROUNDS:-1}
SERVER_CPU=${SERVER_CPU:-0}
WRK_CPU=${WRK_CPU:-1}
TLS_PORT=${TLS_PORT:-18443}
HTTP_PORT=${HTTP_PORT:-18080}
BODY=fixtures/change-in-manager.xml
USER_NAME=isc
PASSWORD=bench-secret
CLIENT_ID=sb-bench
CLIENT_SECRET=bench-client-secret
OUT=bench/out/tls
mkdir -p "$OUT"

say() { printf '[tls] %s\n' "$*" >&2; }
die() { printf '[tls] error: %s\n' "$*" >&2; exit 1; }

# --- tools ---------------------------------------------------------------------------------------
source bench/lib.sh
need_tools wrk taskset curl
need_cores "$SERVER_CPU" "$WRK_CPU"

# --- binary, certificate, configuration ----------------------------------------------------------
if [[ ${BENCH_NO_BUILD:-} != 1 ]]; then
  say "cargo build --release --locked --bin iflowd"
  cargo build --release --locked --bin iflowd
fi
target_dir=$(target_dir)
iflowd_bin=$target_dir/release/iflowd
[[ -x $iflowd_bin ]] || die "release binary missing under $target_dir/release"

"$iflowd_bin" cert --host 127.0.0.1 --host localhost --out "$OUT" --force >/dev/null
cat >"$OUT/iflowd.toml" <<TOML
listen = "127.0.0.1:$TLS_PORT"
data_dir = "$OUT/data"

# The message log off: every request carries the fixture's one externalEventId, which the log
# would answer as a duplicate (or refuse while a copy runs); bench/store.sh measures the log.
[store]
enabled = false

[[users]]
name = "$USER_NAME"
password = "$PASSWORD"

[[oauth_clients]]
id = "$CLIENT_ID"
secret = "$CLIENT_SECRET"

[tls]
cert = "$OUT/cert.pem"
key = "$OUT/key.pem"
http_listen = "127.0.0.1:$HTTP_PORT"
TOML
"$iflowd_bin" check-config "$OUT/iflowd.toml" >/dev/null

trap stop_server EXIT

taskset -c "$SERVER_CPU" "$iflowd_bin" serve --config "$OUT/iflowd.toml" \
  >"$OUT/iflowd.stdout" 2>"$OUT/iflowd.log" &
server_pid=$!
wait_health "http://127.0.0.1:$HTTP_PORT/health" "$server_pid" "$OUT/iflowd.log"
curl -fsS -o /dev/null --cacert "$OUT/cert.pem" "https://127.0.0.1:$TLS_PORT/health" ||
  die "no answer over HTTPS on 127.0.0.1:$TLS_PORT"

token=$(curl -fsS --cacert "$OUT/cert.pem" -u "$CLIENT_ID:$CLIENT_SECRET" \
  -d grant_type=client_credentials "https://127.0.0.1:$TLS_PORT/oauth/token" |
  sed -n 's/.*"access_token":"\([^"]*\)".*/\1/p')
[[ -n $token ]] || die "no access token from /oauth/token"
printf 'grant_type=client_credentials' >"$OUT/token-form.txt"
basic="Basic $(printf '%s:%s' "$USER_NAME" "$PASSWORD" | base64 -w0)"
client_basic="Basic $(printf '%s:%s' "$CLIENT_ID" "$CLIENT_SECRET" | base64 -w0)"

# run NAME URL AUTH BODY CONTENT_TYPE: prints the req/s of one measured run after a warm-up.
run() {
  local name=$1 url=$2 auth=$3 body=$4 type=$5 report rps
  export BENCH_AUTH=$auth BENCH_BODY=$body BENCH_CONTENT_TYPE=$type
  taskset -c "$WRK_CPU" wrk -t"$THREADS" -c"$CONNECTIONS" -d"$WARMUP" -s bench/post.lua "$url" >/dev/null
  report=$OUT/wrk-$name.txt
  taskset -c "$WRK_CPU" wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency \
    -s bench/post.lua "$url" >"$report"
  sed 's/^/    /' "$report" >&2
  check_report "$name" "$report"
  rps=$(awk '/^Requests\/sec:/ { print $2 }' "$report")
  echo "$rps"
}

endpoint=/cxf/isc/events
xml="text/xml; charset=utf-8"
form="application/x-www-form-urlencoded"
say "wrk -t$THREADS -c$CONNECTIONS -d$DURATION (warm-up $WARMUP), iflowd on core $SERVER_CPU, wrk on core $WRK_CPU"
http_all=() https_all=() bearer_all=() token_all=()
measure() {
  case $1 in
    http) http_all+=("$(run http-basic "http://127.0.0.1:$HTTP_PORT$endpoint" "$basic" "$BODY" "$xml")") ;;
    https) https_all+=("$(run https-basic "https://127.0.0.1:$TLS_PORT$endpoint" "$basic" "$BODY" "$xml")") ;;
    bearer) bearer_all+=("$(run https-bearer "https://127.0.0.1:$TLS_PORT$endpoint" "Bearer $token" "$BODY" "$xml")") ;;
    token) token_all+=("$(run token "https://127.0.0.1:$TLS_PORT/oauth/token" "$client_basic" "$OUT/token-form.txt" "$form")") ;;
  esac
}
# The order rotates from round to round, so no measurement always runs first or last.
order=(http bearer https token)
for round in $(seq 1 "$ROUNDS"); do
  shift_by=$(((round - 1) % 4))
  this_round=("${order[@]:shift_by}" "${order[@]:0:shift_by}")
  for what in "${this_round[@]}"; do
    say "round $round/$ROUNDS: $what"
    measure "$what"
  done
done

http=$(printf '%s\n' "${http_all[@]}" | median)
https=$(printf '%s\n' "${https_all[@]}" | median)
bearer=$(printf '%s\n' "${bearer_all[@]}" | median)
tokens=$(printf '%s\n' "${token_all[@]}" | median)
echo
echo "HTTPS + bearer vs HTTP + Basic, $CONNECTIONS persistent connections, $DURATION per run, $ROUNDS round(s)$( ((ROUNDS > 1)) && echo ', medians')"
printf '  http  + Basic        %10.0f req/s\n' "$http"
printf '  https + Basic        %10.0f req/s\n' "$https"
printf '  https + Bearer       %10.0f req/s\n' "$bearer"
printf '  https token endpoint %10.0f tokens/s\n' "$tokens"
awk -v h="$http" -v s="$https" -v b="$bearer" 'BEGIN {
  printf "  https+bearer / http+basic  %6.1f %%\n", 100 * b / h
  printf "  https+basic  / http+basic  %6.1f %%\n", 100 * s / h
  printf "  https+bearer / https+basic %6.1f %%\n", 100 * b / s
}'
