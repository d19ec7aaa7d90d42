"""Graceful stop: SIGTERM (or SIGINT) closes every open WebSocket with 1001 and the process exits 0."""

import asyncio
import signal
import socket
import subprocess
import time

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from wsraw import OP_CLOSE, OP_TEXT, close_payload, open_ws, read_until_eof, run_async


def assert_port_closed(port):
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=2).close()


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_signal_closes_three_clients_with_1001_and_exits_0(relay, signum):
    server = relay.echo(loops=2)

    async def scenario():
        clients = [await connect(server.url(), ping_interval=None, open_timeout=5, close_timeout=5) for _ in range(3)]
        for index, ws in enumerate(clients):
            await ws.send(f"hello {index}")
            assert await asyncio.wait_for(ws.recv(), 5) == f"hello {index}"
        start = time.monotonic()
        server.signal(signum)
        for ws in clients:
            with pytest.raises(ConnectionClosed) as caught:
                await asyncio.wait_for(ws.recv(), 5)
            assert caught.value.rcvd is not None, "no close frame from the server"
            assert caught.value.rcvd.code == 1001, caught.value
            await asyncio.wait_for(ws.wait_closed(), 5)
            assert ws.close_code == 1001
        return time.monotonic() - start

    elapsed = run_async(scenario())
    assert elapsed < 3, elapsed
    assert server.wait_exit(timeout=5) == 0, server.describe()
    assert_port_closed(server.port)


@pytest.mark.parametrize("loops", [1, 2])
def test_sigterm_right_after_start_exits_0_quickly(relay, loops):
    # The signal lands while the loops are still starting (the ready line is printed before):
    # it must not be lost. Repeated, since it is a race.
    for _ in range(8):
        server = relay.echo(loops=loops)
        start = time.monotonic()
        server.signal(signal.SIGTERM)
        try:
            code = server.wait_exit(timeout=3)
        except subprocess.TimeoutExpired:
            pytest.fail(f"relay ignored a SIGTERM sent right after it started\n{server.describe()}")
        assert code == 0, server.describe()
        assert time.monotonic() - start < 2


def test_sigterm_waits_for_close_reply_then_gives_up_after_close_timeout(relay):
    server = relay.echo(config={"timeouts": {"close": 0.5, "drain": 0}})
    with open_ws(server.port) as client:
        client.echo(OP_TEXT, b"x")
        start = time.monotonic()
        server.signal(signal.SIGTERM)
        frame = client.read_close(timeout=3)
        assert frame.close_code == 1001
        # Never answer the close: the server must still exit, after about the close timeout.
        assert server.wait_exit(timeout=5) == 0, server.describe()
        elapsed = time.monotonic() - start
        assert 0.4 <= elapsed < 3, elapsed
        read_until_eof(client.sock, timeout=2, allow_reset=True)


def test_sigterm_close_handshake_completed_by_raw_client(relay):
    server = relay.echo()
    with open_ws(server.port) as client:
        server.signal(signal.SIGTERM)
        frame = client.read_close(timeout=3)
        assert frame.close_code == 1001
        client.send_frame(OP_CLOSE, close_payload(1001))
        # The server must not answer a second close frame: just FIN.
        client.expect_eof(timeout=3)
    assert server.wait_exit(timeout=5) == 0, server.describe()


def test_sigterm_drops_connection_in_handshake(relay):
    server = relay.echo()
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")
        time.sleep(0.2)
        server.signal(signal.SIGTERM)
        assert server.wait_exit(timeout=5) == 0, server.describe()
        data = read_until_eof(sock, timeout=2, allow_reset=True)
        assert not data.startswith(b"HTTP/1.1 101"), data


def test_second_signal_stops_at_once(relay):
    server = relay.echo()  # close timeout 5 s: a silent client would hold the first stop that long
    with open_ws(server.port) as client:
        server.signal(signal.SIGTERM)
        assert client.read_close(timeout=3).close_code == 1001
        start = time.monotonic()
        server.signal(signal.SIGTERM)
        assert server.wait_exit(timeout=4) == 0, server.describe()
        assert time.monotonic() - start < 2


def test_sighup_does_not_stop_the_server(relay):
    server = relay.echo()
    with open_ws(server.port) as client:
        server.signal(signal.SIGHUP)
        time.sleep(0.3)
        assert server.is_running()
        client.echo(OP_TEXT, b"after SIGHUP")
