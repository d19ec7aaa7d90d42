"""Graceful drain: at SIGTERM the gateway stops accepting, /ready answers 503, every client gets a
`reconnect` push with its own delay within timeouts.drain and is closed with 1001 at that moment,
presence goes with it, and the process exits 0. A second SIGTERM closes what is left at once."""

from __future__ import annotations

import asyncio
import signal
import socket
import time
import urllib.error
import urllib.request

import pytest

from gateway_support import Clients, gateway_config
from test_gateway_server_api import API_KEY, admin_port
from wsraw import run_async

CHANNEL = "room:drain"
NAMESPACES = {"room": {"subscribe": ["authenticated"], "publish": "subscribers", "presence": True, "join_leave": True}}


def ready_status(port: int) -> int:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/ready", timeout=2) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def draining_gateway(gateway, window: float):
    config = gateway_config(loops=2, namespaces=NAMESPACES, timeouts={"drain": window})
    config["admin"] = {"enabled": True, "port": 0, "api_key": API_KEY}
    return gateway(config)


@pytest.mark.deadline(60)
def test_sigterm_spreads_reconnects_over_the_window_and_exits_0(gateway):
    window, count = 3.0, 24
    server = draining_gateway(gateway, window)
    port = admin_port(server)
    assert ready_status(port) == 200

    async def scenario():
        async with Clients(server) as clients:
            users = [await clients.user(f"user{index}") for index in range(count)]
            for client in users:
                await client.ok("subscribe", channel=CHANNEL)
            await asyncio.sleep(0.3)  # the join pushes settle
            signalled = time.monotonic()
            server.signal(signal.SIGTERM)
            assert await asyncio.to_thread(ready_status, port) == 503

            async def observe(client):
                push = await client.push("reconnect", timeout=5)
                code = await client.expect_close(timeout=window + 10)
                return push, code, time.monotonic() - signalled, client

            results = await asyncio.gather(*(observe(client) for client in users))
            with pytest.raises(OSError):
                socket.create_connection(("127.0.0.1", server.port), timeout=1).close()
            return results

    results = run_async(scenario(), timeout=window + 20)
    afters = sorted(push["after"] for push, _, _, _ in results)
    for push, code, closed_at, _ in results:
        assert push["reason"] == "server_shutdown" and 0 <= push["after"] < window * 1000, push
        assert code == 1001, code
        # Closed when announced (give or take the timer wheel and the test's own scheduling).
        assert abs(closed_at - push["after"] / 1000) < 0.5, (push, closed_at)
    # Spread, not all at once: the delays cover most of the window.
    assert afters[-1] - afters[0] > window * 1000 / 2, afters
    assert len({after // 250 for after in afters}) >= 5, afters
    # Presence went with each connection: the last to close saw most of the others leave.
    last = max(results, key=lambda result: result[2])[3]
    left = {push["user"] for push in last.log if push.get("push") == "leave"}
    assert len(left) >= count // 2, left
    assert server.wait_exit(timeout=10) == 0, server.describe()


@pytest.mark.deadline(60)
def test_a_second_sigterm_closes_what_is_left_at_once(gateway):
    server = draining_gateway(gateway, 60)

    async def scenario():
        async with Clients(server) as clients:
            users = [await clients.user(f"user{index}") for index in range(5)]
            server.signal(signal.SIGTERM)
            for client in users:
                await client.push("reconnect")
            start = time.monotonic()
            server.signal(signal.SIGTERM)
            codes = await asyncio.gather(*(client.expect_close(timeout=5) for client in users))
            return codes, time.monotonic() - start

    codes, elapsed = run_async(scenario(), timeout=30)
    assert codes == [1001] * 5 and elapsed < 3, (codes, elapsed)
    assert server.wait_exit(timeout=10) == 0, server.describe()
