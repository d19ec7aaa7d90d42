"""The HTTP side: the upgrade, the health endpoint, and every refusal (status, headers, then the
server closes the connection), over raw sockets."""

import time

import pytest

from wsraw import (OP_TEXT, RawClient, accept_value, connect, encode_frame, http_exchange, plain_request,
                   read_http_response, read_until_eof, upgrade_request)


def assert_refused(port, request, status, timeout=5.0):
    response, after = http_exchange(port, request, timeout)
    assert response.status == status, response
    assert after == b"", f"bytes after the {status} response: {after[:100]!r}"
    assert "close" in response.tokens("Connection"), response
    assert int(response.header("Content-Length")) == len(response.body)
    return response


def test_upgrade_returns_101_with_rfc_accept_value(echo_server):
    key = "dGhlIHNhbXBsZSBub25jZQ=="  # RFC 6455 §1.3
    with connect(echo_server.port) as sock:
        sock.sendall(upgrade_request("/", key=key))
        response, rest = read_http_response(sock)
    assert response.status_line == "HTTP/1.1 101 Switching Protocols"
    assert response.header("Sec-WebSocket-Accept") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" == accept_value(key)
    assert response.header("Upgrade").lower() == "websocket"
    assert "upgrade" in response.tokens("Connection")
    assert response.header("Sec-WebSocket-Protocol") is None
    assert rest == b""


def test_upgrade_tokens_are_case_insensitive_and_listed(echo_server):
    request = upgrade_request("/", headers={"Upgrade": "WebSocket", "Connection": "keep-alive, UPGRADE"})
    with connect(echo_server.port) as sock:
        sock.sendall(request)
        response, _ = read_http_response(sock)
    assert response.status == 101, response


def test_query_string_on_websocket_path_is_accepted(echo_server):
    with connect(echo_server.port) as sock:
        sock.sendall(upgrade_request("/?token=abc&x=1"))
        response, _ = read_http_response(sock)
    assert response.status == 101, response


def test_unknown_extensions_are_not_accepted(echo_server):
    request = upgrade_request("/", headers={"Sec-WebSocket-Extensions": "x-webkit-deflate-frame, permessage-foo"})
    with connect(echo_server.port) as sock:
        sock.sendall(request)
        response, _ = read_http_response(sock)
    assert response.status == 101, response
    assert response.header("Sec-WebSocket-Extensions") is None


def test_frame_in_same_packet_as_handshake_is_processed(echo_server):
    with connect(echo_server.port) as sock:
        sock.sendall(upgrade_request("/") + encode_frame(OP_TEXT, b"early bird"))
        response, rest = read_http_response(sock)
        assert response.status == 101
        client = RawClient(sock, bytearray(rest))
        frame = client.read_frame()
    assert (frame.opcode, frame.payload) == (OP_TEXT, b"early bird")


def test_handshake_sent_byte_by_byte(echo_server):
    request = upgrade_request("/")
    with connect(echo_server.port) as sock:
        for index in range(len(request)):
            sock.send(request[index:index + 1])
        response, _ = read_http_response(sock)
    assert response.status == 101


def test_health_endpoint(echo_server):
    response, after = http_exchange(echo_server.port, plain_request("/health"))
    assert response.status_line == "HTTP/1.1 200 OK"
    assert response.body == b"ok\n"
    assert after == b""


def test_health_head_has_no_body(echo_server):
    # RFC 9110 §9.3.2: a response to HEAD carries no content (Content-Length may still say 3).
    with connect(echo_server.port) as sock:
        sock.sendall(plain_request("/health", method="HEAD"))
        after = read_until_eof(sock)
    head, _, body = after.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 OK"), after
    assert body == b"", f"HEAD response carried content: {body!r}"


def test_unknown_path_is_404(echo_server):
    response = assert_refused(echo_server.port, upgrade_request("/nope"), 404)
    assert response.status_line.startswith("HTTP/1.1 404")


def test_plain_get_on_other_path_is_404(echo_server):
    assert_refused(echo_server.port, plain_request("/index.html"), 404)


def test_post_is_405_with_allow(echo_server):
    response = assert_refused(echo_server.port, upgrade_request("/", method="POST"), 405)
    assert response.header("Allow") == "GET"


def test_http_1_0_is_505(echo_server):
    assert_refused(echo_server.port, upgrade_request("/", version="HTTP/1.0"), 505)


@pytest.mark.parametrize("host", [None, ""])
def test_missing_or_empty_host_is_400(echo_server, host):
    assert_refused(echo_server.port, upgrade_request("/", headers={"Host": host}), 400)


def test_duplicate_host_is_400(echo_server):
    assert_refused(echo_server.port, upgrade_request("/", extra=[("Host", "other")]), 400)


@pytest.mark.parametrize("upgrade", [None, "h2c", "websocketx"])
def test_missing_upgrade_websocket_is_426(echo_server, upgrade):
    response = assert_refused(echo_server.port, upgrade_request("/", headers={"Upgrade": upgrade}), 426)
    assert response.header("Sec-WebSocket-Version") == "13"


def test_plain_get_on_websocket_path_is_426(echo_server):
    response = assert_refused(echo_server.port, plain_request("/"), 426)
    assert response.header("Sec-WebSocket-Version") == "13"


@pytest.mark.parametrize("connection", [None, "keep-alive", "upgraded"])
def test_connection_without_upgrade_token_is_400(echo_server, connection):
    assert_refused(echo_server.port, upgrade_request("/", headers={"Connection": connection}), 400)


@pytest.mark.parametrize("version", ["8", "12", "14", "13, 8", None])
def test_wrong_websocket_version_is_426(echo_server, version):
    response = assert_refused(echo_server.port, upgrade_request("/", headers={"Sec-WebSocket-Version": version}), 426)
    assert response.header("Sec-WebSocket-Version") == "13"


@pytest.mark.parametrize("key", [
    None,                              # missing
    "",                                # empty
    "not base64 at all!!",
    "dGhlIHNhbXBsZQ==",                # 10 bytes, not 16
    "dGhlIHNhbXBsZSBub25jZSE=x",       # trailing garbage
])
def test_bad_key_is_400(echo_server, key):
    assert_refused(echo_server.port, upgrade_request("/", headers={"Sec-WebSocket-Key": key}), 400)


def test_repeated_key_is_400(echo_server):
    assert_refused(echo_server.port, upgrade_request("/", extra=[("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")]), 400)


@pytest.mark.parametrize("request_line", [
    b"GET /\r\n",
    b"GET  / HTTP/1.1\r\n",
    b"GET / HTTP/1.1 extra\r\n",
    b"GET / HTTX/1.1\r\n",
    b"G(T / HTTP/1.1\r\n",
    b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n",  # a TLS ClientHello-ish start
])
def test_malformed_request_line_is_400(echo_server, request_line):
    assert_refused(echo_server.port, request_line + b"Host: x\r\n\r\n", 400)


@pytest.mark.parametrize("head", [
    b"GET / HTTP/1.1\r\nHost: x\r\nBad Header: y\r\n\r\n",     # space in a field name
    b"GET / HTTP/1.1\r\nHost: x\r\nNoColon\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: x\r\n folded: y\r\n\r\n",        # obsolete line folding
    b"GET / HTTP/1.1\nHost: x\r\n\r\n",                        # bare LF
])
def test_malformed_header_is_400(echo_server, head):
    assert_refused(echo_server.port, head, 400)


def test_oversized_header_value_is_431(echo_server):
    request = upgrade_request("/", extra=[("X-Filler", "a" * 9000)])
    assert_refused(echo_server.port, request, 431)


def test_head_without_end_is_431_once_over_the_limit(echo_server):
    with connect(echo_server.port) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nX-Filler: " + b"b" * 10000)
        response, rest = read_http_response(sock)
        assert response.status == 431, response
        assert rest + read_until_eof(sock, allow_reset=True) == b""


def test_head_just_under_the_limit_is_accepted(echo_server):
    base = upgrade_request("/", extra=[("X-Filler", "")])
    request = upgrade_request("/", extra=[("X-Filler", "c" * (8192 - len(base)))])
    assert len(request) == 8192
    with connect(echo_server.port) as sock:
        sock.sendall(request)
        response, _ = read_http_response(sock)
    assert response.status == 101, response


def test_too_many_headers_is_431(echo_server):
    extra = [(f"X-H{i}", "v") for i in range(100)]
    request = upgrade_request("/", extra=extra)
    assert len(request) < 8192
    assert_refused(echo_server.port, request, 431)


def test_exactly_max_headers_is_accepted(echo_server):
    extra = [(f"X-H{i}", "v") for i in range(95)]  # 5 standard fields + 95 = 100
    with connect(echo_server.port) as sock:
        sock.sendall(upgrade_request("/", extra=extra))
        response, _ = read_http_response(sock)
    assert response.status == 101, response


def test_origin_policy(relay):
    server = relay.echo(config={"listen": {"allowed_origins": ["https://good.example"]}})
    response, _ = http_exchange(server.port, upgrade_request("/", headers={"Origin": "https://evil.example"}))
    assert response.status == 403, response
    with connect(server.port) as sock:
        sock.sendall(upgrade_request("/", headers={"Origin": "https://good.example"}))
        response, _ = read_http_response(sock)
        assert response.status == 101, response
    assert "origin not allowed" in server.stderr_text()
    # Non-browser clients send no Origin: allowed (docs/CONFIG.md).
    with connect(server.port) as sock:
        sock.sendall(upgrade_request("/"))
        response, _ = read_http_response(sock)
        assert response.status == 101, response


def test_origin_wildcard_allows_any(relay):
    server = relay.echo(config={"listen": {"allowed_origins": ["*"]}})
    with connect(server.port) as sock:
        sock.sendall(upgrade_request("/", headers={"Origin": "https://anything.example"}))
        response, _ = read_http_response(sock)
        assert response.status == 101, response


def test_refusal_is_logged_with_status(echo_server):
    assert_refused(echo_server.port, upgrade_request("/", headers={"Upgrade": None}), 426)
    deadline = time.monotonic() + 2
    def refusals():
        return [record for record in echo_server.log_records() if record.get("status") == "426"]
    while not refusals() and time.monotonic() < deadline:
        time.sleep(0.05)
    [record] = refusals()
    assert record["message"] == "upgrade refused" and record["level"] == "info", record
    assert "conn" in record and "loop" in record, record


@pytest.fixture
def slow_handshake_server(relay):
    return relay.echo(config={"timeouts": {"handshake": 0.5}})


def test_slowloris_partial_request_gets_408_then_close(slow_handshake_server):
    with connect(slow_handshake_server.port) as sock:
        start = time.monotonic()
        sock.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n")
        response, rest = read_http_response(sock, timeout=5)
        elapsed = time.monotonic() - start
        assert response.status == 408, response
        assert 0.4 <= elapsed <= 1.5, elapsed
        assert rest + read_until_eof(sock, timeout=2) == b""


def test_slowloris_dribbling_bytes_does_not_extend_the_deadline(slow_handshake_server):
    request = upgrade_request("/")
    with connect(slow_handshake_server.port) as sock:
        start = time.monotonic()
        received = b""
        for index in range(len(request)):
            try:
                sock.send(request[index:index + 1])
            except (BrokenPipeError, ConnectionResetError):
                break
            sock.settimeout(0.1)
            try:
                received = sock.recv(4096)
            except TimeoutError:
                continue
            break
        elapsed = time.monotonic() - start
        assert received.startswith(b"HTTP/1.1 408"), received
        assert elapsed <= 1.5, elapsed


def test_silent_client_gets_408(slow_handshake_server):
    with connect(slow_handshake_server.port) as sock:
        start = time.monotonic()
        response, rest = read_http_response(sock, timeout=5)
        assert response.status == 408
        assert time.monotonic() - start <= 1.5
        assert rest + read_until_eof(sock, timeout=2) == b""


def test_completed_handshake_is_not_timed_out(slow_handshake_server):
    with connect(slow_handshake_server.port) as sock:
        sock.sendall(upgrade_request("/"))
        response, rest = read_http_response(sock)
        assert response.status == 101
        time.sleep(1.0)
        client = RawClient(sock, bytearray(rest))
        client.echo(OP_TEXT, b"still here")
