"""Backpressure: a client that sends echo requests and never reads must not make the server buffer
without bound (it stops reading that connection once max_outbound_bytes are pending), and it must
not stall the loop for the other connections on it."""

import asyncio
import os
import select
import socket
import struct
import threading
import time

import pytest
from websockets.asyncio.client import connect

from wsraw import OP_BINARY, encode_frame, open_ws, run_async

FRAME_PAYLOAD = 64 * 1024
CONFIG = {
    "listen": {"path": "/"},
    "loops": 1,
    "limits": {"max_outbound_bytes": 65536},
}


def small_buffers(sock):
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 65536)


class Flooder(threading.Thread):
    """Sends `frames` 64 KiB masked binary frames and never reads; stops when a send has been
    blocked for `stall` seconds. `make_frame(i)` gives the i-th frame."""

    def __init__(self, sock, frames, make_frame, stall=2.0):
        super().__init__(daemon=True)
        self.sock = sock
        self.frames = frames
        self.make_frame = make_frame
        self.stall = stall
        self.sent_bytes = 0
        self.sent_frames = 0
        self.blocked = False
        self.error = None
        self.finished = threading.Event()
        self.last_progress = time.monotonic()

    def run(self):
        try:
            self.sock.setblocking(False)
            for index in range(self.frames):
                data = memoryview(self.make_frame(index))
                while data:
                    _, writable, _ = select.select([], [self.sock], [], self.stall)
                    if not writable:
                        self.blocked = True
                        return
                    try:
                        count = self.sock.send(data)
                    except BlockingIOError:
                        continue
                    data = data[count:]
                    self.sent_bytes += count
                    self.last_progress = time.monotonic()
                self.sent_frames += 1
        except OSError as error:
            self.error = error
        finally:
            self.finished.set()


async def echo_round_trips(url, count, limit):
    """`count` round trips on a fresh connection; returns the slowest one."""
    slowest = 0.0
    async with connect(url, ping_interval=None, open_timeout=5, close_timeout=5) as ws:
        for index in range(count):
            start = time.monotonic()
            await ws.send(f"probe {index}")
            reply = await asyncio.wait_for(ws.recv(), limit)
            assert reply == f"probe {index}"
            slowest = max(slowest, time.monotonic() - start)
    return slowest


@pytest.mark.deadline(90)
def test_slow_reader_is_bounded_and_does_not_stall_the_loop(relay):
    server = relay.serve(CONFIG)
    url = server.url()
    run_async(echo_round_trips(url, 5, 2))
    baseline_kib = server.rss_kib()

    client = open_ws(server.port, sock_setup=small_buffers)
    frame = encode_frame(OP_BINARY, os.urandom(FRAME_PAYLOAD), mask_key=b"\x11\x22\x33\x44")
    total_frames = (50 * 1000 * 1000) // FRAME_PAYLOAD + 1  # ~50 MB of echo requests
    flooder = Flooder(client.sock, total_frames, lambda index: frame)
    peak_kib = baseline_kib
    slowest = 0.0
    try:
        flooder.start()
        probes = 0
        while not flooder.finished.is_set():
            peak_kib = max(peak_kib, server.rss_kib())
            # A well-behaved client on the same (single) loop keeps getting answers meanwhile.
            slowest = max(slowest, run_async(echo_round_trips(url, 3, 2), timeout=10))
            probes += 1
            flooder.finished.wait(0.1)
        flooder.join(5)
        peak_kib = max(peak_kib, server.rss_kib())
        assert flooder.error is None, f"flooder failed: {flooder.error!r}"
        assert flooder.blocked, (
            f"all {flooder.sent_bytes} bytes were taken without the server ever pushing back "
            f"(RSS {baseline_kib // 1024} -> {peak_kib // 1024} MiB)")
        assert flooder.sent_bytes < 40 * 1000 * 1000, flooder.sent_bytes
        assert probes >= 3
        # Once the flood is stalled the loop must still be quick for others.
        slowest = max(slowest, run_async(echo_round_trips(url, 20, 1), timeout=20))
        peak_kib = max(peak_kib, server.rss_kib())
        growth_mib = (peak_kib - baseline_kib) / 1024
        print(f"flood: {flooder.sent_bytes / 1e6:.1f} MB accepted before blocking; "
              f"RSS {baseline_kib / 1024:.1f} MiB -> peak {peak_kib / 1024:.1f} MiB; slowest probe {slowest * 1000:.0f} ms")
        assert growth_mib < 64, f"server RSS grew by {growth_mib:.1f} MiB under a non-reading client"
        assert slowest < 1.0, f"a probe round trip took {slowest:.2f} s while another client flooded"
    finally:
        client.close()
    # The dropped slow client leaves the server healthy.
    run_async(echo_round_trips(url, 3, 2))


@pytest.mark.deadline(60)
def test_paused_connection_resumes_and_loses_nothing(relay):
    server = relay.serve(CONFIG)
    client = open_ws(server.port, sock_setup=small_buffers)
    frames = 200  # 12.8 MB of requests

    def make_frame(index):
        payload = struct.pack("!I", index) * (FRAME_PAYLOAD // 4)
        return encode_frame(OP_BINARY, payload, mask_key=struct.pack("!I", index * 2654435761 % (1 << 32)))

    flooder = Flooder(client.sock, frames, make_frame, stall=20.0)
    try:
        flooder.start()
        # Let it run into backpressure (or finish), then start reading.
        while not flooder.finished.is_set() and time.monotonic() - flooder.last_progress < 1.0:
            time.sleep(0.1)
        for index in range(frames):
            reply = client.read_frame(timeout=10)
            assert reply.opcode == OP_BINARY and len(reply.payload) == FRAME_PAYLOAD, reply
            assert reply.payload == struct.pack("!I", index) * (FRAME_PAYLOAD // 4), f"echo {index} corrupted or reordered"
        assert flooder.finished.wait(10)
        assert flooder.error is None and flooder.sent_frames == frames
    finally:
        client.close()
