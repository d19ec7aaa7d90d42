"""permessage-deflate (RFC 7692): what Relay answers to offers, compressed messages both ways
checked frame by frame with Python's zlib, a decompression bomb, and the gateway with the
`websockets` client (which implements the extension) in both context-takeover modes."""

from __future__ import annotations

import asyncio
import json
import zlib

import pytest
from websockets.asyncio.client import connect as ws_connect
from websockets.extensions.permessage_deflate import ClientPerMessageDeflateFactory

from gateway_support import SUBPROTOCOL, gateway_config, make_token
from test_gateway_metrics import eventually, scrape, value
from test_gateway_server_api import API_KEY, admin_port
from wsraw import (OP_CONT, OP_TEXT, RawClient, connect, read_http_response, run_async,
                   upgrade_request)

TAIL = b"\x00\x00\xff\xff"
RSV1 = 4  # Frame.rsv holds RSV1..RSV3 as bits 2..0


def deflate(data: bytes, wbits: int = 15) -> bytes:
    """One message as a client compresses it without context takeover."""
    compressor = zlib.compressobj(wbits=-wbits)
    out = compressor.compress(data) + compressor.flush(zlib.Z_SYNC_FLUSH)
    assert out.endswith(TAIL)
    return out[:-4]


def open_raw(port: int, offer: str | None, path: str = "/", subprotocol: str | None = None):
    sock = connect(port)
    extra = []
    if offer is not None:
        extra.append(("Sec-WebSocket-Extensions", offer))
    if subprotocol:
        extra.append(("Sec-WebSocket-Protocol", subprotocol))
    sock.sendall(upgrade_request(path, extra=extra))
    response, rest = read_http_response(sock)
    assert response.status == 101, response
    return RawClient(sock, bytearray(rest)), response.header("Sec-WebSocket-Extensions")


@pytest.mark.parametrize("offer, answer", [
    ("permessage-deflate", "permessage-deflate"),
    ("permessage-deflate; client_max_window_bits", "permessage-deflate; client_max_window_bits=15"),
    ("permessage-deflate; server_no_context_takeover; client_no_context_takeover",
     "permessage-deflate; server_no_context_takeover; client_no_context_takeover"),
    ("permessage-deflate; server_max_window_bits=10", "permessage-deflate; server_max_window_bits=10"),
    ('permessage-deflate; server_max_window_bits="12"', "permessage-deflate; server_max_window_bits=12"),
    # An offer Relay cannot take is declined, and the next one is taken.
    ("permessage-deflate; unknown_parameter, permessage-deflate; client_no_context_takeover",
     "permessage-deflate; client_no_context_takeover"),
    ("x-webkit-deflate-frame, permessage-deflate", "permessage-deflate"),
    ("permessage-deflate; server_max_window_bits=16", None),
    ("permessage-deflate; server_no_context_takeover=yes", None),
    ("permessage-deflate; client_max_window_bits=8; client_max_window_bits=9", None),
    ("x-webkit-deflate-frame", None),
])
def test_negotiation_answers_only_what_was_offered(relay, offer, answer):
    server = relay.echo()
    client, header = open_raw(server.port, offer)
    assert header == answer
    client.close()


def test_settings_lower_what_clients_get_and_compression_can_be_off(relay):
    server = relay.echo(config={"compression": {"client_max_window_bits": 11, "window_bits": 12}})
    _, header = open_raw(server.port, "permessage-deflate; client_max_window_bits; server_max_window_bits=14")
    assert header == "permessage-deflate; server_max_window_bits=12; client_max_window_bits=11"
    off = relay.echo(config={"compression": {"enabled": False}})
    _, header = open_raw(off.port, "permessage-deflate")
    assert header is None


@pytest.mark.parametrize("takeover", [False, True])
def test_echo_compressed_both_ways(relay, takeover):
    """Compressed messages from the client are inflated (one at a time and as a stream with
    context takeover); the echo comes back compressed, and inflates to the same bytes. Below
    min_size the echo goes out plain."""
    server = relay.echo(config={"compression": {"context_takeover": takeover, "min_size": 64}})
    client, header = open_raw(server.port, "permessage-deflate")
    assert header == "permessage-deflate"
    compressor = zlib.compressobj(wbits=-15)
    decompressor = zlib.decompressobj(wbits=-15)
    sizes = []
    for n in range(10):
        message = json.dumps({"n": n, "text": "the same sentence again and again " * 20}).encode()
        payload = compressor.compress(message) + compressor.flush(zlib.Z_SYNC_FLUSH)
        client.send_frame(OP_TEXT, payload[:-4], rsv=RSV1)
        frame = client.read_data_frame()
        assert frame.opcode == OP_TEXT and frame.rsv == RSV1, frame
        assert decompressor.decompress(frame.payload + TAIL) == message
        sizes.append(len(frame.payload))
    assert max(sizes) < 200, sizes  # 700-byte messages
    if takeover:
        # The second message refers back to the first: far smaller than the first alone.
        assert sizes[1] < sizes[0] / 2, sizes
    client.send_frame(OP_TEXT, deflate(b"short"), rsv=RSV1)
    frame = client.read_data_frame()
    assert frame.rsv == 0 and frame.payload == b"short"
    # Uncompressed messages are allowed too, and echoed the same way.
    client.send_frame(OP_TEXT, b"plain " * 30)
    frame = client.read_data_frame()
    assert frame.rsv == RSV1 and decompressor.decompress(frame.payload + TAIL) == b"plain " * 30


def test_decompression_bomb_is_refused_with_1009(relay):
    """64 MiB of zeros deflate to 64 KiB: under max_frame_size, far over max_message_size once
    inflated. Relay stops at the limit and closes with 1009, and keeps serving."""
    server = relay.echo("--max-message-size", "1048576", config={"log": {"level": "info"}})
    bomb = deflate(bytes(64 << 20))
    assert len(bomb) < 1 << 20
    client, _ = open_raw(server.port, "permessage-deflate")
    client.send_frame(OP_TEXT, bomb, rsv=RSV1)
    assert client.read_close().close_code == 1009
    client.close()
    assert "once inflated" in server.stderr_text()
    again, _ = open_raw(server.port, "permessage-deflate")
    again.send_frame(OP_TEXT, deflate(b"still here " * 30), rsv=RSV1)
    assert zlib.decompressobj(wbits=-15).decompress(again.read_data_frame().payload + TAIL) == b"still here " * 30


@pytest.mark.parametrize("payload, frames, code", [
    (b"\xff\xff\xff\xff not deflate", None, 1007),
    (deflate(b"\xc3\x28 invalid UTF-8 in a text message"), None, 1007),
    (deflate(b"split over two frames " * 10), "rsv1 on the continuation", 1002),
])
def test_bad_compressed_messages_fail_the_connection(relay, payload, frames, code):
    server = relay.echo()
    client, _ = open_raw(server.port, "permessage-deflate")
    if frames:
        client.send_frame(OP_TEXT, payload[:10], fin=False, rsv=RSV1)
        client.send_frame(OP_CONT, payload[10:], rsv=RSV1)
    else:
        client.send_frame(OP_TEXT, payload, rsv=RSV1)
    assert client.read_close().close_code == code


def test_rsv1_without_negotiation_is_a_protocol_error(relay):
    server = relay.echo()
    client, header = open_raw(server.port, None)
    assert header is None
    client.send_frame(OP_TEXT, deflate(b"hello " * 50), rsv=RSV1)
    assert client.read_close().close_code == 1002


NAMESPACES = {
    "chat": {"subscribe": ["authenticated"], "publish": "subscribers", "max_publication_bytes": 65536},
    "files": {"subscribe": ["authenticated"], "publish": "subscribers", "max_publication_bytes": 65536,
              "compression": False},
}


def text_of(frame, decompressor) -> dict:
    data = decompressor.decompress(frame.payload + TAIL) if frame.rsv & RSV1 else frame.payload
    return json.loads(data)


def test_gateway_compresses_per_namespace_and_above_the_threshold(gateway):
    """A namespace with compression off gets plain frames; a short push goes out plain; a
    long publication goes out compressed, and the bytes decompress to the push."""
    server = gateway(gateway_config(namespaces=NAMESPACES))
    client, header = open_raw(server.port, "permessage-deflate", path="/ws", subprotocol=SUBPROTOCOL)
    assert header == "permessage-deflate"
    decompressor = zlib.decompressobj(wbits=-15)
    messages = {}

    def command(**fields):
        client.send_frame(OP_TEXT, json.dumps(fields).encode())
        while True:
            frame = client.read_data_frame()
            message = text_of(frame, decompressor)
            messages.setdefault(message.get("push") or "reply", []).append((frame.rsv, message))
            if message.get("id") == fields["id"]:
                return message

    assert "result" in command(id=1, cmd="connect", token=make_token("alice"))
    for n, channel in enumerate(("chat:room", "files:room"), start=2):
        assert "result" in command(id=n, cmd="subscribe", channel=channel)
    data = {"text": "a long message that repeats itself " * 40}
    for n, channel in enumerate(("chat:room", "files:room", "chat:room"), start=10):
        assert "result" in command(id=n, cmd="publish", channel=channel, data=data if n != 12 else {"t": "short"})
    while len(messages.get("publication", [])) < 3:
        frame = client.read_data_frame()
        message = text_of(frame, decompressor)
        messages.setdefault(message.get("push") or "reply", []).append((frame.rsv, message))
    by_channel = [(rsv, message["channel"], message["pub"]["data"]) for rsv, message in messages["publication"]]
    assert by_channel == [(RSV1, "chat:room", data), (0, "files:room", data), (0, "chat:room", {"t": "short"})]


@pytest.mark.parametrize("relay_takeover", [False, True])
@pytest.mark.parametrize("client_takeover", [False, True])
def test_gateway_with_websockets_in_both_context_takeover_modes(gateway, relay_takeover, client_takeover):
    """`websockets` negotiates permessage-deflate (with or without context takeover on both
    sides), publishes compressed, and receives every publication intact and in order; the bytes
    Relay sent are a fraction of the publications' size, so compression really happened."""
    config = gateway_config(loops=2, namespaces=NAMESPACES, compression={"context_takeover": relay_takeover})
    config["admin"] = {"enabled": True, "port": 0, "api_key": API_KEY}
    server = gateway(config)
    factory = ClientPerMessageDeflateFactory(server_no_context_takeover=not client_takeover,
                                             client_no_context_takeover=not client_takeover,
                                             client_max_window_bits=True)
    channel = "chat:takeover"
    sent_payload = 0

    async def member(name: str):
        ws = await ws_connect(server.url("/ws"), subprotocols=[SUBPROTOCOL], extensions=[factory], compression=None,
                              open_timeout=5, ping_interval=None, max_size=None)
        assert "permessage-deflate" in ws.response.headers["Sec-WebSocket-Extensions"]
        await ws.send(json.dumps({"id": 1, "cmd": "connect", "token": make_token(name)}))
        assert "result" in json.loads(await ws.recv())
        await ws.send(json.dumps({"id": 2, "cmd": "subscribe", "channel": channel}))
        assert "result" in json.loads(await ws.recv())
        return ws

    async def scenario():
        nonlocal sent_payload
        members = [await member(f"user{i}") for i in range(4)]
        _, before = scrape(admin_port(server))
        for n in range(30):
            data = {"n": n, "text": f"message {n}: " + "tutoring session notes, again and again. " * 30}
            sent_payload += len(json.dumps(data))
            await members[n % 4].send(json.dumps({"id": 100 + n, "cmd": "publish", "channel": channel, "data": data}))
        received = {index: [] for index in range(4)}
        for index, ws in enumerate(members):
            while len(received[index]) < 30:
                message = json.loads(await asyncio.wait_for(ws.recv(), 10))
                if message.get("push") == "publication":
                    received[index].append(message["pub"]["data"]["n"])
        for ws in members:
            await ws.close()
        return received, before

    received, before = run_async(scenario(), timeout=40)
    # Four publishers at once: one order for everybody, with every publication in it.
    assert sorted(received[0]) == list(range(30))
    for numbers in received.values():
        assert numbers == received[0]
    sent_before = value(before, "relay_sent_bytes_total")
    delivered = eventually(admin_port(server), lambda samples: value(samples, "relay_deliveries_total") >= 120)
    sent = value(delivered, "relay_sent_bytes_total") - sent_before
    # 4 subscribers x 30 publications of ~1.3 KB each: 160 KB uncompressed (plus the replies).
    assert 0 < sent < sent_payload, (sent, 4 * sent_payload)
