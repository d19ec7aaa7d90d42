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

    def start(self, port: int | None = None, persistent: bool = False) -> "RedisServer":
        """Starts redis-server on `port` (None: the port of the previous start, or a free one the
        first time) and waits until it answers. `persistent`: an append-only file, fsynced on
        every write, kept across stop() and start()."""
        assert self.proc is None or self.proc.poll() is not None, "already running"
        port = port if port is not None else self.port
        self.persistent = persistent
        persistence = ["--appendonly", "yes", "--appendfsync", "always"] if persistent else ["--appendonly", "no"]
        attempts = 1 if port is not None else 5
        for _ in range(attempts):
            self.port = port if port is not None else free_port()
            self.proc = subprocess.Popen(
                [self.executable, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", *persistence,
                 "--dir", str(self.workdir), "--logfile", str(self.log_path)],
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
