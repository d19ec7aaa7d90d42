"""Broadcast peer on Python `websockets` (asyncio), for load tests next to `relay echo --broadcast`.

Every message from any client goes to every connected client, its sender included, through
`websockets.asyncio.server.broadcast` (one frame encoding per connection, no waiting on any).
No compression, no pings during a run, loopback only.
usage: python broadcast.py PORT
"""
import asyncio
import sys

from websockets.asyncio.server import broadcast, serve
from websockets.exceptions import WebSocketException

CLIENTS = set()


async def handler(ws):
    CLIENTS.add(ws)
    try:
        async for message in ws:
            broadcast(CLIENTS, message)
    except WebSocketException:
        pass
    finally:
        CLIENTS.discard(ws)


async def main(port):
    async with serve(handler, "127.0.0.1", port, compression=None, ping_interval=None, max_size=2**24) as server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1])))
