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

from conftest import built_binary
from gateway_support import SECRET, gateway_config
from test_gateway_server_api import API_KEY, admin_port

# Warm-up, duration and set-up of the longest scenario, with room for a loaded machine.
RUN_TIMEOUT = 20.0


def swarm_binary() -> Path:
    return built_binary("relay-swarm", "RELAY_SWARM_BIN")


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


def test_fanout_over_channels_published_through_the_gateway(gateway):
    """Publications as relay.v1 publish commands from the swarm's own connection, a round to each of
    5 channels; every subscriber gets exactly its channel's publications."""
    config = gateway_config(loops=2, log_level="warning",
                            namespaces={"room": {"subscribe": ["authenticated"], "publish": "subscribers"}})
    server = gateway(config)
    result = swarm("fanout", "--url", server.url(), "--publish-via", "gateway", "--secret-env", "RELAY_SWARM_SECRET",
                   "--channel", "room:smoke", "--channels", "5", "--subscribers", "53", "--window", "2",
                   "--warmup", "0.5", "--duration", "2")
    assert result["publish_via"] == "gateway" and result["channels"] == 5
    assert result["publications"] > 0, result
    # 53 subscribers over 5 channels: each round reaches every one of them once. A round that
    # straddles the start or end of the measured window counts only its publications inside it.
    assert abs(result["expected_deliveries"] - result["publications"] * 53 / 5) <= 2 * 53, result
    assert result["deliveries"] == result["expected_deliveries"], result
    assert result["lost"] == 0 and result["duplicates"] == 0 and result["errors"] == {}, result


@pytest.mark.parametrize("history_size", [50, 0])
def test_fanout_published_into_redis(gateway, history_size):
    """--publish-via redis: publications made the way the main API makes them (FCALL relay_publish
    with history, or a fire-and-forget PUBLISH), into the Redis two replicas share; subscribers on
    both replicas get each one once."""
    from redis_support import RedisServer

    redis_server = RedisServer().start()
    try:
        urls = []
        for _ in range(2):
            config = gateway_config(loops=1, log_level="warning",
                                    engine={"type": "redis", "redis_url": redis_server.url})
            urls += ["--url", gateway(config).url()]
        result = swarm("fanout", *urls, "--publish-via", "redis", "--redis-url", redis_server.url,
                       "--history-size", str(history_size), "--secret-env", "RELAY_SWARM_SECRET",
                       "--channel", "availability:smoke", "--subscribers", "40", "--rate", "100",
                       "--warmup", "1", "--duration", "2")
    finally:
        redis_server.stop()
    assert result["publish_via"] == "redis" and result["publications"] >= 150, result
    assert result["deliveries"] == result["expected_deliveries"] == result["publications"] * 40, result
    assert result["lost"] == 0 and result["duplicates"] == 0 and result["errors"] == {}, result


def test_fanout_raw_against_a_broadcast_server(relay):
    """--publish-via raw: binary frames to `relay echo --broadcast`, the way peers' broadcast servers
    are measured; the sender's own copy comes back too and is not counted."""
    server = relay.echo("--broadcast")
    result = swarm("fanout", "--url", server.url(), "--publish-via", "raw", "--size", "64", "--subscribers", "30",
                   "--rate", "200", "--warmup", "0.5", "--duration", "2")
    assert result["publish_via"] == "raw" and result["size"] == 64
    assert result["publications"] > 300 and result["deliveries"] == result["publications"] * 30, result
    assert result["lost"] == 0 and result["duplicates"] == 0 and result["errors"] == {}, result


def test_connect_storm(gateway):
    server = start_gateway(gateway)
    result = swarm("connect", "--url", server.url(), "--secret-env", "RELAY_SWARM_SECRET", "--connections", "300",
                   "--concurrency", "64")
    assert result["scenario"] == "connect" and result["established"] == 300, result
    latency = result["setup_latency_us"]
    assert latency["count"] == 300 and 0 < latency["p50"] <= latency["p99"] <= latency["max"], latency
    assert result["setup_connections_per_s"] > 0 and result["errors"] == {}, result


@pytest.mark.parametrize("algorithm", ["RS256", "PS256", "ES256", "ES384", "EdDSA"])
def test_tokens_signed_with_a_private_key(gateway, tmp_path, algorithm):
    """--private-key-file: the swarm signs as an API with an asymmetric key would; the gateway
    verifies with the public key only."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

    private = {"RS256": lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048),
               "PS256": lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048),
               "ES256": lambda: ec.generate_private_key(ec.SECP256R1()),
               "ES384": lambda: ec.generate_private_key(ec.SECP384R1()),
               "EdDSA": ed25519.Ed25519PrivateKey.generate}[algorithm]()
    key_file, public_file = tmp_path / "private.pem", tmp_path / "public.pem"
    key_file.write_bytes(private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                               serialization.NoEncryption()))
    public_file.write_bytes(private.public_key().public_bytes(serialization.Encoding.PEM,
                                                              serialization.PublicFormat.SubjectPublicKeyInfo))
    config = gateway_config(log_level="warning",
                            auth={"keys": [{"algorithms": [algorithm], "public_key_file": str(public_file)}]})
    server = gateway(config)
    result = swarm("connect", "--url", server.url(), "--private-key-file", str(key_file), "--algorithm", algorithm,
                   "--channel", "availability:keys", "--connections", "20")
    assert result["established"] == 20 and result["errors"] == {}, result
    # A key that does not fit the algorithm is refused before any connection.
    wrong = subprocess.run([str(swarm_binary()), "connect", "--url", server.url(), "--private-key-file", str(key_file),
                            "--algorithm", "HS256" if algorithm != "HS256" else "ES256", "--connections", "1"],
                           capture_output=True, text=True, timeout=RUN_TIMEOUT)
    assert wrong.returncode != 0 and "--private-key-file" in wrong.stderr, wrong.stderr


def test_storm_recovers_everything(gateway):
    """Subscribers churn (a fifth of them every second) and all reconnect at once halfway through;
    each resubscribes with `since`, and the 50 publications of history in `availability` cover what
    it missed: every publication reaches every subscriber exactly once."""
    server = start_gateway(gateway)
    result = swarm("storm", "--url", server.url(), "--api-url", f"http://127.0.0.1:{admin_port(server)}",
                   "--api-key", API_KEY, "--secret-env", "RELAY_SWARM_SECRET", "--channel", "availability:storm",
                   "--subscribers", "50", "--rate", "50", "--churn-interval", "1", "--churn-share", "0.2",
                   "--warmup", "0.5", "--duration", "4")
    assert result["scenario"] == "storm" and result["established"] == 50, result
    assert result["mass_reconnect_at_s"] == 2, result
    # Four waves of 10 and a mass reconnect of the 50 (less those reconnecting at that moment).
    assert result["reconnects"] >= 50, result
    assert result["reconnect_latency_us"]["count"] == result["reconnects"], result
    assert result["publications"] > 0 and result["deliveries"] == result["expected_deliveries"], result
    assert result["lost"] == 0 and result["duplicates"] == 0, result
    assert result["not_recovered"] == 0 and result["reconnect_failures"] == {}, result
    assert result["errors"] == {}, result


CHAT_TRAFFIC = ["--users", "40", "--messages-per-minute", "60", "--presence-per-minute", "30", "--online-per-minute", "30",
                "--availability-rate", "5", "--churn-interval", "1", "--churn-share", "0.1", "--warmup", "0.5", "--duration", "3"]


def assert_chat_delivered_everything(result: dict, users: int) -> None:
    assert result["scenario"] == "chat" and result["users"] == users and result["established"] == users, result
    # Pairs and groups: each message is owed to every other member of its conversation.
    assert result["groups"] > 0 and result["conversations"] < users // 2, result
    assert result["messages"] > 0 and result["expected_deliveries"] > result["messages"], result
    assert result["deliveries"] == result["expected_deliveries"], result
    assert result["lost"] == 0 and result["duplicates"] == 0, result
    assert result["latency_us"]["count"] == result["deliveries"], result
    assert result["availability_publications"] > 0, result
    assert result["availability_deliveries"] == result["availability_expected_deliveries"] \
        == result["availability_publications"] * users, result
    assert result["availability_lost"] == 0 and result["availability_duplicates"] == 0, result
    for command in ("publish", "typing", "presence", "online"):
        assert result[f"{command}_reply_us"]["count"] > 0, (command, result)
    assert result["typing_pushes"] > 0, result
    assert result["reconnects"] > 0 and result["not_recovered"] == 0 and result["reconnect_failures"] == {}, result
    assert result["errors"] == {}, result


def test_chat_mix(gateway):
    """chat on one gateway with the namespaces of config/relay.yaml: users in pairs and groups, their
    tokens granting their conversation by the channels claim, publish with idempotency keys, typing,
    presence and online, availability changes through the server API, and a tenth of the users
    reconnecting every second with since: every message reaches every other member once, every
    availability change every user."""
    server = start_gateway(gateway)
    result = swarm("chat", "--url", server.url(), "--api-url", f"http://127.0.0.1:{admin_port(server)}", "--api-key", API_KEY,
                   "--secret-env", "RELAY_SWARM_SECRET", *CHAT_TRAFFIC)
    assert result["publish_via"] == "api", result
    assert_chat_delivered_everything(result, 40)


def test_chat_over_replicas_sharing_redis(gateway):
    """chat over two replicas on the Redis engine, from two workers: consecutive users take the URLs in
    turn, so every conversation has members on both replicas, and availability changes go into Redis as
    the main API makes them."""
    from redis_support import RedisServer

    redis_server = RedisServer().start()
    try:
        urls = []
        for _ in range(2):
            config = gateway_config(loops=1, log_level="warning", engine={"type": "redis", "redis_url": redis_server.url})
            urls += ["--url", gateway(config).url()]
        result = swarm("chat", *urls, "--workers", "2", "--redis-url", redis_server.url, "--secret-env", "RELAY_SWARM_SECRET",
                       *CHAT_TRAFFIC)
    finally:
        redis_server.stop()
    assert result["publish_via"] == "redis" and result["workers"] == 2, result
    assert_chat_delivered_everything(result, 40)


def test_step_raises_the_load_until_the_target_is_missed(relay):
    """--step runs the scenario once per step, raising --rate; an impossible latency target makes
    the first step miss, a generous one lets every step hold."""
    server = relay.echo("--broadcast")
    common = ["fanout", "--url", server.url(), "--publish-via", "raw", "--subscribers", "10", "--warmup", "0.2",
              "--duration", "0.5", "--step", "rate=50*2", "--steps", "2"]
    argv = [str(swarm_binary()), *common, "--p99-ms", "0.001"]
    missed = subprocess.run(argv, capture_output=True, text=True, timeout=RUN_TIMEOUT)
    assert missed.returncode == 1, missed.stderr
    report = json.loads(missed.stdout.strip().splitlines()[-1])
    assert report["held"] is None and len(report["steps"]) == 1 and "target" in report["steps"][0]["reason"], report
    held = swarm(*common, "--p99-ms", "5000")
    assert held["scenario"] == "step" and held["option"] == "rate" and held["held"] == 100, held
    assert [step["value"] for step in held["steps"]] == [50, 100] and all(step["held"] for step in held["steps"]), held
    assert held["last_held_report"]["rate_requested"] == 100, held


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
    binary = built_binary("relay-micro", "RELAY_MICRO_BIN")
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
