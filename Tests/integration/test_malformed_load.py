"""Malformed or stalled input on some connections must not stall the (single) event loop for the
others: a well-behaved client keeps getting prompt echoes meanwhile."""

import asyncio
import os
import random
import socket
import threading
import time

from websockets.asyncio.client import connect

from wsraw import OP_BINARY, OP_TEXT, encode_frame, open_ws, read_until_eof, run_async, upgrade_request


class Abuser(threading.Thread):
    """Runs `behaviour(stop_event)` in a loop until told to stop, counting what it did."""

    def __init__(self, behaviour):
        super().__init__(daemon=True)
        self.behaviour = behaviour
        self.stop = threading.Event()
        self.rounds = 0
        self.error = None

    def run(self):
        while not self.stop.is_set():
            try:
                self.behaviour(self.stop)
                self.rounds += 1
            except (ConnectionError, TimeoutError, EOFError):
                self.rounds += 1
            except Exception as error:  # noqa: BLE001 - reported by the test
                self.error = error
                return


def garbage_after_handshake(port, rng):
    def behaviour(stop):
        with open_ws(port) as client:
            # Random bytes after a first byte with a reserved opcode, so the frame is surely bad
            # (fully random bytes may well be the valid start of a long frame).
            first = rng.choice([0x3, 0x4, 0x5, 0x6, 0x7, 0xB, 0xC, 0xD, 0xE, 0xF]) | rng.choice([0, 0x80]) | rng.randint(0, 7) << 4
            client.send(bytes([first]) + rng.randbytes(rng.randint(1, 4096)))
            # The server answers with a close frame (1002) and ends the connection.
            data = read_until_eof(client.sock, timeout=5, allow_reset=True)
            assert data[:1] in (b"", b"\x88"), data[:20]
    return behaviour


def garbage_instead_of_handshake(port, rng):
    def behaviour(stop):
        with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
            sock.sendall(rng.randbytes(rng.randint(1, 2048)) + b"\r\n\r\n")
            read_until_eof(sock, timeout=5, allow_reset=True)
    return behaviour


def partial_frames(port, rng):
    def behaviour(stop):
        with open_ws(port) as client:
            frame = encode_frame(OP_BINARY, rng.randbytes(60000))
            cut = rng.randint(1, len(frame) - 1)
            client.send(frame[:cut])
            stop.wait(0.3)  # stall mid-frame, then go away
    return behaviour


def partial_handshakes(port, rng):
    def behaviour(stop):
        with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
            request = upgrade_request("/")
            sock.sendall(request[:rng.randint(1, len(request) - 1)])
            stop.wait(0.3)
    return behaviour


def test_garbage_and_partial_frames_do_not_stall_the_loop(relay):
    server = relay.echo()
    assert server.loops == 1
    rng = random.Random(1234)
    abusers = [Abuser(make(server.port, random.Random(rng.random()))) for make in
               (garbage_after_handshake, garbage_instead_of_handshake, partial_frames, partial_handshakes)]
    # Connections that stall forever, held open during the whole test.
    stalled = []
    for cut in (1, 2, 6, 10):
        client = open_ws(server.port)
        client.send(encode_frame(OP_TEXT, b"x" * 300)[:cut])
        stalled.append(client)
    half_request = socket.create_connection(("127.0.0.1", server.port), timeout=5)
    half_request.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n")

    async def well_behaved():
        slowest = 0.0
        async with connect(server.url(), ping_interval=None, open_timeout=5, close_timeout=5) as ws:
            for index in range(150):
                message = os.urandom(random.Random(index).randint(0, 20000))
                start = time.monotonic()
                await ws.send(message)
                assert await asyncio.wait_for(ws.recv(), 2) == message
                slowest = max(slowest, time.monotonic() - start)
                await asyncio.sleep(0.01)
        return slowest

    try:
        for abuser in abusers:
            abuser.start()
        slowest = run_async(well_behaved(), timeout=40)
    finally:
        for abuser in abusers:
            abuser.stop.set()
        for abuser in abusers:
            abuser.join(10)
        for client in stalled:
            client.close()
        half_request.close()
    for abuser in abusers:
        assert abuser.error is None, f"{abuser.behaviour}: {abuser.error!r}"
        assert abuser.rounds >= 2, "an abuser made no progress: its connections were not being served"
    assert slowest < 1.0, f"an echo took {slowest:.2f} s while others sent garbage"
    assert server.is_running()


def test_connection_storm_of_refusals_then_normal_service(relay):
    server = relay.echo()
    for index in range(200):
        with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
            sock.sendall(b"BREW /pot HTCPCP/1.0\r\n\r\n" if index % 2 else b"\x00\xff" * 50 + b"\r\n\r\n")
            data = read_until_eof(sock, timeout=5, allow_reset=True)
            assert data.startswith(b"HTTP/1.1 400"), data[:80]
    with open_ws(server.port) as client:
        client.echo(OP_TEXT, b"fine")
