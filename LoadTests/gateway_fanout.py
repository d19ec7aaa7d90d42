"""Gateway load probe: N authenticated connections subscribed to one channel; the server's
resident memory per connection; then publications through the server API fanned out to all of
them, timed until every subscriber has every one. Loopback only, bounded counts and time.

    python3 LoadTests/gateway_fanout.py --conns 5000 --publications 20

Starts its own `relay serve` (release build) with a config of its own. The client is Python:
above some thousands of deliveries a second it is the bottleneck, and the script says so by
reporting its own CPU time next to the wall time. The bundled swarm client replaces this for
large runs.
"""
import argparse
import asyncio
import json
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
import urllib.request

import jwt
from websockets.asyncio.client import connect

SECRET = "load-test-secret-0123456789abcdef"
API_KEY = "load-test-api-key-0123456789"


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def start_relay(binary, loops):
    config = {
        "listen": {"host": "127.0.0.1", "port": 0, "max_connections": 100000},
        "loops": loops,
        "log": {"level": "warning"},
        "auth": {"keys": [{"algorithms": ["HS256"], "secret": SECRET}]},
        "admin": {"enabled": True, "port": 0, "api_key": API_KEY},
        "namespaces": {"room": {"subscribe": ["authenticated"], "publish": "server"}},
        "gateway": {"rate_limits": {"commands_per_second": 100000, "command_burst": 100000}},
    }
    path = tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False)
    path.write(json.dumps(config))
    path.close()
    proc = subprocess.Popen([binary, "serve", "--config", path.name], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True)
    ws_port = int(re.search(r":(\d+)/ws", proc.stdout.readline()).group(1))
    admin_port = int(re.search(r":(\d+)$", proc.stdout.readline().strip()).group(1))
    return proc, ws_port, admin_port


def publish(admin_port, n):
    body = json.dumps({"channel": "room:load", "data": {"n": n, "t": time.time()}}).encode()
    request = urllib.request.Request(f"http://127.0.0.1:{admin_port}/api/publish", data=body, method="POST",
                                     headers={"Authorization": f"Bearer {API_KEY}"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


async def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--conns", type=int, default=5000)
    parser.add_argument("--publications", type=int, default=20)
    parser.add_argument("--loops", type=int, default=1)
    parser.add_argument("--binary", default=".build/release/relay")
    args = parser.parse_args()
    assert args.conns <= 15000, "one process may open at most 20,000 files"

    proc, ws_port, admin_port = start_relay(args.binary, args.loops)
    try:
        await asyncio.sleep(0.5)
        base_kib = rss_kib(proc.pid)
        token = jwt.encode({"sub": "load", "exp": int(time.time()) + 3600}, SECRET, algorithm="HS256")
        url = f"ws://127.0.0.1:{ws_port}/ws"
        clients = []
        started = time.monotonic()
        semaphore = asyncio.Semaphore(200)

        async def open_one(index):
            async with semaphore:
                ws = await connect(url, subprotocols=["relay.v1"], additional_headers={"Authorization": f"Bearer {token}"},
                                   ping_interval=None, max_queue=None, compression=None)
                await ws.send(json.dumps({"id": 1, "cmd": "subscribe", "channel": "room:load"}))
                reply = json.loads(await ws.recv())
                assert "result" in reply, reply
                clients.append(ws)

        await asyncio.wait_for(asyncio.gather(*[open_one(i) for i in range(args.conns)]), timeout=300)
        established = time.monotonic() - started
        await asyncio.sleep(1.0)
        idle_kib = rss_kib(proc.pid)
        per_conn = (idle_kib - base_kib) / args.conns

        received = [0] * len(clients)

        async def drain(index, ws):
            while received[index] < args.publications:
                message = json.loads(await ws.recv())
                if message.get("push") == "publication":
                    received[index] += 1

        cpu0 = resource.getrusage(resource.RUSAGE_SELF)
        t0 = time.monotonic()
        readers = asyncio.gather(*[drain(i, ws) for i, ws in enumerate(clients)])
        for n in range(args.publications):
            await asyncio.to_thread(publish, admin_port, n)
        await asyncio.wait_for(readers, timeout=300)
        elapsed = time.monotonic() - t0
        cpu1 = resource.getrusage(resource.RUSAGE_SELF)
        client_cpu = (cpu1.ru_utime - cpu0.ru_utime) + (cpu1.ru_stime - cpu0.ru_stime)
        deliveries = args.conns * args.publications
        print(json.dumps({
            "conns": args.conns, "loops": args.loops, "established_s": round(established, 2),
            "server_rss_per_idle_subscribed_conn_kib": round(per_conn, 2),
            "publications": args.publications, "deliveries": deliveries, "seconds": round(elapsed, 3),
            "deliveries_per_s": round(deliveries / elapsed), "client_cpu_s": round(client_cpu, 2),
            "client_bound": client_cpu > 0.8 * elapsed,
        }))
        for ws in clients:
            await ws.close()
    finally:
        proc.kill()
        proc.wait()


if __name__ == "__main__":
    asyncio.run(main())
