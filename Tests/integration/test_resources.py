"""Connection churn must not leak: every way a connection can end gives its descriptor back, and
memory stays flat over many connections."""

import os
from pathlib import Path
import socket
import time

import pytest

from wsraw import (OP_CLOSE, OP_TEXT, close_payload, encode_frame, open_ws, read_http_response, read_until_eof,
                   upgrade_request)


def fd_count(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def wait_for_fd_count(pid, target, timeout=5.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        count = fd_count(pid)
        if count <= target:
            return count
        time.sleep(0.05)
    return fd_count(pid)


def end_connection(port, way):
    if way == "close handshake":
        with open_ws(port) as client:
            client.echo(OP_TEXT, b"hi")
            client.send_frame(OP_CLOSE, close_payload(1000))
            assert client.read_close().close_code == 1000
            client.expect_eof()
    elif way == "abrupt":
        client = open_ws(port)
        client.echo(OP_TEXT, b"hi")
        client.send(encode_frame(OP_TEXT, b"x" * 1000)[:300])  # mid-frame
        client.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        client.close()  # RST
    elif way == "protocol error":
        with open_ws(port) as client:
            client.send_frame(OP_TEXT, b"x", masked=False)
            assert client.read_close().close_code == 1002
            client.expect_eof()
    elif way == "refused":
        with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
            sock.sendall(upgrade_request("/", headers={"Sec-WebSocket-Version": "8"}))
            response, _ = read_http_response(sock)
            assert response.status == 426
            read_until_eof(sock)
    elif way == "handshake abandoned":
        with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
            sock.sendall(b"GET / HTTP/1.1\r\n")
    elif way == "timed out":
        with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
            response, _ = read_http_response(sock)
            assert response.status == 408
            read_until_eof(sock)


WAYS = ["close handshake", "abrupt", "protocol error", "refused", "handshake abandoned", "timed out"]


def test_no_descriptor_leak_whichever_way_connections_end(relay):
    server = relay.echo(config={"timeouts": {"handshake": 0.2, "close": 1}})
    baseline = fd_count(server.pid)
    for index in range(60):
        end_connection(server.port, WAYS[index % len(WAYS)])
    after = wait_for_fd_count(server.pid, baseline, timeout=5)
    assert after <= baseline, f"{after - baseline} descriptors still open after every client left"


def test_memory_flat_over_connection_churn(relay):
    server = relay.echo()
    payload = os.urandom(20000)

    def churn(count):
        for _ in range(count):
            with open_ws(server.port) as client:
                client.send_frame(OP_TEXT, b"a" * 5000, fin=False)
                client.send_frame(0, b"b" * 5000)
                assert len(client.read_frame().payload) == 10000
                client.echo(0x2, payload)
                client.send_frame(OP_CLOSE, close_payload(1000))
                client.read_close()

    churn(300)  # warm-up: allocator pools, buffers
    warm_kib = server.rss_kib()
    churn(1500)
    grown_kib = server.rss_kib() - warm_kib
    assert grown_kib < 8 * 1024, f"RSS grew by {grown_kib} KiB over 1500 connections"


def test_open_file_soft_limit_is_raised_to_the_hard_limit(tmp_path):
    """Every connection is a descriptor: Relay must not stay at a low default soft limit."""
    import resource
    import subprocess

    from conftest import READY_RE, relay_binary

    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    if hard != resource.RLIM_INFINITY and hard <= 256:
        pytest.skip(f"hard limit {hard} leaves nothing to raise")

    def lower_soft_limit():
        resource.setrlimit(resource.RLIMIT_NOFILE, (256, hard))

    proc = subprocess.Popen([str(relay_binary()), "echo", "--port", "0"], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, preexec_fn=lower_soft_limit, text=True)
    try:
        assert READY_RE.match(proc.stdout.readline().strip())
        limits = Path(f"/proc/{proc.pid}/limits").read_text()
        soft = next(line.split()[3] for line in limits.splitlines() if line.startswith("Max open files"))
        assert soft == ("unlimited" if hard == resource.RLIM_INFINITY else str(hard))
    finally:
        proc.kill()
        proc.wait()
