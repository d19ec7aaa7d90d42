"""WSS: the TLS listener with real clients (Python's ssl and websockets, openssl s_client) and a
test CA made here. Versions, ALPN, SNI, resumption, certificates clients must refuse, a
certificate reload in the middle of traffic, and what a broken TLS client gets."""

from __future__ import annotations

import asyncio
import signal
import socket
import ssl
import subprocess
import time

import pytest

from gateway_support import Clients, gateway_config, make_token
from test_gateway_metrics import eventually, value
from test_gateway_server_api import API_KEY, admin_port
from tls_support import TestCA, peer_serial, tls_section
from wsraw import run_async


@pytest.fixture
def ca(tmp_path) -> TestCA:
    return TestCA(tmp_path)


def start(gateway, ca, *more: tuple, admin: bool = False, **settings):
    """A gateway with a TLS listener serving a certificate for localhost/127.0.0.1 (and `more`),
    next to the plain listener."""
    cert, key, serial = ca.issue("localhost")
    config = gateway_config(loops=2, tls=tls_section((cert, key), *more, **settings))
    if admin:
        config["admin"] = {"enabled": True, "port": 0, "api_key": API_KEY}
    server = gateway(config)
    assert server.tls_port and server.port, server.stdout_text()
    return server, serial


def handshake(port: int, context: ssl.SSLContext, name: str = "localhost", session=None) -> ssl.SSLSocket:
    raw = socket.create_connection(("127.0.0.1", port), timeout=5)
    return context.wrap_socket(raw, server_hostname=name, session=session)


def upgrade(tls: ssl.SSLSocket) -> bytes:
    """A WebSocket upgrade over an established TLS socket; returns the response head."""
    tls.sendall(b"GET /ws HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
                b"Sec-WebSocket-Protocol: relay.v1\r\n\r\n")
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = tls.recv(4096)
        assert chunk, f"closed during the upgrade: {head!r}"
        head += chunk
    return head


def s_client(port: int, *args: str, ca: TestCA, stdin: bytes = b"Q\n") -> subprocess.CompletedProcess:
    return subprocess.run(["openssl", "s_client", "-connect", f"127.0.0.1:{port}", "-servername", "localhost",
                           "-CAfile", str(ca.cert_path), "-verify_return_error", *args],
                          input=stdin, capture_output=True, timeout=15)


def test_gateway_over_wss_next_to_plain_ws(gateway, ca):
    """A wss:// client and a ws:// client on the same gateway: one publishes, both receive, and
    the TLS client sees the certificate of the test CA for localhost."""
    server, serial = start(gateway, ca)
    channel = "conversation:tls"

    async def scenario():
        async with Clients(server, ssl=ca.client_context(), host="localhost") as secure, Clients(server) as plain:
            alice = await secure.user("alice", channels=[channel])
            bob = await plain.user("bob", channels=[channel])
            await alice.ok("subscribe", channel=channel)
            await bob.ok("subscribe", channel=channel)
            await alice.publish(channel, {"text": "over TLS"})
            await bob.publish(channel, {"text": "in the clear"})
            seen = [await client.publications(channel, 2) for client in (alice, bob)]
            tls_object = alice.ws.transport.get_extra_info("ssl_object")
            return seen, tls_object.version(), tls_object.selected_alpn_protocol(), \
                alice.ws.transport.get_extra_info("peercert")

    seen, version, alpn, peercert = run_async(scenario(), timeout=20)
    for pubs in seen:
        assert [pub["data"]["text"] for pub in pubs] == ["over TLS", "in the clear"]
    assert version == "TLSv1.3"
    assert alpn is None  # websockets offers no ALPN; Relay does not force one
    assert int(peercert["serialNumber"], 16) == serial


def test_versions_alpn_and_ciphers_with_openssl_s_client(gateway, ca):
    server, _ = start(gateway, ca)
    port = server.tls_port

    modern = s_client(port, "-alpn", "h2,http/1.1", ca=ca)
    out = modern.stdout.decode()
    assert modern.returncode == 0, modern.stderr.decode()
    assert "Verify return code: 0 (ok)" in out
    assert "ALPN protocol: http/1.1" in out
    assert "TLSv1.3" in out

    tls12 = s_client(port, "-tls1_2", ca=ca)
    assert tls12.returncode == 0, tls12.stderr.decode()
    out12 = tls12.stdout.decode()
    assert "Protocol  : TLSv1.2" in out12
    assert "ECDHE" in out12 and "GCM" in out12 or "CHACHA20" in out12, out12

    # TLS 1.1 and below are not offered; a CBC-only TLS 1.2 client finds no shared cipher.
    old = s_client(port, "-tls1_1", ca=ca)
    assert old.returncode != 0
    cbc = s_client(port, "-tls1_2", "-cipher", "ECDHE-RSA-AES128-SHA:AES128-SHA", ca=ca)
    assert cbc.returncode != 0

    # ALPN without http/1.1 (an h2-only client) is refused with no_application_protocol.
    h2 = s_client(port, "-alpn", "h2", ca=ca)
    assert h2.returncode != 0
    assert b"no application protocol" in h2.stderr + h2.stdout


@pytest.mark.parametrize("version", [ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3])
def test_session_resumption(gateway, ca, version):
    """A client that kept its session resumes it (a TLS 1.2 session id or ticket, a TLS 1.3
    ticket), on whichever loop its next connection lands; the metrics count both kinds."""
    server, _ = start(gateway, ca, admin=True)
    context = ca.client_context(minimum=version, maximum=version)
    first = handshake(server.tls_port, context)
    assert not first.session_reused
    assert upgrade(first).startswith(b"HTTP/1.1 101 ")  # TLS 1.3 tickets arrive after the handshake
    session = first.session
    first.close()
    resumed = 0
    for _ in range(4):  # two loops: some of these land on the other one
        again = handshake(server.tls_port, context, session=session)
        assert upgrade(again).startswith(b"HTTP/1.1 101 ")
        resumed += again.session_reused
        if version == ssl.TLSVersion.TLSv1_3:
            session = again.session
        again.close()
    assert resumed == 4
    eventually(admin_port(server), lambda samples: value(samples, "relay_tls_handshakes_total", resumed="true") == 4
               and value(samples, "relay_tls_handshakes_total", resumed="false") == 1)


def test_sni_picks_the_certificate_for_the_name(gateway, ca):
    other = ca.issue("chat.example.test", dns=["chat.example.test", "*.rooms.example.test"], ips=[])
    server, default_serial = start(gateway, ca, other[:2])
    context = ca.client_context()
    assert peer_serial(handshake(server.tls_port, context, "chat.example.test")) == other[2]
    assert peer_serial(handshake(server.tls_port, context, "a.rooms.example.test")) == other[2]
    assert peer_serial(handshake(server.tls_port, context, "localhost")) == default_serial
    # A name no certificate covers gets the default one, which the client then refuses.
    with pytest.raises(ssl.SSLCertVerificationError, match="Hostname mismatch|doesn't match"):
        handshake(server.tls_port, context, "unknown.example.test")


def test_clients_refuse_an_expired_certificate_and_a_wrong_host_name(gateway, ca):
    expired = ca.issue("expired", dns=["localhost"], valid_days=(-30, -1))
    config = gateway_config(loops=1, tls=tls_section(expired[:2]))
    server = gateway(config)
    assert "the certificate has expired" in server.stderr_text()
    with pytest.raises(ssl.SSLCertVerificationError, match="expired"):
        handshake(server.tls_port, ca.client_context())

    valid, _ = start(gateway, ca)
    with pytest.raises(ssl.SSLCertVerificationError, match="Hostname mismatch|doesn't match"):
        handshake(valid.tls_port, ca.client_context(), "wrong.example.test")

    async def websockets_client():
        async with Clients(valid, ssl=ca.client_context(), host="127.0.0.1") as clients:  # IP SAN: fine
            await clients.user("alice")
        with pytest.raises(ssl.SSLCertVerificationError):
            async with Clients(server, ssl=ca.client_context(), host="localhost") as clients:
                await clients.user("alice")

    run_async(websockets_client(), timeout=15)


def test_certificate_reload_mid_traffic_keeps_connections(gateway, ca):
    """SIGHUP with renewed certificate files: 20 wss clients keep publishing and receiving
    through it without a drop, new connections get the new certificate; a reload with a key
    that does not match is refused and the renewed certificate stays in force."""
    cert, key, first_serial = ca.issue("localhost")
    config = gateway_config(loops=2, tls=tls_section((cert, key)))
    server = gateway(config)
    channel = "conversation:reload"
    context = ca.client_context()
    assert peer_serial(handshake(server.tls_port, context)) == first_serial

    async def scenario():
        async with Clients(server, ssl=context, host="localhost") as clients:
            members = await asyncio.gather(*(clients.user(f"u{i}", channels=[channel]) for i in range(20)))
            await asyncio.gather(*(member.ok("subscribe", channel=channel) for member in members))
            sent = 0
            renewed = None
            for round_ in range(40):
                await members[round_ % 20].publish(channel, {"n": round_})
                sent += 1
                if round_ == 15:
                    _, _, renewed = ca.issue("localhost")  # overwrites the same two files
                    server.signal(signal.SIGHUP)
                await asyncio.sleep(0.02)
            received = await asyncio.gather(*(member.publications(channel, sent, timeout=15) for member in members))
            return renewed, received

    renewed, received = run_async(scenario(), timeout=40)
    for pubs in received:
        assert [pub["data"]["n"] for pub in pubs] == list(range(40))
    assert "SIGHUP: TLS certificates reloaded" in server.stderr_text()
    assert peer_serial(handshake(server.tls_port, context)) == renewed

    # A SIGHUP for something else (keys, namespaces) keeps the running certificates, and so the
    # sessions clients can resume.
    server.signal(signal.SIGHUP)
    deadline = time.monotonic() + 5
    while "TLS certificates and settings unchanged" not in server.stderr_text():
        assert time.monotonic() < deadline, server.stderr_text()[-2000:]
        time.sleep(0.05)

    # A broken renewal: the key of another certificate.
    stray = ca.issue("stray")
    key.write_bytes(stray[1].read_bytes())
    server.signal(signal.SIGHUP)
    deadline = time.monotonic() + 5
    while "key values mismatch" not in server.stderr_text():
        assert time.monotonic() < deadline, server.stderr_text()[-2000:]
        time.sleep(0.05)
    assert peer_serial(handshake(server.tls_port, context)) == renewed
    assert "BEGIN" not in server.stderr_text()  # no key material in the log


def test_broken_tls_clients_are_counted_and_closed(gateway, ca):
    """Plain HTTP to the TLS port, a client that never starts its handshake, and one with no
    shared cipher: each is closed, logged and counted by reason."""
    config = gateway_config(loops=1, tls=tls_section(ca.issue("localhost")[:2]),
                            timeouts={"handshake": 1})
    config["admin"] = {"enabled": True, "port": 0, "api_key": API_KEY}
    server = gateway(config)

    plain = socket.create_connection(("127.0.0.1", server.tls_port), timeout=5)
    plain.sendall(b"GET /ws HTTP/1.1\r\nHost: localhost\r\n\r\n")
    try:
        answer = plain.recv(100)
    except ConnectionResetError:  # closed with the request unread
        answer = b""
    assert answer == b"" or answer[0] == 0x15, answer  # nothing, or a TLS alert record: not HTTP

    silent = socket.create_connection(("127.0.0.1", server.tls_port), timeout=5)
    started = time.monotonic()
    assert silent.recv(100) == b""
    assert 0.8 < time.monotonic() - started < 4

    cbc = s_client(server.tls_port, "-tls1_2", "-cipher", "AES128-SHA", ca=ca)
    assert cbc.returncode != 0

    eventually(admin_port(server), lambda samples: value(samples, "relay_tls_errors_total", reason="http_request") == 1
               and value(samples, "relay_tls_errors_total", reason="handshake_timeout") == 1
               and value(samples, "relay_tls_errors_total", reason="no_shared_cipher") == 1)
    assert "TLS handshake failed" in server.stderr_text()


def test_tls_only_and_bad_tls_config(relay, gateway, ca, tmp_path):
    cert, key, _ = ca.issue("localhost")
    config = gateway_config(loops=1, tls=tls_section((cert, key)))
    config["listen"]["plain"] = False
    server = gateway(config)
    assert server.port is None and server.tls_port
    assert "ws://" not in server.stdout_text().replace("wss://", "")

    missing = gateway_config(tls=tls_section((cert, tmp_path / "nope.key")))
    result = relay.run_to_exit("serve", config=missing)
    assert result.returncode != 0
    assert b"key_file" in result.stderr and b"nope.key" in result.stderr

    nothing = gateway_config()
    nothing["listen"]["plain"] = False
    result = relay.run_to_exit("serve", config=nothing)
    assert result.returncode != 0 and b"nothing to listen on" in result.stderr
