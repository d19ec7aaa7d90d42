"""A terminal chat client for Relay's client protocol (relay.v1), on Python `websockets`.

    python3 examples/chat.py --token "$(.build/release/relay token --user alice --channels 'conversation:*')" conversation:42

Lines you type are published to the channel; publications, joins and leaves are printed as they
arrive. On start it shows who is present and the last messages.
"""
import argparse
import asyncio
import itertools
import json
import sys

from websockets.asyncio.client import connect


async def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("channel")
    parser.add_argument("--token", required=True)
    parser.add_argument("--url", default="ws://127.0.0.1:8080/ws")
    args = parser.parse_args()
    ids = itertools.count(1)
    replies: dict[int, asyncio.Future] = {}

    async with connect(args.url, subprotocols=["relay.v1"]) as ws:
        async def command(cmd, **fields):
            id = next(ids)
            replies[id] = asyncio.get_running_loop().create_future()
            await ws.send(json.dumps({"id": id, "cmd": cmd, **fields}))
            return await replies[id]

        async def receive():
            async for frame in ws:
                message = json.loads(frame)
                if "id" in message and message["id"] in replies:
                    replies.pop(message["id"]).set_result(message)
                elif message.get("push") == "publication":
                    pub = message["pub"]
                    print(f"[{pub['offset']}] {pub.get('user', 'api')}: {pub['data'].get('text', pub['data'])}")
                elif message.get("push") in ("join", "leave"):
                    print(f"* {message['user']} {message['push']}s")
                else:
                    print(f"* {message}")

        receiver = asyncio.create_task(receive())
        for cmd, fields in (("connect", {"token": args.token}), ("subscribe", {"channel": args.channel})):
            reply = await command(cmd, **fields)
            if "error" in reply:
                sys.exit(f"{cmd}: {reply['error']['code']}: {reply['error']['message']}")
        present = await command("presence", channel=args.channel)
        if "result" in present:
            print("present:", ", ".join(user["user"] for user in present["result"]["users"]))
        history = await command("history", channel=args.channel, limit=10)
        for pub in history.get("result", {}).get("publications", []):
            print(f"[{pub['offset']}] {pub.get('user', 'api')}: {pub['data'].get('text', pub['data'])}")

        lines = asyncio.StreamReader()
        await asyncio.get_running_loop().connect_read_pipe(lambda: asyncio.StreamReaderProtocol(lines), sys.stdin)
        while line := (await lines.readline()).decode().strip():
            reply = await command("publish", channel=args.channel, data={"text": line})
            if "error" in reply:
                print(f"! {reply['error']['code']}: {reply['error']['message']}")
        receiver.cancel()


if __name__ == "__main__":
    asyncio.run(main())
