"""Fixtures that run a real `relay` process for each test.

The binary comes from $RELAY_BIN (the Makefile sets it) or from .build/debug/relay at the repo
root. Every process is started on port 0; its port is read from the one line it prints on stdout
when ready. stdout and stderr go to files (an unread pipe could block the server), and the stderr
of every relay a failed test started is attached to the report. At teardown a relay that is still
running is killed; one that exited on its own fails the test unless the test said it expected that.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_BIN = REPO_ROOT / ".build" / "debug" / "relay"
READY_RE = re.compile(r"^relay listening on (?P<scheme>wss?)://(?P<host>[^:/]+):(?P<port>\d+)(?P<path>/\S*) \((?P<loops>\d+) loops\)$")
START_TIMEOUT = 15.0
DEFAULT_TEST_DEADLINE = 60.0


def built_binary(product: str, variable: str) -> Path:
    """A product of this package: $VARIABLE (the Makefile sets it) or .build/debug/PRODUCT; the
    tests fail, not skip, when it is missing."""
    path = Path(os.environ.get(variable, str(DEFAULT_BIN.with_name(product))))
    if not path.is_file() or not os.access(path, os.X_OK):
        pytest.fail(f"{product} not found at {path}: run `swift build --product {product}` or set {variable}", pytrace=False)
    return path


def relay_binary() -> Path:
    return built_binary("relay", "RELAY_BIN")


def config_text(config: dict | str) -> str:
    """A dict becomes JSON, which is YAML too; a string is taken as YAML text."""
    return config if isinstance(config, str) else json.dumps(config, indent=2)


class RelayProcess:
    def __init__(self, args: list[str], workdir: Path, name: str):
        self.args = args
        self.name = name
        self.stdout_path = workdir / f"{name}.stdout"
        self.stderr_path = workdir / f"{name}.stderr"
        self._stdout = open(self.stdout_path, "wb")
        self._stderr = open(self.stderr_path, "wb")
        self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=self._stdout, stderr=self._stderr,
                                     cwd=workdir)
        self.expected_exit = False
        self.host: str | None = None
        self.port: int | None = None
        self.tls_port: int | None = None
        self.path: str | None = None
        self.loops: int | None = None

    @property
    def pid(self) -> int:
        return self.proc.pid

    def wait_ready(self, timeout: float = START_TIMEOUT) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            text = self.stdout_path.read_bytes().decode("utf-8", "replace")
            if "\n" in text:
                # One listening line per listener (ws://, then wss://), written and flushed together.
                for index, line in enumerate(text.split("\n")[:-1]):
                    match = READY_RE.match(line)
                    if not match:
                        if index == 0:
                            raise AssertionError(f"unexpected first stdout line from relay: {line!r}\n{self.describe()}")
                        break
                    self.host = match["host"]
                    self.path = match["path"]
                    self.loops = int(match["loops"])
                    if match["scheme"] == "wss":
                        self.tls_port = int(match["port"])
                    else:
                        self.port = int(match["port"])
                assert (self.port or self.tls_port or 0) > 0, text
                return
            if self.proc.poll() is not None:
                raise AssertionError(f"relay exited with {self.proc.returncode} before it was ready\n{self.describe()}")
            time.sleep(0.01)
        raise AssertionError(f"relay did not print its listening line within {timeout} s\n{self.describe()}")

    def url(self, path: str | None = None, *, tls: bool = False, host: str = "127.0.0.1") -> str:
        if tls:
            return f"wss://{host}:{self.tls_port}{path if path is not None else self.path}"
        return f"ws://{host}:{self.port}{path if path is not None else self.path}"

    def stdout_text(self) -> str:
        return self.stdout_path.read_bytes().decode("utf-8", "replace")

    def stderr_text(self) -> str:
        return self.stderr_path.read_bytes().decode("utf-8", "replace")

    def log_records(self) -> list[dict]:
        """The JSON log lines relay wrote to stderr (log.format json, the default), parsed."""
        records = []
        for line in self.stderr_text().splitlines():
            if line.startswith("{"):
                try:
                    records.append(json.loads(line))
                except json.JSONDecodeError:
                    pass
        return records

    def rss_kib(self) -> int:
        with open(f"/proc/{self.pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        raise AssertionError("no VmRSS in /proc status")

    def is_running(self) -> bool:
        return self.proc.poll() is None

    def signal(self, signum: int) -> None:
        if signum in (signal.SIGTERM, signal.SIGINT):
            self.expected_exit = True  # the test checks the exit itself
        self.proc.send_signal(signum)

    def wait_exit(self, timeout: float) -> int:
        """Waits for an exit the test asked for; returns the exit code."""
        self.expected_exit = True
        return self.proc.wait(timeout=timeout)

    def describe(self) -> str:
        stderr = self.stderr_text()
        if len(stderr) > 20000:
            stderr = "... (cut) ...\n" + stderr[-20000:]
        return (f"command: {' '.join(self.args)}\nexit code: {self.proc.poll()}\n"
                f"stdout:\n{self.stdout_text()}\nstderr:\n{stderr}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
        self._stdout.close()
        self._stderr.close()


class RelayFactory:
    """`start(...)` runs a relay and waits until it listens; every one is stopped at teardown."""

    def __init__(self, workdir: Path):
        self.workdir = workdir
        self.processes: list[RelayProcess] = []

    def write_config(self, config: dict | str, name: str = "relay") -> Path:
        path = self.workdir / f"{name}-{len(self.processes)}.yaml"
        path.write_text(config_text(config))
        return path

    def spawn(self, *args: str, config: dict | str | None = None) -> RelayProcess:
        """Starts `relay ARGS [--config FILE]` without waiting for it."""
        argv = [str(relay_binary()), *args]
        if config is not None:
            argv += ["--config", str(self.write_config(config))]
        process = RelayProcess(argv, self.workdir, f"relay{len(self.processes)}")
        self.processes.append(process)
        return process

    def echo(self, *args: str, config: dict | str | None = None, loops: int = 1) -> RelayProcess:
        """`relay echo --host 127.0.0.1 --port 0 --loops N ARGS`, ready."""
        # `relay echo` serves on / by default; with a config file the file's path would apply instead.
        path = () if "--path" in args else ("--path", "/")
        process = self.spawn("echo", "--host", "127.0.0.1", "--port", "0", "--loops", str(loops), *path, *args,
                             config=config)
        process.wait_ready()
        return process

    def serve(self, config: dict | str) -> RelayProcess:
        """The transport with a config file: `relay echo --config FILE`, ready (the gateway's own tests
        use `relay serve`). A dict gets host 127.0.0.1 and port 0 unless it sets them."""
        if isinstance(config, dict):
            config = json.loads(json.dumps(config))
            listen = config.setdefault("listen", {})
            listen.setdefault("host", "127.0.0.1")
            listen.setdefault("port", 0)
        process = self.spawn("echo", config=config)
        process.wait_ready()
        return process

    def run_to_exit(self, *args: str, config: dict | str | None = None, timeout: float = 15.0) -> subprocess.CompletedProcess:
        """Runs a relay command that is expected to exit by itself (a config error)."""
        argv = [str(relay_binary()), *args]
        if config is not None:
            argv += ["--config", str(self.write_config(config, name="exit"))]
        try:
            return subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout,
                                  cwd=self.workdir)
        except subprocess.TimeoutExpired as error:
            raise AssertionError(f"`{' '.join(argv)}` did not exit within {timeout} s (it probably started serving)") from error

    def teardown(self) -> list[str]:
        problems = []
        for process in self.processes:
            crashed = process.proc.poll() is not None and not process.expected_exit
            if crashed:
                problems.append(f"relay exited unexpectedly (code {process.proc.returncode})\n{process.describe()}")
            process.stop()
        return problems


@pytest.fixture
def relay(request, tmp_path):
    factory = RelayFactory(tmp_path)
    request.node._relay_factory = factory
    yield factory
    problems = factory.teardown()
    if problems:
        pytest.fail("\n\n".join(problems), pytrace=False)


@pytest.fixture
def echo_server(relay) -> RelayProcess:
    """A plain `relay echo` on one loop, WebSocket path /."""
    return relay.echo()


# RELAY_TEST_ENGINE=redis runs every gateway test on the Redis engine: one redis-server for the
# session, emptied before each test, and `engine` added to every config that does not set one.
TEST_ENGINE = os.environ.get("RELAY_TEST_ENGINE", "memory")


@pytest.fixture(scope="session")
def engine_redis():
    if TEST_ENGINE != "redis":
        yield None
        return
    from redis_support import RedisServer
    server = RedisServer().start()
    yield server
    server.stop()


@pytest.fixture
def gateway(relay, engine_redis):
    """Starts the gateway: `gateway(config)` runs `relay serve --config FILE` and waits until it
    listens. A dict config gets host 127.0.0.1 and port 0 unless it sets them
    (gateway_support.gateway_config builds a complete one), and the engine under test."""
    if engine_redis is not None:
        engine_redis.client().flushall()

    def start(config: dict | str) -> RelayProcess:
        if isinstance(config, dict):
            config = json.loads(json.dumps(config))
            listen = config.setdefault("listen", {})
            listen.setdefault("host", "127.0.0.1")
            listen.setdefault("port", 0)
            if engine_redis is not None:
                config.setdefault("engine", {"type": "redis", "redis_url": engine_redis.url})
        process = relay.spawn("serve", config=config)
        process.wait_ready()
        return process

    return start


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    factory = getattr(item, "_relay_factory", None)
    if factory is None or not report.failed:
        return
    for process in factory.processes:
        try:
            report.sections.append((f"relay {process.name} ({report.when})", process.describe()))
        except OSError:
            pass


# A per-test deadline so that nothing hangs (pytest-timeout is not a dependency): SIGALRM raises
# in the main thread, which interrupts blocking socket calls and asyncio.run alike.

def pytest_configure(config):
    config.addinivalue_line("markers", "deadline(seconds): fail the test if it runs longer than this")


class TestDeadlineExceeded(Exception):
    pass


@pytest.fixture(autouse=True)
def _deadline(request):
    marker = request.node.get_closest_marker("deadline")
    seconds = float(marker.args[0]) if marker else DEFAULT_TEST_DEADLINE

    def expired(signum, frame):
        raise TestDeadlineExceeded(f"test ran longer than its {seconds} s deadline")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)

