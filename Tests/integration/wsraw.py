"""Raw-socket HTTP and WebSocket helpers: hand-built requests and frames for everything a
well-behaved client library would refuse to send, and strict readers for what the server answers."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import os
import socket
import struct
import time
from dataclasses import dataclass, field

GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

OP_CONT, OP_TEXT, OP_BINARY = 0x0, 0x1, 0x2
OP_CLOSE, OP_PING, OP_PONG = 0x8, 0x9, 0xA


def run_async(coro, timeout: float = 20.0):
    """Runs a coroutine to completion under a timeout (the tests are plain functions)."""
    return asyncio.run(asyncio.wait_for(coro, timeout))


def accept_value(key: str) -> str:
    return base64.b64encode(hashlib.sha1((key + GUID).encode()).digest()).decode()


def new_key() -> str:
    return base64.b64encode(os.urandom(16)).decode()


# --- HTTP -------------------------------------------------------------------------------------

def upgrade_request(path: str = "/", *, method: str = "GET", version: str = "HTTP/1.1", key: str | None = None,
                    headers: dict[str, str | None] | None = None, extra: list[tuple[str, str]] | None = None) -> bytes:
    """A valid upgrade request; `headers` replaces (or, with None, removes) default fields, `extra`
    appends fields as given (repeats allowed)."""
    fields: dict[str, str | None] = {
        "Host": "127.0.0.1",
        "Upgrade": "websocket",
        "Connection": "Upgrade",
        "Sec-WebSocket-Key": key or new_key(),
        "Sec-WebSocket-Version": "13",
    }
    for name, value in (headers or {}).items():
        fields[name] = value
    lines = [f"{method} {path} {version}"]
    lines += [f"{name}: {value}" for name, value in fields.items() if value is not None]
    lines += [f"{name}: {value}" for name, value in (extra or [])]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def plain_request(path: str, method: str = "GET", version: str = "HTTP/1.1") -> bytes:
    return f"{method} {path} {version}\r\nHost: 127.0.0.1\r\n\r\n".encode()


@dataclass
class HTTPResponse:
    status_line: str
    status: int
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> str | None:
        for key, value in self.headers:
            if key.lower() == name.lower():
                return value
        return None

    def tokens(self, name: str) -> list[str]:
        """The comma-separated elements of every field `name`, lowercased (repeated fields combine)."""
        return [element.strip().lower() for key, value in self.headers if key.lower() == name.lower()
                for element in value.split(",") if element.strip()]


def connect(port: int, timeout: float = 5.0, host: str = "127.0.0.1") -> socket.socket:
    sock = socket.create_connection((host, port), timeout=timeout)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.settimeout(timeout)
    return sock


def _recv_until_head(sock: socket.socket, buffer: bytearray, deadline: float) -> int:
    while True:
        end = buffer.find(b"\r\n\r\n")
        if end >= 0:
            return end + 4
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError(f"no complete HTTP response head; got {bytes(buffer)[:200]!r}")
        sock.settimeout(remaining)
        chunk = sock.recv(65536)
        if not chunk:
            raise AssertionError(f"connection closed before a complete HTTP response; got {bytes(buffer)[:200]!r}")
        buffer += chunk


def read_http_response(sock: socket.socket, timeout: float = 5.0) -> tuple[HTTPResponse, bytes]:
    """Reads one response head and its Content-Length body; returns it and any bytes after it."""
    deadline = time.monotonic() + timeout
    buffer = bytearray()
    head_end = _recv_until_head(sock, buffer, deadline)
    head = bytes(buffer[:head_end - 4]).decode("latin-1")
    status_line, *header_lines = head.split("\r\n")
    parts = status_line.split(" ", 2)
    assert len(parts) >= 2 and parts[0] == "HTTP/1.1", f"bad status line {status_line!r}"
    headers = []
    for line in header_lines:
        name, _, value = line.partition(":")
        headers.append((name.strip(), value.strip()))
    response = HTTPResponse(status_line, int(parts[1]), headers, b"")
    length = int(response.header("Content-Length") or 0)
    rest = bytearray(buffer[head_end:])
    while len(rest) < length:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("HTTP body incomplete")
        sock.settimeout(remaining)
        chunk = sock.recv(65536)
        if not chunk:
            raise AssertionError(f"connection closed inside the body ({len(rest)} of {length} bytes)")
        rest += chunk
    response.body = bytes(rest[:length])
    return response, bytes(rest[length:])


def read_until_eof(sock: socket.socket, timeout: float = 5.0, allow_reset: bool = False) -> bytes:
    """Reads until the server closes its side; returns what came before. Fails on a timeout, and on
    a reset unless `allow_reset`."""
    deadline = time.monotonic() + timeout
    data = bytearray()
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise AssertionError(f"server did not close the connection within {timeout} s (got {len(data)} bytes)")
        sock.settimeout(remaining)
        try:
            chunk = sock.recv(65536)
        except socket.timeout:
            continue
        except ConnectionResetError:
            if allow_reset:
                return bytes(data)
            raise
        if not chunk:
            return bytes(data)
        data += chunk


def http_exchange(port: int, request: bytes, timeout: float = 5.0) -> tuple[HTTPResponse, bytes]:
    """Sends `request`, reads the response, then waits for the server to close: returns the response
    and whatever came after it before EOF (which must be nothing)."""
    with connect(port, timeout) as sock:
        sock.sendall(request)
        response, rest = read_http_response(sock, timeout)
        after = rest + read_until_eof(sock, timeout)
        return response, after


# --- Frames -----------------------------------------------------------------------------------

def mask_bytes(payload: bytes, key: bytes) -> bytes:
    if not payload:
        return b""
    repeated = (key * (len(payload) // 4 + 1))[:len(payload)]
    return (int.from_bytes(payload, "big") ^ int.from_bytes(repeated, "big")).to_bytes(len(payload), "big")


def encode_frame(opcode: int, payload: bytes = b"", *, fin: bool = True, rsv: int = 0, masked: bool = True,
                 mask_key: bytes | None = None, length: int | None = None) -> bytes:
    """One frame as a client sends it (masked unless told otherwise). `rsv` is the three RSV bits
    (0..7, RSV1 highest); `length` overrides the declared payload length."""
    declared = len(payload) if length is None else length
    head = bytearray([(0x80 if fin else 0) | (rsv & 7) << 4 | (opcode & 0x0F)])
    mask_bit = 0x80 if masked else 0
    if declared < 126:
        head.append(mask_bit | declared)
    elif declared <= 0xFFFF:
        head.append(mask_bit | 126)
        head += struct.pack("!H", declared)
    else:
        head.append(mask_bit | 127)
        head += struct.pack("!Q", declared)
    if masked:
        key = mask_key if mask_key is not None else os.urandom(4)
        return bytes(head) + key + mask_bytes(payload, key)
    return bytes(head) + payload


def close_payload(code: int | None, reason: bytes = b"") -> bytes:
    return b"" if code is None else struct.pack("!H", code) + reason


@dataclass
class Frame:
    fin: bool
    rsv: int
    opcode: int
    masked: bool
    payload: bytes

    @property
    def close_code(self) -> int | None:
        assert self.opcode == OP_CLOSE, f"not a close frame: {self}"
        return struct.unpack("!H", self.payload[:2])[0] if len(self.payload) >= 2 else None

    @property
    def close_reason(self) -> bytes:
        return self.payload[2:]

    def __repr__(self) -> str:
        shown = self.payload if len(self.payload) <= 40 else self.payload[:40] + b"..."
        return f"Frame(op={self.opcode:#x} fin={self.fin} rsv={self.rsv} masked={self.masked} len={len(self.payload)} {shown!r})"


@dataclass
class RawClient:
    """A WebSocket connection driven by hand."""
    sock: socket.socket
    buffer: bytearray = field(default_factory=bytearray)

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def send_frame(self, opcode: int, payload: bytes = b"", **kwargs) -> None:
        self.sock.sendall(encode_frame(opcode, payload, **kwargs))

    def _fill(self, count: int, deadline: float) -> None:
        while len(self.buffer) < count:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"waited for {count} bytes, have {len(self.buffer)}")
            self.sock.settimeout(remaining)
            chunk = self.sock.recv(1 << 20)
            if not chunk:
                raise EOFError(f"connection closed by the server (have {len(self.buffer)} of {count} bytes)")
            self.buffer += chunk

    def read_frame(self, timeout: float = 5.0) -> Frame:
        deadline = time.monotonic() + timeout
        self._fill(2, deadline)
        b0, b1 = self.buffer[0], self.buffer[1]
        length = b1 & 0x7F
        offset = 2
        if length == 126:
            self._fill(4, deadline)
            length = struct.unpack("!H", self.buffer[2:4])[0]
            offset = 4
        elif length == 127:
            self._fill(10, deadline)
            length = struct.unpack("!Q", self.buffer[2:10])[0]
            offset = 10
        masked = bool(b1 & 0x80)
        key = b""
        if masked:
            self._fill(offset + 4, deadline)
            key = bytes(self.buffer[offset:offset + 4])
            offset += 4
        self._fill(offset + length, deadline)
        payload = bytes(self.buffer[offset:offset + length])
        del self.buffer[:offset + length]
        if masked:
            payload = mask_bytes(payload, key)
        return Frame(bool(b0 & 0x80), (b0 >> 4) & 7, b0 & 0x0F, masked, payload)

    def read_data_frame(self, timeout: float = 5.0) -> Frame:
        """The next frame that is not a ping (pings are answered)."""
        deadline = time.monotonic() + timeout
        while True:
            frame = self.read_frame(max(0.01, deadline - time.monotonic()))
            if frame.opcode == OP_PING:
                self.send_frame(OP_PONG, frame.payload)
                continue
            return frame

    def read_close(self, timeout: float = 5.0) -> Frame:
        """The server's close frame: it must be the next frame (pings aside), unmasked."""
        frame = self.read_data_frame(timeout)
        assert frame.opcode == OP_CLOSE, f"expected a close frame, got {frame}"
        assert not frame.masked, "the server masked its close frame"
        assert frame.fin, "fragmented close frame"
        return frame

    def expect_eof(self, timeout: float = 2.0, allow_reset: bool = False) -> None:
        """The server closes the TCP connection with nothing more sent first, promptly (well before
        the 5 s default close timeout, after which it would drop the connection anyway)."""
        extra = bytes(self.buffer) + read_until_eof(self.sock, timeout, allow_reset=allow_reset)
        self.buffer.clear()
        assert extra == b"", f"server sent {len(extra)} more bytes before closing: {extra[:80]!r}"

    def echo(self, opcode: int, payload: bytes, timeout: float = 5.0) -> Frame:
        self.send_frame(opcode, payload)
        frame = self.read_data_frame(timeout)
        assert frame.opcode == opcode and frame.payload == payload and frame.fin and not frame.masked, frame
        return frame

    def close(self) -> None:
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def open_ws(port: int, path: str = "/", timeout: float = 5.0, sock_setup=None) -> RawClient:
    """Connects and completes the handshake (checking the 101 and the accept value)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # small frames back to back: no Nagle
    if sock_setup:
        sock_setup(sock)
    sock.settimeout(timeout)
    sock.connect(("127.0.0.1", port))
    key = new_key()
    sock.sendall(upgrade_request(path, key=key))
    response, rest = read_http_response(sock, timeout)
    assert response.status == 101, response
    assert response.header("Sec-WebSocket-Accept") == accept_value(key), response
    return RawClient(sock, bytearray(rest))
