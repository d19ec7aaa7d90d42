"""RFC 6455 framing over a raw socket: what the server echoes, and the close code it fails the
connection with for each kind of bad input (then it must close the TCP connection)."""

import socket
import struct
import time

import pytest

from wsraw import (OP_BINARY, OP_CLOSE, OP_CONT, OP_PING, OP_PONG, OP_TEXT, close_payload, encode_frame,
                   open_ws)


@pytest.fixture
def client(echo_server):
    with open_ws(echo_server.port) as raw:
        yield raw


def assert_failed_with(client, code):
    frame = client.read_close()
    assert frame.close_code == code, f"expected close {code}, got {frame.close_code} ({frame.close_reason!r})"
    client.expect_eof()
    return frame


# --- what gets echoed -------------------------------------------------------------------------

def test_server_frames_are_unmasked_and_final(client):
    frame = client.echo(OP_TEXT, b"hello")
    assert frame.rsv == 0


@pytest.mark.parametrize("size", [0, 125, 126, 65535, 65536])
def test_length_encodings(client, size):
    payload = bytes(i % 251 for i in range(size))
    client.echo(OP_BINARY, payload)


def test_fragmented_message_is_reassembled(client):
    client.send_frame(OP_TEXT, b"Hel", fin=False)
    client.send_frame(OP_CONT, b"", fin=False)
    client.send_frame(OP_CONT, b"lo, ", fin=False)
    client.send_frame(OP_CONT, b"world", fin=True)
    frame = client.read_frame()
    assert (frame.opcode, frame.fin, frame.payload) == (OP_TEXT, True, b"Hello, world")


def test_utf8_sequence_split_across_fragments_is_valid(client):
    text = "z\u00e9\u20ac\U0001F600".encode()  # 1-, 2-, 3- and 4-byte sequences
    client.send_frame(OP_TEXT, text[:2], fin=False)    # cuts inside é
    client.send_frame(OP_CONT, text[2:5], fin=False)   # cuts inside €
    client.send_frame(OP_CONT, text[5:9], fin=False)   # cuts inside the emoji
    client.send_frame(OP_CONT, text[9:], fin=True)
    frame = client.read_frame()
    assert (frame.opcode, frame.payload) == (OP_TEXT, text)


def test_ping_between_fragments_is_answered_first(client):
    client.send_frame(OP_BINARY, b"\x01\x02", fin=False)
    client.send_frame(OP_PING, b"in the middle")
    pong = client.read_frame()
    assert (pong.opcode, pong.payload) == (OP_PONG, b"in the middle")
    client.send_frame(OP_CONT, b"\x03", fin=True)
    frame = client.read_frame()
    assert (frame.opcode, frame.payload) == (OP_BINARY, b"\x01\x02\x03")


@pytest.mark.parametrize("payload", [b"", b"abc", bytes(range(125))])
def test_ping_gets_pong_with_same_payload(client, payload):
    client.send_frame(OP_PING, payload)
    frame = client.read_frame()
    assert frame.opcode == OP_PONG and frame.payload == payload and not frame.masked


def test_unsolicited_pong_is_ignored(client):
    client.send_frame(OP_PONG, b"whatever")
    client.echo(OP_TEXT, b"after pong")


def test_many_frames_in_one_write_are_all_echoed(client):
    messages = [f"message {i}".encode() for i in range(300)]
    client.send(b"".join(encode_frame(OP_TEXT, m) for m in messages))
    for message in messages:
        frame = client.read_frame()
        assert frame.payload == message


def test_frame_split_across_writes(client):
    data = encode_frame(OP_BINARY, bytes(range(256)) * 4)
    for index in range(0, len(data), 7):
        client.send(data[index:index + 7])
        time.sleep(0.001)
    frame = client.read_frame()
    assert frame.payload == bytes(range(256)) * 4


def test_control_frames_split_byte_by_byte(client):
    data = encode_frame(OP_PING, b"split ping") + encode_frame(OP_CLOSE, close_payload(4001, b"split"))
    for index in range(len(data)):
        client.send(data[index:index + 1])
        time.sleep(0.002)
    pong = client.read_frame()
    assert (pong.opcode, pong.payload) == (OP_PONG, b"split ping")
    assert client.read_close().close_code == 4001
    client.expect_eof()


# --- close handshake --------------------------------------------------------------------------

@pytest.mark.parametrize("code", [1000, 1001, 1003, 1011, 3000, 4000, 4999])
def test_close_code_is_echoed_then_fin(client, code):
    client.send_frame(OP_CLOSE, close_payload(code, b"bye"))
    frame = client.read_close()
    assert frame.close_code == code
    client.expect_eof()


def test_close_then_half_close_still_gets_the_reply(client):
    client.send_frame(OP_CLOSE, close_payload(1000))
    client.sock.shutdown(socket.SHUT_WR)
    assert client.read_close().close_code == 1000
    client.expect_eof()


def test_close_without_code_is_answered_and_closed(client):
    client.send_frame(OP_CLOSE, b"")
    frame = client.read_close()
    assert frame.close_code in (None, 1000)
    client.expect_eof()


def test_data_after_close_is_not_echoed(client):
    client.send(encode_frame(OP_CLOSE, close_payload(1000)) + encode_frame(OP_TEXT, b"too late"))
    frame = client.read_close()
    assert frame.close_code == 1000
    client.expect_eof()


# --- failures -----------------------------------------------------------------------------------

def test_unmasked_frame_is_1002(client):
    client.send_frame(OP_TEXT, b"naked", masked=False)
    assert_failed_with(client, 1002)


@pytest.mark.parametrize("rsv", [1, 2, 4, 7])
def test_reserved_bits_are_1002(client, rsv):
    client.send_frame(OP_TEXT, b"x", rsv=rsv)
    assert_failed_with(client, 1002)


def test_reserved_bit_on_control_frame_is_1002(client):
    client.send_frame(OP_PING, b"x", rsv=4)
    assert_failed_with(client, 1002)


@pytest.mark.parametrize("opcode", [0x3, 0x7, 0xB, 0xF])
def test_unknown_opcode_is_1002(client, opcode):
    client.send_frame(opcode, b"x")
    assert_failed_with(client, 1002)


def test_continuation_without_message_is_1002(client):
    client.send_frame(OP_CONT, b"orphan")
    assert_failed_with(client, 1002)


def test_new_message_inside_fragmented_message_is_1002(client):
    client.send_frame(OP_TEXT, b"part", fin=False)
    client.send_frame(OP_TEXT, b"other")
    assert_failed_with(client, 1002)


def test_fragmented_control_frame_is_1002(client):
    client.send_frame(OP_PING, b"x", fin=False)
    assert_failed_with(client, 1002)


def test_control_frame_over_125_bytes_is_1002(client):
    client.send_frame(OP_PING, b"p" * 126)
    assert_failed_with(client, 1002)


def test_64bit_length_with_top_bit_is_1002(client):
    client.send(bytes([0x82, 0xFF]) + struct.pack("!Q", 1 << 63) + b"\0\0\0\0")
    assert_failed_with(client, 1002)


@pytest.mark.parametrize("payload", [
    b"\xff",
    b"\xc0\xaf",                 # overlong
    b"\xed\xa0\x80",             # surrogate
    b"\xf4\x90\x80\x80",         # above U+10FFFF
    b"ok then \xe2\x82",         # ends inside a sequence
])
def test_invalid_utf8_text_is_1007(client, payload):
    client.send_frame(OP_TEXT, payload)
    assert_failed_with(client, 1007)


def test_invalid_utf8_fails_fast_in_first_fragment(client):
    client.send_frame(OP_TEXT, b"good \xff bad", fin=False)
    # No final fragment is ever sent: the server must not wait for it.
    assert_failed_with(client, 1007)


def test_invalid_utf8_fails_fast_inside_a_frame(client):
    frame = encode_frame(OP_TEXT, b"\xff" + b"a" * 999)
    client.send(frame[:20])  # header, mask and a few payload bytes; the rest never comes
    assert_failed_with(client, 1007)


def test_invalid_utf8_across_fragments_is_1007(client):
    client.send_frame(OP_TEXT, b"\xe2\x82", fin=False)
    client.send_frame(OP_CONT, b"A", fin=True)
    assert_failed_with(client, 1007)


def test_binary_message_is_not_utf8_checked(client):
    client.echo(OP_BINARY, b"\xff\xfe\xc0\xaf")


@pytest.mark.parametrize("code", [0, 999, 1004, 1005, 1006, 1015, 1016, 2000, 2999, 5000, 65535])
def test_close_with_invalid_code_is_1002(client, code):
    client.send_frame(OP_CLOSE, close_payload(code))
    assert_failed_with(client, 1002)


def test_close_with_one_byte_payload_is_1002(client):
    client.send_frame(OP_CLOSE, b"\x03")
    assert_failed_with(client, 1002)


def test_close_with_invalid_utf8_reason_is_1007(client):
    client.send_frame(OP_CLOSE, close_payload(1000, b"\xff"))
    assert_failed_with(client, 1007)


def test_nothing_is_echoed_after_a_failure(client):
    client.send(encode_frame(OP_TEXT, b"x", masked=False) + encode_frame(OP_TEXT, b"ignored"))
    assert_failed_with(client, 1002)


@pytest.fixture
def small_limit_client(relay):
    server = relay.echo("--max-message-size", "1000")
    with open_ws(server.port) as raw:
        yield raw


def test_message_at_the_limit_is_echoed(small_limit_client):
    small_limit_client.echo(OP_BINARY, b"m" * 1000)


def test_frame_over_the_limit_is_1009_on_its_header(small_limit_client):
    # Only the header is sent: the declared length alone must fail the connection.
    small_limit_client.send(encode_frame(OP_BINARY, b"", length=1001))
    assert_failed_with(small_limit_client, 1009)


def test_huge_declared_length_is_1009(small_limit_client):
    small_limit_client.send(encode_frame(OP_BINARY, b"", length=1 << 40))
    assert_failed_with(small_limit_client, 1009)


def test_fragmented_message_over_the_limit_is_1009(small_limit_client):
    small_limit_client.send_frame(OP_TEXT, b"a" * 600, fin=False)
    small_limit_client.send_frame(OP_CONT, b"b" * 401, fin=True)
    assert_failed_with(small_limit_client, 1009)


def test_fragmented_message_at_the_limit_is_echoed(small_limit_client):
    small_limit_client.send_frame(OP_TEXT, b"a" * 600, fin=False)
    small_limit_client.send_frame(OP_CONT, b"b" * 400, fin=True)
    frame = small_limit_client.read_frame()
    assert frame.payload == b"a" * 600 + b"b" * 400
