# iflowd as a container image.
#
#   docker build -t iflowd .
#   docker run --rm -p 8080:8080 -e IFLOWD_PASSWORD=change-me iflowd
#
# The image runs `iflowd serve` as an unprivileged user (uid 10001) in /data, the working directory
# that relative paths in the configuration (e.g. a `jsonl` handler's file) resolve against; mount a
# volume there to keep them. iflowd is PID 1 and handles SIGTERM itself: `docker stop` lets requests
# in flight finish (up to limits.shutdown_timeout_ms) and exits.

# ---- build -------------------------------------------------------------------------------------
FROM rust:1.95-slim-bookworm AS build
WORKDIR /src

# 1. Dependencies only, in their own layer: the manifest, the lock file and stub targets. This layer
#    is rebuilt only when Cargo.toml or Cargo.lock change. The stubs cover every target the manifest
#    declares (the library, the binary, and the bench/example targets under bench/), so cargo can
#    load the manifest.
COPY Cargo.toml Cargo.lock ./
RUN mkdir -p src bench \
 && echo 'fn main() {}' > src/main.rs \
 && touch src/lib.rs \
 && for f in $(grep -o 'bench/[A-Za-z0-9_]*\.rs' Cargo.toml); do echo 'fn main() {}' > "$f"; done \
 && cargo build --release --locked --bin iflowd \
 && rm -rf src bench \
    target/release/iflowd target/release/deps/iflowd-* target/release/deps/libiflowd-* \
    target/release/.fingerprint/iflowd-*

# 2. The crate itself. wsdl/ is embedded with include_str!; bench/ holds targets the manifest names.
COPY src ./src
COPY wsdl ./wsdl
COPY bench ./bench
# The release profile keeps line tables for profiling; the image's copy is stripped of them.
RUN touch src/main.rs src/lib.rs \
 && cargo build --release --locked --bin iflowd \
 && install -s -m 0755 target/release/iflowd /usr/local/bin/iflowd

# ---- runtime -----------------------------------------------------------------------------------
FROM debian:bookworm-slim

ARG UID=10001
RUN groupadd --system --gid "${UID}" iflowd \
 && useradd --system --uid "${UID}" --gid iflowd --home-dir /data --no-create-home \
      --shell /usr/sbin/nologin iflowd \
 && mkdir -p /data \
 && chown iflowd:iflowd /data

COPY --from=build /usr/local/bin/iflowd /usr/local/bin/iflowd

USER 10001:10001
WORKDIR /data
ENV IFLOWD_LISTEN=0.0.0.0:8080
EXPOSE 8080

# `iflowd healthcheck` does a GET /health on IFLOWD_LISTEN over plain TCP: no curl in the image.
HEALTHCHECK --interval=30s --timeout=5s --start-period=5s --retries=3 \
  CMD ["iflowd", "healthcheck"]

STOPSIGNAL SIGTERM
ENTRYPOINT ["iflowd"]
CMD ["serve"]
