"""/metrics on the admin listener: Prometheus text whose numbers follow what clients did. The
loops fold their counters once a second, so each check polls for a few seconds."""

from __future__ import annotations

import asyncio
import re
import time
import urllib.request

import pytest

from gateway_support import Clients, gateway_config, make_token
from test_gateway_server_api import API_KEY, admin_port, call
from wsraw import http_exchange, plain_request, run_async

SAMPLE = re.compile(r'^(?P<name>[a-z_]+)(?:\{(?P<labels>[^}]*)\})? (?P<value>\S+)$')


def scrape(port: int) -> tuple[str, dict[tuple[str, frozenset], float]]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        assert response.status == 200
        content_type = response.headers["Content-Type"]
        text = response.read().decode()
    samples = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        match = SAMPLE.match(line)
        assert match, f"not a Prometheus sample line: {line!r}"
        labels = frozenset(re.findall(r'(\w+)="([^"]*)"', match["labels"] or ""))
        samples[(match["name"], labels)] = float(match["value"])
    return content_type, samples


def value(samples, name: str, **labels) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def eventually(port: int, check, timeout: float = 5.0):
    """Scrapes until `check(samples)` holds; fails with the last scrape."""
    deadline = time.monotonic() + timeout
    while True:
        _, samples = scrape(port)
        if check(samples):
            return samples
        if time.monotonic() > deadline:
            relevant = {key: val for key, val in samples.items() if not key[0].startswith("relay_fanout_seconds_bucket")}
            raise AssertionError(f"metrics did not reach the expected values: {relevant}")
        time.sleep(0.2)


@pytest.fixture
def server(gateway):
    config = gateway_config(loops=2, gateway={"rate_limits": {"commands_per_second": 0.1, "command_burst": 8,
                                                              "user_commands_per_second": 1000, "user_command_burst": 1000}})
    config["admin"] = {"enabled": True, "port": 0, "api_key": API_KEY}
    return gateway(config)


def test_metrics_follow_connections_commands_and_fan_out(server):
    port = admin_port(server)
    content_type, samples = scrape(port)
    assert content_type.startswith("text/plain; version=0.0.4")
    # Present before any traffic.
    for name in ("relay_connections", "relay_publications_total", "relay_deliveries_total", "relay_fanout_seconds_count",
                 "relay_slow_consumer_closes_total", "relay_slow_consumer_dropped_pushes_total"):
        assert (name, frozenset()) in samples, name
    assert ("relay_rate_limited_total", frozenset({("bucket", "connection")})) in samples

    http_exchange(server.port, plain_request("/nowhere"))  # a 404 instead of an upgrade
    channel = "availability:tutors"

    async def scenario():
        async with Clients(server) as clients:
            refused = await clients.open()
            await refused.call("connect", token=make_token("mallory", ttl=-120))
            await refused.expect_close()
            alice = await clients.user("alice")
            bob = await clients.user("bob")
            for client in (alice, bob):
                await client.ok("subscribe", channel=channel)
            await alice.error("bogus", "unknown_command")
            for index in range(3):
                status, _ = await asyncio.to_thread(call, port, "/api/publish", {"channel": channel, "data": index})
                assert status == 200
            for client in (alice, bob):
                await client.publications(channel, 3)
            # Alice's connection bucket holds 8: connect, subscribe and bogus took 3.
            for _ in range(5):
                await alice.ok("ping")
            await alice.error("ping", "rate_limited")

            samples = eventually(port, lambda s: value(s, "relay_deliveries_total") >= 6
                                 and value(s, "relay_rate_limited_total", bucket="connection") >= 1)
            assert value(samples, "relay_connections") == 2
            assert value(samples, "relay_subscriptions") == 2
            assert value(samples, "relay_publications_total") == 3
            assert value(samples, "relay_deliveries_total") == 6
            assert value(samples, "relay_handshakes_total", status="101") == 3
            assert value(samples, "relay_handshakes_total", status="404") == 1
            assert value(samples, "relay_auth_failures_total", reason="expired") == 1
            assert value(samples, "relay_commands_total", command="connect", result="ok") == 2
            assert value(samples, "relay_commands_total", command="connect", result="auth_failed") == 1
            assert value(samples, "relay_commands_total", command="subscribe", result="ok") == 2
            assert value(samples, "relay_commands_total", command="invalid", result="unknown_command") == 1
            assert value(samples, "relay_commands_total", command="ping", result="ok") == 5
            assert value(samples, "relay_commands_total", command="ping", result="rate_limited") == 1
            assert value(samples, "relay_rate_limited_total", bucket="connection") == 1
            # One fan-out per publication per loop with subscribers: 3 or 6 samples.
            assert value(samples, "relay_fanout_seconds_count") in (3, 6)
            assert value(samples, "relay_fanout_seconds_bucket", le="+Inf") == value(samples, "relay_fanout_seconds_count")
            assert value(samples, "relay_received_bytes_total") > 0 and value(samples, "relay_sent_bytes_total") > 0

    run_async(scenario(), timeout=40)
    eventually(port, lambda s: value(s, "relay_connections") == 0 and value(s, "relay_subscriptions") == 0)


def test_metrics_need_no_key_and_only_get(server):
    port = admin_port(server)
    status, body = call(port, "/metrics", {}, key=None, method="POST")
    assert status == 405, body
