"""Helpers for the gateway (`relay serve`) tests: a config builder, JWTs made with PyJWT, and a
relay.v1 client on top of the websockets library.

Every wait is bounded: replies and pushes are awaited with a timeout, and a client that has to
see the connection close is given one too. The tests are plain functions that run a coroutine
with `wsraw.run_async`.
"""

from __future__ import annotations

import asyncio
import base64
import collections
import contextlib
import copy
import hashlib
import hmac
import itertools
import json
import time
from typing import Any

import jwt
from websockets.asyncio.client import connect as ws_connect
from websockets.exceptions import ConnectionClosed

SUBPROTOCOL = "relay.v1"
TOKEN_SUBPROTOCOL_PREFIX = "relay.token."

# 64 bytes: long enough for HS512 (PyJWT warns about HMAC keys shorter than the hash).
SECRET = "integration-secret-0123456789abcdef-0123456789abcdef-0123456789ab"

DEFAULT_NAMESPACES: dict[str, dict] = {
    # The namespaces of config/relay.yaml and relay.dev.yaml.
    "user": {"subscribe": ["own"], "publish": "server", "history_size": 20, "history_ttl": 3600},
    "conversation": {"subscribe": ["token", "claim"], "publish": "subscribers", "history_size": 100,
                     "history_ttl": 86400, "presence": True, "join_leave": True, "typing": True, "inbox": True},
    "availability": {"subscribe": ["authenticated"], "publish": "server", "history_size": 50, "history_ttl": 600},
}


def gateway_config(*, loops: int = 1, auth: dict | None = None, namespaces: dict | None = None,
                   gateway: dict | None = None, log_level: str = "trace", **sections: Any) -> dict:
    """A full config for `relay serve`: one HS256 key without a kid (SECRET) unless `auth` gives
    keys, the three namespaces of config/relay.yaml unless `namespaces` replaces them, trace
    logging (so that a leaked token would show in stderr)."""
    auth_section = {"keys": [{"algorithms": ["HS256"], "secret": SECRET}]}
    auth_section.update(auth or {})
    config = {
        "listen": {"host": "127.0.0.1", "port": 0, "path": "/ws"},
        "loops": loops,
        "log": {"level": log_level},
        "auth": auth_section,
        "namespaces": copy.deepcopy(DEFAULT_NAMESPACES) if namespaces is None else namespaces,
    }
    # Tests send commands faster than a person would: lift the per-connection rate limits unless
    # a test sets its own (test_gateway_rate_limits does).
    gateway_section = {"rate_limits": {"commands_per_second": 100000, "command_burst": 100000,
                                       "user_commands_per_second": 100000, "user_command_burst": 100000}}
    gateway_section.update(gateway or {})
    config["gateway"] = gateway_section
    config.update(sections)
    return config


# --- Tokens ------------------------------------------------------------------------------------

def make_token(sub: str | None = "alice", *, key: Any = SECRET, alg: str = "HS256", ttl: float | None = 300,
               kid: str | None = None, **claims: Any) -> str:
    """A JWT signed by PyJWT. `ttl` sets exp = now + ttl (None: no exp); claims given as None are
    left out; `sub=None` leaves out the subject."""
    now = int(time.time())
    payload: dict[str, Any] = {"iat": now}
    if sub is not None:
        payload["sub"] = sub
    if ttl is not None:
        payload["exp"] = now + ttl
    payload.update(claims)
    payload = {name: value for name, value in payload.items() if value is not None}
    headers = {"kid": kid} if kid is not None else None
    return jwt.encode(payload, key, algorithm=alg, headers=headers)


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_json(value: Any) -> str:
    return b64url(json.dumps(value, separators=(",", ":")).encode())


def hs256_by_hand(header: dict, payload: dict, secret: bytes) -> str:
    """An HS256 token built without PyJWT (which refuses a PEM as an HMAC secret, rightly)."""
    signing_input = f"{b64url_json(header)}.{b64url_json(payload)}"
    signature = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64url(signature)}"


def signature_part(token: str) -> str:
    return token.rsplit(".", 1)[-1]


def assert_tokens_not_logged(process, tokens: list[str]) -> None:
    """Neither a token nor its signature segment may appear in the relay's stderr or stdout."""
    logs = process.stderr_text() + process.stdout_text()
    assert logs, "relay logged nothing at trace level: the check would prove nothing"
    for token in tokens:
        assert token not in logs, f"a token appears in relay's log: {token[:20]}..."
        signature = signature_part(token)
        if len(signature) >= 16:
            assert signature not in logs, f"a token's signature appears in relay's log: {signature[:16]}..."


# --- Client ------------------------------------------------------------------------------------

class GatewayClient:
    """One relay.v1 connection. Replies are matched to commands by id; pushes are queued in
    arrival order and taken out with `push` / `publications`."""

    def __init__(self, ws, name: str = ""):
        self.ws = ws
        self.name = name
        self._ids = itertools.count(1)
        self.replies: dict[str, dict] = {}
        self.pushes: collections.deque[dict] = collections.deque()
        # Everything received, in order, for assertions about what came before what.
        self.log: list[dict] = []

    # Reading.

    async def _pump(self, deadline: float, what: str) -> None:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError(f"{self.name}: no {what} in time; pending pushes: {list(self.pushes)[:5]}")
        try:
            raw = await asyncio.wait_for(self.ws.recv(), remaining)
        except asyncio.TimeoutError:
            raise TimeoutError(f"{self.name}: no {what} in time; pending pushes: {list(self.pushes)[:5]}") from None
        assert isinstance(raw, str), f"{self.name}: a binary message from the gateway: {raw[:80]!r}"
        message = json.loads(raw)
        assert isinstance(message, dict), f"{self.name}: not an object: {raw[:200]}"
        self.log.append(message)
        if "push" in message:
            self.pushes.append(message)
        elif "id" in message:
            assert ("result" in message) != ("error" in message), f"{self.name}: bad reply {message}"
            self.replies[json.dumps(message["id"])] = message
        else:
            raise AssertionError(f"{self.name}: neither a reply nor a push: {message}")

    async def reply(self, id: Any, timeout: float = 5.0) -> dict:
        key = json.dumps(id)
        deadline = time.monotonic() + timeout
        while key not in self.replies:
            await self._pump(deadline, f"reply to id {id!r}")
        return self.replies.pop(key)

    async def push(self, kind: str | None = None, *, channel: str | None = None, timeout: float = 5.0) -> dict:
        """The oldest queued push of this kind (and channel), waiting for one if none is queued.
        Pushes of other kinds stay queued."""
        deadline = time.monotonic() + timeout
        while True:
            for index, push in enumerate(self.pushes):
                if (kind is None or push["push"] == kind) and (channel is None or push.get("channel") == channel):
                    del self.pushes[index]
                    return push
            await self._pump(deadline, f"{kind or 'any'} push")

    async def publications(self, channel: str, count: int, timeout: float = 10.0) -> list[dict]:
        """The next `count` publication pushes on `channel`, their `pub` objects."""
        deadline = time.monotonic() + timeout
        result = []
        while len(result) < count:
            push = await self.push("publication", channel=channel, timeout=max(0.0, deadline - time.monotonic()))
            result.append(push["pub"])
        return result

    def queued(self, kind: str, channel: str | None = None) -> list[dict]:
        return [push for push in self.pushes if push["push"] == kind and (channel is None or push.get("channel") == channel)]

    async def expect_close(self, timeout: float = 5.0) -> int | None:
        """Reads (queuing pushes) until the server closes; returns the close code it sent."""
        deadline = time.monotonic() + timeout
        with contextlib.suppress(ConnectionClosed):
            while True:
                await self._pump(deadline, "close")
        return self.ws.close_code

    # Commands.

    async def send(self, command: dict | str | bytes) -> None:
        await self.ws.send(command if isinstance(command, (str, bytes)) else json.dumps(command))

    async def call(self, cmd: str, *, id: Any = None, timeout: float = 5.0, **fields: Any) -> dict:
        """Sends a command and returns its whole reply."""
        if id is None:
            id = next(self._ids)
        await self.send({"id": id, "cmd": cmd, **fields})
        return await self.reply(id, timeout)

    async def ok(self, cmd: str, **fields: Any) -> dict:
        reply = await self.call(cmd, **fields)
        assert "result" in reply, f"{self.name}: {cmd} {fields} failed: {reply}"
        return reply["result"]

    async def error(self, cmd: str, code: str, **fields: Any) -> dict:
        reply = await self.call(cmd, **fields)
        assert "error" in reply, f"{self.name}: {cmd} {fields} should fail with {code}: {reply}"
        assert reply["error"]["code"] == code, f"{self.name}: {cmd} {fields}: expected {code}, got {reply}"
        assert isinstance(reply["error"].get("message"), str), reply
        return reply["error"]

    async def publish(self, channel: str, data: Any, key: str | None = None) -> dict:
        fields: dict[str, Any] = {"channel": channel, "data": data}
        if key is not None:
            fields["key"] = key
        return await self.ok("publish", **fields)

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.ws.close(), 3)


class Clients:
    """Opens clients against one relay and closes them all at the end:
    `async with Clients(process) as clients: alice = await clients.connect(token)`."""

    def __init__(self, process, path: str = "/ws", *, ssl: Any = None, host: str = "127.0.0.1"):
        """`ssl`: an ssl.SSLContext to connect to the TLS listener (wss://) as `host`."""
        self.process = process
        self.path = path
        self.ssl = ssl
        self.host = host
        self.opened: list[GatewayClient] = []

    async def __aenter__(self) -> "Clients":
        return self

    async def __aexit__(self, *exc) -> None:
        await asyncio.gather(*(client.close() for client in self.opened), return_exceptions=True)

    def url(self, query: str = "") -> str:
        return self.process.url(self.path, tls=self.ssl is not None, host=self.host) + query

    async def open(self, *, name: str = "", query: str = "", subprotocols: list[str] | None = None,
                   headers: dict | None = None) -> GatewayClient:
        """A WebSocket connection, not authenticated unless the upgrade carried a token."""
        ws = await ws_connect(self.url(query), subprotocols=[SUBPROTOCOL] if subprotocols is None else subprotocols,
                              additional_headers=headers, compression=None, open_timeout=5, close_timeout=2, ssl=self.ssl,
                              ping_interval=None, max_size=None, max_queue=None)
        client = GatewayClient(ws, name)
        self.opened.append(client)
        return client

    async def connect(self, token: str, *, name: str = "") -> GatewayClient:
        """Opens a connection and sends `connect` with `token`; the reply must be a result."""
        client = await self.open(name=name)
        result = await client.ok("connect", token=token)
        client.connect_result = result
        return client

    async def user(self, user: str, *, name: str | None = None, **claims: Any) -> GatewayClient:
        """A client connected as `user` with an HS256 token carrying `claims`."""
        return await self.connect(make_token(user, **claims), name=name or user)
