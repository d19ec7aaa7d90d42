"""The Redis engine on a Redis Cluster: three masters started on loopback by the test (redis-server
with cluster-enabled, `redis-cli --cluster create`), real `relay serve` replicas with
`engine.cluster: true`, real clients. Channels spread over the shards with sharded pub/sub; a
slot that moves to another master in the middle of traffic loses and repeats nothing."""

from __future__ import annotations

import asyncio
import copy
import json
import sys

import pytest
import redis

from gateway_support import DEFAULT_NAMESPACES, Clients, gateway_config, make_token
from redis_support import REPO_ROOT, RedisCluster
from test_gateway_server_api import API_KEY, admin_port, call
from test_redis_engine import Follower, publish_retrying
from wsraw import run_async

sys.path.insert(0, str(REPO_ROOT / "examples"))
import publish as api  # noqa: E402


@pytest.fixture
def cluster():
    with RedisCluster(masters=3) as started:
        yield started


@pytest.fixture
def replicas(gateway, cluster):
    def start(count: int, *, namespaces: dict | None = None, **engine) -> list:
        processes = []
        for _ in range(count):
            config = gateway_config(loops=2, log_level="info", namespaces=namespaces)
            config["engine"] = {"type": "redis", "redis_url": cluster.url, "cluster": True, "linger": 0.5, **engine}
            config["admin"] = {"enabled": True, "port": 0, "api_key": API_KEY}
            processes.append(gateway(config))
        return processes

    return start


def channels_on_every_master(cluster: RedisCluster, per_master: int) -> list[str]:
    """Conversation channels whose slots are served by every master, `per_master` each."""
    chosen: dict[int, list[str]] = {server.port: [] for server in cluster.servers}
    n = 0
    while any(len(names) < per_master for names in chosen.values()):
        name = f"conversation:c{n}"
        names = chosen[cluster.owner(api.pubsub_channel(name)).port]
        if len(names) < per_master:
            names.append(name)
        n += 1
    return [name for names in chosen.values() for name in names]


async def next_of(client, kind: str, channel: str, user: str) -> dict:
    """The next `kind` push (join, leave) about `user` on `channel`, skipping other users'."""
    while (push := await client.push(kind, channel=channel))["user"] != user:
        pass
    return push


def test_fan_out_spreads_over_the_shards_and_reaches_every_replica(replicas, cluster):
    servers = replicas(2)
    channels = channels_on_every_master(cluster, per_master=2)
    api_client = redis.RedisCluster(host="127.0.0.1", port=cluster.servers[0].port, decode_responses=True)

    async def scenario():
        async with Clients(servers[0]) as left, Clients(servers[1]) as right:
            subscribers = []
            for index, clients in enumerate([left, right, right]):
                client = await clients.connect(make_token(f"reader{index}", channels=channels), name=f"reader{index}")
                for channel in channels:
                    await client.ok("subscribe", channel=channel)
                subscribers.append(client)
            writer = await left.connect(make_token("writer", channels=channels), name="writer")
            for channel in channels:
                await writer.ok("subscribe", channel=channel)  # publishers must be subscribers
            for channel in channels:
                # A client, the API with history (FCALL), the API fire-and-forget (SPUBLISH).
                assert (await writer.publish(channel, {"by": "client"}, key=f"k-{channel}"))["offset"] == 1
                published = api.publish_with_history(api_client, channel, {"by": "fcall"}, history_size=100, history_ttl=86400)
                assert published["offset"] == 2
                assert api.publish_event(api_client, channel, {"by": "spublish"}) >= 1
            for subscriber in subscribers:
                for channel in channels:
                    pubs = await subscriber.publications(channel, 3)
                    assert [(pub["data"]["by"], pub.get("offset")) for pub in pubs] == [
                        ("client", 1), ("fcall", 2), ("spublish", None)], (subscriber.name, channel)
            await asyncio.sleep(0.3)
            for subscriber in subscribers:
                assert subscriber.queued("publication") == [], "each publication once"

            # Fan-out is spread: every master carries the shard channels of its slots.
            for server in cluster.servers:
                with server.client() as node:
                    sharded = set(node.execute_command("PUBSUB", "SHARDCHANNELS", "relay:pub:*"))
                mine = {api.pubsub_channel(c) for c in channels if cluster.owner(api.pubsub_channel(c)) is server}
                assert sharded == mine, f"master {server.port}: {sharded} != {mine}"

            # Presence, online and the server API's commands across replicas and shards.
            watcher = await left.connect(make_token("watcher"), name="watcher")
            assert (await watcher.ok("online", users=["tutor"], watch=True))["users"] == {"tutor": False}
            tutor = await right.connect(make_token("tutor", channels=channels), name="tutor")
            await tutor.ok("subscribe", channel=channels[0])
            assert (await watcher.push("status"))["online"] is True
            assert await next_of(subscribers[0], "join", channels[0], "tutor")
            for server in servers:
                status, reply = call(admin_port(server), "/api/presence", {"channel": channels[0]})
                assert status == 200
                assert [entry["user"] for entry in reply["users"]] == ["reader0", "reader1", "reader2", "tutor", "writer"]
            assert {"user": "tutor", "connections": 1} in api.presence(api_client, channels[0])
            assert api.is_online(api_client, "tutor")
            # In a cluster PUBLISH's reply counts only the receiving node's subscribers.
            api.disconnect_user(api_client, "tutor", reason="banned")
            assert await tutor.expect_close() == 4006
            assert (await watcher.push("status"))["online"] is False
            assert await next_of(subscribers[0], "leave", channels[0], "tutor")

    try:
        run_async(scenario(), timeout=60)
        # The inbox and the events stream live in their own slots; a client's message is there.
        inbox = [fields for _, fields in api_client.xrange("relay:inbox")]
        assert sorted((entry["channel"], entry["offset"], entry["user"]) for entry in inbox) == sorted(
            (channel, "1", "writer") for channel in channels)
        assert all(json.loads(entry["data"]) == {"by": "client"} for entry in inbox)
        events = [(fields["type"], fields["user"]) for _, fields in api_client.xrange("relay:events")
                  if fields["user"] == "tutor"]
        # The channel and the user are in different slots, on different masters: their transitions
        # come back in either order.
        assert events[0] == ("connect", "tutor") and events[3] == ("disconnect", "tutor"), events
        assert sorted(events[1:3]) == [("join", "tutor"), ("online", "tutor")]
        assert sorted(events[4:]) == [("leave", "tutor"), ("offline", "tutor")]
    finally:
        api_client.close()


def test_a_slot_moving_mid_traffic_loses_and_repeats_nothing(replicas, cluster):
    """The channel's slot moves to another master while a client publishes: Relay follows the
    ASK replies while the keys are on the new master and the slot not yet (then TRYAGAIN, as a
    new idempotency key is not there: the publish answers `unavailable` and the client retries),
    and MOVED after; its sharded subscriptions follow the slot (Redis ends them with
    `sunsubscribe`), and the gap is read from history. Followers with recovery on both replicas
    get every publication once, in order."""
    total = 600
    channel = "conversation:moving"
    namespaces = copy.deepcopy(DEFAULT_NAMESPACES)
    namespaces["conversation"]["history_size"] = total
    servers = replicas(2, namespaces=namespaces)
    source = cluster.owner(api.pubsub_channel(channel))
    target = next(server for server in cluster.servers if server is not source)

    async def scenario():
        async with Clients(servers[0]) as left, Clients(servers[1]) as right:
            followers = []
            for index, clients in enumerate([left, left, right, right]):
                client = await clients.connect(make_token(f"follower{index}", channels=[channel]), name=f"follower{index}")
                reply = await client.ok("subscribe", channel=channel)
                followers.append(Follower(client, {"offset": reply["offset"], "epoch": reply["epoch"]}, channel=channel))
            publisher = await right.connect(make_token("publisher", channels=[channel]), name="publisher")
            await publisher.ok("subscribe", channel=channel)
            tasks = [asyncio.create_task(follower.follow(total, timeout=90)) for follower in followers]
            retries = 0
            for n in range(total):
                if n == total // 3:
                    # In the background: the publications go on while the slot moves.
                    mover = asyncio.create_task(asyncio.to_thread(cluster.move_slot, api.pubsub_channel(channel), target, 0.5))
                retries += await publish_retrying(publisher, channel, n)
                await asyncio.sleep(0.002)
            await mover
            await asyncio.gather(*tasks)
            for follower in followers:
                assert follower.received == list(range(total)), "lost, repeated or out of order"
            return retries

    with target.client() as node:
        asking_before = node.info("commandstats").get("cmdstat_asking", {}).get("calls", 0)
    retries = run_async(scenario(), timeout=120)
    with target.client() as node:
        asked = node.info("commandstats").get("cmdstat_asking", {}).get("calls", 0) - asking_before
    assert asked > 0, "no command followed an ASK to the importing master: the test proved less than it says"
    for server in servers:
        messages = [record.get("message", "") for record in server.log_records()]
        assert "a subscription's slot moved to another master; following it" in messages, \
            f"this replica's subscriptions did not see the slot move ({retries} publishes retried): the test proved nothing"
    assert cluster.owner(api.pubsub_channel(channel)) is target
    with target.client() as node:
        assert node.execute_command("PUBSUB", "SHARDCHANNELS", api.pubsub_channel(channel)) == [api.pubsub_channel(channel)]
        assert node.hget(api.channel_key(channel, "meta"), "offset") == str(total)
    with source.client() as node:
        assert node.execute_command("PUBSUB", "SHARDCHANNELS", api.pubsub_channel(channel)) == []
