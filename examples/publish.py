"""The main API's side of docs/REDIS.md on redis-py: publish to Relay's channels, disconnect or
unsubscribe users, read presence and online state, straight through the Redis the Relay
replicas share (no HTTP hop to a replica).

    pip install redis
    python3 examples/publish.py event conversation:42 '{"text": "your tutor is online"}'
    python3 examples/publish.py history conversation:42 '{"text": "lesson moved"}' --key lesson-9-moved
    python3 examples/publish.py presence conversation:42 --join-leave
    python3 examples/publish.py online alice

As a library: every function takes a `redis.Redis`, or a `redis.RedisCluster` when Relay runs
with `engine.cluster: true` (either `decode_responses` setting). Relay
loads the `relay_v1` functions into Redis itself when it connects; until one Relay has, FCALL
fails with "Function not found".
"""
from __future__ import annotations

import argparse
import json

import redis

INBOX = "relay:inbox"
CONTROL = "relay:control"


def pubsub_channel(channel: str) -> str:
    return f"relay:pub:{{{channel}}}"


def status_channel(user: str) -> str:
    return f"relay:status:{{{user}}}"


def channel_key(channel: str, suffix: str) -> str:
    return f"relay:ch:{{{channel}}}:{suffix}"


def presence_keys(channel: str) -> list[str]:
    return [channel_key(channel, "presence"), channel_key(channel, "presence:expiry"), channel_key(channel, "presence:users")]


def connections_key(user: str) -> str:
    return f"relay:user:{{{user}}}:connections"


def _json(value) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _text(value) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _cluster(r) -> bool:
    """In a Redis Cluster, channels use sharded pub/sub (SPUBLISH), and the inbox is not in a
    channel's slot."""
    return isinstance(r, redis.RedisCluster)


def publish_event(r: redis.Redis, channel: str, data) -> int:
    """Fire and forget: pushed to the channel's subscribers connected now, without an offset; not
    in history, so a client that was away never gets it. Returns how many Relay loops had
    subscribers (0: nobody was listening)."""
    envelope = _json({"v": 1, "type": "pub", "data": data})
    if _cluster(r):
        return r.spublish(pubsub_channel(channel), envelope)
    return r.publish(pubsub_channel(channel), envelope)


def publish_with_history(r: redis.Redis, channel: str, data, *, history_size: int, history_ttl: float,
                         key: str | None = None, idempotency_window: float = 300, user: str | None = None) -> dict:
    """A publication with the channel's next offset, kept in its history (recoverable with
    `since`), like POST /api/publish. `history_size` and `history_ttl` (seconds) must be the
    namespace's in Relay's config. With `key`, a repeat within `idempotency_window` seconds
    publishes nothing and returns the first offset with `duplicate` true (the same key space as
    /api/publish). Returns {"offset", "epoch", "duplicate"}."""
    meta_ttl = max(history_ttl, idempotency_window, 86400)
    keys = [channel_key(channel, "meta"), channel_key(channel, "history"),
            channel_key(channel, f"idem:{len((user or '').encode())}:{user or ''}:{key or ''}")]
    if not _cluster(r):
        keys.append(INBOX)  # unused by the API's publications (no inbox entry), but declared
    args = [pubsub_channel(channel), _json(data), user or "", history_size, int(history_ttl * 1000),
            int(idempotency_window * 1000) if key else 0, 0, "SPUBLISH" if _cluster(r) else "PUBLISH", channel,
            int(meta_ttl * 1000)]
    offset, epoch, duplicate = r.fcall("relay_publish", len(keys), *keys, *args)
    return {"offset": offset, "epoch": _text(epoch), "duplicate": duplicate == 1}


def disconnect_user(r: redis.Redis, user: str, reason: str = "disconnected_by_server",
                    reconnect_after_ms: int | None = None) -> int:
    """Closes every connection of the user on every replica: a `disconnect` push and close 4006,
    or with `reconnect_after_ms` (0 to 3600000) a `reconnect` push and close 1012. Returns how
    many Relay loops heard it (0: no Relay is connected to Redis; nothing happened), but in a
    cluster only those listening on the node that took the PUBLISH (0 proves nothing there)."""
    envelope = {"v": 1, "type": "disconnect", "user": user, "reason": reason}
    if reconnect_after_ms is not None:
        envelope["reconnect_after_ms"] = reconnect_after_ms
    return r.publish(CONTROL, _json(envelope))


def unsubscribe_user(r: redis.Redis, user: str, channel: str) -> int:
    """The user's connections leave the channel (an `unsubscribed` push, reason `server`)."""
    return r.publish(CONTROL, _json({"v": 1, "type": "unsubscribe", "user": user, "channel": channel}))


def presence(r: redis.Redis, channel: str) -> list[dict]:
    """Who is in the channel, one entry per user like POST /api/presence:
    [{"user", "connections", "info"?}]. A read-only function: a replica of Redis may answer."""
    members = r.fcall_ro("relay_presence", 3, *presence_keys(channel))
    users: dict[str, dict] = {}
    for member in map(json.loads, members):
        entry = users.setdefault(member["user"], {"user": member["user"], "connections": 0})
        entry["connections"] += 1
        if "info" in member:
            entry["info"] = member["info"]
    return sorted(users.values(), key=lambda entry: entry["user"])


def is_online(r: redis.Redis, user: str) -> bool:
    """Whether the user has at least one connection on any replica."""
    return r.fcall_ro("relay_online", 1, connections_key(user)) > 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379")
    commands = parser.add_subparsers(dest="command", required=True)
    for name in ("event", "history"):
        command = commands.add_parser(name)
        command.add_argument("channel")
        command.add_argument("data", help="JSON")
    history = commands.choices["history"]
    history.add_argument("--key")
    history.add_argument("--history-size", type=int, default=100)
    history.add_argument("--history-ttl", type=float, default=86400)
    commands.add_parser("disconnect").add_argument("user")
    unsubscribe = commands.add_parser("unsubscribe")
    unsubscribe.add_argument("user")
    unsubscribe.add_argument("channel")
    who = commands.add_parser("presence")
    who.add_argument("channel")
    who.add_argument("--join-leave", action="store_true")
    commands.add_parser("online").add_argument("user")
    args = parser.parse_args()

    r = redis.Redis.from_url(args.redis_url, decode_responses=True)
    if args.command == "event":
        print(f"{publish_event(r, args.channel, json.loads(args.data))} Relay loops listening")
    elif args.command == "history":
        print(publish_with_history(r, args.channel, json.loads(args.data), key=args.key,
                                   history_size=args.history_size, history_ttl=args.history_ttl))
    elif args.command == "disconnect":
        print(f"{disconnect_user(r, args.user)} Relay loops told")
    elif args.command == "unsubscribe":
        print(f"{unsubscribe_user(r, args.user, args.channel)} Relay loops told")
    elif args.command == "presence":
        print(json.dumps(presence(r, args.channel, args.join_leave)))
    else:
        print(json.dumps(is_online(r, args.user)))


if __name__ == "__main__":
    main()
