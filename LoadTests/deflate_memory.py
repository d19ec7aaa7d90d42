#!/usr/bin/env python3
"""What permessage-deflate costs per connection: `relay echo` with N connections that each sent
one compressible message and received its compressed echo, so every per-connection compressor
and decompressor that the mode needs exists. RSS after minus RSS before, divided by N, next to
the same with compression off, in the same run.

    .build-venv/bin/python LoadTests/deflate_memory.py [--relay .build/release/relay] [--connections 2000]

Loopback only, bounded: N connections (at most 10,000) for a few seconds per mode.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import subprocess
import sys
import tempfile
import time

from websockets.asyncio.client import connect
from websockets.extensions.permessage_deflate import ClientPerMessageDeflateFactory

MESSAGE = json.dumps({"text": "tutoring session notes, again and again. " * 25}).encode()

MODES = [
    # name, relay's compression settings, the client's offer (None: no compression)
    ("off", {"enabled": False}, None),
    ("no context takeover (shared)", {}, dict(server_no_context_takeover=True, client_no_context_takeover=True)),
    ("client keeps context, window 15", {}, dict(client_max_window_bits=True)),
    ("client keeps context, window 10", {"client_max_window_bits": 10}, dict(client_max_window_bits=True)),
    ("both keep context, window 15, memLevel 8", {"context_takeover": True}, dict(client_max_window_bits=True)),
    ("both keep context, window 10, memLevel 4",
     {"context_takeover": True, "window_bits": 10, "mem_level": 4, "client_max_window_bits": 10},
     dict(client_max_window_bits=True)),
]


def rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        return int(re.search(r"VmRSS:\s+(\d+)", status.read())[1])


async def open_all(port: int, count: int, offer: dict | None):
    extensions = None if offer is None else [ClientPerMessageDeflateFactory(**offer)]
    sockets = []
    for start in range(0, count, 200):
        batch = await asyncio.gather(*(connect(f"ws://127.0.0.1:{port}/", compression=None, extensions=extensions,
                                               ping_interval=None, max_size=None)
                                       for _ in range(start, min(count, start + 200))))
        sockets += batch
    for start in range(0, count, 200):
        batch = sockets[start:start + 200]
        await asyncio.gather(*(ws.send(MESSAGE) for ws in batch))
        echoes = await asyncio.gather(*(ws.recv() for ws in batch))
        assert all(echo == MESSAGE for echo in echoes)
    return sockets


def measure(relay: str, count: int, settings: dict, offer: dict | None) -> float:
    with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as config:
        json.dump({"compression": settings, "log": {"level": "error"}}, config)
    server = subprocess.Popen([relay, "echo", "--config", config.name, "--host", "127.0.0.1", "--port", "0",
                               "--loops", "1", "--path", "/"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        port = int(re.search(r":(\d+)/", server.stdout.readline())[1])

        async def run():
            # Warm the loop's shared buffers and zlib state once, then measure.
            warm = await open_all(port, 20, offer)
            for ws in warm:
                await ws.close()
            await asyncio.sleep(0.3)
            before = rss_kib(server.pid)
            sockets = await open_all(port, count, offer)
            await asyncio.sleep(0.5)
            after = rss_kib(server.pid)
            for ws in sockets:
                await ws.close()
            return (after - before) * 1024 / count

        return asyncio.run(run())
    finally:
        server.kill()
        server.wait()
        os.unlink(config.name)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--relay", default=".build/release/relay")
    parser.add_argument("--connections", type=int, default=2000)
    args = parser.parse_args()
    if not 1 <= args.connections <= 10_000:
        parser.error("--connections must be 1..10000")
    print(f"relay echo, 1 loop, {args.connections} connections each after one {len(MESSAGE)}-byte message and its echo")
    baseline = None
    for name, settings, offer in MODES:
        per_connection = measure(args.relay, args.connections, settings, offer)
        baseline = per_connection if baseline is None else baseline
        print(f"{name:45s} {per_connection / 1024:7.1f} KiB/conn  (+{(per_connection - baseline) / 1024:6.1f} KiB over off)")
        sys.stdout.flush()
        time.sleep(0.5)
    return 0


if __name__ == "__main__":
    sys.exit(main())
