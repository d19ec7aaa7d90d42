#!/usr/bin/env python3
"""`make bench`: Relay against its peers, every figure measured with relay-swarm in the same run.

Method (docs/BENCHMARKS.md): the server pinned to core 0 and relay-swarm to core 1, a fresh
server process and port for every run, the servers interleaved (A B C A B C) over ROUNDS rounds,
the median reported with min and max, and ratios of Relay's median to each peer's. Loopback
only; every run is bounded by the swarm's own options and a timeout here.

    LoadTests/bench.py                      # everything, 3 rounds (about half an hour)
    LoadTests/bench.py --rounds 1 --only echo-100-20 --only idle-10000
    LoadTests/bench.py --quick              # every case once, small counts: a smoke run

Peers come from LoadTests/peers (install them with LoadTests/peers/install.sh); one that is not
installed is left out of the tables with a note. The tables replace what is between the
`make bench` markers of docs/BENCHMARKS.md; the raw reports go to .build-bench/results.json.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SWARM = Path(os.environ.get("RELAY_SWARM_BIN", ROOT / ".build-swarm/release/relay-swarm"))
RELAY = Path(os.environ.get("RELAY_BIN", ROOT / ".build-swarm/release/relay"))
PEERS = ["relay", "python-websockets", "picows", "node-ws", "hummingbird"]
SECRET = "bench-secret-0123456789abcdef0123456789abcdef"
API_KEY = "bench-api-key-0123456789"
BEGIN, END = "<!-- make bench: begin -->", "<!-- make bench: end -->"
RUN_TIMEOUT = 180


@dataclass
class Case:
    name: str
    title: str
    # "echo" and "broadcast" run on every peer's server of that mode; "gateway" on `relay serve`.
    mode: str
    args: list[str]
    metric: str
    unit: str
    higher_is_better: bool = True
    quick_args: list[str] = field(default_factory=list)
    servers: list[str] = field(default_factory=lambda: list(PEERS))

    def value(self, report: dict) -> float:
        node: object = report
        for key in self.metric.split("."):
            node = node[key]  # type: ignore[index]
        return float(node)  # type: ignore[arg-type]


def echo_case(connections: int, size: int) -> Case:
    return Case(f"echo-{connections}-{size}", f"echo, {connections:,} connections, {size} B (messages/s)", "echo",
                ["echo", "--connections", str(connections), "--size", str(size), "--warmup", "1", "--duration", "5"],
                "messages_per_s", "msg/s", quick_args=["--connections", "20", "--duration", "1"])


def idle_case(connections: int, workers: int) -> Case:
    return Case(f"idle-{connections}", f"idle, {connections:,} connections: server memory per connection (KiB)", "echo",
                ["idle", "--connections", str(connections), "--workers", str(workers), "--hold", "2", "--server-pid", "{pid}"],
                "server_kib_per_connection", "KiB", higher_is_better=False,
                quick_args=["--connections", "200", "--workers", "1", "--hold", "0.5"])


CASES = [
    echo_case(100, 20), echo_case(100, 1024), echo_case(1000, 20), echo_case(1000, 1024),
    Case("fanout-1000", "fan-out, 1 publisher → 1,000 subscribers, 20 B, window 32 (deliveries/s)", "broadcast",
         ["fanout", "--publish-via", "raw", "--subscribers", "1000", "--window", "32", "--warmup", "1", "--duration", "5"],
         "deliveries_per_s", "deliveries/s", quick_args=["--subscribers", "50", "--duration", "1"]),
    Case("fanout-10000", "fan-out, 1 publisher → 10,000 subscribers, 20 B, window 32 (deliveries/s)", "broadcast",
         ["fanout", "--publish-via", "raw", "--subscribers", "10000", "--window", "32", "--warmup", "1", "--duration", "5"],
         "deliveries_per_s", "deliveries/s", quick_args=["--subscribers", "50", "--duration", "1"]),
    Case("latency-1000", "fan-out latency, 1,000 subscribers, 200 messages/s: p99 (ms)", "broadcast",
         ["fanout", "--publish-via", "raw", "--subscribers", "1000", "--rate", "200", "--warmup", "1", "--duration", "5"],
         "latency_us.p99", "µs", higher_is_better=False, quick_args=["--subscribers", "50", "--duration", "1"]),
    idle_case(10000, 1), idle_case(19000, 2),
    Case("setup-10000", "10,000 upgrades: connections set up per second", "echo",
         ["idle", "--connections", "10000", "--hold", "0"], "setup_connections_per_s", "conn/s",
         quick_args=["--connections", "200"]),
    # Relay's gateway on its own: the JSON protocol, tokens, channels. No peer speaks relay.v1.
    Case("gateway-fanout-10000", "gateway fan-out, 10,000 subscribers, one channel, relay.v1 publish, window 32 (deliveries/s)",
         "gateway", ["fanout", "--publish-via", "gateway", "--channel", "room:bench", "--subscribers", "10000",
                     "--window", "32", "--warmup", "1", "--duration", "5", "--secret-env", "BENCH_SECRET"],
         "deliveries_per_s", "deliveries/s", servers=["relay"], quick_args=["--subscribers", "50", "--duration", "1"]),
    Case("gateway-channels", "gateway fan-out, 10,000 subscribers over 1,000 channels, window 4 rounds (deliveries/s)",
         "gateway", ["fanout", "--publish-via", "gateway", "--channel", "room:bench", "--channels", "1000",
                     "--subscribers", "10000", "--window", "4", "--warmup", "1", "--duration", "5", "--secret-env", "BENCH_SECRET"],
         "deliveries_per_s", "deliveries/s", servers=["relay"],
         quick_args=["--subscribers", "50", "--channels", "10", "--duration", "1"]),
    Case("gateway-idle", "gateway idle, 10,000 authenticated connections with one subscription: server memory per connection (KiB)",
         "gateway", ["idle", "--gateway", "--channel", "room:idle", "--connections", "10000", "--hold", "2",
                     "--server-pid", "{pid}", "--secret-env", "BENCH_SECRET"],
         "server_kib_per_connection", "KiB", higher_is_better=False, servers=["relay"],
         quick_args=["--connections", "200", "--hold", "0.5"]),
    Case("gateway-connect", "connection storm, 10,000 JWT-authenticated connections (HS256): seconds to set up", "gateway",
         ["connect", "--connections", "10000", "--secret-env", "BENCH_SECRET"], "setup_s", "s",
         higher_is_better=False, servers=["relay"], quick_args=["--connections", "200"]),
]

GATEWAY_CONFIG = {
    "listen": {"host": "127.0.0.1", "port": 0, "path": "/ws"},
    "loops": 1,
    "log": {"level": "warning"},
    "auth": {"keys": [{"algorithms": ["HS256"], "secret": SECRET}]},
    "namespaces": {"room": {"subscribe": ["authenticated"], "publish": "subscribers"}},
    "gateway": {"max_connections_per_user": 100000, "max_subscriptions": 2000,
                "rate_limits": {"commands_per_second": 100000, "command_burst": 100000,
                                "user_commands_per_second": 100000, "user_command_burst": 100000}},
    "limits": {"max_outbound_bytes": 4194304},
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(name: str, mode: str, workdir: Path) -> tuple[subprocess.Popen, str]:
    """The server pinned to core 0 and its WebSocket URL, once it accepts connections."""
    port = free_port()
    env = dict(os.environ, RELAY_BIN=str(RELAY))
    if mode == "gateway":
        config = json.loads(json.dumps(GATEWAY_CONFIG))
        config["listen"]["port"] = port
        path = workdir / "gateway.json"
        path.write_text(json.dumps(config))
        argv, url = [str(RELAY), "serve", "--config", str(path)], f"ws://127.0.0.1:{port}/ws"
    else:
        argv, url = [str(ROOT / "LoadTests/peers/start.sh"), name, mode, str(port)], f"ws://127.0.0.1:{port}/"
    proc = subprocess.Popen(["taskset", "-c", "0", *argv], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            env=env, cwd=ROOT, start_new_session=True)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{name} {mode} exited with {proc.returncode}: {proc.stderr.read().decode()[-2000:]}")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return proc, url
        time.sleep(0.05)
    stop(proc)
    raise RuntimeError(f"{name} {mode} did not listen on {port} within 30 s")


def stop(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, 15)
        proc.wait(timeout=10)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        try:
            os.killpg(proc.pid, 9)
        except ProcessLookupError:
            pass
        proc.wait()


def run_case(case: Case, server: str, quick: bool, workdir: Path) -> dict:
    proc, url = start_server(server, case.mode, workdir)
    try:
        args = [arg.replace("{pid}", str(proc.pid)) for arg in case.args + (case.quick_args if quick else [])]
        argv = ["taskset", "-c", "1", str(SWARM), args[0], "--url", url, *args[1:]]
        done = subprocess.run(argv, capture_output=True, text=True, timeout=RUN_TIMEOUT,
                              env=dict(os.environ, BENCH_SECRET=SECRET))
        lines = done.stdout.strip().splitlines()
        if done.returncode != 0 or not lines:
            return {"error": done.stderr.strip().splitlines()[-1] if done.stderr.strip() else f"exit {done.returncode}"}
        return json.loads(lines[-1])
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {RUN_TIMEOUT} s"}
    finally:
        stop(proc)


def installed(server: str) -> str | None:
    """Why a peer cannot run here, or None (LoadTests/peers/install.sh installs them)."""
    python = os.environ.get("PYTHON", str(ROOT / ".build-venv/bin/python"))
    checks = {
        "relay": [str(RELAY), "--help"],
        "python-websockets": [python, "-c", "import websockets"],
        "picows": [python, "-c", "import picows"],
        "node-ws": [os.environ.get("NODE", "node"), "-e", f"require({str(ROOT / 'LoadTests/peers/node-ws/load-ws.js')!r})"],
        "hummingbird": ["test", "-x", os.environ.get("HUMMINGBIRD_BIN", str(ROOT / ".build-peers/release/hummingbird-peer"))],
    }
    try:
        done = subprocess.run(checks[server], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as error:
        return f"not installed ({error.__class__.__name__}); run LoadTests/peers/install.sh"
    return None if done.returncode == 0 else "not installed; run LoadTests/peers/install.sh"


def fmt(value: float, unit: str) -> str:
    if unit == "µs":
        return f"{value / 1000:.2f}"
    if unit in ("KiB", "s"):
        return f"{value:.2f}"
    if value >= 1e6:
        return f"{value / 1e6:.2f}M"
    if value >= 1e4:
        return f"{value / 1e3:.0f}k"
    return f"{value:,.0f}"


def table(case: Case, results: dict[str, list[dict]], missing: dict[str, str]) -> str:
    lines = [f"**{case.title}**", "", f"| server | median (min–max) | runs | Relay's advantage | client-bound runs |",
             "| --- | --- | --- | --- | --- |"]
    values = {server: [case.value(r) for r in runs if "error" not in r] for server, runs in results.items()}
    relay = statistics.median(values["relay"]) if values.get("relay") else None
    for server in case.servers:
        if server in missing:
            lines.append(f"| {server} | not measured: {missing[server]} | | | |")
            continue
        runs = results.get(server, [])
        errors = [r["error"] for r in runs if "error" in r]
        if not values.get(server):
            lines.append(f"| {server} | failed: {errors[0] if errors else 'no run'} | | | |")
            continue
        median = statistics.median(values[server])
        spread = f"{fmt(median, case.unit)} ({fmt(min(values[server]), case.unit)}–{fmt(max(values[server]), case.unit)})"
        advantage = ""
        if relay and server != "relay" and median > 0:
            ratio = relay / median if case.higher_is_better else median / relay
            advantage = f"{ratio:.2f}×"
        bound = sum(1 for r in runs if r.get("client_bound"))
        note = f"; {len(errors)} failed" if errors else ""
        lines.append(f"| {server} | {spread} | {len(values[server])}{note} | {advantage} | {bound} of {len(runs)} |")
    return "\n".join(lines)


def machine() -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    return f"{os.cpu_count()} vCPU {cpu}, Linux {platform.release()}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--only", action="append", help="run only these cases (repeatable)")
    parser.add_argument("--quick", action="store_true", help="every case once with small counts (a smoke run)")
    parser.add_argument("--no-write", action="store_true", help="print the tables without touching docs/BENCHMARKS.md")
    options = parser.parse_args()
    for binary in (SWARM, RELAY):
        if not binary.exists():
            sys.exit(f"{binary} is missing: swift build -c release --scratch-path .build-swarm --product relay-swarm (and relay)")
    cases = [case for case in CASES if not options.only or case.name in options.only]
    rounds = 1 if options.quick else options.rounds
    missing = {server: reason for server in PEERS if (reason := installed(server))}
    workdir = ROOT / ".build-bench"
    workdir.mkdir(exist_ok=True)
    started = datetime.datetime.now(datetime.timezone.utc)
    results: dict[str, dict[str, list[dict]]] = {case.name: {} for case in cases}
    for case in cases:
        for round_number in range(1, rounds + 1):
            for server in case.servers:
                if server in missing:
                    continue
                report = run_case(case, server, options.quick, workdir)
                results[case.name].setdefault(server, []).append(report)
                shown = report.get("error") or fmt(case.value(report), case.unit)
                print(f"[{case.name} round {round_number}] {server}: {shown}", flush=True)
    (workdir / "results.json").write_text(json.dumps(results, indent=1))
    minutes = (datetime.datetime.now(datetime.timezone.utc) - started).total_seconds() / 60
    body = [BEGIN, "",
            f"Generated by `make bench` (`LoadTests/bench.py --rounds {rounds}{' --quick' if options.quick else ''}`) on "
            f"{started:%Y-%m-%d}, {machine()}, in {minutes:.0f} min. Server on core 0, relay-swarm on core 1, "
            f"a fresh server per run, servers interleaved, {rounds} round{'s' if rounds > 1 else ''}; "
            "\"Relay's advantage\" is Relay's median over the peer's (or the peer's over Relay's where lower is "
            "better). A client-bound run had relay-swarm's own core saturated: its figure is the client's limit.", ""]
    if options.quick:
        body += ["**A smoke run (`--quick`): small counts, not the titles' figures. Do not quote these.**", ""]
    for case in cases:
        body += [table(case, results[case.name], missing), ""]
    body.append(END)
    text = "\n".join(body)
    print(text)
    if not options.no_write:
        doc = ROOT / "docs/BENCHMARKS.md"
        current = doc.read_text()
        if BEGIN in current and END in current:
            current = current[:current.index(BEGIN)] + text + current[current.index(END) + len(END):]
        else:
            current = current.rstrip() + "\n\n## Relay and its peers (`make bench`)\n\n" + text + "\n"
        doc.write_text(current)
    return 0


if __name__ == "__main__":
    sys.exit(main())
