"""Keepalive: an idle connection gets pings every ping_interval; one that sends nothing at all
within pong_timeout after a ping is dropped, one that answers (or is busy) stays open."""

import asyncio
import time

import pytest
from websockets.asyncio.client import connect

from wsraw import OP_PING, OP_PONG, OP_TEXT, open_ws, run_async

KEEPALIVE = {"timeouts": {"ping_interval": 0.3, "pong_timeout": 0.3}}


@pytest.fixture
def server(relay):
    return relay.echo(config=KEEPALIVE)


def test_silent_client_gets_a_ping_then_is_dropped(server):
    with open_ws(server.port) as client:
        start = time.monotonic()
        ping = client.read_frame(timeout=2)
        ping_at = time.monotonic() - start
        assert ping.opcode == OP_PING and not ping.masked, ping
        assert 0.2 <= ping_at <= 1.0, ping_at
        # Never answer: the server must drop the connection about pong_timeout later.
        client.sock.settimeout(3)
        dropped = False
        try:
            rest = client.sock.recv(4096)
            dropped = rest == b""
            assert dropped, f"unexpected data instead of a drop: {rest!r}"
        except ConnectionResetError:
            dropped = True
        dropped_at = time.monotonic() - start
        assert dropped
        assert dropped_at <= 1.5, dropped_at
        assert dropped_at - ping_at >= 0.2, "dropped before pong_timeout elapsed"


def test_client_that_answers_pings_stays_open(server):
    with open_ws(server.port) as client:
        pings = 0
        deadline = time.monotonic() + 2.0
        while time.monotonic() < deadline:
            try:
                frame = client.read_frame(timeout=max(0.01, deadline - time.monotonic()))
            except TimeoutError:
                break
            assert frame.opcode == OP_PING, frame
            pings += 1
            client.send_frame(OP_PONG, frame.payload)
        assert pings >= 3, f"only {pings} pings in 2 s with ping_interval 0.3"
        client.echo(OP_TEXT, b"still open after 2 s")


def collect_ping_times(client, seconds, answer=True):
    times = []
    start = time.monotonic()
    deadline = start + seconds
    while time.monotonic() < deadline:
        try:
            frame = client.read_frame(timeout=max(0.01, deadline - time.monotonic()))
        except TimeoutError:
            break
        assert frame.opcode == OP_PING, frame
        times.append(time.monotonic() - start)
        if answer:
            client.send_frame(OP_PONG, frame.payload)
    return times


def test_answered_pings_keep_coming_every_ping_interval(relay):
    # pong_timeout longer than ping_interval: a connection that answered at once and then stayed
    # silent for ping_interval must get its next ping then, not only when the pong timer ends.
    server = relay.echo(config={"timeouts": {"ping_interval": 0.3, "pong_timeout": 1.0}})
    with open_ws(server.port) as client:
        times = collect_ping_times(client, 2.5)
        gaps = [later - earlier for earlier, later in zip(times, times[1:])]
        assert len(times) >= 5, f"pings at {times}"
        assert max(gaps) < 0.6, f"gaps between answered pings {gaps} with ping_interval 0.3"


def test_unanswered_ping_with_long_pong_timeout(relay):
    server = relay.echo(config={"timeouts": {"ping_interval": 0.3, "pong_timeout": 1.0}})
    with open_ws(server.port) as client:
        start = time.monotonic()
        assert client.read_frame(timeout=2).opcode == OP_PING
        client.sock.settimeout(3)
        try:
            assert client.sock.recv(4096) == b""
        except ConnectionResetError:
            pass
        assert 1.1 <= time.monotonic() - start <= 2.0


def test_any_received_frame_counts_as_an_answer(server):
    # Not a pong but a data frame after each ping: "nothing at all received" is the drop rule.
    with open_ws(server.port) as client:
        deadline = time.monotonic() + 2.0
        while time.monotonic() < deadline:
            try:
                frame = client.read_frame(timeout=max(0.01, deadline - time.monotonic()))
            except TimeoutError:
                break
            if frame.opcode == OP_PING:
                client.send_frame(OP_TEXT, b"busy")
            else:
                assert frame.payload == b"busy"
        client.echo(OP_TEXT, b"still open")


def test_busy_client_is_not_dropped(server):
    with open_ws(server.port) as client:
        start = time.monotonic()
        while time.monotonic() - start < 2.0:
            client.send_frame(OP_TEXT, b"tick")
            frame = client.read_frame(timeout=2)
            if frame.opcode == OP_PING:
                # Pings are allowed but must not be required: do not answer them.
                frame = client.read_frame(timeout=2)
            assert frame.opcode == OP_TEXT and frame.payload == b"tick", frame
            time.sleep(0.1)


def test_library_client_answers_pings_and_stays_open(server):
    async def scenario():
        async with connect(server.url(), ping_interval=None, open_timeout=5, close_timeout=5) as ws:
            await asyncio.sleep(2.0)
            await ws.send("alive")
            assert await asyncio.wait_for(ws.recv(), 5) == "alive"
            await ws.close()
            assert ws.close_code == 1000
    run_async(scenario())


def test_default_interval_sends_no_early_ping(echo_server):
    # Default ping_interval is 25 s: nothing must arrive on an idle connection in the first second.
    with open_ws(echo_server.port) as client:
        with pytest.raises(TimeoutError):
            client.read_frame(timeout=1.0)
        client.echo(OP_TEXT, b"quiet")
