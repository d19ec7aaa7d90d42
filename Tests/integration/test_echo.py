"""Echo behaviour seen through a real client library (websockets), which checks the server's side
of the protocol (handshake, unmasked frames, UTF-8, close handshake) for us."""

import asyncio
import random

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosedError

from wsraw import run_async


def open_client(server, **kwargs):
    kwargs.setdefault("open_timeout", 5)
    kwargs.setdefault("close_timeout", 5)
    kwargs.setdefault("ping_interval", None)
    kwargs.setdefault("max_size", None)
    return connect(server.url(), **kwargs)


async def recv(ws, timeout=5.0):
    return await asyncio.wait_for(ws.recv(), timeout)


def test_text_and_binary_round_trip(echo_server):
    async def scenario():
        async with open_client(echo_server) as ws:
            await ws.send("héllo wörld ✓ 😀")
            assert await recv(ws) == "héllo wörld ✓ 😀"
            await ws.send(b"\x00\x01\xfe\xff")
            reply = await recv(ws)
            assert isinstance(reply, bytes) and reply == b"\x00\x01\xfe\xff"
    run_async(scenario())


def test_empty_messages_keep_their_type(echo_server):
    async def scenario():
        async with open_client(echo_server) as ws:
            await ws.send("")
            assert await recv(ws) == ""
            await ws.send(b"")
            reply = await recv(ws)
            assert reply == b"" and isinstance(reply, bytes)
    run_async(scenario())


SIZES = [1, 125, 126, 127, 65535, 65536, 65537, 300_000]


@pytest.mark.parametrize("size", SIZES)
def test_sizes_around_length_boundaries(echo_server, size):
    rng = random.Random(size)
    binary = rng.randbytes(size)
    text = "".join(rng.choice("abcxyz0123456789") for _ in range(size))

    async def scenario():
        async with open_client(echo_server) as ws:
            await ws.send(binary)
            assert await recv(ws) == binary
            await ws.send(text)
            assert await recv(ws) == text
    run_async(scenario())


def test_one_mebibyte_with_max_message_size(relay):
    server = relay.echo("--max-message-size", str(1 << 20))
    payload = random.Random(1).randbytes(1 << 20)
    text = "é" * (1 << 19)  # 1 MiB of UTF-8

    async def scenario():
        async with open_client(server) as ws:
            await ws.send(payload)
            assert await recv(ws, 10) == payload
            await ws.send(text)
            assert await recv(ws, 10) == text
    run_async(scenario(), timeout=30)


def test_message_over_max_message_size_is_closed_with_1009(relay):
    server = relay.echo("--max-message-size", str(1 << 20))

    async def scenario():
        async with open_client(server) as ws:
            await ws.send(b"x" * ((1 << 20) + 1))
            with pytest.raises(ConnectionClosedError) as caught:
                await recv(ws)
            assert caught.value.rcvd is not None and caught.value.rcvd.code == 1009
    run_async(scenario())


def test_200_random_messages_with_seeded_rng(echo_server):
    rng = random.Random(6455)
    alphabet = "aZ09 ,.-é€😀\u0000\n"

    def make():
        size = rng.choice([0, 1, rng.randint(2, 125), rng.randint(126, 65535), rng.randint(65536, 70000)])
        if rng.random() < 0.5:
            return rng.randbytes(size)
        return "".join(rng.choice(alphabet) for _ in range(size // 3))

    messages = [make() for _ in range(200)]

    async def scenario():
        async with open_client(echo_server) as ws:
            # One at a time, then all pipelined: order and content must hold both ways.
            for message in messages[:100]:
                await ws.send(message)
                assert await recv(ws) == message
            sender = asyncio.ensure_future(asyncio.gather(*[ws.send(m) for m in messages[100:]]))
            for message in messages[100:]:
                assert await recv(ws) == message
            await sender
    run_async(scenario(), timeout=30)


def test_fragmented_messages_from_client(echo_server):
    async def fragments(parts):
        for part in parts:
            yield part

    async def scenario():
        async with open_client(echo_server) as ws:
            await ws.send(fragments(["frag", "men", "", "ted ✓"]))
            assert await recv(ws) == "fragmented ✓"
            await ws.send(fragments([b"\x00" * 70000, b"\x01" * 10, b"\x02" * 65536]))
            assert await recv(ws) == b"\x00" * 70000 + b"\x01" * 10 + b"\x02" * 65536
            await ws.send(["sync", " iterable"])
            assert await recv(ws) == "sync iterable"
    run_async(scenario())


def test_50_concurrent_clients_on_two_loops(relay):
    server = relay.echo(loops=2, config={"log": {"level": "debug"}})
    assert server.loops == 2

    async def client(number):
        async with open_client(server) as ws:
            for round_ in range(20):
                message = f"client {number} round {round_} " + "x" * (number * 37)
                await ws.send(message)
                assert await recv(ws, 10) == message
                await ws.send(message.encode())
                assert await recv(ws, 10) == message.encode()
        return number

    async def scenario():
        results = await asyncio.gather(*[client(n) for n in range(50)])
        assert sorted(results) == list(range(50))
    run_async(scenario(), timeout=60)
    # Both loops served connections (SO_REUSEPORT spreads them; all 50 on one loop: p = 2^-49).
    records = server.log_records()
    assert {"0", "1"} <= {record.get("loop") for record in records}, records[-20:]
    assert not [record for record in records if record["level"] in ("error", "critical")]


def test_ping_pong_with_payload(echo_server):
    async def scenario():
        async with open_client(echo_server) as ws:
            for payload in [b"", b"abc", bytes(range(125))]:
                waiter = await ws.ping(payload)
                latency = await asyncio.wait_for(waiter, 5)
                assert latency >= 0
            await ws.send("after pings")
            assert await recv(ws) == "after pings"
    run_async(scenario())


def test_close_code_4000_is_echoed(echo_server):
    async def scenario():
        async with open_client(echo_server) as ws:
            await ws.send("bye soon")
            assert await recv(ws) == "bye soon"
            await asyncio.wait_for(ws.close(4000, "app says bye"), 5)
            assert ws.close_code == 4000
    run_async(scenario())


def test_normal_close_is_echoed(echo_server):
    async def scenario():
        async with open_client(echo_server) as ws:
            await asyncio.wait_for(ws.close(), 5)
            assert ws.close_code == 1000
    run_async(scenario())


def test_subprotocol_offered_none_selected(echo_server):
    async def scenario():
        async with open_client(echo_server, subprotocols=["chat.v1", "chat.v2"]) as ws:
            assert ws.subprotocol is None
            assert ws.response.headers.get("Sec-WebSocket-Protocol") is None
            await ws.send("works anyway")
            assert await recv(ws) == "works anyway"
    run_async(scenario())


def test_compression_offer_is_accepted(echo_server):
    """websockets offers permessage-deflate by default; Relay accepts (test_compression.py has the
    details) and the echo comes back intact."""
    async def scenario():
        async with open_client(echo_server, compression="deflate") as ws:
            assert ws.response.headers.get("Sec-WebSocket-Extensions") == "permessage-deflate; client_max_window_bits=15"
            await ws.send("x" * 10000)
            assert await recv(ws) == "x" * 10000
    run_async(scenario())


def test_custom_websocket_path(relay):
    server = relay.echo("--path", "/echo")
    assert server.path == "/echo"

    async def scenario():
        async with open_client(server) as ws:
            await ws.send("on /echo")
            assert await recv(ws) == "on /echo"
    run_async(scenario())
