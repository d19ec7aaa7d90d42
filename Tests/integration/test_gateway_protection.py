"""Protection: Cross-Site WebSocket Hijacking, connections and commands per user, slow consumers,
and the server taking back what a refreshed token no longer allows."""

from __future__ import annotations

import asyncio
import json
import socket
import time

import pytest

from test_gateway_metrics import scrape, value
from test_gateway_server_api import admin_port
from gateway_support import SUBPROTOCOL, TOKEN_SUBPROTOCOL_PREFIX, Clients, gateway_config, make_token
from wsraw import OP_CLOSE, OP_TEXT, connect, open_ws, read_http_response, run_async, upgrade_request

APP_ORIGIN = "https://app.example"


def upgrade_status(port: int, headers: dict) -> int:
    with connect(port) as sock:
        sock.sendall(upgrade_request("/ws", headers=headers))
        response, _ = read_http_response(sock)
        return response.status


# --- Cross-Site WebSocket Hijacking ------------------------------------------------------------

def test_a_page_of_another_site_cannot_open_a_session(gateway):
    """The victim's browser would send the attacker's Origin: 403, whatever credentials ride along;
    the app's own Origin and clients without an Origin (apps, servers) get through."""
    config = gateway_config()
    config["listen"] = {"allowed_origins": [APP_ORIGIN]}
    server = gateway(config)
    token = make_token("victim")
    subprotocols = f"{SUBPROTOCOL}, {TOKEN_SUBPROTOCOL_PREFIX}{token}"
    for origin in ("https://evil.example", "https://app.example.evil.example", "null", "http://app.example"):
        status = upgrade_status(server.port, {"Origin": origin, "Sec-WebSocket-Protocol": subprotocols,
                                              "Cookie": "session=victim"})
        assert status == 403, origin
    assert upgrade_status(server.port, {"Origin": APP_ORIGIN, "Sec-WebSocket-Protocol": subprotocols}) == 101
    assert upgrade_status(server.port, {"Sec-WebSocket-Protocol": subprotocols}) == 101
    assert "origin not allowed" in server.stderr_text()


def test_no_allowed_origins_refuses_every_browser(gateway):
    server = gateway(gateway_config())  # listen.allowed_origins defaults to []
    assert upgrade_status(server.port, {"Origin": "http://localhost:8080"}) == 403
    assert upgrade_status(server.port, {}) == 101


# --- Per user ----------------------------------------------------------------------------------

def test_connections_per_user_are_limited_across_loops(gateway):
    server = gateway(gateway_config(loops=2, gateway={"max_connections_per_user": 2}))

    async def scenario():
        async with Clients(server) as clients:
            first = await clients.user("alice", name="phone")
            second = await clients.user("alice", name="laptop")
            bob = await clients.user("bob")
            third = await clients.user("alice", name="tablet")
            push = await third.push("disconnect")
            assert push == {"push": "disconnect", "reason": "too_many_connections"}, push
            assert await third.expect_close() == 4010
            # The first two and other users are untouched.
            for client in (first, second, bob):
                await client.ok("ping")
            await first.close()
            await asyncio.sleep(0.3)  # the owner loop counts the close
            again = await clients.user("alice", name="tablet again")
            await asyncio.sleep(0.3)
            await again.ok("ping")
            assert not again.queued("disconnect")
    run_async(scenario(), timeout=30)


def test_a_users_connections_share_one_command_budget(gateway):
    """Two connections of one user on one loop draw from the user's bucket: opening more
    connections does not multiply what a user may send."""
    config = gateway_config(gateway={"rate_limits": {
        "commands_per_second": 1000, "command_burst": 1000,
        "user_commands_per_second": 0.1, "user_command_burst": 6}})
    server = gateway(config)

    async def scenario():
        async with Clients(server) as clients:
            phone = await clients.user("alice", name="phone")      # connect takes from the connection only
            laptop = await clients.user("alice", name="laptop")
            bob = await clients.user("bob")
            for _ in range(3):
                await phone.ok("ping")
                await laptop.ok("ping")
            await phone.error("ping", "rate_limited")
            await laptop.error("ping", "rate_limited")
            await bob.ok("ping")  # another user's budget is untouched
    run_async(scenario(), timeout=30)


def test_typing_is_throttled_per_user_across_devices(gateway):
    config = gateway_config(loops=2, gateway={"typing_interval": 30})
    server = gateway(config)
    channel = "conversation:typing-devices"

    async def scenario():
        async with Clients(server) as clients:
            phone = await clients.user("alice", name="phone", channels=[channel])
            laptop = await clients.user("alice", name="laptop", channels=[channel])
            bob = await clients.user("bob", channels=[channel])
            for client in (phone, laptop, bob):
                await client.ok("subscribe", channel=channel)
            assert await phone.ok("typing", channel=channel, state="start") == {"sent": True}
            assert await laptop.ok("typing", channel=channel, state="start") == {"sent": False}
            assert await laptop.ok("typing", channel=channel, state="stop") == {"sent": True}
            states = [(await bob.push("typing", channel=channel))["state"] for _ in range(2)]
            assert states == ["start", "stop"]
            # The other device of the sender sees its own user typing (it is another connection).
            assert (await laptop.push("typing", channel=channel))["state"] == "start"
    run_async(scenario(), timeout=30)


# --- Slow consumers ----------------------------------------------------------------------------

def raw_command(client, command: dict) -> dict:
    client.send_frame(OP_TEXT, json.dumps(command).encode())
    frame = client.read_data_frame()
    assert frame.opcode == OP_TEXT, frame
    return json.loads(frame.payload)


def small_receive_buffer(sock: socket.socket) -> None:
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)


def test_a_slow_consumer_is_closed_with_4009_and_delays_no_one(gateway):
    """A subscriber that stops reading: its backlog is bounded, it is closed with 4009 once over
    the bound (it reads the code after what was queued before it), and a subscriber on the same
    loop gets every publication meanwhile."""
    namespaces = {"room": {"subscribe": ["authenticated"], "publish": "subscribers", "max_publication_bytes": 20000}}
    config = gateway_config(loops=1, namespaces=namespaces, limits={"max_outbound_bytes": 65536}, timeouts={"close": 20})
    server = gateway(config)
    channel = "room:busy"
    count, size = 300, 16000

    slow = open_ws(server.port, "/ws", sock_setup=small_receive_buffer)
    assert "result" in raw_command(slow, {"id": 1, "cmd": "connect", "token": make_token("slowpoke")})
    assert "result" in raw_command(slow, {"id": 2, "cmd": "subscribe", "channel": channel})
    rss_before = server.rss_kib()

    async def scenario():
        async with Clients(server) as clients:
            fast = await clients.user("fast")
            await fast.ok("subscribe", channel=channel)
            publisher = await clients.user("publisher")
            await publisher.ok("subscribe", channel=channel)
            started = time.monotonic()
            for index in range(count):
                await publisher.publish(channel, f"{index:05d}" + "x" * size)
            pubs = await fast.publications(channel, count, timeout=30)
            assert [pub["data"][:5] for pub in pubs] == [f"{index:05d}" for index in range(count)]
            return time.monotonic() - started

    elapsed = run_async(scenario(), timeout=60)
    assert elapsed < 20, f"the fast subscriber took {elapsed:.1f} s"
    # Memory stayed bounded: the slow one holds at most ~2 × max_outbound_bytes + a read buffer.
    assert server.rss_kib() - rss_before < 4096, (rss_before, server.rss_kib())
    assert "slow consumer" in server.stderr_text()

    # Now it reads: what was queued before the bound, then the close code.
    publications = 0
    while True:
        frame = slow.read_data_frame(timeout=10)
        if frame.opcode == OP_CLOSE:
            assert frame.close_code == 4009, frame
            break
        publications += 1
    assert 0 < publications < count, publications
    slow.close()


def test_a_backed_up_connection_goes_without_typing_but_gets_every_publication(gateway):
    """Rounds of publications and a typing stop (always sent) to a subscriber that does not read:
    once its queue is over half of max_outbound_bytes, typing stops reaching it (the metrics count
    the drop) while every publication is still queued, in order, and it is not closed."""
    namespaces = {"room": {"subscribe": ["authenticated"], "publish": "subscribers", "typing": True,
                           "max_publication_bytes": 20000}}
    config = gateway_config(loops=1, namespaces=namespaces, limits={"max_outbound_bytes": 1048576})
    config["gateway"]["rate_limits"].update(typing_per_second=1000, typing_burst=1000)
    config["admin"] = {"enabled": True, "port": 0, "api_key": "integration-test-api-key-0001"}
    server = gateway(config)
    port = admin_port(server)
    channel, per_round = "room:typing-drop", 8

    slow = open_ws(server.port, "/ws", sock_setup=small_receive_buffer)
    assert "result" in raw_command(slow, {"id": 1, "cmd": "connect", "token": make_token("slowpoke")})
    assert "result" in raw_command(slow, {"id": 2, "cmd": "subscribe", "channel": channel})

    async def scenario():
        async with Clients(server) as clients:
            fast = await clients.user("fast")
            await fast.ok("subscribe", channel=channel)
            bob = await clients.user("bob")
            await bob.ok("subscribe", channel=channel)
            for round_number in range(60):
                for index in range(per_round):
                    await bob.publish(channel, f"{round_number * per_round + index:04d}" + "x" * 16000)
                await bob.ok("typing", channel=channel, state="stop")
                await fast.push("typing", channel=channel)
                await asyncio.sleep(0.3)
                _, samples = await asyncio.to_thread(scrape, port)
                if value(samples, "relay_slow_consumer_dropped_pushes_total") >= 1:
                    return round_number + 1
            raise AssertionError("the slow subscriber never counted as backed up")

    rounds = run_async(scenario(), timeout=60)
    publications, typings = [], 0
    while len(publications) < rounds * per_round:
        frame = slow.read_data_frame(timeout=10)
        assert frame.opcode == OP_TEXT, frame
        message = json.loads(frame.payload)
        if message["push"] == "typing":
            typings += 1
        else:
            publications.append(message["pub"]["data"][:4])
    assert publications == [f"{index:04d}" for index in range(rounds * per_round)]
    assert typings < rounds, (typings, rounds)
    with pytest.raises(TimeoutError):
        extra = slow.read_data_frame(timeout=0.5)
        raise AssertionError(f"unexpected after the publications: {extra.payload[:80]!r}")
    slow.close()


# --- Refresh -----------------------------------------------------------------------------------

def test_refresh_takes_back_channels_the_new_token_no_longer_grants(gateway):
    server = gateway(gateway_config())
    kept, dropped, by_token = "conversation:kept", "conversation:dropped", "conversation:by-token"

    async def scenario():
        async with Clients(server) as clients:
            alice = await clients.user("alice", channels=[kept, dropped])
            await alice.ok("subscribe", channel=kept)
            await alice.ok("subscribe", channel=dropped)
            await alice.ok("subscribe", channel=by_token, token=make_token("alice", channel=by_token))
            await alice.ok("refresh", token=make_token("alice", channels=[kept]))
            push = await alice.push("unsubscribed")
            assert push == {"push": "unsubscribed", "channel": dropped, "reason": "permission_revoked"}, push
            await alice.error("publish", "permission_denied", channel=dropped, data="x")
            await alice.publish(kept, "still here")
            await alice.publish(by_token, "still here")
            await asyncio.sleep(0.2)
            assert not alice.queued("unsubscribed")
    run_async(scenario(), timeout=30)


def test_unsubscribe_from_a_malformed_channel_is_a_bad_request(gateway):
    server = gateway(gateway_config())

    async def scenario():
        async with Clients(server) as clients:
            alice = await clients.user("alice")
            await alice.error("unsubscribe", "bad_request", channel="no-namespace")
            await alice.error("unsubscribe", "unknown_namespace", channel="nope:x")
            await alice.error("unsubscribe", "not_subscribed", channel="availability:tutors")
    run_async(scenario(), timeout=30)
