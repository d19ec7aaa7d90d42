"""Per-connection rate limits: a token bucket for commands and a separate one for typing; refused
commands get `rate_limited`, and a connection that keeps sending regardless is closed with 4008."""

from __future__ import annotations

import asyncio
import json

from gateway_support import Clients, gateway_config
from wsraw import run_async

LIMITS = {"rate_limits": {"commands_per_second": 5, "command_burst": 10, "typing_per_second": 1, "typing_burst": 2,
                          "strikes": 5}}


def test_a_burst_then_rate_limited_then_recovered(gateway):
    server = gateway(gateway_config(gateway=LIMITS))

    async def scenario():
        async with Clients(server) as clients:
            alice = await clients.user("alice")  # connect takes one token
            replies = [await alice.call("ping") for _ in range(9)]
            assert all("result" in reply for reply in replies), replies
            refused = await alice.call("ping")
            assert refused["error"]["code"] == "rate_limited", refused
            await asyncio.sleep(0.5)  # 5 a second: two or three tokens back
            assert "result" in await alice.call("ping")
    run_async(scenario(), timeout=30)


def test_typing_has_its_own_budget(gateway):
    server = gateway(gateway_config(gateway={"typing_interval": 0, **LIMITS}))
    channel = "conversation:r1"

    async def scenario():
        async with Clients(server) as clients:
            alice = await clients.user("alice", channels=[channel])
            await alice.ok("subscribe", channel=channel)
            assert "result" in await alice.call("typing", channel=channel, state="start")
            assert "result" in await alice.call("typing", channel=channel, state="stop")
            refused = await alice.call("typing", channel=channel, state="start")
            assert refused["error"]["code"] == "rate_limited", refused
            # Commands still have their budget.
            assert "result" in await alice.call("ping")
    run_async(scenario(), timeout=30)


def test_repeat_offenders_are_closed_with_4008(gateway):
    server = gateway(gateway_config(gateway=LIMITS))

    async def scenario():
        async with Clients(server) as clients:
            alice = await clients.user("alice")
            # Flood without waiting for replies: the burst passes, five refusals in a row close.
            for n in range(40):
                await alice.send(json.dumps({"id": n, "cmd": "ping"}))
            assert await alice.expect_close(timeout=5) == 4008
    run_async(scenario(), timeout=30)
