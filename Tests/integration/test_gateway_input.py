"""Malformed commands: each gets its documented error code and the connection stays usable; a
binary frame ends the connection with 1003."""

from __future__ import annotations

import json

import pytest

from gateway_support import Clients, gateway_config, make_token
from wsraw import OP_BINARY, OP_TEXT, encode_frame, run_async
from wsraw import connect as raw_connect, new_key, read_http_response, upgrade_request, RawClient

# (frame text, expected id in the reply, expected code)
MALFORMED = [
    ("hello", None, "bad_request"),
    ("", None, "bad_request"),
    ("{", None, "bad_request"),
    ('{"id": 1, "cmd": "ping"', None, "bad_request"),
    ('{"id": 1, "cmd": "ping"} trailing', None, "bad_request"),
    ("[1, 2]", None, "bad_request"),
    ('"ping"', None, "bad_request"),
    ("42", None, "bad_request"),
    ("null", None, "bad_request"),
    ('{"cmd": "ping"}', None, "bad_request"),
    ('{"id": null, "cmd": "ping"}', None, "bad_request"),
    ('{"id": 1.5, "cmd": "ping"}', None, "bad_request"),
    ('{"id": true, "cmd": "ping"}', None, "bad_request"),
    ('{"id": [1], "cmd": "ping"}', None, "bad_request"),
    ('{"id": {"n": 1}, "cmd": "ping"}', None, "bad_request"),
    ('{"id": 1}', 1, "bad_request"),
    ('{"id": "a", "cmd": 5}', "a", "bad_request"),
    ('{"id": 2, "cmd": null}', 2, "bad_request"),
    ('{"id": 3, "cmd": "fly"}', 3, "unknown_command"),
    ('{"id": 4, "cmd": "PING"}', 4, "unknown_command"),
    ('{"id": 5, "cmd": ""}', 5, "unknown_command"),
    ('{"id": 6, "cmd": "subscribe"}', 6, "bad_request"),
    ('{"id": 7, "cmd": "subscribe", "channel": 5}', 7, "bad_request"),
    ('{"id": 8, "cmd": "subscribe", "channel": ["conversation:1"]}', 8, "bad_request"),
    ('{"id": 9, "cmd": "subscribe", "channel": "availability:t", "token": 1}', 9, "bad_request"),
    ('{"id": 10, "cmd": "subscribe", "channel": "availability:t", "since": 5}', 10, "bad_request"),
    ('{"id": 11, "cmd": "subscribe", "channel": "availability:t", "since": {"offset": "1", "epoch": "e"}}', 11,
     "bad_request"),
    ('{"id": 12, "cmd": "subscribe", "channel": "availability:t", "since": {"offset": -1, "epoch": "e"}}', 12,
     "bad_request"),
    ('{"id": 13, "cmd": "subscribe", "channel": "availability:t", "since": {"offset": 1}}', 13, "bad_request"),
    ('{"id": 14, "cmd": "subscribe", "channel": "availability:t", "since": {"offset": 1, "epoch": 7}}', 14,
     "bad_request"),
    ('{"id": 15, "cmd": "publish", "channel": "conversation:1"}', 15, "bad_request"),
    ('{"id": 16, "cmd": "publish", "data": 1}', 16, "bad_request"),
    ('{"id": 17, "cmd": "publish", "channel": "conversation:1", "data": 1, "key": 9}', 17, "bad_request"),
    ('{"id": 17, "cmd": "publish", "channel": "conversation:1", "data": 1, "key": "%s"}' % ("k" * 129), 17, "bad_request"),
    ('{"id": 18, "cmd": "history", "channel": "conversation:1", "limit": "3"}', 18, "bad_request"),
    ('{"id": 19, "cmd": "history", "channel": "conversation:1", "limit": 2.5}', 19, "bad_request"),
    ('{"id": 20, "cmd": "history", "channel": "conversation:1", "before": true}', 20, "bad_request"),
    ('{"id": 21, "cmd": "unsubscribe", "channel": null}', 21, "bad_request"),
    ('{"id": 22, "cmd": "presence"}', 22, "bad_request"),
    ('{"id": 23, "cmd": "refresh", "token": 1}', 23, "bad_request"),
    ('{"id": 24, "cmd": "connect", "token": {"jwt": "x"}}', 24, "bad_request"),
    ('{"id": "string-id-\\u00e9", "cmd": "nope"}', "string-id-é", "unknown_command"),
    ('{"id": -7, "cmd": "nope"}', -7, "unknown_command"),
    ('{"id": 9007199254740993, "cmd": "nope"}', 9007199254740993, "unknown_command"),
]


@pytest.mark.parametrize("authenticated", [False, True], ids=["before connect", "after connect"])
def test_malformed_commands_get_error_codes_and_the_connection_stays(gateway, authenticated):
    server = gateway(gateway_config())

    async def scenario():
        async with Clients(server) as clients:
            client = await clients.open()
            if authenticated:
                await client.ok("connect", token=make_token("alice", channels=["conversation:1"]))
            for text, expected_id, code in MALFORMED:
                await client.send(text)
                reply = await client.reply(expected_id, timeout=5)
                assert "error" in reply, (text, reply)
                assert reply["error"]["code"] == code, (text, reply)
                assert isinstance(reply["error"]["message"], str) and reply["error"]["message"]
                assert set(reply) == {"id", "error"}, reply
                # Still open and still in the same state.
                if authenticated:
                    await client.ok("ping")
                else:
                    await client.error("ping", "not_connected")
            assert not client.replies and not client.pushes, (client.replies, client.pushes)
            if not authenticated:
                assert (await client.ok("connect", token=make_token("alice")))["user"] == "alice"

    run_async(scenario())


def test_ids_are_echoed_as_sent(gateway):
    server = gateway(gateway_config())

    async def scenario():
        async with Clients(server) as clients:
            client = await clients.user("alice")
            for raw_id, expected in [("0", 0), ("-1", -1), ('"x"', "x"), ('""', ""), ('"a\\"b"', 'a"b'),
                                     ("123456789012", 123456789012)]:
                await client.send(f'{{"id": {raw_id}, "cmd": "ping"}}')
                reply = await client.reply(expected)
                assert reply == {"id": expected, "result": {}}, reply
            # Pipelined commands each get their own reply.
            for n in range(50):
                await client.send(json.dumps({"id": f"p{n}", "cmd": "ping"}))
            for n in range(50):
                assert (await client.reply(f"p{n}")) == {"id": f"p{n}", "result": {}}

    run_async(scenario())


@pytest.mark.parametrize("authenticated", [False, True], ids=["before connect", "after connect"])
def test_binary_frame_closes_1003(gateway, authenticated):
    server = gateway(gateway_config())

    async def scenario():
        async with Clients(server) as clients:
            client = await clients.open()
            if authenticated:
                await client.ok("connect", token=make_token("alice"))
                await client.ok("subscribe", channel="availability:tutors")
            await client.send(json.dumps({"id": 1, "cmd": "ping"}).encode())
            assert await client.expect_close(timeout=5) == 1003
            assert not client.replies, client.replies

    run_async(scenario())


def test_binary_frame_on_the_wire(gateway):
    """The same seen from a raw socket: a text command is answered, a binary frame gets a close
    frame with 1003 and nothing else."""
    server = gateway(gateway_config())
    sock = raw_connect(server.port)
    with RawClient(sock) as client:
        sock.sendall(upgrade_request("/ws", key=new_key(), headers={"Sec-WebSocket-Protocol": "relay.v1"}))
        response, rest = read_http_response(sock)
        assert response.status == 101
        client.buffer += rest
        client.send(encode_frame(OP_TEXT, json.dumps({"id": 1, "cmd": "connect", "token": make_token("bob")}).encode()))
        reply = json.loads(client.read_data_frame().payload)
        assert reply["result"]["user"] == "bob", reply
        client.send(encode_frame(OP_BINARY, b'{"id": 2, "cmd": "ping"}'))
        close = client.read_close()
        assert close.close_code == 1003, close
