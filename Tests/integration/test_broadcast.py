"""`relay echo --broadcast`: every message from any client reaches every connected client, its
sender included, in the order its sender sent it, text as text and binary as binary; a client
gets only what is sent once it is connected."""

from __future__ import annotations

import asyncio

from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from wsraw import run_async

# listen.max_connections is shared out over the loops: two loops take two connections each, and a
# client refused with 503 tries again, so three clients always span both loops.
CONFIG = {"listen": {"max_connections": 4}}
ATTEMPTS = 50
# Payload sizes across the three frame-length encodings (7-bit, 16-bit, 64-bit).
PADDING = [0, 120, 130, 70_000]
QUIET = 0.3


def start(relay):
    server = relay.echo("--broadcast", "--max-message-size", str(1 << 20), config=CONFIG, loops=2)
    assert server.loops == 2
    return server


async def open_client(server):
    for _ in range(ATTEMPTS):
        try:
            return await connect(server.url(), open_timeout=5, close_timeout=5, ping_interval=None, max_size=None)
        except InvalidStatus as refused:
            assert refused.response.status_code == 503  # that client's loop is full: try again
    raise AssertionError(f"no free loop in {ATTEMPTS} attempts")


def message(sender: int, n: int) -> str | bytes:
    """Even numbers are text, odd ones binary; each names its sender and number."""
    padding = PADDING[n % len(PADDING)]
    if n % 2 == 0:
        return f"{sender} {n} " + "é" * (padding // 2)
    return bytes([sender, n]) + bytes(range(256)) * (padding // 256) + b"\xff" * (padding % 256)


def origin(received: str | bytes) -> tuple[int, int]:
    if isinstance(received, str):
        sender, n, _ = received.split(" ", 2)
        return int(sender), int(n)
    return received[0], received[1]


async def receive(ws, count: int) -> list:
    """Exactly `count` messages, then nothing more for QUIET seconds."""
    received = [await asyncio.wait_for(ws.recv(), 10) for _ in range(count)]
    try:
        extra = await asyncio.wait_for(ws.recv(), QUIET)
    except asyncio.TimeoutError:
        return received
    raise AssertionError(f"an unexpected message after {count}: {origin(extra)}")


async def send_all(ws, sender: int, numbers: range) -> None:
    for n in numbers:
        await ws.send(message(sender, n))


def check_per_sender_order(received: list, senders: list[int], numbers: range) -> None:
    for sender in senders:
        from_sender = [item for item in received if origin(item)[0] == sender]
        assert [origin(item)[1] for item in from_sender] == list(numbers), f"from {sender}"
        assert from_sender == [message(sender, n) for n in numbers], f"from {sender}: wrong bytes or type"


def test_every_message_reaches_every_client_in_sender_order(relay):
    server = start(relay)
    numbers = range(24)

    async def scenario():
        clients = [await open_client(server) for _ in range(3)]
        try:
            results = await asyncio.gather(*(receive(ws, 3 * len(numbers)) for ws in clients),
                                           *(send_all(ws, index, numbers) for index, ws in enumerate(clients)))
        finally:
            await asyncio.gather(*(ws.close() for ws in clients))
        return results[:3]

    for received in run_async(scenario(), timeout=30):
        check_per_sender_order(received, [0, 1, 2], numbers)


def test_a_client_that_joins_later_gets_only_later_messages(relay):
    server = start(relay)
    before, after = range(0, 6), range(6, 12)

    async def scenario():
        early = [await open_client(server) for _ in range(2)]
        try:
            await asyncio.gather(*(receive(ws, 2 * len(before)) for ws in early),
                                 *(send_all(ws, index, before) for index, ws in enumerate(early)))
            late = await open_client(server)
            clients = early + [late]
            try:
                results = await asyncio.gather(*(receive(ws, 3 * len(after)) for ws in clients),
                                               *(send_all(ws, index, after) for index, ws in enumerate(clients)))
            finally:
                await late.close()
        finally:
            await asyncio.gather(*(ws.close() for ws in early))
        return results[:3]

    for received in run_async(scenario(), timeout=30):
        check_per_sender_order(received, [0, 1, 2], after)
