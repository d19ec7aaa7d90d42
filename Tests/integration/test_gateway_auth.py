"""Authentication end to end: every JWT algorithm with keys made here (PEM files and a JWKS),
the ways a token is refused, tokens at the upgrade, the auth timeout, refresh and expiry. Tokens
are made with PyJWT; no token may ever show in relay's log."""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from websockets.exceptions import InvalidStatus

from gateway_support import (SECRET, SUBPROTOCOL, TOKEN_SUBPROTOCOL_PREFIX, Clients, assert_tokens_not_logged,
                             b64url_json, gateway_config, hs256_by_hand, make_token)
from wsraw import http_exchange, read_http_response, connect as raw_connect, new_key, run_async, upgrade_request

ISSUER = "https://api.relay.test"
AUDIENCE = "relay"


@dataclass
class KeyPair:
    kid: str
    private: object  # what PyJWT signs with
    public_pem: bytes | None


def _public_pem(private) -> bytes:
    return private.public_key().public_bytes(serialization.Encoding.PEM,
                                             serialization.PublicFormat.SubjectPublicKeyInfo)


@pytest.fixture(scope="module")
def keys(tmp_path_factory):
    """Two keys of each kind: one configured from a PEM file (or a secret) in auth.keys, one from
    the JWKS file; the config that names them all, with an issuer and an audience."""
    directory: Path = tmp_path_factory.mktemp("keys")
    made = {
        "rsa": rsa.generate_private_key(public_exponent=65537, key_size=2048),
        "p256": ec.generate_private_key(ec.SECP256R1()),
        "p384": ec.generate_private_key(ec.SECP384R1()),
        "ed": ed25519.Ed25519PrivateKey.generate(),
    }
    jwk_made = {
        "rsa": rsa.generate_private_key(public_exponent=65537, key_size=2048),
        "p256": ec.generate_private_key(ec.SECP256R1()),
        "p384": ec.generate_private_key(ec.SECP384R1()),
        "ed": ed25519.Ed25519PrivateKey.generate(),
    }
    pem_algorithms = {"rsa": ["RS256", "RS384", "RS512", "PS256"], "p256": ["ES256"], "p384": ["ES384"], "ed": ["EdDSA"]}
    config_keys = []
    pairs: dict[str, KeyPair] = {}
    for name, private in made.items():
        pem = _public_pem(private)
        path = directory / f"{name}.pem"
        path.write_bytes(pem)
        config_keys.append({"kid": f"pem-{name}", "algorithms": pem_algorithms[name], "public_key_file": str(path)})
        pairs[f"pem-{name}"] = KeyPair(f"pem-{name}", private, pem)
    secret_file = directory / "hs.secret"
    secret_file.write_text(SECRET + "\n")
    config_keys.append({"kid": "pem-hs", "algorithms": ["HS256", "HS384", "HS512"], "secret_file": str(secret_file)})
    pairs["pem-hs"] = KeyPair("pem-hs", SECRET, None)

    jwks = []
    for name, private in jwk_made.items():
        public = private.public_key()
        if name == "rsa":
            entry = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(public))
        elif name == "ed":
            entry = json.loads(jwt.algorithms.OKPAlgorithm.to_jwk(public))
        else:
            entry = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(public))
        entry.update(kid=f"jwk-{name}", use="sig")
        jwks.append(entry)
        pairs[f"jwk-{name}"] = KeyPair(f"jwk-{name}", private, _public_pem(private))
    jwk_secret = b"jwks-hmac-secret-" + bytes(range(47))  # 64 bytes, not all printable
    jwks.append({"kty": "oct", "kid": "jwk-hs", "use": "sig", "k": jwt.utils.base64url_encode(jwk_secret).decode()})
    pairs["jwk-hs"] = KeyPair("jwk-hs", jwk_secret, None)
    jwks_path = directory / "jwks.json"
    jwks_path.write_text(json.dumps({"keys": jwks}))

    auth = {"keys": config_keys, "jwks_file": str(jwks_path), "issuer": ISSUER, "audience": AUDIENCE}
    return pairs, auth


def auth_config(auth: dict, **extra) -> dict:
    return gateway_config(auth={**auth, **extra})


KIND_OF = {"HS256": "hs", "HS384": "hs", "HS512": "hs", "RS256": "rsa", "RS384": "rsa", "RS512": "rsa",
           "PS256": "rsa", "ES256": "p256", "ES384": "p384", "EdDSA": "ed"}


def signed(pairs, source: str, alg: str, sub: str = "alice", **claims) -> str:
    pair = pairs[f"{source}-{KIND_OF[alg]}"]
    claims.setdefault("iss", ISSUER)
    claims.setdefault("aud", AUDIENCE)
    return make_token(sub, key=pair.private, alg=alg, kid=pair.kid, **claims)


@pytest.mark.parametrize("alg", list(KIND_OF))
def test_every_algorithm_connects(gateway, keys, alg):
    """A token of each algorithm, once with the PEM (or secret file) key and once with the JWKS
    key: connect succeeds with the token's subject, and the identity is the token's (own channel)."""
    pairs, auth = keys
    server = gateway(auth_config(auth))
    tokens = []

    async def scenario():
        async with Clients(server) as clients:
            for source in ("pem", "jwk"):
                user = f"{source}-{alg.lower()}-user"
                token = signed(pairs, source, alg, sub=user, info={"alg": alg})
                tokens.append(token)
                client = await clients.open(name=f"{source} {alg}")
                result = await client.ok("connect", token=token)
                assert result["user"] == user, result
                assert isinstance(result["expires"], int) and result["expires"] > time.time(), result
                # The connection acts as the token's user: its own channel is allowed, another's is not.
                await client.ok("subscribe", channel=f"user:{user}")
                await client.error("subscribe", "permission_denied", channel="user:someone-else")

    run_async(scenario())
    assert_tokens_not_logged(server, tokens)


def _tampered(token: str) -> str:
    header, payload, signature = token.split(".")
    claims = json.loads(jwt.utils.base64url_decode(payload))
    claims["sub"] = "mallory"
    return f"{header}.{b64url_json(claims)}.{signature}"


def _failure_cases(pairs) -> list[tuple[str, str, str]]:
    now = int(time.time())
    rsa_pem = pairs["pem-rsa"].public_pem
    good = signed(pairs, "pem", "RS256")
    return [
        ("tampered payload", _tampered(good), "bad_signature"),
        ("tampered jwks token", _tampered(signed(pairs, "jwk", "ES256")), "bad_signature"),
        ("signed by another key", make_token("alice", key=pairs["jwk-rsa"].private, alg="RS256", kid="pem-rsa",
                                             iss=ISSUER, aud=AUDIENCE), "bad_signature"),
        ("expired", signed(pairs, "pem", "ES256", ttl=-120), "expired"),
        ("nbf in the future", signed(pairs, "pem", "HS256", nbf=now + 3600), "not_yet_valid"),
        ("iat in the future", signed(pairs, "pem", "HS256", iat=now + 3600), "issued_in_future"),
        ("wrong issuer", signed(pairs, "pem", "EdDSA", iss="https://evil.test"), "wrong_issuer"),
        ("wrong audience", signed(pairs, "jwk", "RS256", aud="someone-else"), "wrong_audience"),
        ("no subject", signed(pairs, "pem", "HS256", sub=None), "missing_subject"),
        ("no expiry", signed(pairs, "pem", "HS256", ttl=None), "missing_expiry"),
        ("channels not a list", signed(pairs, "pem", "HS256", channels="conversation:1"), "invalid_claim"),
        ("alg none", f"{b64url_json({'alg': 'none', 'typ': 'JWT'})}."
                     f"{b64url_json({'sub': 'alice', 'exp': now + 300, 'iss': ISSUER, 'aud': AUDIENCE})}.",
         "unsupported_algorithm"),
        ("alg None with a kid", f"{b64url_json({'alg': 'None', 'kid': 'pem-hs'})}."
                                f"{b64url_json({'sub': 'alice', 'exp': now + 300})}.", "unsupported_algorithm"),
        ("HS256 keyed with the RSA public PEM", hs256_by_hand(
            {"alg": "HS256", "typ": "JWT", "kid": "pem-rsa"},
            {"sub": "alice", "exp": now + 300, "iss": ISSUER, "aud": AUDIENCE}, rsa_pem), "unsupported_algorithm"),
        ("RS256 token for the EC key", make_token("alice", key=pairs["pem-rsa"].private, alg="RS256", kid="pem-p256",
                                                  iss=ISSUER, aud=AUDIENCE), "unsupported_algorithm"),
        ("unknown kid", make_token("alice", key=pairs["pem-rsa"].private, alg="RS256", kid="no-such-key",
                                   iss=ISSUER, aud=AUDIENCE), "unknown_key"),
        ("no kid while every key has one", make_token("alice", key=SECRET, alg="HS256", iss=ISSUER, aud=AUDIENCE),
         "unknown_key"),
        ("oversized", signed(pairs, "pem", "HS256", pad="x" * 9000), "too_large"),
        ("not a JWT", "not-a-token", "malformed"),
        ("four segments", good + ".AAAA", "malformed"),
    ]


def test_refused_tokens_fail_connect_and_close_4003(gateway, keys):
    """Each bad token: `auth_failed` whose message is the token error code, then close 4003."""
    pairs, auth = keys
    server = gateway(auth_config(auth))
    cases = _failure_cases(pairs)
    assert len(cases[-3][1]) > 8192  # the oversized one really is

    async def one(clients, name, token, code):
        client = await clients.open(name=name)
        error = await client.error("connect", "auth_failed", token=token)
        assert error["message"] == code, f"{name}: expected {code}, got {error}"
        close_code = await client.expect_close(timeout=5)
        assert close_code == 4003, f"{name}: closed with {close_code}"

    async def scenario():
        async with Clients(server) as clients:
            await asyncio.gather(*(one(clients, *case) for case in cases))
            # The refused tokens did not harm the server: a good one still connects.
            client = await clients.open()
            assert (await client.ok("connect", token=signed(pairs, "pem", "PS256")))["user"] == "alice"

    run_async(scenario())
    assert_tokens_not_logged(server, [token for _, token, _ in cases])


def test_token_errors_at_subscribe_and_refresh_are_not_logged(gateway, keys):
    """Subscription tokens and refresh tokens are secrets too: refused or accepted, none is logged."""
    pairs, auth = keys
    server = gateway(auth_config(auth))
    good = signed(pairs, "pem", "ES384")
    refreshed = signed(pairs, "jwk", "EdDSA", ttl=600)
    subscription = signed(pairs, "pem", "HS512", channel="conversation:7")
    bad_subscription = _tampered(signed(pairs, "jwk", "HS384", channel="conversation:8"))
    expired = signed(pairs, "pem", "RS512", ttl=-300)

    async def scenario():
        async with Clients(server) as clients:
            client = await clients.connect(good)
            await client.ok("subscribe", channel="conversation:7", token=subscription)
            denied = await client.error("subscribe", "permission_denied", channel="conversation:8", token=bad_subscription)
            assert "bad_signature" in denied["message"], denied
            assert (await client.error("refresh", "auth_failed", token=expired))["message"] == "expired"
            await client.ok("refresh", token=refreshed)
            await client.ok("ping")

    run_async(scenario())
    assert_tokens_not_logged(server, [good, refreshed, subscription, bad_subscription, expired])


# --- Tokens at the upgrade -----------------------------------------------------------------------

async def _is_authenticated_as(client, user: str) -> None:
    await client.ok("ping")
    await client.ok("subscribe", channel=f"user:{user}")
    await client.error("subscribe", "permission_denied", channel="user:not-" + user)
    await client.error("connect", "already_connected", token=make_token(user))


def test_upgrade_token_as_subprotocol_entry(gateway):
    server = gateway(gateway_config())
    token = make_token("alice")

    async def scenario():
        async with Clients(server) as clients:
            client = await clients.open(subprotocols=[SUBPROTOCOL, TOKEN_SUBPROTOCOL_PREFIX + token])
            assert client.ws.subprotocol == SUBPROTOCOL
            await _is_authenticated_as(client, "alice")
            # Only the token entry offered: no subprotocol is chosen, and the token still counts.
            bare = await clients.open(subprotocols=[TOKEN_SUBPROTOCOL_PREFIX + make_token("bob")])
            assert bare.ws.subprotocol is None
            await _is_authenticated_as(bare, "bob")
            # No subprotocol at all: a plain connection that must send connect.
            plain = await clients.open(subprotocols=[])
            assert plain.ws.subprotocol is None
            await plain.error("ping", "not_connected")

    run_async(scenario())
    assert_tokens_not_logged(server, [token])


def _raw_upgrade(port: int, protocols: list[str] | None, extra: list[tuple[str, str]] = (), path: str = "/ws"):
    """The 101 (or other) response to a hand-made upgrade; the socket is closed after."""
    sock = raw_connect(port)
    try:
        headers = {} if protocols is None else {"Sec-WebSocket-Protocol": ", ".join(protocols)}
        sock.sendall(upgrade_request(path, key=new_key(), headers=headers, extra=list(extra)))
        response, _ = read_http_response(sock)
        return response
    finally:
        sock.close()


def test_upgrade_response_never_echoes_the_token(gateway):
    server = gateway(gateway_config())
    token = make_token("alice")
    entry = TOKEN_SUBPROTOCOL_PREFIX + token
    for offered, expected in [([SUBPROTOCOL, entry], ["relay.v1"]), ([entry, SUBPROTOCOL], ["relay.v1"]),
                              ([entry], []), ([SUBPROTOCOL], ["relay.v1"]), (None, [])]:
        response = _raw_upgrade(server.port, offered)
        assert response.status == 101, (offered, response)
        assert response.tokens("Sec-WebSocket-Protocol") == expected, (offered, response.headers)
        raw_head = "\r\n".join(f"{name}: {value}" for name, value in response.headers)
        assert token not in raw_head and "relay.token" not in raw_head, response.headers
    # Offering only other subprotocols is refused.
    for offered in (["chat"], ["chat", entry], ["relay.v2"]):
        assert _raw_upgrade(server.port, offered).status == 400, offered
    assert_tokens_not_logged(server, [token])


def test_upgrade_token_in_authorization_header(gateway):
    server = gateway(gateway_config())
    token = make_token("alice")

    async def scenario():
        async with Clients(server) as clients:
            client = await clients.open(headers={"Authorization": f"Bearer {token}"})
            assert client.ws.subprotocol == SUBPROTOCOL
            await _is_authenticated_as(client, "alice")
            lower = await clients.open(headers={"Authorization": f"bearer {make_token('bob')}"})
            await _is_authenticated_as(lower, "bob")
            # Another scheme is not a token: the connection is open but not authenticated.
            basic = await clients.open(headers={"Authorization": "Basic YWxpY2U6c2VjcmV0"})
            await basic.error("ping", "not_connected")

    run_async(scenario())
    assert_tokens_not_logged(server, [token])


def test_query_token_is_ignored_when_not_allowed(gateway):
    server = gateway(gateway_config())
    token = make_token("alice")
    bad = _tampered(token)

    async def scenario():
        async with Clients(server) as clients:
            client = await clients.open(query=f"?token={token}")
            await client.error("ping", "not_connected")
            assert (await client.ok("connect", token=token))["user"] == "alice"
            # A bad query token is ignored too (not a 401): it was never looked at.
            other = await clients.open(query=f"?token={bad}")
            await other.error("subscribe", "not_connected", channel="user:alice")

    run_async(scenario())
    assert_tokens_not_logged(server, [token, bad])


def test_query_token_when_allowed(gateway):
    server = gateway(gateway_config(auth={"allow_query_token": True}))
    token = make_token("alice")
    bad = _tampered(make_token("bob"))

    async def scenario():
        async with Clients(server) as clients:
            client = await clients.open(query=f"?v=1&token={token}")
            await _is_authenticated_as(client, "alice")
            with pytest.raises(InvalidStatus) as refused:
                await clients.open(query=f"?token={bad}")
            assert refused.value.response.status_code == 401

    run_async(scenario())
    assert_tokens_not_logged(server, [token, bad])


@pytest.mark.parametrize("where", ["subprotocol", "authorization"])
def test_bad_upgrade_token_gets_401(gateway, where):
    server = gateway(gateway_config())
    tokens = [_tampered(make_token("alice")), make_token("alice", ttl=-300), make_token("alice", key="x" * 64),
              "garbage"]

    async def scenario():
        async with Clients(server) as clients:
            for token in tokens:
                kwargs = ({"subprotocols": [SUBPROTOCOL, TOKEN_SUBPROTOCOL_PREFIX + token]} if where == "subprotocol"
                          else {"headers": {"Authorization": f"Bearer {token}"}})
                with pytest.raises(InvalidStatus) as refused:
                    await clients.open(**kwargs)
                assert refused.value.response.status_code == 401, token
            # The same server still takes a good one.
            good = await clients.open(headers={"Authorization": f"Bearer {make_token('carol')}"})
            await _is_authenticated_as(good, "carol")

    run_async(scenario())
    # And on the wire: a complete 401 response, then the server closes.
    response, after = http_exchange(server.port, upgrade_request(
        "/ws", headers={"Sec-WebSocket-Protocol": f"{SUBPROTOCOL}, {TOKEN_SUBPROTOCOL_PREFIX}{tokens[0]}"}))
    assert response.status == 401 and after == b"", response
    assert_tokens_not_logged(server, tokens)


# --- Session lifecycle ---------------------------------------------------------------------------

def test_auth_timeout_closes_4001(gateway):
    server = gateway(gateway_config(auth={"timeout": 0.5}))

    async def scenario():
        async with Clients(server) as clients:
            started = time.monotonic()
            idle = await clients.open(name="idle")
            late = await clients.open(name="refused-then-idle")
            await late.error("ping", "not_connected")  # commands other than connect do not count
            authenticated = await clients.user("alice")
            by_upgrade = await clients.open(name="upgrade", headers={"Authorization": f"Bearer {make_token('bob')}"})
            assert await idle.expect_close(timeout=5) == 4001
            assert await late.expect_close(timeout=5) == 4001
            elapsed = time.monotonic() - started
            assert 0.4 <= elapsed < 3.0, elapsed
            # Well past the timeout, the authenticated connection is still there.
            await asyncio.sleep(max(0.0, started + 1.0 - time.monotonic()))
            await authenticated.ok("ping")
            await by_upgrade.ok("ping")
            assert not authenticated.pushes and not by_upgrade.pushes

    run_async(scenario())


def test_commands_before_connect_and_connect_twice(gateway):
    server = gateway(gateway_config())

    async def scenario():
        async with Clients(server) as clients:
            client = await clients.open()
            for cmd, fields in [("ping", {}), ("subscribe", {"channel": "availability:tutors"}),
                                ("publish", {"channel": "conversation:1", "data": 1}),
                                ("unsubscribe", {"channel": "availability:tutors"}),
                                ("presence", {"channel": "conversation:1"}),
                                ("history", {"channel": "conversation:1"}),
                                ("refresh", {"token": make_token("alice")})]:
                await client.error(cmd, "not_connected", **fields)
            token = make_token("alice", ttl=600)
            result = await client.ok("connect", token=token)
            assert result["user"] == "alice"
            assert result["expires"] == jwt.decode(token, options={"verify_signature": False})["exp"]
            await client.error("connect", "already_connected", token=make_token("bob"))
            await client.error("connect", "already_connected", token="garbage")  # not checked, not closed
            await client.ok("subscribe", channel="user:alice")  # still alice
            await client.error("subscribe", "permission_denied", channel="user:bob")

    run_async(scenario())


def test_refresh(gateway):
    """Refresh with a token for the same user moves the expiry: the connection outlives the first
    token. A token for another user is refused and changes nothing."""
    server = gateway(gateway_config(auth={"expiry_warning": 0.5}))

    async def scenario():
        async with Clients(server) as clients:
            first_exp = time.time() + 1.5  # a fractional NumericDate is allowed (RFC 7519 §2)
            client = await clients.connect(make_token("alice", ttl=None, exp=first_exp))
            denied = await client.error("refresh", "permission_denied", token=make_token("bob", ttl=600))
            assert denied["message"]
            new_token = make_token("alice", ttl=600)
            result = await client.ok("refresh", token=new_token)
            assert result["expires"] == jwt.decode(new_token, options={"verify_signature": False})["exp"]
            # Past the first token's expiry (and its warning): no push, still open, still alice.
            await asyncio.sleep(max(0.0, first_exp + 0.7 - time.time()))
            await client.ok("ping")
            await client.ok("subscribe", channel="user:alice")
            assert not client.pushes, list(client.pushes)

    run_async(scenario())


def test_token_expiry_warns_then_disconnects_4004(gateway):
    """The same for a token given to `connect` and one given at the upgrade."""
    server = gateway(gateway_config(auth={"expiry_warning": 2}))

    async def expires(client, exp):
        warning = await client.push("token_expiring", timeout=4)
        assert warning == {"push": "token_expiring", "expires": exp}
        assert time.time() >= exp - 2 - 0.5, "warned too early"
        code = await client.expect_close(timeout=5)
        assert time.time() >= exp - 0.5, "disconnected before the token expired"
        assert code == 4004
        pushes = [message for message in client.log if "push" in message]
        assert pushes == [warning, {"push": "disconnect", "reason": "token_expired"}], pushes

    async def scenario():
        async with Clients(server) as clients:
            exp = int(time.time()) + 3
            token = make_token("alice", ttl=None, exp=exp)
            by_connect = await clients.connect(token, name="connect")
            assert by_connect.connect_result["expires"] == exp
            await by_connect.ok("subscribe", channel="user:alice")
            by_upgrade = await clients.open(name="upgrade", headers={"Authorization": f"Bearer {token}"})
            await by_upgrade.ok("subscribe", channel="user:alice")
            await asyncio.gather(expires(by_connect, exp), expires(by_upgrade, exp))

    run_async(scenario())


def test_a_token_already_inside_the_warning_window_is_warned_at_once(gateway):
    server = gateway(gateway_config(auth={"expiry_warning": 60}))

    async def scenario():
        async with Clients(server) as clients:
            exp = int(time.time()) + 3
            client = await clients.connect(make_token("alice", ttl=None, exp=exp))
            warning = await client.push("token_expiring", timeout=1)
            assert warning == {"push": "token_expiring", "expires": exp}
            assert await client.expect_close(timeout=6) == 4004

    run_async(scenario())


def test_a_subscription_token_does_not_open_a_session(gateway):
    """A subscription token names one channel: it must not work as a connection token."""
    server = gateway(gateway_config())

    async def scenario():
        async with Clients(server) as clients:
            client = await clients.open()
            reply = await client.call("connect", token=make_token("alice", channel="conversation:1"))
            assert reply["error"] == {"code": "auth_failed", "message": "invalid_claim"}, reply
            assert await client.expect_close() == 4003

    run_async(scenario())
