"""A real redis-server for the tests, and Relay's Redis Functions library.

`RedisServer().start()` runs `redis-server` on a free loopback port, waits until it answers
PING, and keeps its log (and data) in a temporary directory removed at exit. Persistence is off
unless `start(persistent=True)` (append-only file, fsync on every write): without it a restart
comes back empty, like a Redis that lost its data. `stop()` ends it; `start()` again, or
`restart()`, brings it back on the same port, so Relay's `redis_url` stays valid.
`load_relay_functions(client)` does what every Relay does on each connection to Redis:
`FUNCTION LOAD REPLACE` with the library of Sources/RedisEngine/RelayFunctions.swift.
"""

from __future__ import annotations

import atexit
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import redis

REPO_ROOT = Path(__file__).resolve().parents[2]
FUNCTIONS_SWIFT = REPO_ROOT / "Sources" / "RedisEngine" / "RelayFunctions.swift"
START_TIMEOUT = 10.0


def relay_functions_source() -> str:
    """The Lua text of RelayFunctions.swift: the lines between the one ending in `#\"\"\"` and
    the one that is `\"\"\"#`."""
    lines = FUNCTIONS_SWIFT.read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if line.rstrip().endswith('#"""'))
    end = next(i for i in range(start + 1, len(lines)) if lines[i].strip() == '"""#')
    source = "\n".join(lines[start + 1:end]) + "\n"
    assert source.startswith("#!lua name=relay_v1"), source[:80]
    return source


def load_relay_functions(client: redis.Redis) -> str:
    """Loads (or replaces) the `relay_v1` library; returns its name."""
    return client.function_load(relay_functions_source(), replace=True)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class RedisServer:
    """One redis-server process on 127.0.0.1. Use as a context manager or call stop()."""

    def __init__(self, executable: str = "redis-server"):
        self.executable = shutil.which(executable) or executable
        self.workdir = Path(tempfile.mkdtemp(prefix="relay-redis-"))
        atexit.register(shutil.rmtree, self.workdir, ignore_errors=True)
        atexit.register(self.stop)  # runs first: no redis-server outlives the tests
        self.port: int | None = None
        self.persistent = False
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        assert self.port is not None, "not started"
        return f"redis://127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.workdir / "redis.log"

    def start(self, port: int | None = None, persistent: bool = False, extra: list[str] = ()) -> "RedisServer":
        """Starts redis-server on `port` (None: the port of the previous start, or a free one the
        first time) and waits until it answers. `persistent`: an append-only file, fsynced on
        every write, kept across stop() and start(). `extra`: more redis-server options."""
        assert self.proc is None or self.proc.poll() is not None, "already running"
        port = port if port is not None else self.port
        self.persistent = persistent
        persistence = ["--appendonly", "yes", "--appendfsync", "always"] if persistent else ["--appendonly", "no"]
        attempts = 1 if port is not None else 5
        for _ in range(attempts):
            self.port = port if port is not None else free_port()
            self.proc = subprocess.Popen(
                [self.executable, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", *persistence,
                 "--dir", str(self.workdir), "--logfile", str(self.log_path), *extra],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
            if self._wait_ready():
                return self
            self.proc.kill()
            self.proc.wait(timeout=5)
        raise AssertionError(f"redis-server did not start on port {self.port}\n{self.log_text()}")

    def _wait_ready(self) -> bool:
        deadline = time.monotonic() + START_TIMEOUT
        probe = redis.Redis(host="127.0.0.1", port=self.port, socket_connect_timeout=0.5, socket_timeout=1)
        try:
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    return False  # the port was taken meanwhile, most likely
                try:
                    if probe.ping():
                        return True
                except (redis.ConnectionError, redis.TimeoutError, redis.BusyLoadingError):
                    time.sleep(0.02)
            return False
        finally:
            probe.close()

    def stop(self) -> None:
        """Ends the server (SIGTERM; with persistence off it keeps nothing). Clients reconnect
        by themselves once it is started again."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)

    def restart(self) -> "RedisServer":
        """Stops and starts again on the same port, with the same persistence: without it, an
        empty Redis (no keys, no functions)."""
        self.stop()
        return self.start(persistent=self.persistent)

    def client(self, decode_responses: bool = True, **options) -> redis.Redis:
        """A redis-py client for this server (str replies unless `decode_responses=False`)."""
        options.setdefault("socket_timeout", 10)
        return redis.Redis(host="127.0.0.1", port=self.port, decode_responses=decode_responses, **options)

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def __enter__(self) -> "RedisServer":
        if self.proc is None:
            self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()
        shutil.rmtree(self.workdir, ignore_errors=True)


class RedisCluster:
    """A Redis Cluster of `masters` masters (no replicas) on free loopback ports, made with
    `redis-cli --cluster create` as an operator would. `url` names the first node (Relay's seed).
    Use as a context manager or call stop()."""

    def __init__(self, masters: int = 3):
        self.servers = [RedisServer() for _ in range(masters)]

    def __enter__(self) -> "RedisCluster":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def url(self) -> str:
        return self.servers[0].url

    def start(self) -> "RedisCluster":
        for server in self.servers:
            server.start(extra=["--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
                                "--cluster-node-timeout", "3000"])
        addresses = [f"127.0.0.1:{server.port}" for server in self.servers]
        subprocess.run(["redis-cli", "--cluster", "create", *addresses, "--cluster-replicas", "0", "--cluster-yes"],
                       check=True, capture_output=True, timeout=60)
        deadline = time.monotonic() + 30
        while not all(self._agrees(server) for server in self.servers):
            assert time.monotonic() < deadline, "the cluster did not converge"
            time.sleep(0.1)
        return self

    def _agrees(self, server: RedisServer) -> bool:
        with server.client() as client:
            info = client.execute_command("CLUSTER", "INFO")
            if isinstance(info, bytes):
                info = info.decode()
            return "cluster_state:ok" in str(info) and len(client.execute_command("CLUSTER", "SLOTS")) == len(self.servers)

    def stop(self) -> None:
        for server in self.servers:
            server.stop()

    def keyslot(self, key: str) -> int:
        with self.servers[0].client() as client:
            return int(client.execute_command("CLUSTER", "KEYSLOT", key))

    def owner(self, key: str) -> RedisServer:
        """The master that serves the key's slot."""
        slot = self.keyslot(key)
        with self.servers[0].client() as client:
            for start, end, master, *_ in client.execute_command("CLUSTER", "SLOTS"):
                if start <= slot <= end:
                    return next(server for server in self.servers if server.port == int(master[1]))
        raise AssertionError(f"no master serves slot {slot}")

    def client_for(self, key: str) -> redis.Redis:
        """A plain client of the key's master (for FCALL, SPUBLISH, XRANGE on that key)."""
        return self.owner(key).client()

    def move_slot(self, key: str, target: RedisServer, pause: float = 0.0) -> None:
        """Moves the key's slot, with its keys, to `target`, the way `redis-cli --cluster reshard`
        does: IMPORTING and MIGRATING, MIGRATE in batches, then the new owner on every node.
        `pause` seconds between the keys' move and the new owner: commands then get `ASK`."""
        slot = self.keyslot(key)
        source = self.owner(key)
        assert source is not target
        with source.client() as from_, target.client() as to:
            source_id, target_id = from_.execute_command("CLUSTER", "MYID"), to.execute_command("CLUSTER", "MYID")
            to.execute_command("CLUSTER", "SETSLOT", slot, "IMPORTING", source_id)
            from_.execute_command("CLUSTER", "SETSLOT", slot, "MIGRATING", target_id)
            while keys := from_.execute_command("CLUSTER", "GETKEYSINSLOT", slot, 100):
                from_.execute_command("MIGRATE", "127.0.0.1", target.port, "", 0, 5000, "KEYS", *keys)
            time.sleep(pause)
            to.execute_command("CLUSTER", "SETSLOT", slot, "NODE", target_id)
            from_.execute_command("CLUSTER", "SETSLOT", slot, "NODE", target_id)
        for server in self.servers:
            if server not in (source, target):
                with server.client() as other:
                    other.execute_command("CLUSTER", "SETSLOT", slot, "NODE", target_id)
