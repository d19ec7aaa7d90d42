"""online: which users have at least one connection; with watch, one `status` push per user
transition however many devices they use, across loops."""

from __future__ import annotations

import asyncio

from gateway_support import Clients, gateway_config
from wsraw import run_async


def test_online_and_watch_one_transition_per_user(gateway):
    server = gateway(gateway_config(loops=2))

    async def scenario():
        async with Clients(server) as clients:
            student = await clients.user("student")
            status = await student.ok("online", users=["tutor1", "tutor2", "tutor1"], watch=True)
            assert status == {"users": {"tutor1": False, "tutor2": False}}, status

            phone = await clients.user("tutor1", name="tutor1 phone")
            assert await student.push("status") == {"push": "status", "user": "tutor1", "online": True}
            laptop = await clients.user("tutor1", name="tutor1 laptop")
            status = await student.ok("online", users=["tutor1", "tutor2"])
            assert status == {"users": {"tutor1": True, "tutor2": False}}, status
            assert not student.queued("status"), "a second device is no transition"

            await phone.close()
            await student.ok("ping")
            await asyncio.sleep(0.2)
            assert not student.queued("status"), "still online on the laptop"
            await laptop.close()
            assert await student.push("status") == {"push": "status", "user": "tutor1", "online": False}
    run_async(scenario(), timeout=30)


def test_watchers_on_both_loops_each_get_the_transition_once(gateway):
    server = gateway(gateway_config(loops=2))

    async def scenario():
        async with Clients(server) as clients:
            watchers = [await clients.user(f"student{n}") for n in range(8)]
            for watcher in watchers:
                await watcher.ok("online", users=["tutor"], watch=True)
            tutor = await clients.user("tutor")
            for watcher in watchers:
                assert await watcher.push("status") == {"push": "status", "user": "tutor", "online": True}
            await tutor.close()
            for watcher in watchers:
                assert await watcher.push("status") == {"push": "status", "user": "tutor", "online": False}
                assert not watcher.queued("status")
    run_async(scenario(), timeout=30)


def test_online_limits_and_bad_requests(gateway):
    config = gateway_config()
    config["gateway"] = {"max_online_users": 3, "max_watched_users": 4}
    server = gateway(config)

    async def scenario():
        async with Clients(server) as clients:
            student = await clients.user("student")
            await student.error("online", "limit_exceeded", users=["a", "b", "c", "d"])
            await student.ok("online", users=["a", "b", "c"], watch=True)
            await student.error("online", "limit_exceeded", users=["d", "e"], watch=True)
            await student.ok("online", users=["a", "d"], watch=True)
            await student.error("online", "bad_request", users=[])
            await student.error("online", "bad_request", users=["a", 1])
            await student.error("online", "bad_request", users="a")
            await student.error("online", "bad_request", users=["a"], watch="yes")
    run_async(scenario(), timeout=30)
