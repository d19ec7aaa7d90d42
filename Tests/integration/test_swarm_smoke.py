"""A short run of each relay-swarm scenario against a real relay, so that the load tester keeps
working between benchmark runs: the JSON line it ends with must show traffic and nothing lost.

The swarm is not built here: $RELAY_SWARM_BIN (the Makefile sets it) or .build/debug/relay-swarm.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from gateway_support import SECRET, gateway_config
from test_gateway_server_api import API_KEY, admin_port

DEFAULT_SWARM_BIN = Path(__file__).resolve().parents[2] / ".build" / "debug" / "relay-swarm"
# Warm-up, duration and set-up of the longest scenario, with room for a loaded machine.
RUN_TIMEOUT = 20.0


def swarm_binary() -> Path:
    path = Path(os.environ.get("RELAY_SWARM_BIN", str(DEFAULT_SWARM_BIN)))
    if not path.is_file() or not os.access(path, os.X_OK):
        pytest.fail(f"relay-swarm not found at {path}: run `swift build --product relay-swarm` or set RELAY_SWARM_BIN",
                    pytrace=False)
    return path


def swarm(*args: str) -> dict:
    """Runs `relay-swarm ARGS` to its end and returns the JSON object of its last stdout line."""
    argv = [str(swarm_binary()), *args]
    # The secret goes through the environment, as the README recommends, not the command line.
    env = {**os.environ, "RELAY_SWARM_SECRET": SECRET}
    done = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=RUN_TIMEOUT, env=env)
    assert done.returncode == 0, f"`{' '.join(argv)}` exited with {done.returncode}:\n{done.stderr[-4000:]}"
    lines = done.stdout.strip().splitlines()
    assert lines, f"no result line from `{' '.join(argv)}`:\n{done.stderr[-4000:]}"
    return json.loads(lines[-1])


def start_gateway(gateway):
    config = gateway_config(loops=2, log_level="warning")
    config["admin"] = {"enabled": True, "port": 0, "api_key": API_KEY}
    return gateway(config)


def test_fanout(gateway):
    server = start_gateway(gateway)
    result = swarm("fanout", "--url", server.url(), "--api-url", f"http://127.0.0.1:{admin_port(server)}",
                   "--api-key", API_KEY, "--secret-env", "RELAY_SWARM_SECRET", "--channel", "availability:smoke",
                   "--subscribers", "50", "--window", "4", "--warmup", "0.5", "--duration", "2")
    assert result["scenario"] == "fanout"
    assert result["established"] == 50
    assert result["publications"] > 0
    assert result["deliveries"] > 0
    assert result["lost"] == 0 and result["duplicates"] == 0, result
    assert result["errors"] == {}, result


def test_echo(echo_server):
    result = swarm("echo", "--url", echo_server.url(), "--connections", "20", "--warmup", "0.5", "--duration", "2")
    assert result["scenario"] == "echo"
    assert result["established"] == 20
    assert result["messages"] > 0
    assert result["errors"] == {}, result


def test_idle(gateway):
    server = start_gateway(gateway)
    result = swarm("idle", "--url", server.url(), "--gateway", "--secret-env", "RELAY_SWARM_SECRET",
                   "--channel", "availability:smoke", "--connections", "100", "--hold", "1",
                   "--server-pid", str(server.pid))
    assert result["scenario"] == "idle"
    assert result["established"] == 100
    assert result["errors"] == {}, result
    assert result["server_rss_before_kib"] > 0
    assert result["server_rss_after_kib"] > 0
    assert "server_kib_per_connection" in result


def test_micro_benchmarks_run(tmp_path):
    """relay-micro --quick: every case runs and reports a positive time and rate."""
    binary = Path(os.environ.get("RELAY_MICRO_BIN", str(DEFAULT_SWARM_BIN.with_name("relay-micro"))))
    if not binary.is_file():
        pytest.fail(f"relay-micro not found at {binary}: run `swift build --product relay-micro` or set RELAY_MICRO_BIN",
                    pytrace=False)
    result = subprocess.run([str(binary), "--quick"], capture_output=True, text=True, timeout=RUN_TIMEOUT)
    assert result.returncode == 0, result.stderr
    rows = [line.rsplit(None, 2) for line in result.stdout.splitlines()[1:]]
    names = [row[0].strip() for row in rows]
    assert "memcpy 64 KiB" in names and "parse a publish command (JSON)" in names, result.stdout
    assert len(rows) == 9, result.stdout
    for name, ns, rate in rows:
        assert float(ns) > 0 and float(rate) > 0, (name, ns, rate)


def test_fanout_over_wss_with_resumed_sessions(gateway, tmp_path):
    """The swarm over TLS: every subscriber's handshake after the first resumes its worker's
    session, the certificate is checked against the test CA, and nothing is lost."""
    from tls_support import TestCA, tls_section

    ca = TestCA(tmp_path)
    config = gateway_config(loops=2, log_level="warning", tls=tls_section(ca.issue("localhost")[:2]))
    config["admin"] = {"enabled": True, "port": 0, "api_key": API_KEY}
    server = gateway(config)
    result = swarm("fanout", "--url", server.url(tls=True, host="localhost"), "--ca-file", str(ca.cert_path),
                   "--tls-resume", "--api-url", f"http://127.0.0.1:{admin_port(server)}", "--api-key", API_KEY,
                   "--secret-env", "RELAY_SWARM_SECRET", "--channel", "availability:smoke-tls",
                   "--subscribers", "40", "--window", "4", "--warmup", "0.5", "--duration", "2")
    assert result["established"] == 40
    assert result["tls_handshakes"] == 40 and result["tls_resumed"] == 39, result
    assert result["deliveries"] > 0 and result["lost"] == 0 and result["duplicates"] == 0, result
    assert result["errors"] == {}, result
