# Relay's container image; docs/DEPLOY.md, "Docker". CI does not build it (there is no Docker
# daemon on the CI machine): every line here was checked by reading only.
#
#   docker build -t relay .
#   docker run --rm --ulimit nofile=1048576:1048576 --stop-timeout 30 -p 8080:8080 \
#       -e RELAY_JWT_SECRET=... -e RELAY_API_KEY=... -e RELAY_REDIS_URL=redis://HOST:6379/0 relay
#
# Both stages use Debian 12 (bookworm), the system Relay is developed and tested on: the same
# hiredis (0.14) and OpenSSL (3.0) as the test suite. The runtime must be the build's distribution,
# so that the binary loads the same versions of the shared libraries it was linked against.

ARG SWIFT_IMAGE=swift:6.3-bookworm
ARG RUNTIME_IMAGE=debian:bookworm-slim

# ---- build ---------------------------------------------------------------------------------
FROM ${SWIFT_IMAGE} AS build

RUN export DEBIAN_FRONTEND=noninteractive \
    && apt-get -q update \
    && apt-get -q install -y --no-install-recommends libhiredis-dev libssl-dev zlib1g-dev pkg-config \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /build

# The manifest first (and Package.resolved when the checkout has one; git ignores it): the
# dependencies are fetched in a layer that only a change to them invalidates.
COPY Package.* ./
RUN swift package resolve $([ -f Package.resolved ] && echo --force-resolved-versions)

# Every directory Package.swift puts a target in: SwiftPM checks all of them, the tests' too.
COPY Sources ./Sources
COPY Tests ./Tests
COPY LoadTests ./LoadTests
COPY Fuzz/Harness ./Fuzz/Harness

# relay, and relay-swarm (the load tester, for load tests from inside a replica's container; it
# shares its modules with relay, so it costs little more). The Swift runtime is linked in; the
# binaries need only the system libraries installed below.
RUN swift build -c release --static-swift-stdlib --product relay \
    && swift build -c release --static-swift-stdlib --product relay-swarm \
    && bin="$(swift build -c release --static-swift-stdlib --show-bin-path)" \
    && install -d /staging \
    && install -m 755 "$bin/relay" "$bin/relay-swarm" /usr/libexec/swift/linux/swift-backtrace-static /staging/

# ---- runtime -------------------------------------------------------------------------------
FROM ${RUNTIME_IMAGE}

# The shared libraries relay links (hiredis, OpenSSL, zlib, the C++ runtime of the static Swift
# runtime), CA certificates, and tini: PID 1 that forwards signals to relay and reaps the
# processes relay-swarm --workers starts. Do not add `docker run --init` on top of it.
RUN export DEBIAN_FRONTEND=noninteractive \
    && apt-get -q update \
    && apt-get -q install -y --no-install-recommends libhiredis0.14 libssl3 zlib1g libstdc++6 ca-certificates tini \
    && rm -rf /var/lib/apt/lists/*

RUN groupadd --system --gid 10001 relay \
    && useradd --system --uid 10001 --gid relay --no-create-home --home-dir /nonexistent \
        --shell /usr/sbin/nologin relay

COPY --from=build /staging/relay /staging/relay-swarm /usr/local/bin/
COPY --from=build /staging/swift-backtrace-static /usr/local/libexec/swift-backtrace-static
# relay.docker.yaml (the default below), relay.yaml and relay.dev.yaml. Mount your own config
# over them or next to them; secrets, keys and certificates go in mounted files or the
# environment, never into the image.
COPY config/*.yaml /etc/relay/

# A crash prints a symbolicated backtrace of every thread to standard error.
ENV SWIFT_BACKTRACE=enable=yes,sanitize=yes,threads=all,images=all,interactive=no,swift-backtrace=/usr/local/libexec/swift-backtrace-static

# Numeric, so that Kubernetes' runAsNonRoot can check it. Ports above 1023 need no capability.
USER 10001:10001

# The WebSocket listener (listen.port), the admin listener (admin.port: the server API, /ready,
# /metrics; publish it on a private address only) and the TLS listener (tls.port, on when the
# config has a certificate).
EXPOSE 8080 8081 8443

# SIGTERM drains: each connection gets a `reconnect` push and is closed with 1001 within
# timeouts.drain (10 s), then timeouts.close (5 s) bounds the close handshakes. The stop timeout
# (docker stop -t / docker run --stop-timeout / compose stop_grace_period, default 10 s) must
# exceed drain + close, or the drain is cut short by SIGKILL: use 30 s. SIGHUP reloads the keys
# and the gateway settings (docker kill -s HUP).
STOPSIGNAL SIGTERM

# Open files: one per connection. Relay raises its soft limit to the hard limit and warns when
# that is below listen.max_connections; the hard limit is the container's: run with
# --ulimit nofile=1048576:1048576 (compose: ulimits.nofile).

# GET /health on the WebSocket port without curl: bash's /dev/tcp. It follows RELAY_LISTEN_PORT
# and RELAY_LISTEN_HEALTH_PATH, not a port changed in a mounted config file.
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
    CMD ["bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/${RELAY_LISTEN_PORT:-8080} && printf 'GET %s HTTP/1.1\\r\\nHost: localhost\\r\\n\\r\\n' \"${RELAY_LISTEN_HEALTH_PATH:-/health}\" >&3 && read -r status <&3 && [[ $status == 'HTTP/1.1 200'* ]]"]

ENTRYPOINT ["/usr/bin/tini", "--", "/usr/local/bin/relay"]
CMD ["serve", "--config", "/etc/relay/relay.docker.yaml"]
