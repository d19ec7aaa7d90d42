"""Broadcast peer on picows (Cython, asyncio), for load tests next to `relay echo --broadcast`.

Every message from any client goes to every connected client, its sender included. The frame is
built once and the same bytes are written to every client's transport: picows has no broadcast
call, and its send() would build the same header again for each client. Server frames are
unmasked, so one frame fits every client. Fragments are gathered per client, so fragmented
messages from two senders never interleave. Pings are answered by picows itself.
No compression, no pings during a run, loopback only.
usage: python broadcast.py PORT
"""
import asyncio
import struct
import sys

from picows import WSListener, WSMsgType, ws_create_server

CLIENTS = set()  # the transports of open connections


def unmasked_frame(opcode, payload):
    """One unfragmented, unmasked frame (RFC 6455 section 5.2)."""
    size = len(payload)
    if size < 126:
        header = struct.pack("!BB", 0x80 | opcode, size)
    elif size < 2**16:
        header = struct.pack("!BBH", 0x80 | opcode, 126, size)
    else:
        header = struct.pack("!BBQ", 0x80 | opcode, 127, size)
    return header + payload


class Broadcast(WSListener):
    def __init__(self):
        self.opcode = None  # of the fragmented message being gathered
        self.fragments = []

    def on_ws_connected(self, transport):
        CLIENTS.add(transport)

    def on_ws_disconnected(self, transport):
        CLIENTS.discard(transport)

    def on_ws_frame(self, transport, frame):
        kind = frame.msg_type
        if kind == WSMsgType.CLOSE:
            CLIENTS.discard(transport)  # nothing may follow our close frame
            transport.send_close(frame.get_close_code(), frame.get_close_message())
            transport.disconnect()
            return
        if kind not in (WSMsgType.TEXT, WSMsgType.BINARY, WSMsgType.CONTINUATION):
            return
        if kind != WSMsgType.CONTINUATION:
            self.opcode = kind.value
        if not frame.fin:
            self.fragments.append(frame.get_payload_as_bytes())
            return
        payload = frame.get_payload_as_bytes()
        if self.fragments:
            payload = b"".join(self.fragments) + payload
            self.fragments.clear()
        data = unmasked_frame(self.opcode, payload)
        for client in CLIENTS:
            client.underlying_transport.write(data)


async def main(port):
    server = await ws_create_server(lambda request: Broadcast(), "127.0.0.1", port, max_frame_size=2**24)
    await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1])))
