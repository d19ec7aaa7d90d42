#!/usr/bin/env bash
# Starts one benchmark server in the foreground, on 127.0.0.1:PORT, single-threaded:
#
#   LoadTests/peers/start.sh NAME MODE PORT
#     NAME  relay | python-websockets | picows | node-ws | hummingbird
#     MODE  echo | broadcast
#
# It execs the server, so a bench script's $! is the server's pid (for wsload's CPU and memory
# figures, and for kill):  taskset -c 0 LoadTests/peers/start.sh node-ws broadcast 19001 &
# Binaries and interpreters: RELAY_BIN (default .build-swarm/release/relay), HUMMINGBIRD_BIN
# (default .build-peers/release/hummingbird-peer), PYTHON (default .build-venv/bin/python),
# NODE (default node). LoadTests/peers/install.sh installs the peers.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)

usage() { echo "usage: $0 relay|python-websockets|picows|node-ws|hummingbird echo|broadcast PORT" >&2; exit 2; }
[ $# -eq 3 ] || usage
name=$1 mode=$2 port=$3
[[ $mode == echo || $mode == broadcast ]] || usage
[[ $port =~ ^[0-9]+$ ]] || usage

python=${PYTHON:-$root/.build-venv/bin/python}
case $name in
  relay)
    flags=(echo --host 127.0.0.1 --port "$port" --loops 1)
    [ "$mode" = broadcast ] && flags+=(--broadcast)
    exec "${RELAY_BIN:-$root/.build-swarm/release/relay}" "${flags[@]}" ;;
  python-websockets | picows)
    exec "$python" "$here/$name/$mode.py" "$port" ;;
  node-ws)
    exec "${NODE:-node}" "$here/node-ws/$mode.js" "$port" ;;
  hummingbird)
    exec "${HUMMINGBIRD_BIN:-$root/.build-peers/release/hummingbird-peer}" "$mode" "$port" ;;
  *)
    usage ;;
esac
