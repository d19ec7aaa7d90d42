"""Echo peer on picows (Cython, asyncio), for load tests next to `relay echo`.

picows hands over frames, not messages: each data frame goes back as it came (same opcode, same
fin bit), so a fragmented message comes back fragmented. Pings are answered by picows itself.
No compression, no pings during a run, loopback only.
usage: python echo.py PORT
"""
import asyncio
import sys

from picows import WSListener, WSMsgType, ws_create_server

DATA = (WSMsgType.TEXT, WSMsgType.BINARY, WSMsgType.CONTINUATION)


class Echo(WSListener):
    def on_ws_frame(self, transport, frame):
        if frame.msg_type in DATA:
            transport.send(frame.msg_type, frame.get_payload_as_memoryview(), frame.fin)
        elif frame.msg_type == WSMsgType.CLOSE:
            transport.send_close(frame.get_close_code(), frame.get_close_message())
            transport.disconnect()


async def main(port):
    server = await ws_create_server(lambda request: Echo(), "127.0.0.1", port, max_frame_size=2**24)
    await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1])))
