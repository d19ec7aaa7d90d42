#!/usr/bin/env bash
# Echo throughput of `relay echo` next to peers, measured the same way in the same run:
# server pinned to core 0, load generator to core 1, a fresh server per run, servers interleaved
# over ROUNDS rounds, median reported. Loopback only; every run is bounded in time.
#
#   LoadTests/bench.sh                  # 100 connections, 20-byte messages, 3 rounds
#   CONNS=1000 PAYLOAD=1024 LoadTests/bench.sh
#
# Load generator: wsload (a neutral single-file C client) from WSLOAD_SRC, until the bundled
# swarm client replaces it.
set -euo pipefail
cd "$(dirname "$0")/.."
CONNS=${CONNS:-100}; PAYLOAD=${PAYLOAD:-20}; ROUNDS=${ROUNDS:-3}; WARMUP=${WARMUP:-2}; MEASURE=${MEASURE:-5}
WSLOAD_SRC=${WSLOAD_SRC:-../shared/bench/wsload.c}
PYTHON=${PYTHON:-python3}
[ -f "$WSLOAD_SRC" ] || { echo "wsload source not found at $WSLOAD_SRC (set WSLOAD_SRC)" >&2; exit 2; }
cc -O3 -w -o /tmp/relay-wsload "$WSLOAD_SRC"
[ -x .build/release/relay ] || swift build -c release --product relay

port=19200
start_server() { # name port -> pid on stdout
  local port=$2
  case "$1" in
    relay) taskset -c 0 .build/release/relay echo --host 127.0.0.1 --port $port --loops 1 >/dev/null 2>&1 & ;;
    python-websockets) taskset -c 0 "$PYTHON" LoadTests/peers/python-websockets/echo.py $port >/dev/null 2>&1 & ;;
  esac
  local pid=$!
  for _ in $(seq 100); do (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null && break; sleep 0.05; done
  echo $pid
}

declare -A results
servers=(relay python-websockets)
for round in $(seq "$ROUNDS"); do
  for name in "${servers[@]}"; do
    port=$((port + 1))
    pid=$(start_server "$name" $port)
    line=$(taskset -c 1 /tmp/relay-wsload echo 127.0.0.1 $port "$CONNS" "$PAYLOAD" "$WARMUP" "$MEASURE" "$pid" | grep '^RESULT' || true)
    kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null || true
    rate=$(sed -n 's/.* rate=\([0-9.]*\).*/\1/p' <<<"$line")
    echo "round $round $name: ${rate:-failed} msg/s   $line"
    results[$name]+="${rate:-0} "
  done
done
median() { tr ' ' '\n' <<<"$1" | grep -v '^$' | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
relay=$(median "${results[relay]}")
echo
echo "echo, $CONNS connections, $PAYLOAD-byte messages, median of $ROUNDS:"
for name in "${servers[@]}"; do
  m=$(median "${results[$name]}")
  printf '  %-20s %10.0f msg/s  (relay / %s = %.2f)\n' "$name" "$m" "$name" "$(awk -v a="$relay" -v b="$m" 'BEGIN{print (b>0)?a/b:0}')"
done
