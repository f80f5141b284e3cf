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
