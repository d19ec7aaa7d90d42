"""An inbox worker for the main API (docs/REDIS.md, "The inbox"), on redis-py: it reads the
client publications of inbox namespaces from the Redis stream `relay:inbox` with its own
consumer group, stores each one, and only then acknowledges and deletes it.

    pip install redis
    python3 examples/inbox_worker.py --db messages.sqlite3 --consumer worker-1
    python3 examples/inbox_worker.py                   # no --db: prints one JSON line per entry

Delivery is at least once: a worker that dies after storing an entry but before acknowledging
it leaves it pending, and a worker claims it again (XAUTOCLAIM, at start and every
--claim-interval seconds, for entries pending longer than --min-idle seconds). The store
therefore ignores a repeat: the SQLite table has UNIQUE (channel, epoch, offset). Run several
workers with different --consumer names to share the work.
"""
from __future__ import annotations

import argparse
import json
import sqlite3
import sys
import time

import redis

INBOX = "relay:inbox"


def ensure_group(r: redis.Redis, group: str) -> None:
    """Creates the consumer group (and the stream) once. From 0, not $: entries written before the
    worker's first start are read too rather than left in the stream, counting against its bound."""
    try:
        r.xgroup_create(INBOX, group, id="0", mkstream=True)
    except redis.ResponseError as error:
        if not str(error).startswith("BUSYGROUP"):
            raise


def parse(entry_id, fields: dict) -> dict:
    """An inbox entry as a row: {"id", "channel", "offset", "epoch", "user", "data", "time"}."""
    text = {(k.decode() if isinstance(k, bytes) else k): (v.decode() if isinstance(v, bytes) else v)
            for k, v in fields.items()}
    return {"id": entry_id.decode() if isinstance(entry_id, bytes) else entry_id,
            "channel": text["channel"], "offset": int(text["offset"]), "epoch": text["epoch"],
            "user": text["user"], "data": json.loads(text["data"]), "time": int(text["time"])}


def read_new(r: redis.Redis, group: str, consumer: str, count: int = 100, block_ms: int = 5000) -> list[dict]:
    """Entries never delivered to the group; waits up to `block_ms` for some."""
    reply = r.xreadgroup(group, consumer, {INBOX: ">"}, count=count, block=block_ms)
    return [parse(entry_id, fields) for _, entries in reply or [] for entry_id, fields in entries]


def claim_stale(r: redis.Redis, group: str, consumer: str, min_idle_ms: int, count: int = 100) -> list[dict]:
    """Entries another consumer (a crashed worker) read more than `min_idle_ms` ago and did not
    acknowledge, now this consumer's. Entries deleted meanwhile are dropped from the pending list
    by XAUTOCLAIM itself."""
    claimed, cursor = [], "0-0"
    while True:
        cursor, entries, _deleted = r.xautoclaim(INBOX, group, consumer, min_idle_ms, start_id=cursor, count=count)
        claimed += [parse(entry_id, fields) for entry_id, fields in entries if fields]
        if cursor in ("0-0", b"0-0"):
            return claimed


def acknowledge(r: redis.Redis, group: str, ids: list[str]) -> None:
    """XACK ends the delivery; XDEL frees the entry: Relay bounds the inbox by XLEN, so an entry
    left in the stream keeps counting until publishes are refused."""
    if ids:
        with r.pipeline(transaction=True) as pipe:
            pipe.xack(INBOX, group, *ids)
            pipe.xdel(INBOX, *ids)
            pipe.execute()


class SqliteStore:
    """Messages in a SQLite file, each (channel, epoch, offset) once."""

    def __init__(self, path: str):
        self.db = sqlite3.connect(path)
        self.db.execute("""CREATE TABLE IF NOT EXISTS messages (
            channel TEXT NOT NULL, epoch TEXT NOT NULL, "offset" INTEGER NOT NULL,
            user TEXT NOT NULL, data TEXT NOT NULL, time INTEGER NOT NULL,
            UNIQUE (channel, epoch, "offset"))""")
        self.db.commit()

    def save(self, rows: list[dict]) -> int:
        """Stores the rows in one transaction; returns how many were new (repeats are ignored)."""
        with self.db:
            before = self.db.total_changes
            self.db.executemany(
                """INSERT INTO messages (channel, epoch, "offset", user, data, time) VALUES (?, ?, ?, ?, ?, ?)
                   ON CONFLICT (channel, epoch, "offset") DO NOTHING""",
                [(row["channel"], row["epoch"], row["offset"], row["user"], json.dumps(row["data"]), row["time"])
                 for row in rows])
            return self.db.total_changes - before


class PrintStore:
    """One JSON line per entry on stdout (a repeat after a crash is printed again)."""

    def save(self, rows: list[dict]) -> int:
        for row in rows:
            print(json.dumps(row), flush=True)
        return len(rows)


def handle(r: redis.Redis, group: str, store, rows: list[dict]) -> int:
    """Persists, then acknowledges: never the other way round."""
    if not rows:
        return 0
    stored = store.save(rows)
    acknowledge(r, group, [row["id"] for row in rows])
    return stored


def run(r: redis.Redis, group: str, consumer: str, store, *, count: int = 100, block_ms: int = 5000,
        min_idle_ms: int = 60_000, claim_interval: float = 30.0, should_stop=lambda: False) -> None:
    ensure_group(r, group)
    last_claim = float("-inf")
    while not should_stop():
        if time.monotonic() - last_claim >= claim_interval:
            handle(r, group, store, claim_stale(r, group, consumer, min_idle_ms, count))
            last_claim = time.monotonic()
        handle(r, group, store, read_new(r, group, consumer, count, block_ms))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379")
    parser.add_argument("--group", default="api", help="the API's consumer group (not Relay's own, `relay`)")
    parser.add_argument("--consumer", default="worker-1", help="this worker's name, unique per worker")
    parser.add_argument("--db", help="a SQLite file to store into (default: print JSON lines)")
    parser.add_argument("--count", type=int, default=100, help="entries per read")
    parser.add_argument("--min-idle", type=float, default=60, help="seconds before a pending entry is claimed")
    parser.add_argument("--claim-interval", type=float, default=30, help="seconds between two claims")
    args = parser.parse_args()
    r = redis.Redis.from_url(args.redis_url, decode_responses=True, socket_timeout=30)
    store = SqliteStore(args.db) if args.db else PrintStore()
    try:
        run(r, args.group, args.consumer, store, count=args.count, min_idle_ms=int(args.min_idle * 1000),
            claim_interval=args.claim_interval)
    except KeyboardInterrupt:
        sys.exit(0)


if __name__ == "__main__":
    main()
