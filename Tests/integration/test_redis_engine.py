"""The Redis engine across replicas: real `relay serve` processes sharing a real redis-server on a
loopback port, real clients (Python websockets, redis-py, urllib). What one replica's client does
reaches every replica's clients once; presence, online status and recovery agree everywhere; a
replica killed with -9 and a Redis restarted mid-traffic lose nothing."""

from __future__ import annotations

import asyncio
import copy
import json
import signal
import time
from pathlib import Path

import pytest

from gateway_support import DEFAULT_NAMESPACES, Clients, gateway_config, make_token
from redis_support import RedisServer
from test_gateway_server_api import API_KEY, admin_port, call
from wsraw import run_async

CHANNEL = "conversation:1"


@pytest.fixture
def redis_server():
    server = RedisServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def replicas(gateway, redis_server):
    """`replicas(n, **engine)`: n `relay serve` processes (2 loops each) on the test's Redis, each
    with its admin listener."""

    def start(count: int, *, loops: int = 2, namespaces: dict | None = None, **engine) -> list:
        processes = []
        for _ in range(count):
            config = gateway_config(loops=loops, log_level="info", namespaces=namespaces)
            config["engine"] = {"type": "redis", "redis_url": redis_server.url, "linger": 0.5, **engine}
            config["admin"] = {"enabled": True, "port": 0, "api_key": API_KEY}
            processes.append(gateway(config))
        return processes

    return start


def conversation_token(user: str) -> str:
    return make_token(user, channels=[CHANNEL])


async def subscriber(clients: Clients, user: str, **fields) -> tuple:
    client = await clients.connect(conversation_token(user), name=user)
    reply = await client.ok("subscribe", channel=CHANNEL, **fields)
    return client, reply


def test_a_publication_from_anywhere_reaches_every_replica_once(replicas, redis_server):
    servers = replicas(3)

    async def scenario():
        groups = [Clients(server) for server in servers]
        try:
            # Two subscribers per replica, on different loops most likely.
            subscribers = []
            for index, clients in enumerate(groups):
                for n in range(2):
                    client, _ = await subscriber(clients, f"user{index}-{n}")
                    subscribers.append(client)
            publisher = subscribers[0]
            await publisher.publish(CHANNEL, {"from": "client"})
            status, reply = call(admin_port(servers[1]), "/api/publish", {"channel": CHANNEL, "data": {"from": "api"}})
            assert status == 200, reply
            # The main API straight into Redis: with history (FCALL), and fire-and-forget (PUBLISH).
            redis = redis_server.client()
            offset, epoch, duplicate = redis.fcall(
                "relay_publish", 4, "relay:ch:{%s}:meta" % CHANNEL, "relay:ch:{%s}:history" % CHANNEL,
                "relay:ch:{%s}:idem:0::" % CHANNEL, "relay:inbox", "relay:pub:{%s}" % CHANNEL,
                json.dumps({"from": "fcall"}), "", 100, 86_400_000, 0, 0, "PUBLISH", CHANNEL, 86_400_000)
            assert (offset, duplicate) == (3, 0)
            receivers = redis.publish("relay:pub:{%s}" % CHANNEL, json.dumps({"v": 1, "type": "pub", "data": {"from": "publish"}}))
            assert 3 <= receivers <= 6, "each loop with subscribers listens once: 1 or 2 loops on each of 3 replicas"
            for client in subscribers:
                pubs = await client.publications(CHANNEL, 4)
                assert [pub["data"]["from"] for pub in pubs] == ["client", "api", "fcall", "publish"], client.name
                assert [pub.get("offset") for pub in pubs] == [1, 2, 3, None]
                await asyncio.sleep(0.2)
                assert client.queued("publication") == [], f"{client.name} got a publication twice"
        finally:
            for clients in groups:
                await clients.__aexit__(None, None, None)

    run_async(scenario(), timeout=30)


def test_presence_online_and_join_leave_agree_on_every_replica(replicas):
    servers = replicas(2)

    async def scenario():
        async with Clients(servers[0]) as left, Clients(servers[1]) as right:
            alice, _ = await subscriber(left, "alice")
            watcher = await left.connect(make_token("watcher"), name="watcher")
            assert (await watcher.ok("online", users=["bob"], watch=True))["users"] == {"bob": False}
            bob, _ = await subscriber(right, "bob")
            bob_again, _ = await subscriber(right, "bob")  # a second device: no second join
            assert (await alice.push("join", channel=CHANNEL))["user"] == "bob"
            assert (await watcher.push("status"))["online"] is True
            for server in servers:
                status, reply = call(admin_port(server), "/api/presence", {"channel": CHANNEL})
                assert status == 200
                assert reply["users"] == [{"user": "alice", "connections": 1}, {"user": "bob", "connections": 2}]
                status, reply = call(admin_port(server), "/api/online", {"users": ["alice", "bob", "carol"]})
                assert reply["users"] == {"alice": True, "bob": True, "carol": False}
            await bob.close()
            await asyncio.sleep(0.3)
            assert alice.queued("leave") == [], "bob is still there on another device"
            await bob_again.close()
            assert (await alice.push("leave", channel=CHANNEL))["user"] == "bob"
            assert (await watcher.push("status"))["online"] is False
            await asyncio.sleep(0.3)
            assert alice.queued("join") == alice.queued("leave") == [], "each transition is announced once"

    run_async(scenario(), timeout=30)


def test_typing_and_server_api_commands_cross_replicas(replicas):
    servers = replicas(2)

    async def scenario():
        async with Clients(servers[0]) as left, Clients(servers[1]) as right:
            alice, _ = await subscriber(left, "alice")
            bob, _ = await subscriber(right, "bob")
            assert (await bob.ok("typing", channel=CHANNEL, state="start"))["sent"] is True
            assert (await alice.push("typing", channel=CHANNEL))["user"] == "bob"
            # The throttle is shared: bob's second device on the other replica is held back.
            bob2, _ = await subscriber(left, "bob")
            assert (await bob2.ok("typing", channel=CHANNEL, state="start"))["sent"] is False
            await asyncio.sleep(0.2)
            assert bob.queued("typing") == [], "the sender does not get its own typing"
            # The server API of replica 0 reaches bob on replica 1.
            status, _ = call(admin_port(servers[0]), "/api/unsubscribe", {"user": "bob", "channel": CHANNEL})
            assert status == 200
            assert (await bob.push("unsubscribed"))["reason"] == "server"
            status, _ = call(admin_port(servers[0]), "/api/disconnect", {"user": "alice", "reason": "banned"})
            assert status == 200
            assert (await alice.push("disconnect"))["reason"] == "banned"
            assert await alice.expect_close() == 4006

    run_async(scenario(), timeout=30)


def test_recovery_on_another_replica_is_exact(replicas):
    servers = replicas(2)

    async def scenario():
        async with Clients(servers[0]) as left, Clients(servers[1]) as right:
            mobile, first = await subscriber(left, "mobile")
            publisher, _ = await subscriber(right, "publisher")
            for n in range(20):
                await publisher.publish(CHANNEL, {"n": n})
            seen = await mobile.publications(CHANNEL, 20)
            await mobile.close()
            for n in range(20, 50):
                await publisher.publish(CHANNEL, {"n": n})
            # Back on the other replica, from the last offset it saw.
            since = {"offset": seen[-1]["offset"], "epoch": first["epoch"]}
            back, reply = await subscriber(right, "mobile", since=since)
            assert reply["recovered"] is True
            missed = await back.publications(CHANNEL, 30)
            assert [pub["data"]["n"] for pub in missed] == list(range(20, 50))
            await publisher.publish(CHANNEL, {"n": 50})
            assert (await back.publications(CHANNEL, 1))[0]["data"]["n"] == 50
            await asyncio.sleep(0.2)
            assert back.queued("publication") == []
            # A position from another epoch cannot be recovered.
            other, reply = await subscriber(left, "other", since={"offset": 3, "epoch": "not-the-epoch"})
            assert reply["recovered"] is False

    run_async(scenario(), timeout=30)


def test_a_killed_replica_leaves_presence_within_the_ttl_and_its_clients_recover_elsewhere(replicas):
    servers = replicas(2, presence_ttl=3)

    async def scenario():
        async with Clients(servers[0]) as left, Clients(servers[1]) as right:
            alice, _ = await subscriber(left, "alice")
            watcher = await left.connect(make_token("watcher"), name="watcher")
            await watcher.ok("online", users=["carol"], watch=True)
            carol, joined = await subscriber(right, "carol")
            assert (await alice.push("join", channel=CHANNEL))["user"] == "carol"
            assert (await watcher.push("status"))["online"] is True
            await alice.publish(CHANNEL, {"n": 0}, key="before")
            position = {"offset": (await carol.publications(CHANNEL, 1))[0]["offset"], "epoch": joined["epoch"]}
            killed_at = time.monotonic()
            servers[1].proc.send_signal(signal.SIGKILL)
            servers[1].expected_exit = True
            for n in range(1, 6):
                await alice.publish(CHANNEL, {"n": n}, key=f"after{n}")
            leave = await alice.push("leave", channel=CHANNEL, timeout=15)
            assert leave["user"] == "carol"
            offline = await watcher.push("status", timeout=15)
            assert offline == {"push": "status", "user": "carol", "online": False}
            gone_after = time.monotonic() - killed_at
            # presence_ttl 3 s, plus the node's margin (ttl/3 + 2 s), plus one refresh period.
            assert gone_after < 3 + 1 + 2 + 1 + 1.5, gone_after
            status, reply = call(admin_port(servers[0]), "/api/presence", {"channel": CHANNEL})
            assert reply["users"] == [{"user": "alice", "connections": 1}]
            # Carol's app reconnects to the survivor and recovers what was published meanwhile.
            carol_again = await left.connect(conversation_token("carol"), name="carol-again")
            reply = await carol_again.ok("subscribe", channel=CHANNEL, since=position)
            assert reply["recovered"] is True, reply
            assert [pub["data"]["n"] for pub in await carol_again.publications(CHANNEL, 5)] == [1, 2, 3, 4, 5]

    run_async(scenario(), timeout=40)


def test_redis_away_keeps_clients_and_answers_unavailable(replicas, redis_server):
    """A Redis without persistence comes back empty: the channel's epoch is new, and subscribers
    are told to resubscribe, which tells them they did not recover."""
    servers = replicas(1, reply_timeout=1, connect_timeout=0.5)
    port = admin_port(servers[0])

    async def scenario():
        async with Clients(servers[0]) as clients:
            alice, first = await subscriber(clients, "alice")
            redis_server.stop()
            await asyncio.sleep(0.3)
            error = await alice.error("publish", "unavailable", channel=CHANNEL, data={"n": 1}, key="k1")
            assert "retry" in error["message"]
            await alice.error("typing", "unavailable", channel=CHANNEL, state="start")
            status, body = call(port, "/ready")
            assert (status, body["status"]) == (503, "engine_unavailable")
            redis_server.start()
            deadline = time.monotonic() + 10
            while call(port, "/ready")[0] != 200:
                assert time.monotonic() < deadline, "the replica did not become ready again"
                await asyncio.sleep(0.1)
            assert (await alice.push("unsubscribed", timeout=10))["reason"] == "resubscribe"
            again = await alice.ok("subscribe", channel=CHANNEL, since={"offset": first["offset"], "epoch": first["epoch"]})
            assert again["recovered"] is False and again["epoch"] != first["epoch"]
            # The same key again: published once now that Redis is back.
            reply = await alice.publish(CHANNEL, {"n": 1}, key="k1")
            assert (await alice.publications(CHANNEL, 1))[0]["data"] == {"n": 1}
            assert (await alice.publish(CHANNEL, {"n": 1}, key="k1"))["offset"] == reply["offset"]
            assert alice.ws.state.name == "OPEN"

    run_async(scenario(), timeout=40)
    records = servers[0].log_records()
    assert any("lost the connection to Redis" in r.get("message", "") for r in records)
    assert not any("integration-secret" in json.dumps(r) for r in records)


class Follower:
    """A subscriber that keeps its position and recovers: after an `unsubscribed` push with reason
    `resubscribe` (the engine could not fill a gap by itself) it subscribes again with `since`,
    as docs/PROTOCOL.md tells clients to."""

    def __init__(self, client, position: dict, channel: str = CHANNEL):
        self.client = client
        self.position = position
        self.channel = channel
        self.received: list[int] = []
        self.resubscribes = 0

    async def follow(self, until: int, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while len(self.received) < until:
            push = await self.client.push(timeout=max(0.0, deadline - time.monotonic()))
            if push["push"] == "publication" and push["channel"] == self.channel:
                self.received.append(push["pub"]["data"]["n"])
                self.position["offset"] = push["pub"]["offset"]
            elif push["push"] == "unsubscribed" and push["reason"] == "resubscribe":
                self.resubscribes += 1
                reply = await self.client.ok("subscribe", channel=self.channel, since=dict(self.position))
                assert reply["recovered"] is True, reply
            # join, leave and other pushes are not what this test counts


async def publish_retrying(publisher, channel: str, n: int) -> int:
    """Publishes {"n": n} under the key `n<n>`, retrying `unavailable` with the same key as clients
    do (docs/PROTOCOL.md); returns how many retries it took."""
    retries = 0
    while True:
        reply = await publisher.call("publish", channel=channel, data={"n": n}, key=f"n{n}")
        if "result" in reply:
            return retries
        assert reply["error"]["code"] == "unavailable", reply
        retries += 1
        await asyncio.sleep(0.05)


def test_redis_restarted_mid_traffic_loses_and_repeats_nothing(replicas, redis_server):
    total = 10_000
    redis_server.stop()
    redis_server.start(persistent=True)
    # History long enough for every gap: a replica's pub/sub connection may come back a second or
    # two after the publisher's command connection, with the publisher going full speed meanwhile.
    namespaces = copy.deepcopy(DEFAULT_NAMESPACES)
    namespaces["conversation"]["history_size"] = total
    servers = replicas(2, reply_timeout=1, connect_timeout=0.5, namespaces=namespaces)

    async def scenario():
        async with Clients(servers[0]) as left, Clients(servers[1]) as right:
            followers = []
            for index, clients in enumerate([left, left, right, right]):
                client, reply = await subscriber(clients, f"follower{index}")
                followers.append(Follower(client, {"offset": reply["offset"], "epoch": reply["epoch"]}))
            publisher, _ = await subscriber(right, "publisher")
            tasks = [asyncio.create_task(follower.follow(total, timeout=120)) for follower in followers]
            retries = 0
            for n in range(total):
                if n == total // 3:
                    redis_server.stop()
                    redis_server.start(persistent=True)
                retries += await publish_retrying(publisher, CHANNEL, n)
            await asyncio.gather(*tasks)
            for follower in followers:
                assert len(follower.received) == total
                assert follower.received == list(range(total)), "lost, repeated or out of order"
            return retries

    retries = run_async(scenario(), timeout=180)
    for server in servers:
        lost = [r for r in server.log_records() if r.get("message", "").startswith("lost the connection to Redis")]
        assert lost, f"the restart did not reach this replica ({retries} publishes retried): the test proved nothing"


def test_client_messages_reach_the_api_once_through_a_consumer_group(replicas, redis_server, tmp_path):
    """Clients on two replicas publish into an inbox namespace; the API's own consumer group
    (examples/inbox_worker.py) stores each message once, across a worker that dies before acking."""
    import sys
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "examples"))
    import inbox_worker

    servers = replicas(2)
    r = redis_server.client()
    inbox_worker.ensure_group(r, "api")

    async def scenario():
        async with Clients(servers[0]) as left, Clients(servers[1]) as right:
            writers = [await subscriber(clients, f"writer{index}") for index, clients in enumerate([left, right])]
            for n in range(200):
                client, _ = writers[n % 2]
                await client.publish(CHANNEL, {"n": n}, key=f"m{n}")
                if n % 50 == 0:  # a resend with the same key is not a second message
                    await client.publish(CHANNEL, {"n": n}, key=f"m{n}")

    run_async(scenario(), timeout=30)
    assert r.xlen("relay:inbox") == 200
    store = inbox_worker.SqliteStore(str(tmp_path / "messages.sqlite3"))
    taken = inbox_worker.read_new(r, "api", "worker-1", count=60, block_ms=100)
    store.save(taken[:30])  # stored 30 of the 60, then died without acknowledging
    time.sleep(0.3)
    claimed = inbox_worker.claim_stale(r, "api", "worker-2", min_idle_ms=200)
    assert len(claimed) == 60
    inbox_worker.handle(r, "api", store, claimed)
    inbox_worker.run(r, "api", "worker-2", store, block_ms=100, min_idle_ms=200, should_stop=lambda: r.xlen("relay:inbox") == 0)
    rows = store.db.execute('SELECT user, data FROM messages').fetchall()
    assert sorted(json.loads(data)["n"] for _, data in rows) == list(range(200))
    assert {user for user, _ in rows} == {"writer0", "writer1"}


def test_the_events_stream_reports_connections_and_transitions_once(replicas, redis_server):
    """`relay:events` (docs/REDIS.md): every connect and disconnect (with its reason and close
    code), and each user's transitions as every replica's pushes show them: one join and leave
    per user in a channel, one online and offline per user, however many connections and
    replicas; a killed replica's are written by the survivor that reaps it."""
    servers = replicas(2, presence_ttl=3)
    r = redis_server.client()

    def events(user: str) -> list[dict]:
        return [fields for _, fields in r.xrange("relay:events") if fields["user"] == user]

    async def scenario():
        async with Clients(servers[0]) as left, Clients(servers[1]) as right:
            first, _ = await subscriber(left, "alice")
            second, _ = await subscriber(right, "alice")
            bob, _ = await subscriber(right, "bob")
            assert (await first.push("join", channel=CHANNEL))["user"] == "bob"
            await first.close()
            await asyncio.sleep(0.3)
            status, _ = call(admin_port(servers[0]), "/api/disconnect", {"user": "alice", "reason": "banned"})
            assert status == 200
            assert await second.expect_close() == 4006
            await asyncio.sleep(0.3)
            servers[1].proc.send_signal(signal.SIGKILL)
            servers[1].expected_exit = True
            deadline = time.monotonic() + 15
            while not any(event["type"] == "offline" for event in events("bob")):
                assert time.monotonic() < deadline, events("bob")
                await asyncio.sleep(0.2)

    run_async(scenario(), timeout=40)

    alice = events("alice")
    first_client, second_client = alice[0]["client"], alice[3]["client"]
    assert first_client != second_client
    nodes = {event["node"] for event in alice}
    assert len(nodes) == 2, "each replica writes its own connections' events"
    assert [(e["type"], e.get("client"), e.get("channel"), e.get("reason"), e.get("code")) for e in alice] == [
        ("connect", first_client, None, None, None),
        ("online", first_client, None, None, None),
        ("join", first_client, CHANNEL, None, None),
        ("connect", second_client, None, None, None),
        ("disconnect", first_client, None, "client_closed", "1000"),
        ("disconnect", second_client, None, "banned", "4006"),
        ("leave", second_client, CHANNEL, "left", None),
        ("offline", second_client, None, None, None),
    ]
    assert all(int(event["time"]) > 0 for event in alice)

    bob = events("bob")
    assert [(e["type"], e.get("channel")) for e in bob[:3]] == [("connect", None), ("online", None), ("join", CHANNEL)]
    # The survivor's reaping, in whichever order it purged the channel and the user.
    reaped = bob[3:]
    assert sorted((e["type"], e.get("channel"), e.get("reason")) for e in reaped) == [
        ("disconnect", None, "expired"), ("leave", CHANNEL, "expired"), ("offline", None, None)]
    assert {e["client"] for e in bob if e["type"] != "offline"} == {bob[0]["client"]}
    assert {e["node"] for e in reaped} == {alice[0]["node"]}, "written by the survivor"
