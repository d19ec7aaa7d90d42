"""`relay serve --config` and `relay echo --config`: settings that take effect, and files that must
be refused at start with a message naming the key."""

import json
import re
import time
from pathlib import Path

import pytest

from gateway_support import gateway_config

from wsraw import (OP_BINARY, OP_TEXT, connect, http_exchange, open_ws, plain_request, read_http_response,
                   upgrade_request)

REPO_ROOT = Path(__file__).resolve().parents[2]


def test_serve_with_yaml_config(relay):
    server = relay.serve("""
# a comment
listen:
  host: 127.0.0.1
  port: 0
  path: /socket
  health_path: /healthz
loops: 2
limits:
  max_message_size: 2000
  max_frame_size: 1000
timeouts:
  handshake: 2.5
log:
  level: debug
""")
    assert server.path == "/socket" and server.loops == 2
    response, _ = http_exchange(server.port, plain_request("/healthz"))
    assert (response.status, response.body) == (200, b"ok\n")
    response, _ = http_exchange(server.port, plain_request("/health"))
    assert response.status == 404
    response, _ = http_exchange(server.port, upgrade_request("/ws"))
    assert response.status == 404
    with open_ws(server.port, "/socket") as client:
        client.echo(OP_TEXT, b"configured")
        # max_frame_size 1000 but max_message_size 2000: two 1000-byte fragments pass...
        client.send_frame(OP_BINARY, b"a" * 1000, fin=False)
        client.send_frame(0, b"b" * 1000)
        assert client.read_frame().payload == b"a" * 1000 + b"b" * 1000
        # ... one 1001-byte frame does not.
        client.send_frame(OP_BINARY, b"c" * 1001)
        assert client.read_close().close_code == 1009


def test_serve_defaults(relay):
    server = relay.serve({})
    assert server.path == "/ws"
    response, _ = http_exchange(server.port, plain_request("/health"))
    assert response.body == b"ok\n"
    with open_ws(server.port, "/ws") as client:
        client.echo(OP_BINARY, b"z" * 65536)  # default max_message_size
        client.send_frame(OP_BINARY, b"z" * 65537)
        assert client.read_close().close_code == 1009


@pytest.mark.parametrize("name", ["relay.yaml", "relay.dev.yaml"])
def test_shipped_config_serves_the_gateway(tmp_path, name):
    """`relay serve` on the shipped file as it is; RELAY_* variables move it to free ports and
    give the production file its secrets, the way a deployment would."""
    import os
    import subprocess

    import jwt
    from conftest import READY_RE, relay_binary
    from websockets.sync.client import connect as ws_connect

    secret = "integration-secret-for-the-shipped-config"
    env = dict(os.environ, RELAY_LISTEN_HOST="127.0.0.1", RELAY_LISTEN_PORT="0", RELAY_ADMIN_PORT="0",
               RELAY_JWT_SECRET=secret, RELAY_API_KEY="integration-api-key-0123456789")
    redis_server = None
    if name == "relay.dev.yaml":
        secret = "relay-development-secret-do-not-use-in-production"
    else:
        from redis_support import RedisServer
        redis_server = RedisServer().start()
        env["RELAY_REDIS_URL"] = redis_server.url
    proc = subprocess.Popen([str(relay_binary()), "serve", "--config", str(REPO_ROOT / "config" / name)],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env, text=True,
                            # The dev file's static folders are relative to the repository, where `make run` starts.
                            cwd=REPO_ROOT if name == "relay.dev.yaml" else tmp_path)
    try:
        ready = READY_RE.match(proc.stdout.readline().strip())
        assert ready, "no ready line"
        assert "relay admin listening on http://127.0.0.1:" in proc.stdout.readline()
        assert proc.stdout.readline().startswith("relay engine: " + ("memory" if redis_server is None else "redis at redis://127.0.0.1:"))
        token = jwt.encode({"sub": "alice", "exp": int(time.time()) + 3600}, secret, algorithm="HS256")
        with ws_connect(f"ws://127.0.0.1:{ready['port']}/ws", subprotocols=["relay.v1"]) as ws:
            ws.send(json.dumps({"id": 1, "cmd": "connect", "token": token}))
            assert json.loads(ws.recv(timeout=5))["result"]["user"] == "alice"
            ws.send(json.dumps({"id": 2, "cmd": "subscribe", "channel": "user:alice"}))
            assert "result" in json.loads(ws.recv(timeout=5))
    finally:
        proc.kill()
        proc.wait()
        if redis_server is not None:
            redis_server.stop()


def test_max_connections_over_limit_gets_503(relay):
    server = relay.serve({"listen": {"max_connections": 2}, "loops": 1})
    first, second = open_ws(server.port, "/ws"), open_ws(server.port, "/ws")
    try:
        response, _ = http_exchange(server.port, upgrade_request("/ws"))
        assert response.status == 503
        assert response.header("Retry-After") is not None
        first.close()
        deadline = time.monotonic() + 3
        while True:  # the slot frees once the server has seen the close
            with connect(server.port) as sock:
                sock.sendall(upgrade_request("/ws"))
                response, _ = read_http_response(sock)
            if response.status == 101 or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        assert response.status == 101
    finally:
        first.close()
        second.close()


def test_max_handshake_bytes_and_headers_from_config(relay):
    server = relay.serve({"limits": {"max_handshake_bytes": 1024, "max_headers": 8}})
    response, _ = http_exchange(server.port, upgrade_request("/ws", extra=[("X-Filler", "f" * 1100)]))
    assert response.status == 431
    response, _ = http_exchange(server.port, upgrade_request("/ws", extra=[(f"X-{i}", "v") for i in range(4)]))
    assert response.status == 431  # 5 standard + 4 = 9 headers
    with connect(server.port) as sock:
        sock.sendall(upgrade_request("/ws", extra=[("X-1", "v"), ("X-2", "v")]))
        response, _ = read_http_response(sock)
        assert response.status == 101  # 7 headers


def test_echo_applies_config_then_its_flags(relay):
    server = relay.echo("--path", "/flag", config={
        "listen": {"path": "/from-config", "port": 1, "host": "0.0.0.0"},
        "limits": {"max_handshake_bytes": 1024},
        "timeouts": {"handshake": 0.5},
    })
    assert server.path == "/flag" and server.host == "127.0.0.1" and server.port != 1
    with connect(server.port) as sock:
        sock.sendall(upgrade_request("/flag", extra=[("X-Filler", "f" * 1100)]))
        response, _ = read_http_response(sock)
        assert response.status == 431  # the config's limit, not the 8192 default
    with connect(server.port) as sock:
        start = time.monotonic()
        response, _ = read_http_response(sock)
        assert response.status == 408 and time.monotonic() - start < 1.5  # the config's handshake timeout


@pytest.mark.parametrize("config, key", [
    ("limits:\n  max_frame_size: big\n", "limits.max_frame_size"),
    ("limits:\n  max_message_size: 1.5\n", "limits.max_message_size"),
    ("listen:\n  port: 70000\n", "listen.port"),
    ("listen:\n  port: \"8080\"\n", "listen.port"),
    ("listen:\n  allowed_origins: https://x.example\n", "listen.allowed_origins"),
    ("listen:\n  colour: blue\n", "listen.colour"),
    ("listen: 8080\n", "listen"),
    ("loops: -1\n", "loops"),
    ("loop: 2\n", "loop"),
    ("timeouts:\n  handshake: soon\n", "timeouts.handshake"),
    ("timeouts:\n  ping_interval: 0\n", "timeouts.ping_interval"),
    ("timeouts:\n  pong: 3\n", "timeouts.pong"),
    ("limits:\n  max_outbound_bytes: 10\n", "limits.max_outbound_bytes"),
    ("limits:\n  max_frame_size: 100000\n  max_message_size: 65536\n", "limits.max_frame_size"),
    ("log:\n  level: loud\n", "log.level"),
    ("log:\n  file: /tmp/x\n", "log.file"),
])
def test_bad_config_is_refused_naming_the_key(relay, config, key):
    result = relay.run_to_exit("serve", config=config)
    output = (result.stdout + result.stderr).decode("utf-8", "replace")
    assert result.returncode != 0, output
    assert key in output, output
    assert "listening" not in output


@pytest.mark.parametrize("config", [
    "listen: [unclosed\n",
    "- just\n- a list\n",
    "listen:\n  path: no-slash\n",
])
def test_invalid_config_document_is_refused(relay, config):
    result = relay.run_to_exit("serve", config=config)
    output = (result.stdout + result.stderr).decode("utf-8", "replace")
    assert result.returncode != 0, output
    assert "config" in output.lower() or "path" in output, output
    assert "listening" not in output


def test_missing_config_file_is_refused(relay, tmp_path):
    missing = tmp_path / "nope.yaml"
    result = relay.run_to_exit("serve", "--config", str(missing))
    output = (result.stdout + result.stderr).decode("utf-8", "replace")
    assert result.returncode != 0
    assert str(missing) in output, output


def test_echo_refuses_bad_config_too(relay):
    result = relay.run_to_exit("echo", "--port", "0", config="limits:\n  max_headers: many\n")
    output = (result.stdout + result.stderr).decode("utf-8", "replace")
    assert result.returncode != 0
    assert "limits.max_headers" in output, output


def test_port_in_use_is_refused(relay):
    first = relay.serve({})
    result = relay.run_to_exit("echo", config={"listen": {"host": "127.0.0.1", "port": first.port}})
    output = (result.stdout + result.stderr).decode("utf-8", "replace")
    assert result.returncode != 0, output
    assert "listen" in output, output


def test_an_inbox_namespace_must_fit_one_loops_share_of_the_inbox(relay):
    config = gateway_config(loops=2, gateway={"inbox": {"max_bytes": 8192}})
    config["namespaces"]["conversation"]["max_publication_bytes"] = 5000
    result = relay.run_to_exit("serve", config=config)
    output = (result.stdout + result.stderr).decode("utf-8", "replace")
    assert result.returncode != 0, output
    assert "namespaces.conversation.max_publication_bytes" in output and "4096" in output, output
