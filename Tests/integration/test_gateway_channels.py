"""Namespaces and their rules: who may subscribe (own, claim, subscription token, authenticated,
public), who may publish, and the per-connection and per-publication limits."""

from __future__ import annotations

import json
import time

import pytest

from gateway_support import Clients, gateway_config, make_token
from wsraw import OP_TEXT, RawClient, encode_frame, new_key, read_http_response, run_async, upgrade_request
from wsraw import connect as raw_connect

NAMESPACES = {
    "user": {"subscribe": ["own"], "publish": "server", "history_size": 20, "history_ttl": 3600},
    "conversation": {"subscribe": ["token", "claim"], "publish": "subscribers", "history_size": 100,
                     "history_ttl": 86400, "presence": True, "join_leave": True, "max_publication_bytes": 256},
    "availability": {"subscribe": ["authenticated"], "publish": "server", "history_size": 50, "history_ttl": 600},
    "private": {"subscribe": ["token"], "publish": "subscribers"},
    "lobby": {"subscribe": ["public"], "publish": "subscribers"},
}


@pytest.fixture
def server(gateway):
    return gateway(gateway_config(namespaces=NAMESPACES, gateway={"max_subscriptions": 4}))


def test_unknown_namespace_and_bad_channel_names(server):
    async def scenario():
        async with Clients(server) as clients:
            alice = await clients.user("alice")
            for cmd, extra in [("subscribe", {}), ("publish", {"data": 1}),
                               ("presence", {}), ("history", {})]:
                await alice.error(cmd, "unknown_namespace", channel="nope:1", **extra)
                await alice.error(cmd, "unknown_namespace", channel="users:alice", **extra)
            for bad in ["alice", "", ":alice", "user:", "user:a b", "user:a\tb", "user:a\u0000", "user:a\u007f",
                        "user:" + "a" * 251, " user:alice"]:
                await alice.error("subscribe", "bad_request", channel=bad)
                await alice.error("publish", "bad_request", channel=bad, data=1)
            # 255 bytes is the longest name; colons after the first belong to the name.
            longest = "user:alice" + "b" * 245
            assert len(longest) == 255
            await alice.error("subscribe", "permission_denied", channel=longest)
            await alice.ok("subscribe", channel="availability:" + "t" * 242)
            await alice.ok("subscribe", channel="availability:a:b:c")
            await alice.ok("ping")

    run_async(scenario())


def test_own_rule(server):
    async def scenario():
        async with Clients(server) as clients:
            alice = await clients.user("alice")
            bob = await clients.user("bob")
            result = await alice.ok("subscribe", channel="user:alice")
            assert result["offset"] == 0 and isinstance(result["epoch"], str) and "recovered" not in result, result
            await bob.error("subscribe", "permission_denied", channel="user:alice")
            await bob.error("subscribe", "permission_denied", channel="user:alice2")
            await clients.user("alice2")  # another user whose name has alice as a prefix
            await bob.ok("subscribe", channel="user:bob")
            # A claim does not open someone else's user channel: user only allows `own`.
            carol = await clients.user("carol", channels=["user:alice", "user:*"])
            await carol.error("subscribe", "permission_denied", channel="user:alice")

    run_async(scenario())


def test_claim_rule_exact_and_prefix(server):
    async def scenario():
        async with Clients(server) as clients:
            alice = await clients.user("alice", channels=["conversation:1", "conversation:grp-*"])
            await alice.ok("subscribe", channel="conversation:1")
            await alice.ok("subscribe", channel="conversation:grp-7")
            await alice.ok("subscribe", channel="conversation:grp-")  # the pattern's prefix itself
            for denied in ["conversation:2", "conversation:10", "conversation:1x", "conversation:grp",
                           "conversation:gr"]:
                await alice.error("subscribe", "permission_denied", channel=denied)
            # A claim only counts in namespaces that list the claim rule.
            bob = await clients.user("bob", channels=["private:1", "conversation:*"])
            await bob.error("subscribe", "permission_denied", channel="private:1")
            await bob.ok("subscribe", channel="conversation:anything")
            # A bare "*" grants nothing.
            dave = await clients.user("dave", channels=["*"])
            await dave.error("subscribe", "permission_denied", channel="conversation:9")

    run_async(scenario())


def test_subscription_token_rule(server):
    async def scenario():
        async with Clients(server) as clients:
            bob = await clients.user("bob")
            await bob.error("subscribe", "permission_denied", channel="private:9")  # no token
            wrong_channel = make_token("bob", channel="private:8")
            await bob.error("subscribe", "permission_denied", channel="private:9", token=wrong_channel)
            wrong_user = make_token("alice", channel="private:9")
            await bob.error("subscribe", "permission_denied", channel="private:9", token=wrong_user)
            expired = make_token("bob", channel="private:9", ttl=-300)
            error = await bob.error("subscribe", "permission_denied", channel="private:9", token=expired)
            assert "expired" in error["message"], error
            forged = make_token("bob", channel="private:9", key="another-secret" * 5)
            error = await bob.error("subscribe", "permission_denied", channel="private:9", token=forged)
            assert "bad_signature" in error["message"], error
            no_channel = make_token("bob")
            await bob.error("subscribe", "permission_denied", channel="private:9", token=no_channel)
            right = make_token("bob", channel="private:9")
            await bob.ok("subscribe", channel="private:9", token=right)
            # A subscription token also works where token is one rule of several.
            await bob.ok("subscribe", channel="conversation:5", token=make_token("bob", channel="conversation:5"))
            # Someone else cannot reuse bob's subscription token.
            alice = await clients.user("alice")
            await alice.error("subscribe", "permission_denied", channel="private:9", token=right)
            # A token of the wrong JSON type is a bad request.
            await alice.error("subscribe", "bad_request", channel="private:9", token=5)

    run_async(scenario())


def test_authenticated_and_public_rules(server):
    async def scenario():
        async with Clients(server) as clients:
            for user in ("alice", "bob"):
                client = await clients.user(user)
                await client.ok("subscribe", channel="availability:tutors")
                await client.ok("subscribe", channel="lobby:main")
            anonymous = await clients.open()
            await anonymous.error("subscribe", "not_connected", channel="lobby:main")

    run_async(scenario())


def test_publish_rules(server):
    async def scenario():
        async with Clients(server) as clients:
            alice = await clients.user("alice", channels=["conversation:1"])
            # Server-only namespaces: refused even to a subscriber.
            await alice.ok("subscribe", channel="availability:tutors")
            await alice.error("publish", "permission_denied", channel="availability:tutors", data={"on": True})
            await alice.ok("subscribe", channel="user:alice")
            await alice.error("publish", "permission_denied", channel="user:alice", data="hi")
            # Subscribers only: before subscribing (even with the right to), refused.
            await alice.error("publish", "permission_denied", channel="conversation:1", data="hi")
            await alice.error("publish", "permission_denied", channel="conversation:2", data="hi")
            await alice.ok("unsubscribe", channel="user:alice")
            await alice.ok("subscribe", channel="conversation:1")
            first = await alice.publish("conversation:1", "hi")
            assert first["offset"] == 1 and isinstance(first["epoch"], str) and first["epoch"], first
            pub = (await alice.publications("conversation:1", 1))[0]
            assert pub == {"offset": 1, "user": "alice", "data": "hi"}
            # After unsubscribing, refused again.
            await alice.ok("unsubscribe", channel="conversation:1")
            await alice.error("publish", "permission_denied", channel="conversation:1", data="again")

    run_async(scenario())


def test_max_publication_bytes(server):
    """The limit (256 here) is on the data value's JSON text, as sent."""
    async def scenario():
        async with Clients(server) as clients:
            alice = await clients.user("alice", channels=["conversation:1"])
            await alice.ok("subscribe", channel="conversation:1")
            await alice.publish("conversation:1", "x" * 254)  # 256 bytes with its quotes
            error = await alice.error("publish", "too_large", channel="conversation:1", data="x" * 255)
            assert "256" in error["message"], error
            await alice.error("publish", "too_large", channel="conversation:1", data={"text": "y" * 1000})
            await alice.error("publish", "too_large", channel="conversation:1", data=list(range(100)))
            # Only the accepted one was published.
            result = await alice.publish("conversation:1", 2)
            assert result["offset"] == 2, result
            pubs = await alice.publications("conversation:1", 2)
            assert [pub["data"] for pub in pubs] == ["x" * 254, 2]

    run_async(scenario())


def test_subscription_limits_and_state_errors(server):
    async def scenario():
        async with Clients(server) as clients:
            alice = await clients.user("alice", channels=["conversation:*"])
            channels = ["conversation:1", "conversation:2", "availability:tutors", "user:alice"]
            for channel in channels:
                await alice.ok("subscribe", channel=channel)
            await alice.error("subscribe", "already_subscribed", channel="conversation:1")
            await alice.error("subscribe", "limit_exceeded", channel="conversation:3")
            await alice.error("subscribe", "limit_exceeded", channel="lobby:main")
            await alice.ok("unsubscribe", channel="conversation:2")
            await alice.error("unsubscribe", "not_subscribed", channel="conversation:2")
            await alice.ok("subscribe", channel="conversation:3")
            await alice.error("subscribe", "limit_exceeded", channel="conversation:2")
            # The limit is per connection: a second connection of alice has its own.
            second = await clients.user("alice", channels=["conversation:*"])
            for channel in channels:
                await second.ok("subscribe", channel=channel)
            # not_subscribed for every command that needs a subscription.
            await alice.error("unsubscribe", "not_subscribed", channel="conversation:9")
            await alice.error("presence", "not_subscribed", channel="conversation:9")
            await alice.error("history", "not_subscribed", channel="conversation:9")
            # Presence where the namespace has none.
            await alice.error("presence", "not_available", channel="availability:tutors")
            await alice.ok("presence", channel="conversation:1")
            await alice.ok("history", channel="availability:tutors")

    run_async(scenario())


def _raw_session(port: int, token: str) -> RawClient:
    """A raw WebSocket connection authenticated at the upgrade (Authorization header)."""
    sock = raw_connect(port)
    sock.sendall(upgrade_request("/ws", key=new_key(), headers={"Sec-WebSocket-Protocol": "relay.v1"},
                                 extra=[("Authorization", f"Bearer {token}")]))
    response, rest = read_http_response(sock)
    assert response.status == 101, response
    return RawClient(sock, bytearray(rest))


def _replies(client: RawClient, ids: set, timeout: float) -> dict:
    """Reads text frames until every id in `ids` has its reply, or the time is up."""
    deadline = time.monotonic() + timeout
    replies: dict = {}
    while ids - replies.keys():
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        try:
            frame = client.read_data_frame(remaining)
        except TimeoutError:
            break
        assert frame.opcode == OP_TEXT, frame
        message = json.loads(frame.payload)
        if "id" in message:
            assert message["id"] not in replies, f"two replies for id {message['id']}: {replies[message['id']]}, {message}"
            replies[message["id"]] = message
    return replies


def test_every_command_gets_a_reply_when_unsubscribe_overtakes_subscribe(gateway):
    """subscribe then unsubscribe of the same channel, sent back to back: on two loops the subscribe
    is still waiting for the channel's owner loop when the unsubscribe is handled. Each command must
    still get exactly one reply (a result or an error): a client waits for the subscribe's."""
    server = gateway(gateway_config(loops=2, namespaces=NAMESPACES))
    channels = [f"conversation:pipelined-{n}" for n in range(16)]  # spread over both owner loops
    with _raw_session(server.port, make_token("alice", channels=["conversation:*"])) as client:
        frames = []
        for n, channel in enumerate(channels):
            frames.append(encode_frame(OP_TEXT, json.dumps({"id": f"sub-{n}", "cmd": "subscribe", "channel": channel}).encode()))
            frames.append(encode_frame(OP_TEXT, json.dumps({"id": f"unsub-{n}", "cmd": "unsubscribe", "channel": channel}).encode()))
        frames.append(encode_frame(OP_TEXT, b'{"id": "ping", "cmd": "ping"}'))
        client.send(b"".join(frames))  # one write: the server reads them in one go
        expected = {f"sub-{n}" for n in range(len(channels))} | {f"unsub-{n}" for n in range(len(channels))} | {"ping"}
        replies = _replies(client, expected, timeout=2)
        for n in range(len(channels)):
            assert replies.get(f"unsub-{n}") == {"id": f"unsub-{n}", "result": {}}, replies.get(f"unsub-{n}")
        missing = sorted(expected - replies.keys())
        assert not missing, f"commands never answered: {missing}"


def test_pipelined_subscribe_unsubscribe_subscribe_ends_subscribed(gateway):
    """subscribe, unsubscribe, subscribe back to back: the last one wins, the connection ends up
    subscribed once (it can publish and gets its publication once), and every command is answered."""
    server = gateway(gateway_config(loops=2, namespaces=NAMESPACES))
    channels = [f"conversation:again-{n}" for n in range(8)]
    with _raw_session(server.port, make_token("alice", channels=["conversation:*"])) as client:
        frames = []
        for n, channel in enumerate(channels):
            for step, cmd in enumerate(["subscribe", "unsubscribe", "subscribe"]):
                frames.append(encode_frame(OP_TEXT, json.dumps({"id": f"{n}-{step}", "cmd": cmd, "channel": channel}).encode()))
        client.send(b"".join(frames))
        expected = {f"{n}-{step}" for n in range(len(channels)) for step in range(3)}
        replies = _replies(client, expected, timeout=2)
        for n, channel in enumerate(channels):
            assert "result" in replies.get(f"{n}-2", {}), replies.get(f"{n}-2")
            client.send(encode_frame(OP_TEXT, json.dumps({"id": f"pub-{n}", "cmd": "publish", "channel": channel,
                                                           "data": n}).encode()))
            got = []
            while len(got) < 2:
                message = json.loads(client.read_data_frame().payload)
                if message.get("id") in expected:
                    replies[message["id"]] = message
                    continue
                got.append(message)
            pub = next(message for message in got if message.get("push") == "publication")
            reply = next(message for message in got if message.get("id") == f"pub-{n}")
            assert reply["result"]["offset"] == pub["pub"]["offset"] == 1, got
        # Presence counts the connection once: the undone first subscribe did not take it away.
        for n, channel in enumerate(channels):
            client.send(encode_frame(OP_TEXT, json.dumps({"id": f"presence-{n}", "cmd": "presence",
                                                           "channel": channel}).encode()))
        # No second copy of any publication (one subscription each), no leave for a connection that
        # stayed, and nothing left unanswered.
        client.send(encode_frame(OP_TEXT, b'{"id": "end", "cmd": "ping"}'))
        presence, ended = {}, False
        while not ended or len(presence) < len(channels):
            message = json.loads(client.read_data_frame().payload)
            if message.get("id") == "end":
                ended = True
            elif str(message.get("id")).startswith("presence-"):
                presence[message["id"]] = message
            else:
                assert message.get("id") in expected, f"unexpected message: {message}"
                replies[message["id"]] = message
        for n in range(len(channels)):
            assert presence[f"presence-{n}"] == {"id": f"presence-{n}", "result": {
                "users": [{"user": "alice", "connections": 1}]}}, presence[f"presence-{n}"]
        missing = sorted(expected - replies.keys())
        assert not missing, f"commands never answered: {missing}"
