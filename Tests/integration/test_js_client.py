"""The JavaScript client (clients/js/relay-client.js) under Node against a real `relay serve`.

Node's test runner runs the scripts in clients/js/test/; this file starts a relay for each
script, passes its addresses in the environment (RELAY_URL, RELAY_SECRET, RELAY_ADMIN_URL,
RELAY_API_KEY) and asserts that every node test ran and passed, printing node's output if not.
Where a script needs this side to act (restart the relay, cut the network), it asks over a small
HTTP control server (CONTROL_URL).

The dropped-network test puts a TCP proxy between the client and Relay that, mid-session, stops
forwarding in both directions without closing anything (a phone whose network went away: no FIN,
no RST). Relay must drop its side within its keepalive timeouts, and the client must notice by
its own application-level ping, reconnect once the network is back and recover what was
published meanwhile.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from conftest import TEST_ENGINE
from gateway_support import SECRET, gateway_config
from test_gateway_server_api import API_KEY, admin_port

JS_DIR = Path(__file__).resolve().parents[2] / "clients" / "js"
NODE_TIMEOUT = 25.0

NAMESPACES = {
    "conversation": {"subscribe": ["token", "claim"], "publish": "subscribers", "history_size": 100,
                     "history_ttl": 3600, "presence": True, "join_leave": True, "typing": True},
    # A history of 3: a client away for more than 3 publications cannot recover.
    "short": {"subscribe": ["authenticated"], "publish": "subscribers", "history_size": 3, "history_ttl": 60},
}

# Relay's keepalive for the dropped-network test: a silent connection is pinged after 1 s and
# dropped 1 s later.
PING_INTERVAL, PONG_TIMEOUT = 1.0, 1.0


@pytest.fixture(scope="session")
def node() -> list[str]:
    """node, with the flag that turns on its WebSocket where one is needed (Node 20)."""
    binary = shutil.which("node")
    if binary is None:
        pytest.fail("node is not installed (the JavaScript client's tests need Node 20 or later)", pytrace=False)
    for flags in ([], ["--experimental-websocket"]):
        probe = subprocess.run([binary, *flags, "-e", "process.exit(typeof WebSocket === 'function' ? 0 : 1)"],
                               capture_output=True, timeout=10)
        if probe.returncode == 0:
            return [binary, *flags]
    pytest.fail("this node has no WebSocket (the JavaScript client's tests need Node 20 or later)", pytrace=False)


def start_relay(gateway, admin: int = 0, **sections):
    config = gateway_config(loops=2, namespaces=NAMESPACES, auth={"expiry_warning": 2, "leeway": 0}, **sections)
    config["admin"] = {"enabled": True, "port": admin, "api_key": API_KEY}
    server = gateway(config)
    return server, f"http://127.0.0.1:{admin_port(server)}"


def run_node(node: list[str], script: str, env: dict[str, str]) -> None:
    """Runs one test script and asserts that all its tests ran and passed."""
    argv = [*node, "--test", "--test-reporter=tap", str(JS_DIR / "test" / script)]
    try:
        done = subprocess.run(argv, cwd=JS_DIR, capture_output=True, text=True, timeout=NODE_TIMEOUT,
                              env={**os.environ, **env})
    except subprocess.TimeoutExpired as error:
        raise AssertionError(f"{script} ran longer than {NODE_TIMEOUT} s\n{error.stdout}\n{error.stderr}") from None
    output = f"{done.stdout}\n{done.stderr}"
    counts = {name: int(value) for name, value in re.findall(r"^# (tests|pass|fail|cancelled|skipped|todo) (\d+)$",
                                                               done.stdout, re.M)}
    assert done.returncode == 0, f"node exited with {done.returncode}\n{output}"
    assert counts.get("tests", 0) > 0 and counts.get("pass") == counts["tests"], f"{counts}\n{output}"
    assert not any(counts.get(name) for name in ("fail", "cancelled", "skipped", "todo")), f"{counts}\n{output}"


def relay_env(server, admin_url: str) -> dict[str, str]:
    return {"RELAY_URL": server.url(), "RELAY_SECRET": SECRET, "RELAY_ADMIN_URL": admin_url, "RELAY_API_KEY": API_KEY}


def test_backoff(node):
    # Pure logic, no relay: the delays' bounds and spread.
    run_node(node, "backoff.test.mjs", {})


@pytest.mark.deadline(40)
@pytest.mark.parametrize("script", ["basics.test.mjs", "recovery.test.mjs", "idempotency.test.mjs", "auth.test.mjs"])
def test_client_against_relay(node, gateway, script):
    server, admin_url = start_relay(gateway)
    run_node(node, script, relay_env(server, admin_url))


def control_server(actions: dict) -> ThreadingHTTPServer:
    """How a node test drives this side: `POST /name` runs `actions["/name"]()` and answers its
    result as JSON."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            action = actions.get(self.path)
            if action is None:
                return self.send_error(404)
            data = json.dumps(action()).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.deadline(40)
def test_drain_and_restart(node, gateway):
    """SIGTERM: Relay drains (a `reconnect` push, then close 1001) and exits; half a second later
    a new one starts on the same ports, and the client comes back to it on its own. With the
    memory engine the new relay has none of the old history (the client reports a gap); with
    Redis it recovers."""
    port, admin = free_port(), free_port()

    def start():
        return start_relay(gateway, listen={"host": "127.0.0.1", "port": port, "path": "/ws"},
                           timeouts={"drain": 1.0}, admin=admin)

    servers = [start()[0]]

    def restart():
        servers[-1].signal(signal.SIGTERM)
        code = servers[-1].wait_exit(timeout=10)
        time.sleep(0.5)  # nothing listens: the client's first attempts are refused
        servers.append(start()[0])
        return {"exit_code": code}

    control = control_server({"/restart": restart})
    try:
        env = relay_env(servers[0], f"http://127.0.0.1:{admin}")
        env["CONTROL_URL"] = f"http://127.0.0.1:{control.server_address[1]}"
        env["RELAY_ENGINE"] = TEST_ENGINE
        run_node(node, "drain.test.mjs", env)
    finally:
        control.shutdown()
    assert len(servers) == 2 and servers[1].is_running()


# --- The dropped network ------------------------------------------------------------------------

class BlackholeProxy:
    """Forwards TCP connections to `target` until told to blackhole: from then on nothing passes
    either way on the connections open at that moment, and new ones are accepted and left
    hanging, but every socket stays open (what was sent is read and dropped, so no side sees
    back-pressure, a FIN or an RST). `restore` closes the dead connections and forwards new ones
    again. It records when Relay closed its side of each dead connection."""

    def __init__(self, target_port: int):
        self.target_port = target_port
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.lock = threading.Lock()
        self.blackholed_at: float | None = None
        self.dead: list[dict] = []  # {"sockets": [...], "server_closed_after": seconds or None}
        self.live: list[list[socket.socket]] = []
        self.forwarded = 0
        self.closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            with self.lock:
                if self.blackholed_at is not None:
                    connection = {"sockets": [client], "server_closed_after": None}
                    self.dead.append(connection)
                    threading.Thread(target=self._swallow, args=(client,), daemon=True).start()
                    continue
                upstream = socket.create_connection(("127.0.0.1", self.target_port), timeout=5)
                upstream.settimeout(None)
                pair = [client, upstream]
                self.live.append(pair)
                self.forwarded += 1
            threading.Thread(target=self._pump, args=(pair, client, upstream, False), daemon=True).start()
            threading.Thread(target=self._pump, args=(pair, upstream, client, True), daemon=True).start()

    def _pump(self, pair, source: socket.socket, sink: socket.socket, from_server: bool) -> None:
        while True:
            try:
                data = source.recv(65536)
            except OSError:
                data = b""
            with self.lock:
                dead = next((connection for connection in self.dead if connection["sockets"] is pair), None)
                if dead is not None:
                    if not data and from_server and dead["server_closed_after"] is None and not self.closed:
                        dead["server_closed_after"] = time.monotonic() - self.blackholed_at
                    if not data:
                        return
                    continue  # blackholed: read and dropped
            if not data:
                try:
                    sink.shutdown(socket.SHUT_WR)
                except OSError:
                    pass
                return
            try:
                sink.sendall(data)
            except OSError:
                return

    def _swallow(self, sock: socket.socket) -> None:
        while True:
            try:
                if not sock.recv(65536):
                    return
            except OSError:
                return

    def blackhole(self) -> None:
        with self.lock:
            self.blackholed_at = time.monotonic()
            for pair in self.live:
                self.dead.append({"sockets": pair, "server_closed_after": None})
            self.live = []

    def restore(self) -> None:
        with self.lock:
            self.blackholed_at = None
            dead = [connection["sockets"] for connection in self.dead]
        for sockets in dead:
            for sock in sockets:
                close_socket(sock)

    def status(self) -> dict:
        with self.lock:
            return {"blackholed": self.blackholed_at is not None, "forwarded": self.forwarded,
                    "dead": [connection["server_closed_after"] for connection in self.dead
                             if len(connection["sockets"]) == 2]}

    def close(self) -> None:
        with self.lock:
            self.closed = True
            sockets = [sock for pair in self.live for sock in pair]
            sockets += [sock for connection in self.dead for sock in connection["sockets"]]
        close_socket(self.listener)
        for sock in sockets:
            close_socket(sock)


def close_socket(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    sock.close()


@pytest.mark.deadline(40)
def test_dropped_network(node, gateway):
    server, admin_url = start_relay(gateway, timeouts={"ping_interval": PING_INTERVAL, "pong_timeout": PONG_TIMEOUT})
    proxy = BlackholeProxy(server.port)
    control = control_server({"/blackhole": proxy.blackhole, "/restore": proxy.restore, "/status": proxy.status})
    try:
        env = relay_env(server, admin_url)
        env["RELAY_PROXY_URL"] = f"ws://127.0.0.1:{proxy.port}{server.path}"
        env["CONTROL_URL"] = f"http://127.0.0.1:{control.server_address[1]}"
        run_node(node, "network.test.mjs", env)
        status = proxy.status()
    finally:
        control.shutdown()
        proxy.close()
    # The session that was cut, and Relay's side of it closed by the keepalive alone: nothing
    # reached Relay after the cut, so only its ping going unanswered can have closed it.
    assert len(status["dead"]) == 1, status
    closed_after = status["dead"][0]
    assert closed_after is not None, f"Relay never closed the blackholed connection: {status}"
    assert PONG_TIMEOUT * 0.8 <= closed_after <= PING_INTERVAL + PONG_TIMEOUT + 1.5, status
    # Reconnected through the proxy once it forwarded again (besides the connection it cut).
    assert status["forwarded"] >= 2, status
