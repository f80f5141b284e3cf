#!/usr/bin/env bash
# What a new user waits for on a fresh clone (issue 16), measured the same way every time:
#
#   bench/first-run.sh              the current commit (HEAD)
#   bench/first-run.sh c4fe74d      any other commit, e.g. the one before a change
#   KEEP=1 bench/first-run.sh       keep the temporary directory (clone, CARGO_HOME, target/)
#   IDLE_WAIT=0 bench/first-run.sh  do not wait for an idle machine first (see lib.sh)
#
# 1. `git clone` of the commit into a temporary directory, with an empty CARGO_HOME of its own
#    (so crates are downloaded as on a new machine; ~/.cargo and every other target/ are left
#    alone) and the clone's own, empty target/.
# 2. `cargo build --release --locked --timings` there: wall, user and system time, cargo's unit
#    count and the ten slowest units (from cargo's timing report, copied to bench/out/first-run/).
# 3. `scripts/test` in the same clone (its own venv and node_modules; crates already downloaded,
#    the debug build cold): wall time, then the size of target/ (release + debug, as a user who
#    ran both has it) and of its debug part alone.
#
# The load average is printed next to each figure: on a busy machine the times are upper bounds.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

say() { printf 'first-run: %s\n' "$*" >&2; }
die() {
    say "$*"
    exit 1
}
# shellcheck source=bench/lib.sh
source bench/lib.sh

command -v python3 >/dev/null || die "python3 is needed (to read cargo's timing report)"
[[ -x /usr/bin/time ]] || die "/usr/bin/time is needed (apt-get install time)"

commit=$(git rev-parse --verify "${1:-HEAD}^{commit}")
short=$(git rev-parse --short "$commit")
out=bench/out/first-run
mkdir -p "$out"
work=$(mktemp -d "${TMPDIR:-/tmp}/iflowd-first-run.XXXXXX")
cleanup() {
    if [[ -n ${KEEP:-} ]]; then
        say "kept $work"
    else
        rm -rf "$work"
    fi
}
trap cleanup EXIT

load() { cut -d' ' -f1-3 /proc/loadavg; }
# Runs "$@" in the clone with the fresh CARGO_HOME, printing wall/user/sys into $work/time.
timed() {
    (cd "$work/iflowd" && env -u CARGO_TARGET_DIR -u CARGO_BUILD_TARGET_DIR -u RUSTC_WRAPPER \
        CARGO_HOME="$work/cargo-home" /usr/bin/time -f '%e %U %S' -o "$work/time" "$@")
}
minutes() { awk -v s="$1" 'BEGIN { printf "%dm%04.1fs", s / 60, s - 60 * int(s / 60) }'; }
size() { du -sh "$1" 2>/dev/null | cut -f1; }

say "commit $short ($(git log -1 --format=%s "$commit" | cut -c1-60))"
git clone --quiet --no-checkout "$PWD" "$work/iflowd"
git -C "$work/iflowd" checkout --quiet --detach "$commit"
mkdir -p "$work/cargo-home"
wait_idle

# ---- 1. cargo build --release, cold -------------------------------------------------------------
say "cargo build --release --locked --timings (cold: empty CARGO_HOME and target/)"
before=$(load)
timed cargo build --release --locked --timings
read -r wall user sys <"$work/time"
after=$(load)
report=$work/iflowd/target/cargo-timings/cargo-timing.html
cp "$report" "$out/$short-release.html"

summary=$out/$short.txt
{
    echo "commit $short, $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, $(rustc --version)"
    echo
    echo "cargo build --release --locked --timings, cold: $(minutes "$wall") real" \
        "($(minutes "$user") user, $(minutes "$sys") sys); load average before $before, after $after"
    python3 - "$report" <<'EOF'
import json, re, sys
html = open(sys.argv[1], encoding="utf-8").read()
units = json.loads(re.search(r"const UNIT_DATA = (\[.*?\n\]);", html, re.S).group(1))
print(f"{len(units)} units; the ten slowest:")
for u in sorted(units, key=lambda u: -u["duration"])[:10]:
    what = u["target"].strip() or "lib"
    if u["mode"] == "run-custom-build":
        what = "build script (run)"
    print(f"  {u['duration']:6.1f} s  {u['name']} {u['version']} {what}")
EOF
} | tee "$summary"

# ---- 2. scripts/test in the same clone ----------------------------------------------------------
say "scripts/test (its own venv and node_modules, debug build cold)"
before=$(load)
timed scripts/test 2>&1 | tee "$work/test.log" >&2 || die "scripts/test failed (see above)"
read -r wall user sys <"$work/time"
after=$(load)
{
    echo
    echo "scripts/test in the fresh clone: $(minutes "$wall") real ($(minutes "$user") user," \
        "$(minutes "$sys") sys); load average before $before, after $after"
    grep -E '^test result:' "$work/test.log" | sed 's/^/  /'
    echo "target/ afterwards: $(size "$work/iflowd/target") (debug $(size "$work/iflowd/target/debug"), release $(size "$work/iflowd/target/release"))"
    echo "CARGO_HOME (downloaded crates): $(size "$work/cargo-home")"
} | tee -a "$summary"
say "summary in $summary, cargo's timing report in $out/$short-release.html"
