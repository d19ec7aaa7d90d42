"""typing: an ephemeral push to the channel's other subscribers (never back to the sender, never
stored), throttled per connection and channel, only in namespaces that enable it."""

from __future__ import annotations

from gateway_support import Clients, gateway_config
from wsraw import run_async

NAMESPACES = {
    "conversation": {"subscribe": ["claim"], "publish": "subscribers", "history_size": 10, "history_ttl": 60,
                     "typing": True},
    "quiet": {"subscribe": ["authenticated"], "publish": "subscribers"},
}


def test_typing_reaches_the_others_but_not_the_sender_and_is_not_stored(gateway):
    server = gateway(gateway_config(loops=2, namespaces=NAMESPACES))
    channel = "conversation:t1"

    async def scenario():
        async with Clients(server) as clients:
            alice = await clients.user("alice", channels=[channel])
            bob = await clients.user("bob", channels=[channel])
            carol = await clients.user("carol", channels=[channel])
            for client in (alice, bob, carol):
                await client.ok("subscribe", channel=channel)
            assert (await alice.ok("typing", channel=channel, state="start")) == {"sent": True}
            for client in (bob, carol):
                push = await client.push("typing", channel=channel)
                assert push == {"push": "typing", "channel": channel, "user": "alice", "state": "start"}, push
            # A publication after it shows the sender got nothing back, and history has no typing.
            result = await bob.publish(channel, "after")
            pubs = await alice.publications(channel, 1)
            assert pubs[0]["offset"] == result["offset"]
            assert not alice.queued("typing"), alice.pushes
            history = await alice.ok("history", channel=channel)
            assert [pub["data"] for pub in history["publications"]] == ["after"]
    run_async(scenario(), timeout=30)


def test_typing_start_is_throttled_and_stop_always_goes(gateway):
    config = gateway_config(namespaces=NAMESPACES)
    config["gateway"] = {"typing_interval": 30}
    server = gateway(config)
    channel = "conversation:t2"

    async def scenario():
        async with Clients(server) as clients:
            alice = await clients.user("alice", channels=[channel])
            bob = await clients.user("bob", channels=[channel])
            for client in (alice, bob):
                await client.ok("subscribe", channel=channel)
            assert (await alice.ok("typing", channel=channel, state="start")) == {"sent": True}
            assert (await alice.ok("typing", channel=channel, state="start")) == {"sent": False}
            assert (await alice.ok("typing", channel=channel, state="stop")) == {"sent": True}
            # After a stop, a new start goes out at once.
            assert (await alice.ok("typing", channel=channel, state="start")) == {"sent": True}
            states = [(await bob.push("typing", channel=channel))["state"] for _ in range(3)]
            assert states == ["start", "stop", "start"], states
    run_async(scenario(), timeout=30)


def test_typing_needs_the_namespace_a_subscription_and_a_valid_state(gateway):
    server = gateway(gateway_config(namespaces=NAMESPACES))

    async def scenario():
        async with Clients(server) as clients:
            alice = await clients.user("alice", channels=["conversation:t3"])
            await alice.error("typing", "not_subscribed", channel="conversation:t3", state="start")
            await alice.ok("subscribe", channel="quiet:room")
            await alice.error("typing", "not_available", channel="quiet:room", state="start")
            await alice.ok("subscribe", channel="conversation:t3")
            await alice.error("typing", "bad_request", channel="conversation:t3", state="typing")
            await alice.error("typing", "bad_request", channel="conversation:t3")
    run_async(scenario(), timeout=30)
