#!/usr/bin/env bash
# Installs what the benchmark peers need; idempotent, and quick when everything is there.
#
#   LoadTests/peers/install.sh            # all peers
#   PYTHON=/path/to/python LoadTests/peers/install.sh
#
# - node-ws: Debian's package node-ws (ws 8.11; the npm registry is not reachable here).
# - python-websockets, picows: pip into PYTHON (default .build-venv/bin/python, created as in
#   the Makefile if missing), at the versions LoadTests/peers/README.md reports.
# - hummingbird: a release build of hummingbird/hummingbird-peer into .build-peers (the first one
#   takes several minutes on 2 cores).
# Relay itself is not a peer: build it with `swift build -c release --product relay --scratch-path .build-swarm`.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
sudo=$([ "$(id -u)" = 0 ] || echo sudo)

if ! dpkg -s node-ws >/dev/null 2>&1; then
  echo "installing node-ws"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq node-ws
fi

# A PYTHON given is used as it is; the default venv is created when missing.
python=${PYTHON:-$root/.build-venv/bin/python}
[ -n "${PYTHON:-}" ] || [ -x "$python" ] || python3 -m venv "$root/.build-venv"
"$python" -m pip install -q --disable-pip-version-check websockets==17.4 picows==2.3.1

# Even a build with nothing to do takes many seconds: skip it while the binary is newer than its sources.
package=$here/hummingbird/hummingbird-peer
binary=$root/.build-peers/release/hummingbird-peer
if [ ! -x "$binary" ] || [ -n "$(find "$package/Package.swift" "$package/Sources" -newer "$binary")" ]; then
  swift build -c release --package-path "$package" --scratch-path "$root/.build-peers" --product hummingbird-peer
  touch "$binary"  # a build that changed nothing may leave the old binary, older than the sources
fi
