#!/usr/bin/env bash
# What TLS costs Relay, measured the same way in the same run: WSS handshakes per second (full and
# resumed) with relay-swarm, and gateway fan-out over wss:// next to ws://. relay serve (1 loop)
# on core 0, the swarm on core 1, a fresh server per run, ROUNDS rounds, ws and wss interleaved.
# Loopback only; every run is bounded. Release builds in .build-swarm (built if missing).
#
#   LoadTests/tls_bench.sh                       # 1,000 subscribers, window 16, 10 s, 3 rounds
#   SUBSCRIBERS=5000 DURATION=20 LoadTests/tls_bench.sh
set -euo pipefail
cd "$(dirname "$0")/.."
SUBSCRIBERS=${SUBSCRIBERS:-1000}; WINDOW=${WINDOW:-16}; DURATION=${DURATION:-10}; ROUNDS=${ROUNDS:-3}
HANDSHAKES=${HANDSHAKES:-4000}
BIN=.build-swarm/release
[ -x $BIN/relay ] || swift build -c release --scratch-path .build-swarm --product relay
[ -x $BIN/relay-swarm ] || swift build -c release --scratch-path .build-swarm --product relay-swarm

work=$(mktemp -d /tmp/relay-tls-bench.XXXXXX)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$work/key.pem" -out "$work/cert.pem" \
  -days 2 -subj /CN=localhost -addext subjectAltName=DNS:localhost,IP:127.0.0.1 2>/dev/null
secret=tls-bench-secret-0123456789abcdef-0123456789abcdef-0123456789ab
api_key=tls-bench-api-key-0123456789
cat > "$work/relay.yaml" <<YAML
listen: {host: 127.0.0.1, port: 0, max_connections: 100000}
tls: {port: 0, certificates: [{cert_file: $work/cert.pem, key_file: $work/key.pem}]}
loops: 1
log: {level: warning}
auth: {keys: [{algorithms: [HS256], secret: $secret}]}
admin: {enabled: true, port: 0, api_key: $api_key}
namespaces: {availability: {subscribe: [authenticated], publish: server}}
gateway: {rate_limits: {commands_per_second: 100000, command_burst: 100000, user_commands_per_second: 100000, user_command_burst: 100000}}
YAML

start() { # -> sets pid ws wss api
  taskset -c 0 $BIN/relay serve --config "$work/relay.yaml" > "$work/out" 2> "$work/err" &
  pid=$!
  for _ in $(seq 200); do grep -q "relay admin" "$work/out" 2>/dev/null && break; sleep 0.05; done
  ws=$(sed -n 's|relay listening on \(ws://[^ ]*\) .*|\1|p' "$work/out")
  wss=$(sed -n 's|relay listening on wss://[^:]*:\([0-9]*\)\(/[^ ]*\) .*|wss://localhost:\1\2|p' "$work/out")
  api=$(sed -n 's|relay admin listening on \(http://[^ ]*\)|\1|p' "$work/out")
}
stop() { kill "$pid"; wait "$pid" 2>/dev/null || true; }
field() { sed -n "s/.*\"$1\":\([0-9.]*\).*/\1/p" <<<"$2"; }

export RELAY_SWARM_SECRET=$secret
for round in $(seq "$ROUNDS"); do
  for resume in "" --tls-resume; do
    start
    line=$(taskset -c 1 $BIN/relay-swarm idle --url "$wss" --ca-file "$work/cert.pem" $resume \
      --connections "$HANDSHAKES" --hold 1 2>/dev/null | tail -1)
    echo "round $round handshakes ${resume:-full}: $(field setup_connections_per_s "$line")/s resumed=$(field tls_resumed "$line")"
    stop
  done
  for url in ws wss; do
    start
    target=$ws; tls=(); [ $url = wss ] && { target=$wss; tls=(--ca-file "$work/cert.pem"); }
    line=$(taskset -c 1 $BIN/relay-swarm fanout --url "$target" "${tls[@]}" --api-url "$api" \
      --api-key "$api_key" --secret-env RELAY_SWARM_SECRET --channel availability:bench \
      --subscribers "$SUBSCRIBERS" --window "$WINDOW" --warmup 2 --duration "$DURATION" 2>/dev/null | tail -1)
    echo "round $round fanout $url: deliveries/s=$(field deliveries_per_s "$line") p50_us=$(field p50 "$line") p99_us=$(field p99 "$line") lost=$(field lost "$line")"
    stop
    start
    target=$ws; [ $url = wss ] && target=$wss
    line=$(taskset -c 1 $BIN/relay-swarm idle --url "$target" "${tls[@]}" --gateway --secret-env RELAY_SWARM_SECRET \
      --channel availability:bench --connections "$SUBSCRIBERS" --hold 2 --server-pid "$pid" 2>/dev/null | tail -1)
    echo "round $round idle $url: kib_per_connection=$(field server_kib_per_connection "$line")"
    stop
  done
done
