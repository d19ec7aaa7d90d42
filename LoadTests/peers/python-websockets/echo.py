"""Echo peer on Python `websockets` (asyncio), for load tests next to `relay echo`.

No compression (Relay does not negotiate it yet), no pings during a run, loopback only.
usage: python echo.py PORT
"""
import asyncio
import sys

from websockets.asyncio.server import serve
from websockets.exceptions import WebSocketException


async def echo(ws):
    try:
        async for message in ws:
            await ws.send(message)
    except WebSocketException:
        pass


async def main(port):
    async with serve(echo, "127.0.0.1", port, compression=None, ping_interval=None, max_size=2**24) as server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1])))
