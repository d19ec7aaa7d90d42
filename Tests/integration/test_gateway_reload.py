"""SIGHUP reloads the verification keys (a secret file, a JWKS file) without dropping connections;
a reload that fails keeps the previous keys."""

from __future__ import annotations

import asyncio
import json
import signal
import time
from pathlib import Path

import jwt

from gateway_support import Clients, gateway_config, make_token
from wsraw import run_async


def oct_jwk(kid: str, secret: bytes) -> dict:
    return {"kty": "oct", "kid": kid, "use": "sig", "k": jwt.utils.base64url_encode(secret).decode()}


OLD = b"old-jwks-secret-" + bytes(range(48))
NEW = b"new-jwks-secret-" + bytes(range(48))
FILE_OLD = "old-file-secret-0123456789abcdef-0123456789abcdef-0123456789abcd"
FILE_NEW = "new-file-secret-0123456789abcdef-0123456789abcdef-0123456789abcd"


def wait_for_log(server, text: str, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while text not in server.stderr_text():
        assert time.monotonic() < deadline, f"no {text!r} in the log:\n{server.stderr_text()[-2000:]}"
        time.sleep(0.05)


def test_sighup_rotates_keys_and_keeps_connections(gateway, tmp_path):
    jwks = tmp_path / "jwks.json"
    jwks.write_text(json.dumps({"keys": [oct_jwk("old", OLD)]}))
    secret = tmp_path / "secret"
    secret.write_text(FILE_OLD + "\n")
    server = gateway(gateway_config(loops=2, auth={"keys": [{"kid": "file", "algorithms": ["HS256"], "secret_file": str(secret)}],
                                                   "jwks_file": str(jwks)}))

    async def before():
        clients = Clients(server)
        old_jwks = await clients.connect(make_token("alice", key=OLD, kid="old"), name="old jwks")
        old_file = await clients.connect(make_token("bob", key=FILE_OLD, kid="file"), name="old file")
        refused = await clients.open()
        error = await refused.error("connect", "auth_failed", token=make_token("carol", key=NEW, kid="new"))
        assert error["message"] == "unknown_key"
        return clients, old_jwks, old_file

    async def after(clients, old_jwks, old_file):
        # Connections authenticated with the old keys stay.
        await old_jwks.ok("ping")
        await old_file.ok("ping")
        await clients.connect(make_token("carol", key=NEW, kid="new"), name="new jwks")
        await clients.connect(make_token("dave", key=FILE_NEW, kid="file"), name="new file")
        for token, reason in ((make_token("erin", key=OLD, kid="old"), "unknown_key"),
                              (make_token("erin", key=FILE_OLD, kid="file"), "bad_signature")):
            refused = await clients.open()
            assert (await refused.error("connect", "auth_failed", token=token))["message"] == reason
        await clients.__aexit__(None, None, None)

    # One event loop across the reload, so the clients opened before it are still there after.
    loop = asyncio.new_event_loop()
    try:
        state = loop.run_until_complete(asyncio.wait_for(before(), 20))
        jwks.write_text(json.dumps({"keys": [oct_jwk("new", NEW)]}))
        secret.write_text(FILE_NEW + "\n")
        server.signal(signal.SIGHUP)
        wait_for_log(server, "SIGHUP: config and keys reloaded")
        loop.run_until_complete(asyncio.wait_for(after(*state), 20))
    finally:
        loop.close()
    assert server.is_running()
    for secret_text in (FILE_OLD, FILE_NEW, jwt.utils.base64url_encode(NEW).decode()):
        assert secret_text not in server.stderr_text()


def test_a_failed_reload_keeps_the_previous_keys(gateway, tmp_path):
    jwks = tmp_path / "jwks.json"
    jwks.write_text(json.dumps({"keys": [oct_jwk("old", OLD)]}))
    server = gateway(gateway_config(auth={"keys": [], "jwks_file": str(jwks)}))
    jwks.write_text("{ not json")
    server.signal(signal.SIGHUP)
    wait_for_log(server, "config not reloaded")
    assert "auth.jwks_file" in server.stderr_text()

    async def scenario():
        async with Clients(server) as clients:
            await clients.connect(make_token("alice", key=OLD, kid="old"))
    run_async(scenario(), timeout=20)


def config_path(server) -> Path:
    return Path(server.args[server.args.index("--config") + 1])


def test_sighup_applies_new_settings_and_refuses_a_broken_file(gateway):
    config = gateway_config(loops=2)
    server = gateway(config)
    path = config_path(server)

    async def scenario():
        async with Clients(server) as clients:
            alice = await clients.user("alice")
            await alice.error("subscribe", "unknown_namespace", channel="news:today")

            # A new namespace, and a port change that only a restart can apply.
            changed = json.loads(json.dumps(config))
            changed["namespaces"]["news"] = {"subscribe": ["authenticated"], "publish": "server"}
            changed["listen"]["port"] = 1
            path.write_text(json.dumps(changed))
            server.signal(signal.SIGHUP)
            await asyncio.to_thread(wait_for_log, server, "SIGHUP: config and keys reloaded")
            record = [r for r in server.log_records() if r.get("message") == "SIGHUP: config and keys reloaded"][-1]
            assert record["changed"] == "+namespaces.news", record
            assert "listen" in record["needs_restart"], record
            await alice.ok("subscribe", channel="news:today")  # the open connection follows the new settings
            bob = await clients.user("bob")
            await bob.ok("subscribe", channel="news:today")

            # A broken file changes nothing.
            path.write_text("namespaces: [unclosed\n")
            server.signal(signal.SIGHUP)
            await asyncio.to_thread(wait_for_log, server, "config not reloaded")
            carol = await clients.user("carol")
            await carol.ok("subscribe", channel="news:today")

    run_async(scenario(), timeout=30)
    assert server.is_running()


def test_a_reload_that_turns_presence_off_does_not_leak_members(gateway):
    """alice joins a channel's presence; a SIGHUP turns presence off for the namespace; alice
    leaves. When presence comes back, she must not be listed: leaving undid what joining did,
    not what the namespace says at the time of leaving."""
    namespaces = {"room": {"subscribe": ["authenticated"], "publish": "subscribers", "presence": True}}
    config = gateway_config(loops=2, namespaces=namespaces)
    server = gateway(config)
    path = config_path(server)

    def reload(presence: bool):
        changed = json.loads(json.dumps(config))
        changed["namespaces"]["room"]["presence"] = presence
        path.write_text(json.dumps(changed))
        before = server.stderr_text().count("SIGHUP: config and keys reloaded")
        server.signal(signal.SIGHUP)
        deadline = time.monotonic() + 5
        while server.stderr_text().count("SIGHUP: config and keys reloaded") == before:
            assert time.monotonic() < deadline, server.stderr_text()[-2000:]
            time.sleep(0.05)

    async def scenario():
        async with Clients(server) as clients:
            alice = await clients.user("alice")
            await alice.ok("subscribe", channel="room:1")
            bob = await clients.user("bob")
            await bob.ok("subscribe", channel="room:1")
            assert len((await bob.ok("presence", channel="room:1"))["users"]) == 2
            await asyncio.to_thread(reload, False)
            await alice.ok("unsubscribe", channel="room:1")
            await asyncio.to_thread(reload, True)
            presence = await bob.ok("presence", channel="room:1")
            assert presence["users"] == [{"user": "bob", "connections": 1}], presence

    run_async(scenario(), timeout=30)
