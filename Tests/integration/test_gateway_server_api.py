"""The server API on the admin listener: what the main API calls. Real HTTP (urllib) against a
real `relay serve`, with WebSocket clients observing the effect on every loop."""

from __future__ import annotations

import asyncio
import json
import re
import time
import urllib.error
import urllib.request

import pytest

from gateway_support import Clients, gateway_config
from wsraw import run_async

API_KEY = "integration-test-api-key-0001"


def admin_port(server) -> int:
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        match = re.search(r"relay admin listening on http://127\.0\.0\.1:(\d+)", server.stdout_text())
        if match:
            return int(match.group(1))
        time.sleep(0.05)
    raise AssertionError(f"no admin line: {server.stdout_text()!r}")


def call(port: int, path: str, body=None, *, key: str | None = API_KEY, method: str | None = None,
         raw: bytes | None = None) -> tuple[int, dict]:
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=data,
                                     method=method or ("POST" if data is not None else "GET"))
    if key:
        request.add_header("Authorization", f"Bearer {key}")
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


@pytest.fixture
def server(gateway):
    config = gateway_config(loops=2)
    config["admin"] = {"enabled": True, "port": 0, "api_key": API_KEY}
    return gateway(config)


def test_health_ready_and_authentication(server):
    port = admin_port(server)
    assert call(port, "/health", key=None) == (200, {"status": "ok"})
    assert call(port, "/ready", key=None) == (200, {"status": "ready"})
    status, body = call(port, "/api/online", {"users": ["a"]}, key=None)
    assert status == 401 and body["error"]["code"] == "unauthorized"
    status, _ = call(port, "/api/online", {"users": ["a"]}, key=API_KEY + "x")
    assert status == 401
    status, _ = call(port, "/api/online", {"users": ["a"]}, key=API_KEY[:-1] + "X")
    assert status == 401
    assert API_KEY not in server.stderr_text()


def test_bad_requests(server):
    port = admin_port(server)
    assert call(port, "/api/publish", raw=b"not json")[0] == 400
    assert call(port, "/api/publish", {"channel": "user:a"})[0] == 400
    assert call(port, "/api/publish", {"channel": "user:a", "data": 1, "key": 7})[0] == 400
    assert call(port, "/api/publish", {"channel": "user:a", "data": 1, "key": "k" * 129})[0] == 400
    status, body = call(port, "/api/publish", {"channel": "nope:a", "data": 1})
    assert status == 404 and body["error"]["code"] == "unknown_namespace"
    assert call(port, "/api/nothing", {})[0] == 404
    assert call(port, "/api/publish", method="GET")[0] == 405
    assert call(port, "/api/publish", raw=b"x" * (2 << 20))[0] == 413
    assert call(port, "/api/online", {"users": []})[0] == 400


def test_publish_reaches_subscribers_on_every_loop_and_is_kept(server):
    port = admin_port(server)
    channel = "availability:tutors"

    async def scenario():
        async with Clients(server) as clients:
            students = [await clients.user(f"student{n}") for n in range(6)]
            for student in students:
                await student.ok("subscribe", channel=channel)
            status, result = await asyncio.to_thread(call, port, "/api/publish",
                                                     {"channel": channel, "data": {"tutor": "t1", "free": True}, "key": "k1"})
            assert status == 200 and result["offset"] == 1, result
            again = await asyncio.to_thread(call, port, "/api/publish", {"channel": channel, "data": {"x": 1}, "key": "k1"})
            assert again == (200, result), "the same key publishes once"
            for student in students:
                [pub] = await student.publications(channel, 1)
                assert pub == {"offset": 1, "data": {"tutor": "t1", "free": True}}, pub
            history = await students[0].ok("history", channel=channel)
            assert [pub["offset"] for pub in history["publications"]] == [1]
    run_async(scenario(), timeout=30)


def test_disconnect_closes_every_device_of_the_user(server):
    port = admin_port(server)

    async def scenario():
        async with Clients(server) as clients:
            devices = [await clients.user("alice", name=f"alice {n}") for n in range(4)]
            bob = await clients.user("bob")
            assert (await asyncio.to_thread(call, port, "/api/disconnect", {"user": "alice", "reason": "banned"}))[0] == 200
            for device in devices:
                assert await device.push("disconnect") == {"push": "disconnect", "reason": "banned"}
                assert await device.expect_close() == 4006
            assert "result" in await bob.call("ping")
    run_async(scenario(), timeout=30)


def test_unsubscribe_removes_the_user_from_the_channel(server):
    port = admin_port(server)
    channel = "conversation:kick"

    async def scenario():
        async with Clients(server) as clients:
            alice = await clients.user("alice", channels=[channel])
            bob = await clients.user("bob", channels=[channel])
            for client in (alice, bob):
                await client.ok("subscribe", channel=channel)
            assert (await asyncio.to_thread(call, port, "/api/unsubscribe", {"user": "bob", "channel": channel}))[0] == 200
            assert await bob.push("unsubscribed") == {"push": "unsubscribed", "channel": channel, "reason": "server"}
            await alice.publish(channel, "after the kick")
            await alice.publications(channel, 1)
            await bob.ok("ping")
            await asyncio.sleep(0.2)
            assert not bob.queued("publication"), bob.pushes
            await bob.error("history", "not_subscribed", channel=channel)
    run_async(scenario(), timeout=30)


def test_presence_and_online(server):
    port = admin_port(server)
    channel = "conversation:p"

    async def scenario():
        async with Clients(server) as clients:
            alice = await clients.user("alice", channels=[channel], info={"name": "Alice"})
            await alice.ok("subscribe", channel=channel)
            status, body = await asyncio.to_thread(call, port, "/api/presence", {"channel": channel})
            assert (status, body) == (200, {"users": [{"user": "alice", "connections": 1, "info": {"name": "Alice"}}]})
            status, body = await asyncio.to_thread(call, port, "/api/online", {"users": ["alice", "bob"]})
            assert (status, body) == (200, {"users": {"alice": True, "bob": False}})
    run_async(scenario(), timeout=30)


def test_the_inbox_carries_client_publications_to_the_api(server):
    """Client publications of inbox namespaces wait for the API: read leases them (a second
    reader does not get them), ack removes them, an unacknowledged one comes back after its lease."""
    port = admin_port(server)
    channel, other = "conversation:inbox-a", "conversation:inbox-b"

    async def scenario():
        async with Clients(server) as clients:
            alice = await clients.user("alice", channels=[channel, other])
            await alice.ok("subscribe", channel=channel)
            await alice.ok("subscribe", channel=other)
            first = await alice.publish(channel, {"text": "one"}, key="k1")
            await alice.publish(channel, {"text": "one"}, key="k1")  # a resend: not a second entry
            second = await alice.publish(other, "two")
            # The server's own publications are not for the inbox.
            assert (await asyncio.to_thread(call, port, "/api/publish", {"channel": channel, "data": "from the API"}))[0] == 200
            return first, second

    first, second = run_async(scenario(), timeout=30)
    status, body = call(port, "/api/inbox/read", {"limit": 10, "lease": 1})
    assert status == 200, body
    entries = body["entries"]
    assert [(e["channel"], e["offset"], e["user"], e["data"]) for e in entries] == [
        (channel, first["offset"], "alice", {"text": "one"}), (other, second["offset"], "alice", "two")], entries
    assert entries[0]["epoch"] == first["epoch"] and isinstance(entries[0]["time"], int)
    assert call(port, "/api/inbox/read", {})[1] == {"entries": []}, "leased to the first reader"
    assert call(port, "/api/inbox/ack", {"ids": [entries[0]["id"], "0-999999", "junk"]}) == (200, {"acknowledged": 1})
    time.sleep(1.2)
    again = call(port, "/api/inbox/read", {"limit": 10})[1]["entries"]
    assert [e["id"] for e in again] == [entries[1]["id"]], "the unacknowledged one is offered again"
    assert call(port, "/api/inbox/ack", {"ids": [entries[1]["id"]]}) == (200, {"acknowledged": 1})
    assert call(port, "/api/inbox/read", {})[1] == {"entries": []}


def test_inbox_requests_are_validated(server):
    port = admin_port(server)
    for body in ({"limit": 0}, {"limit": 1001}, {"limit": "5"}, {"lease": 0.5}, {"lease": 4000}):
        status, reply = call(port, "/api/inbox/read", body)
        assert status == 400 and reply["error"]["code"] == "bad_request", (body, reply)
    for body in ({}, {"ids": "0-1"}, {"ids": [1]}):
        status, reply = call(port, "/api/inbox/ack", body)
        assert status == 400, (body, reply)
    assert call(port, "/api/inbox/read", {}, key=None)[0] == 401


def test_a_full_inbox_refuses_publications_until_the_api_catches_up(gateway):
    config = gateway_config(gateway={"inbox": {"max_entries": 2}})
    config["admin"] = {"enabled": True, "port": 0, "api_key": API_KEY}
    server = gateway(config)
    port = admin_port(server)
    channel = "conversation:full"

    async def scenario():
        async with Clients(server) as clients:
            alice = await clients.user("alice", channels=[channel])
            bob = await clients.user("bob", channels=[channel])
            await alice.ok("subscribe", channel=channel)
            await bob.ok("subscribe", channel=channel)
            await alice.publish(channel, "1")
            await alice.publish(channel, "2")
            error = await alice.error("publish", "unavailable", channel=channel, data="3", key="k3")
            assert "inbox is full" in error["message"], error
            # Refused means not published: bob saw two publications, no third.
            assert [pub["data"] for pub in await bob.publications(channel, 2)] == ["1", "2"]
            entries = (await asyncio.to_thread(call, port, "/api/inbox/read", {}))[1]["entries"]
            await asyncio.to_thread(call, port, "/api/inbox/ack", {"ids": [entries[0]["id"]]})
            await alice.publish(channel, "3", key="k3")
            assert [pub["data"] for pub in await bob.publications(channel, 1)] == ["3"]
            assert not bob.queued("publication")
    run_async(scenario(), timeout=30)
    assert "inbox full" in server.stderr_text()
