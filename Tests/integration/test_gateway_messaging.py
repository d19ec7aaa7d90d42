"""Publications across loops, recovery after a reconnect (also while publishing goes on),
idempotent publishes, presence with join/leave, and history pages."""

from __future__ import annotations

import asyncio
import time

from gateway_support import Clients, gateway_config, make_token
from wsraw import run_async


def conversation(history_size: int = 100, **extra) -> dict:
    namespace = {"subscribe": ["token", "claim"], "publish": "subscribers", "history_size": history_size,
                 "history_ttl": 86400, "presence": True, "join_leave": True}
    namespace.update(extra)
    return {"conversation": namespace}


def test_fan_out_across_loops_in_one_order(gateway):
    """20 clients on 2 loops, each publishing 5 messages at once: every client gets all 100, with
    offsets 1..100 in the same order, each with its publisher's user."""
    server = gateway(gateway_config(loops=2, namespaces=conversation()))
    channel = "conversation:room"
    users = [f"u{index:02d}" for index in range(20)]

    async def publisher(client, user):
        results = []
        for n in range(5):
            result = await client.publish(channel, {"from": user, "n": n})
            results.append(result)
        return results

    async def scenario():
        async with Clients(server) as clients:
            members = await asyncio.gather(*(clients.user(user, channels=[channel]) for user in users))
            subscribed = await asyncio.gather(*(client.ok("subscribe", channel=channel) for client in members))
            epochs = {result["epoch"] for result in subscribed}
            assert len(epochs) == 1, epochs
            assert {result["offset"] for result in subscribed} == {0}
            published = await asyncio.gather(*(publisher(client, user) for client, user in zip(members, users)))
            received = await asyncio.gather(*(client.publications(channel, 100, timeout=15) for client in members))
            return published, received, epochs.pop()

    published, received, epoch = run_async(scenario(), timeout=40)

    # Every publish got its own offset in the channel's one epoch; each publisher's in order.
    all_results = [result for results in published for result in results]
    assert {result["epoch"] for result in all_results} == {epoch}
    assert sorted(result["offset"] for result in all_results) == list(range(1, 101))
    for results in published:
        offsets = [result["offset"] for result in results]
        assert offsets == sorted(offsets), offsets

    reference = received[0]
    assert [pub["offset"] for pub in reference] == list(range(1, 101)), [pub["offset"] for pub in reference]
    for user, pubs in zip(users, received):
        assert pubs == reference, f"{user} saw another sequence"
    for pub in reference:
        assert pub["user"] == pub["data"]["from"], pub
    assert sorted((pub["data"]["from"], pub["data"]["n"]) for pub in reference) == \
        sorted((user, n) for user in users for n in range(5))
    # The offset each publisher was told is the one its message carries.
    by_offset = {pub["offset"]: pub for pub in reference}
    for user, results in zip(users, published):
        for n, result in enumerate(results):
            assert by_offset[result["offset"]]["data"] == {"from": user, "n": n}


def test_recovery_after_reconnect(gateway):
    server = gateway(gateway_config(loops=2, namespaces=conversation(history_size=60)))
    channel = "conversation:r"

    async def scenario():
        async with Clients(server) as clients:
            publisher = await clients.user("pub", channels=[channel])
            await publisher.ok("subscribe", channel=channel)
            reader = await clients.user("reader", channels=[channel])
            position = await reader.ok("subscribe", channel=channel)
            for n in range(5):
                await publisher.publish(channel, n)
            seen = await reader.publications(channel, 5)
            assert [pub["offset"] for pub in seen] == [1, 2, 3, 4, 5]
            since = {"offset": seen[-1]["offset"], "epoch": position["epoch"]}
            await reader.close()

            for n in range(5, 55):
                await publisher.publish(channel, n)

            back = await clients.user("reader", channels=[channel])
            result = await back.ok("subscribe", channel=channel, since=since)
            assert result == {"offset": 55, "epoch": since["epoch"], "recovered": True}, result
            # Nothing before the reply, the missed ones right after it, then live ones.
            assert back.log[-1].get("result") == result and not back.pushes
            for n in range(55, 58):
                await publisher.publish(channel, n)
            pubs = await back.publications(channel, 53)
            assert [pub["offset"] for pub in pubs] == list(range(6, 59))
            assert [pub["data"] for pub in pubs] == list(range(5, 58))
            assert all(pub["user"] == "pub" for pub in pubs)
            await publisher.publish(channel, "marker")
            assert (await back.publications(channel, 1))[0]["offset"] == 59  # no duplicate before it
            history = await publisher.ok("history", channel=channel, limit=100)
            assert [pub["offset"] for pub in history["publications"]] == list(range(1, 60))

            # Now offset 6 is older than what is kept (60 publications): 10 more push it out.
            for n in range(10):
                await publisher.publish(channel, f"more-{n}")  # offsets 60..69, history keeps 10..69
            stale = await clients.user("reader", channels=[channel], name="stale")
            result = await stale.ok("subscribe", channel=channel, since=since)
            assert result == {"offset": 69, "epoch": since["epoch"], "recovered": False}, result

            wrong_epoch = await clients.user("reader", channels=[channel], name="wrong epoch")
            result = await wrong_epoch.ok("subscribe", channel=channel, since={"offset": 69, "epoch": "not-it"})
            assert result == {"offset": 69, "epoch": since["epoch"], "recovered": False}, result

            future = await clients.user("reader", channels=[channel], name="future")
            result = await future.ok("subscribe", channel=channel, since={"offset": 500, "epoch": since["epoch"]})
            assert result == {"offset": 69, "epoch": since["epoch"], "recovered": False}, result

            current = await clients.user("reader", channels=[channel], name="current")
            result = await current.ok("subscribe", channel=channel, since={"offset": 69, "epoch": since["epoch"]})
            assert result == {"offset": 69, "epoch": since["epoch"], "recovered": True}, result

            # None of these got anything replayed: the next publication is the first they see.
            await publisher.publish(channel, "live")
            for client in (stale, wrong_epoch, future, current):
                first = (await client.publications(channel, 1))[0]
                assert first["offset"] == 70 and first["data"] == "live", (client.name, first)

    run_async(scenario(), timeout=30)


def test_recovery_races_with_publishing(gateway):
    """A publisher never stops while a reader drops and resubscribes with `since`, several times:
    for each resubscribe the recovered publications and the live ones after them are exactly
    contiguous from `since`, with no gap and no duplicate."""
    server = gateway(gateway_config(loops=2, namespaces=conversation(history_size=5000)))
    channel = "conversation:race"

    async def scenario():
        async with Clients(server) as clients:
            stop = asyncio.Event()
            last_offset = 0
            publisher_ready = asyncio.Event()

            async def keep_publishing(client):
                nonlocal last_offset
                n = 0
                while not stop.is_set():
                    result = await client.publish(channel, n)
                    assert result["offset"] == n + 1, result  # the only publisher: no gaps
                    last_offset = result["offset"]
                    n += 1
                    if n == 20:
                        publisher_ready.set()

            publisher = await clients.user("pub", channels=[channel])
            await publisher.ok("subscribe", channel=channel)
            reader = await clients.user("reader", channels=[channel])
            position = await reader.ok("subscribe", channel=channel)
            epoch = position["epoch"]
            task = asyncio.create_task(keep_publishing(publisher))
            try:
                await asyncio.wait_for(publisher_ready.wait(), 10)
                offsets = [pub["offset"] for pub in await reader.publications(channel, 10)]
                assert offsets == list(range(1, 11)), offsets
                since = 10
                for round in range(8):
                    await reader.close()
                    await asyncio.sleep(0.005 * round)
                    reader = await clients.user("reader", channels=[channel], name=f"reader round {round}")
                    result = await reader.ok("subscribe", channel=channel, since={"offset": since, "epoch": epoch})
                    assert result["recovered"] is True and result["epoch"] == epoch, result
                    assert result["offset"] >= since, result
                    # The recovered ones (up to the reply's offset), then at least 30 live ones, and
                    # whatever else has arrived already.
                    pubs = await reader.publications(channel, result["offset"] - since + 30, timeout=10)
                    pubs += [push["pub"] for push in reader.queued("publication", channel)]
                    reader.pushes.clear()
                    offsets = [pub["offset"] for pub in pubs]
                    assert offsets == list(range(since + 1, since + 1 + len(offsets))), \
                        f"round {round}: since {since}, reply offset {result['offset']}: {offsets}"
                    since = offsets[-1]
            finally:
                stop.set()
                await asyncio.wait_for(task, 5)
            # The last reader goes on seeing everything, in order, up to a final publication.
            final = await publisher.publish(channel, "end")
            assert final["offset"] == last_offset + 1
            tail = await reader.publications(channel, final["offset"] - since, timeout=10)
            assert [pub["offset"] for pub in tail] == list(range(since + 1, final["offset"] + 1))

    run_async(scenario(), timeout=40)


def test_idempotent_publish(gateway):
    server = gateway(gateway_config(loops=2, namespaces=conversation()))
    channel = "conversation:idem"

    async def scenario():
        async with Clients(server) as clients:
            alice = await clients.user("alice", channels=[channel])
            bob = await clients.user("bob", channels=[channel])
            carol = await clients.user("carol", channels=[channel])
            for client in (alice, bob, carol):
                await client.ok("subscribe", channel=channel)
            first = await alice.publish(channel, {"text": "hello"}, key="msg-1")
            again = await alice.publish(channel, {"text": "hello"}, key="msg-1")
            assert again == first, (first, again)
            # Same key, different data: still the first one's offset, and nothing published.
            third = await alice.publish(channel, {"text": "edited"}, key="msg-1")
            assert third == first
            # Another user's same key is another message.
            bobs = await bob.publish(channel, {"text": "hi"}, key="msg-1")
            assert bobs["offset"] == first["offset"] + 1 and bobs["epoch"] == first["epoch"]
            assert await bob.publish(channel, {"text": "hi"}, key="msg-1") == bobs
            # Another key of alice's, and no key at all, are new messages each time.
            other = await alice.publish(channel, "x", key="msg-2")
            plain = [await alice.publish(channel, "y"), await alice.publish(channel, "y")]
            assert [other["offset"]] + [result["offset"] for result in plain] == [3, 4, 5]
            # The key belongs to the user, not the connection: alice's second device gets the first reply.
            alice_again = await clients.user("alice", channels=[channel, "conversation:other"], name="alice 2")
            await alice_again.ok("subscribe", channel=channel)
            assert await alice_again.publish(channel, {"text": "hello"}, key="msg-1") == first
            # The same key on another channel is another message there.
            await alice_again.ok("subscribe", channel="conversation:other")
            elsewhere = await alice_again.publish("conversation:other", "z", key="msg-1")
            assert elsewhere["offset"] == 1 and elsewhere["epoch"] != first["epoch"]
            marker = await bob.publish(channel, "marker")
            for client in (alice, bob, carol):
                pubs = await client.publications(channel, 6)
                assert pubs == [
                    {"offset": 1, "user": "alice", "data": {"text": "hello"}},
                    {"offset": 2, "user": "bob", "data": {"text": "hi"}},
                    {"offset": 3, "user": "alice", "data": "x"},
                    {"offset": 4, "user": "alice", "data": "y"},
                    {"offset": 5, "user": "alice", "data": "y"},
                    {"offset": marker["offset"], "user": "bob", "data": "marker"},
                ], (client.name, pubs)
                assert not client.queued("publication")
            history = await carol.ok("history", channel=channel)
            assert [pub["offset"] for pub in history["publications"]] == [1, 2, 3, 4, 5, 6]

    run_async(scenario())


def test_presence_with_two_devices(gateway):
    server = gateway(gateway_config(loops=2, namespaces=conversation()))
    channel = "conversation:p"
    info = {"name": "Alice", "role": "student", "avatar": "https://cdn.test/a.png"}

    async def barrier(sender, *receivers):
        """A publication by `sender` that every receiver sees: what came before it has arrived."""
        result = await sender.publish(channel, "barrier")
        for client in receivers:
            while True:
                pub = (await client.publications(channel, 1))[0]
                if pub["offset"] == result["offset"]:
                    break

    async def scenario():
        async with Clients(server) as clients:
            bob = await clients.user("bob", channels=[channel])
            await bob.ok("subscribe", channel=channel)
            alice_phone = await clients.user("alice", channels=[channel], info=info, name="alice phone")
            await alice_phone.ok("subscribe", channel=channel)
            join = await bob.push("join", channel=channel)
            assert join == {"push": "join", "channel": channel, "user": "alice", "info": info}, join

            alice_laptop = await clients.user("alice", channels=[channel], info=info, name="alice laptop")
            await alice_laptop.ok("subscribe", channel=channel)
            await barrier(alice_laptop, bob, alice_phone)
            assert not bob.queued("join") and not alice_phone.queued("join"), (bob.pushes, alice_phone.pushes)

            for client in (bob, alice_phone, alice_laptop):
                presence = await client.ok("presence", channel=channel)
                assert sorted(presence["users"], key=lambda entry: entry["user"]) == [
                    {"user": "alice", "connections": 2, "info": info},
                    {"user": "bob", "connections": 1},
                ], presence

            # Closing one device: no leave, alice still there with one connection.
            await alice_phone.close()
            await barrier(bob, bob, alice_laptop)
            assert not bob.queued("leave") and not alice_laptop.queued("leave"), bob.pushes
            presence = await bob.ok("presence", channel=channel)
            assert {entry["user"]: entry["connections"] for entry in presence["users"]} == {"alice": 1, "bob": 1}

            # Unsubscribing (not closing) the other device is alice's last connection: leave.
            await alice_laptop.ok("unsubscribe", channel=channel)
            leave = await bob.push("leave", channel=channel)
            assert leave == {"push": "leave", "channel": channel, "user": "alice"}
            presence = await bob.ok("presence", channel=channel)
            assert presence["users"] == [{"user": "bob", "connections": 1}], presence

            # Alice back on one device, then that connection closes: join, then leave.
            await alice_laptop.ok("subscribe", channel=channel)
            assert (await bob.push("join", channel=channel))["user"] == "alice"
            await alice_laptop.close()
            assert (await bob.push("leave", channel=channel))["user"] == "alice"
            await barrier(bob, bob)
            assert not bob.queued("join") and not bob.queued("leave"), bob.pushes

    run_async(scenario())


def test_join_leave_are_per_user_on_close(gateway):
    """Leave only after the user's last connection goes, whichever goes first, with a third user
    watching from the other loop as well."""
    server = gateway(gateway_config(loops=2, namespaces=conversation()))
    channel = "conversation:devices"

    async def scenario():
        async with Clients(server) as clients:
            watchers = [await clients.user(f"w{index}", channels=[channel]) for index in range(4)]
            for watcher in watchers:
                await watcher.ok("subscribe", channel=channel)
            devices = [await clients.user("alice", channels=[channel], name=f"alice {index}") for index in range(3)]
            for device in devices:
                await device.ok("subscribe", channel=channel)
            for device in devices[:2]:
                await device.close()
            marker = await watchers[0].publish(channel, "after two closed")
            for watcher in watchers:
                pubs = await watcher.publications(channel, 1)
                assert pubs[0]["offset"] == marker["offset"]
                joins = [push["user"] for push in watcher.queued("join")]
                assert joins.count("alice") == 1 and not watcher.queued("leave"), (watcher.name, watcher.pushes)
            await devices[2].close()
            for watcher in watchers:
                assert (await watcher.push("leave", channel=channel))["user"] == "alice"

    run_async(scenario())


def test_history_pages(gateway):
    server = gateway(gateway_config(loops=2, namespaces=conversation(history_size=8), gateway={"max_history_page": 5}))
    channel = "conversation:h"

    async def scenario():
        async with Clients(server) as clients:
            alice = await clients.user("alice", channels=[channel])
            bob = await clients.user("bob", channels=[channel])
            subscribed = await alice.ok("subscribe", channel=channel)
            await bob.ok("subscribe", channel=channel)
            empty = await alice.ok("history", channel=channel)
            assert empty == {"offset": 0, "epoch": subscribed["epoch"], "publications": []}
            for n in range(10):
                await (alice if n % 2 == 0 else bob).publish(channel, {"n": n, "text": f"message {n}", "ok": n % 3 == 0})
            pushed = await bob.publications(channel, 10)
            by_offset = {pub["offset"]: pub for pub in pushed}

            def page_offsets(page):
                assert page["offset"] == 10 and page["epoch"] == subscribed["epoch"], page
                for pub in page["publications"]:
                    assert pub == by_offset[pub["offset"]], (pub, by_offset[pub["offset"]])
                return [pub["offset"] for pub in page["publications"]]

            # History keeps the last 8 (3..10); a page is at most 5; newest last.
            assert page_offsets(await alice.ok("history", channel=channel)) == [6, 7, 8, 9, 10]
            assert page_offsets(await alice.ok("history", channel=channel, limit=3)) == [8, 9, 10]
            assert page_offsets(await alice.ok("history", channel=channel, limit=100)) == [6, 7, 8, 9, 10]
            assert page_offsets(await alice.ok("history", channel=channel, limit=3, before=8)) == [5, 6, 7]
            assert page_offsets(await alice.ok("history", channel=channel, limit=3, before=5)) == [3, 4]
            assert page_offsets(await alice.ok("history", channel=channel, limit=3, before=3)) == []
            assert page_offsets(await alice.ok("history", channel=channel, before=1)) == []
            assert page_offsets(await alice.ok("history", channel=channel, before=1000)) == [6, 7, 8, 9, 10]
            # Walking back page by page gives everything kept, once, in order.
            walked, before = [], None
            while True:
                fields = {"limit": 2} if before is None else {"limit": 2, "before": before}
                offsets = page_offsets(await bob.ok("history", channel=channel, **fields))
                if not offsets:
                    break
                walked = offsets + walked
                before = offsets[0]
            assert walked == list(range(3, 11))
            await alice.error("history", "bad_request", channel=channel, limit=0)
            await alice.error("history", "bad_request", channel=channel, before=0)
            await alice.error("history", "bad_request", channel=channel, limit="3")

    run_async(scenario())
