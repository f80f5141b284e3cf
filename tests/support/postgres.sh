#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for one test run: `postgres.sh DIR` makes a cluster in DIR
# (initdb, trust authentication for local connections only), starts it on a free port on
# 127.0.0.1 (its Unix socket in DIR too), prints `ready PORT` on standard output, and then waits
# for its standard input to close: whoever started it holds that pipe for as long as it needs the
# server, and when it exits, however it exits (kill -9 included), the pipe closes and the server
# is stopped and DIR removed. Never a system service: nothing outside DIR is touched.
#
# PostgreSQL refuses to run as root; as root (CI), initdb and the server run as the `postgres`
# user that Debian's package creates (runuser). The tests start this from tests/it/common/postgres.rs
# and src/store/postgres/test_cluster.rs; bench/lib.sh starts one for the benchmarks
# (POSTGRES_FSYNC=on keeps fsync on, as a real server has it). POSTGRES_SSL_DIR=DIR, a directory
# with server.crt and server.key (PEM), turns TLS on (ssl = on; plain connections still work).
set -euo pipefail
dir=$1
fsync=${POSTGRES_FSYNC:-off}

bin=
if command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1; then
    bin=$(dirname "$(command -v pg_ctl)")
else
    for candidate in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
        if [[ -x $candidate/initdb && -x $candidate/pg_ctl ]]; then bin=$candidate; break; fi
    done
fi
if [[ -z $bin ]]; then
    echo "PostgreSQL's server programs (initdb, pg_ctl) are not installed: run scripts/test, which installs Debian's postgresql package" >&2
    exit 1
fi

as=()
if [[ "$(id -u)" == 0 ]]; then
    as=(runuser -u postgres --)
    chown postgres "$dir"
fi
run() { "${as[@]}" "$@"; }

stop() {
    run "$bin/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
    rm -rf "$dir"
}

run "$bin/initdb" -D "$dir/data" -A trust -U postgres -E UTF8 --locale=C --no-sync \
    >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; exit 1; }
trap stop EXIT
trap 'exit 1' INT TERM HUP

ssl=()
if [[ -n ${POSTGRES_SSL_DIR:-} ]]; then
    cp "$POSTGRES_SSL_DIR/server.crt" "$POSTGRES_SSL_DIR/server.key" "$dir/data/"
    chmod 600 "$dir/data/server.key"
    [[ ${#as[@]} -eq 0 ]] || chown postgres "$dir/data/server.crt" "$dir/data/server.key"
    ssl=(-c ssl=on)
fi

# A free port: PostgreSQL cannot be told to pick one, so try a few at random.
for attempt in 1 2 3 4 5 6 7 8; do
    port=$((20000 + RANDOM % 40000))
    if run "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 start -o \
        "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=$fsync -c max_connections=400 \
         -c shared_buffers=64MB ${ssl[*]:-}" >/dev/null 2>&1; then
        echo "ready $port"
        # Until whoever started us goes away.
        cat >/dev/null || true
        exit 0
    fi
done
echo "PostgreSQL did not start; its log:" >&2
cat "$dir/server.log" >&2 || true
exit 1
