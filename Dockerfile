# iflowd as a container image.
#
#   docker build -t iflowd .
#   docker run --rm -p 8080:8080 -e IFLOWD_PASSWORD=change-me iflowd
#
# The image runs `iflowd serve` as an unprivileged user (uid 10001) in /data, the working directory
# that relative paths in the configuration (e.g. a `jsonl` handler's file) resolve against; mount a
# volume there to keep them. iflowd is PID 1 and handles SIGTERM itself: `docker stop` lets requests
# in flight finish (up to limits.shutdown_timeout_ms) and exits.
#
# The first build takes a few minutes (about 290 crates; the dependencies are their own layer, so
# changing iflowd's code rebuilds only the crate). The image is debian:bookworm-slim (about 75 MB)
# plus the stripped binary (15 MB) and the CA bundle, without which reqwest refuses to build
# `forward`'s client at all ("No CA certificates were loaded from the system"; bookworm-slim has no
# ca-certificates). Why not smaller, e.g. FROM scratch with the binary and the glibc files it loads
# (about 20 MB): `exec` handlers run programs, and a script needs /bin/sh and the tools it calls,
# which an image FROM this one can add with apt-get; and `docker exec ... sh` stays possible for a
# look inside. A glibc-only base without a shell or apt (distroless/cc, about 25 MB) would cut the
# image to about 40 MB for the same reasons' price.

# ---- build -------------------------------------------------------------------------------------
FROM rust:1.95-slim-bookworm AS build
WORKDIR /src
# The release profile's line tables are for profiling on a workstation; the image's binary is
# stripped, so they are not compiled here at all (set for both cargo steps, or step 2 would
# rebuild step 1's dependencies).
ENV CARGO_PROFILE_RELEASE_DEBUG=false

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

# reqwest (forward's and send's client) needs the system's CAs; bookworm-slim has none.
COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
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
