"""The Redis contract of docs/REDIS.md, against a real redis-server and without Relay: the
`relay_v1` functions (loaded from Sources/RedisEngine/RelayFunctions.swift, as Relay loads them),
the envelopes on the pub/sub channels, the examples/ scripts the main API can copy, and every
`redis-cli` example of the document."""

from __future__ import annotations

import json
import re
import shlex
import sqlite3
import subprocess
import sys
import time

import pytest
import redis

from redis_support import REPO_ROOT, RedisServer, load_relay_functions

sys.path.insert(0, str(REPO_ROOT / "examples"))
import inbox_worker  # noqa: E402
import publish as api  # noqa: E402

CHANNEL = "conversation:42"


@pytest.fixture
def redis_server():
    with RedisServer() as server:
        load_relay_functions(server.client())
        yield server


@pytest.fixture
def r(redis_server) -> redis.Redis:
    return redis_server.client()


class Listener:
    """A pub/sub subscriber (what every Relay loop is), subscribed before it is returned."""

    def __init__(self, server: RedisServer, *channels: str):
        self.pubsub = server.client().pubsub()
        self.pubsub.subscribe(*channels)
        confirmed = 0
        while confirmed < len(channels):
            message = self.pubsub.get_message(timeout=5)
            assert message is not None, "no subscribe confirmation"
            confirmed += message["type"] == "subscribe"

    def messages(self, quiet: float = 0.2) -> list[tuple[str, str]]:
        """(channel, payload) received until nothing more came for `quiet` seconds."""
        received = []
        while (message := self.pubsub.get_message(ignore_subscribe_messages=True, timeout=quiet)) is not None:
            received.append((message["channel"], message["data"]))
        return received


def client_publish(r: redis.Redis, channel: str, user: str, data, *, key: str = "", inbox_max: int = 0,
                   history_size: int = 100, history_ttl_ms: int = 86_400_000, window_ms: int = 300_000):
    """A client's publish as Relay makes it (RedisBroker.publish): a user, and the inbox when inbox_max > 0."""
    keys = [api.channel_key(channel, "meta"), api.channel_key(channel, "history"),
            api.channel_key(channel, f"idem:{len(user.encode())}:{user}:{key}"), api.INBOX]
    return r.fcall("relay_publish", 4, *keys, api.pubsub_channel(channel), json.dumps(data), user, history_size,
                   history_ttl_ms, window_ms if key else 0, inbox_max, "PUBLISH", channel, 86_400_000)


def position(r: redis.Redis, channel: str, since: int | None = None, epoch: str = "", history_ttl_ms: int = 0):
    return r.fcall("relay_position", 2, api.channel_key(channel, "meta"), api.channel_key(channel, "history"),
                   "" if since is None else since, epoch, 86_400_000, history_ttl_ms)


def envelope(epoch: str, offset: int, data: str, user: str | None = None) -> str:
    """The exact text relay_publish writes."""
    who = f',"user":{json.dumps(user)}' if user else ""
    return f'{{"v":1,"type":"pub","epoch":"{epoch}","offset":{offset}{who},"data":{data}}}'


# relay_publish

def test_publish_gives_increasing_offsets_in_one_epoch_and_keeps_history(r):
    replies = [api.publish_with_history(r, CHANNEL, {"n": n}, history_size=100, history_ttl=86400) for n in (1, 2, 3)]
    epoch = replies[0]["epoch"]
    assert re.fullmatch(r"[0-9a-f]{13,}", epoch), epoch
    assert replies == [{"offset": n, "epoch": epoch, "duplicate": False} for n in (1, 2, 3)]

    first = api.publish_with_history(r, CHANNEL, {"n": 4}, key="order-17-shipped", history_size=100, history_ttl=86400)
    again = api.publish_with_history(r, CHANNEL, {"n": 4}, key="order-17-shipped", history_size=100, history_ttl=86400)
    assert first == {"offset": 4, "epoch": epoch, "duplicate": False}
    assert again == {"offset": 4, "epoch": epoch, "duplicate": True}, "a repeated key publishes nothing"
    assert r.hgetall(api.channel_key(CHANNEL, "meta")) == {"epoch": epoch, "offset": "4"}

    now_ms = int(r.time()[0]) * 1000
    history = r.xrange(api.channel_key(CHANNEL, "history"))
    assert [entry_id for entry_id, _ in history] == ["1-0", "2-0", "3-0", "4-0"]
    for n, (_, fields) in enumerate(history, start=1):
        assert fields["e"] == envelope(epoch, n, f'{{"n":{n}}}')
        assert abs(int(fields["t"]) - now_ms) < 10_000
    assert 0 < r.pttl(api.channel_key(CHANNEL, "history")) <= 86_400_000
    assert r.xlen(api.INBOX) == 0, "inbox 0: the API's publications do not go to the inbox"


def test_history_is_trimmed_to_its_size_and_a_user_is_recorded(r):
    for n in range(1, 6):
        client_publish(r, "conversation:7", "alice", {"n": n}, history_size=3)
    history = r.xrange(api.channel_key("conversation:7", "history"))
    epoch = r.hget(api.channel_key("conversation:7", "meta"), "epoch")
    assert [entry_id for entry_id, _ in history] == ["3-0", "4-0", "5-0"]
    assert history[-1][1]["e"] == envelope(epoch, 5, '{"n": 5}', user="alice")


def test_subscribers_receive_the_exact_envelopes(redis_server, r):
    listener = Listener(redis_server, api.pubsub_channel(CHANNEL), api.CONTROL)

    reply = api.publish_with_history(r, CHANNEL, {"text": "your order shipped"}, key="order-17-shipped",
                                     history_size=100, history_ttl=86400)
    epoch = reply["epoch"]
    api.publish_with_history(r, CHANNEL, {"text": "your order shipped"}, key="order-17-shipped",
                             history_size=100, history_ttl=86400)
    assert api.publish_event(r, CHANNEL, {"text": "your tutor is typing"}) == 1, "one subscriber heard it"
    client_publish(r, CHANNEL, "alice", {"text": "hello"})
    assert api.disconnect_user(r, "alice", "banned", reconnect_after_ms=1000) == 1
    assert api.disconnect_user(r, "mallory") == 1
    assert api.unsubscribe_user(r, "bob", CHANNEL) == 1

    pub = api.pubsub_channel(CHANNEL)
    assert listener.messages() == [
        (pub, f'{{"v":1,"type":"pub","epoch":"{epoch}","offset":1,"data":{{"text":"your order shipped"}}}}'),
        (pub, '{"v":1,"type":"pub","data":{"text":"your tutor is typing"}}'),
        (pub, f'{{"v":1,"type":"pub","epoch":"{epoch}","offset":2,"user":"alice","data":{{"text": "hello"}}}}'),
        (api.CONTROL, '{"v":1,"type":"disconnect","user":"alice","reason":"banned","reconnect_after_ms":1000}'),
        (api.CONTROL, '{"v":1,"type":"disconnect","user":"mallory","reason":"disconnected_by_server"}'),
        (api.CONTROL, '{"v":1,"type":"unsubscribe","user":"bob","channel":"conversation:42"}'),
    ], "the duplicate is not published again; the plain PUBLISH has no offset and takes none"
    assert r.xlen(api.channel_key(CHANNEL, "history")) == 2, "the fire-and-forget event is not in history"


# relay_position

def test_position_recovers_after_an_offset_and_refuses_a_wrong_epoch(r):
    epoch = [api.publish_with_history(r, CHANNEL, {"n": n}, history_size=100, history_ttl=86400)
             for n in range(1, 6)][0]["epoch"]
    api.publish_event(r, CHANNEL, {"not": "counted"})
    entries = [envelope(epoch, n, f'{{"n":{n}}}') for n in range(1, 6)]

    assert position(r, CHANNEL, 2, epoch) == [5, epoch, 1, *entries[2:]]
    assert position(r, CHANNEL, 0, epoch) == [5, epoch, 1, *entries]
    assert position(r, CHANNEL, 5, epoch) == [5, epoch, 1], "up to date: recovered, nothing missed"
    assert position(r, CHANNEL, 2, "0123456789abc") == [5, epoch, 0], "another epoch: refetch"
    assert position(r, CHANNEL, 6, epoch) == [5, epoch, 0], "ahead of the stream"
    assert position(r, CHANNEL) == [5, epoch, 0], "no since: the position only"

    # Trimmed history: what fell out cannot be recovered, what is kept can.
    for n in range(1, 6):
        api.publish_with_history(r, "conversation:8", {"n": n}, history_size=3, history_ttl=86400)
    epoch8 = r.hget(api.channel_key("conversation:8", "meta"), "epoch")
    assert position(r, "conversation:8", 1, epoch8) == [5, epoch8, 0]
    assert position(r, "conversation:8", 2, epoch8)[:3] == [5, epoch8, 1]

    # A publication with a history size other than the namespace's leaves a hole: every recovery
    # across it fails. The API must use the namespace's history_size and history_ttl.
    api.publish_with_history(r, CHANNEL, {"n": 6}, history_size=0, history_ttl=0)
    api.publish_with_history(r, CHANNEL, {"n": 7}, history_size=100, history_ttl=86400)
    assert position(r, CHANNEL, 5, epoch) == [7, epoch, 0]
    assert position(r, CHANNEL, 6, epoch) == [7, epoch, 1, envelope(epoch, 7, '{"n":7}')]


def test_history_past_its_ttl_is_not_recovered(r):
    api.publish_with_history(r, CHANNEL, {"n": 1}, history_size=100, history_ttl=86400)
    epoch = r.hget(api.channel_key(CHANNEL, "meta"), "epoch")
    time.sleep(0.25)
    assert position(r, CHANNEL, 0, epoch, history_ttl_ms=100) == [1, epoch, 0]
    assert position(r, CHANNEL, 0, epoch, history_ttl_ms=60_000)[2] == 1


# Presence

def join(r, channel, member, user, ttl_ms=30_000, info="", announce=True):
    return r.fcall("relay_join", 3, *api.presence_keys(channel), member, user, info, ttl_ms, "PUBLISH",
                   api.pubsub_channel(channel) if announce else "")


def leave(r, channel, member, reason="left"):
    return r.fcall("relay_leave", 3, *api.presence_keys(channel), member, "PUBLISH", api.pubsub_channel(channel), reason)


def purge_presence(r, channel, announce=True):
    return r.fcall("relay_presence_purge", 3, *api.presence_keys(channel), "PUBLISH",
                   api.pubsub_channel(channel) if announce else "")


def test_presence_announces_join_and_leave_once_per_user(redis_server, r):
    """The functions Relay calls reply with the transitions they made, which Relay appends to the
    events stream: one join and one leave per user, however many connections."""
    listener = Listener(redis_server, api.pubsub_channel(CHANNEL))
    pub = api.pubsub_channel(CHANNEL)
    assert join(r, CHANNEL, "node1/1", "alice") == [1, [["join", "alice", "node1/1", ""]]]
    assert join(r, CHANNEL, "node2/5", "alice") == [1, []]
    assert join(r, CHANNEL, "node2/5", "alice") == [0, []], "the same connection twice"
    assert join(r, CHANNEL, "node1/2", "bob", info='{"name":"Bob"}')[0] == 1
    assert listener.messages() == [
        (pub, r'{"v":1,"type":"join","member":"node1\/1","user":"alice"}'),
        (pub, r'{"v":1,"type":"join","member":"node1\/2","user":"bob","info":{"name":"Bob"}}')]

    members = r.fcall_ro("relay_presence", 3, *api.presence_keys(CHANNEL))
    assert sorted(members) == ['{"user":"alice"}', '{"user":"alice"}', '{"user":"bob","info":{"name":"Bob"}}']
    assert api.presence(r, CHANNEL) == [
        {"user": "alice", "connections": 2}, {"user": "bob", "connections": 1, "info": {"name": "Bob"}}]

    assert leave(r, CHANNEL, "node1/1") == [1, []]
    assert listener.messages() == [], "alice still has a connection"
    assert leave(r, CHANNEL, "node2/5") == [1, [["leave", "alice", "node2/5", "left"]]]
    assert leave(r, CHANNEL, "node2/5") == [0, []]
    assert listener.messages() == [(pub, '{"v":1,"type":"leave","user":"alice"}')]
    assert api.presence(r, CHANNEL) == [{"user": "bob", "connections": 1, "info": {"name": "Bob"}}]


def test_expired_members_are_hidden_at_once_and_leave_once_when_purged(redis_server, r):
    """A replica killed with -9 stops refreshing: its members expire. Reads leave them out at once
    without writing; the next purge (a surviving node's reaper, a join or refresh on the channel)
    removes them and announces their leave, once."""
    listener = Listener(redis_server, api.pubsub_channel(CHANNEL))
    pub = api.pubsub_channel(CHANNEL)
    join(r, CHANNEL, "dead/1", "carol", ttl_ms=150)
    join(r, CHANNEL, "dead/2", "carol", ttl_ms=150)
    join(r, CHANNEL, "live/1", "dave")
    assert len(listener.messages()) == 2
    time.sleep(0.3)
    assert api.presence(r, CHANNEL) == [{"user": "dave", "connections": 1}]
    assert listener.messages() == [], "a read announces nothing"
    assert purge_presence(r, CHANNEL) == [1, [["leave", "carol", "dead/2", "expired"]]]
    assert purge_presence(r, CHANNEL) == [1, []]
    assert listener.messages() == [(pub, '{"v":1,"type":"leave","user":"carol"}')]

    # Purged with "" (a namespace without join_leave), nothing is published.
    join(r, "conversation:9", "dead/1", "erin", ttl_ms=200, announce=False)
    time.sleep(0.3)
    assert api.presence(r, "conversation:9") == []
    assert purge_presence(r, "conversation:9", announce=False)[1] == [["leave", "erin", "dead/1", "expired"]]
    assert listener.messages() == []


# Online status

def connect(r, user, member, ttl_ms=30_000):
    return r.fcall("relay_connect", 1, api.connections_key(user), "PUBLISH", api.status_channel(user), user, member, ttl_ms)


def disconnect(r, user, member):
    return r.fcall("relay_disconnect", 1, api.connections_key(user), "PUBLISH", api.status_channel(user), user, member)


def purge_connections(r, user):
    return r.fcall("relay_connections_purge", 1, api.connections_key(user), "PUBLISH", api.status_channel(user), user)


def test_status_is_announced_once_per_transition(redis_server, r):
    status = api.status_channel("tutor1")
    listener = Listener(redis_server, status)
    assert not api.is_online(r, "tutor1")
    assert connect(r, "tutor1", "node1/3") == [1, [["online", "tutor1", "node1/3", ""]]]
    assert connect(r, "tutor1", "node2/8") == [2, []]
    assert api.is_online(r, "tutor1")
    assert listener.messages() == [(status, '{"v":1,"type":"status","online":true}')]
    assert disconnect(r, "tutor1", "node1/3") == [1, []]
    assert listener.messages() == []
    assert disconnect(r, "tutor1", "node2/8") == [1, [["offline", "tutor1", "node2/8", ""]]]
    assert disconnect(r, "tutor1", "node2/8") == [1, []]
    assert listener.messages() == [(status, '{"v":1,"type":"status","online":false}')]
    assert not api.is_online(r, "tutor1")


def test_expired_connections_are_offline_at_once_and_announced_once_when_purged(redis_server, r):
    """A dead replica's connections expire: reads count them out at once; the purge (a surviving
    node's reaper) reports each as a disconnect and announces the user offline, once."""
    status = api.status_channel("tutor3")
    listener = Listener(redis_server, status)
    connect(r, "tutor3", "dead/1", ttl_ms=100)
    connect(r, "tutor3", "dead/2", ttl_ms=100)
    time.sleep(0.3)
    assert not api.is_online(r, "tutor3")
    assert [payload for _, payload in listener.messages()] == ['{"v":1,"type":"status","online":true}']
    assert purge_connections(r, "tutor3") == [1, [
        ["disconnect", "tutor3", "dead/1", "expired"], ["disconnect", "tutor3", "dead/2", "expired"],
        ["offline", "tutor3", "", ""]]]
    assert purge_connections(r, "tutor3") == [1, []]
    assert [payload for _, payload in listener.messages()] == ['{"v":1,"type":"status","online":false}']


def test_reconnect_after_an_expired_connection_is_offline_then_online(redis_server, r):
    status = api.status_channel("tutor2")
    listener = Listener(redis_server, status)
    connect(r, "tutor2", "dead/1", ttl_ms=300)
    time.sleep(0.4)
    assert connect(r, "tutor2", "live/1")[1] == [
        ["disconnect", "tutor2", "dead/1", "expired"], ["offline", "tutor2", "", ""], ["online", "tutor2", "live/1", ""]]
    assert [payload for _, payload in listener.messages()] == [
        '{"v":1,"type":"status","online":true}', '{"v":1,"type":"status","online":false}',
        '{"v":1,"type":"status","online":true}']


# The inbox

def test_inbox_worker_stores_every_message_once_across_a_crash(tmp_path, r):
    published = set()
    for n in range(50):
        channel = f"conversation:{n % 3}"
        offset, epoch, _ = client_publish(r, channel, f"user{n % 4}", {"n": n}, inbox_max=50)
        published.add((channel, epoch, offset))
    assert r.xlen(api.INBOX) == 50
    with pytest.raises(redis.ResponseError, match="INBOXFULL"):
        client_publish(r, CHANNEL, "alice", {"n": 50}, inbox_max=50)

    # Created after the entries were written: from 0, the group still gets them.
    inbox_worker.ensure_group(r, "api")
    inbox_worker.ensure_group(r, "api")
    store = inbox_worker.SqliteStore(str(tmp_path / "messages.sqlite3"))

    # worker-1 reads 20, stores 10 of them and dies before acknowledging anything.
    taken = inbox_worker.read_new(r, "api", "worker-1", count=20, block_ms=100)
    assert len(taken) == 20
    assert store.save(taken[:10]) == 10
    assert r.xpending(api.INBOX, "api")["pending"] == 20

    # worker-2 starts, claims the stale entries, then reads the rest.
    assert inbox_worker.claim_stale(r, "api", "worker-2", min_idle_ms=60_000) == [], "not stale yet"
    time.sleep(0.25)
    claimed = inbox_worker.claim_stale(r, "api", "worker-2", min_idle_ms=200)
    assert [row["id"] for row in claimed] == [row["id"] for row in taken]
    assert inbox_worker.handle(r, "api", store, claimed) == 10, "the 10 stored before the crash are ignored"
    inbox_worker.run(r, "api", "worker-2", store, block_ms=100, min_idle_ms=200,
                     should_stop=lambda: r.xlen(api.INBOX) == 0)

    rows = store.db.execute('SELECT channel, epoch, "offset", user, data FROM messages').fetchall()
    assert len(rows) == 50
    assert {(channel, epoch, offset) for channel, epoch, offset, _, _ in rows} == published
    assert sorted(json.loads(data)["n"] for *_, data in rows) == list(range(50))
    assert all(user == f"user{json.loads(data)['n'] % 4}" for *_, user, data in rows)
    assert r.xlen(api.INBOX) == 0
    assert r.xpending(api.INBOX, "api")["pending"] == 0
    assert client_publish(r, CHANNEL, "alice", {"n": 50}, inbox_max=50)[2] == 0, "room again"


def test_inbox_entry_fields(r):
    offset, epoch, _ = client_publish(r, CHANNEL, "alice", {"text": "hello"}, inbox_max=10)
    (entry_id, fields), = r.xrange(api.INBOX)
    assert set(fields) == {"channel", "offset", "epoch", "user", "data", "time"}
    row = inbox_worker.parse(entry_id, fields)
    assert row == {"id": entry_id, "channel": CHANNEL, "offset": offset, "epoch": epoch, "user": "alice",
                   "data": {"text": "hello"}, "time": row["time"]}
    assert abs(row["time"] - int(r.time()[0]) * 1000) < 10_000


def test_inbox_worker_command_line(tmp_path, redis_server, r):
    for n in range(3):
        client_publish(r, CHANNEL, "alice", {"n": n}, inbox_max=100)
    db = tmp_path / "cli.sqlite3"
    worker = subprocess.Popen([sys.executable, str(REPO_ROOT / "examples" / "inbox_worker.py"), "--redis-url",
                               redis_server.url, "--group", "api", "--consumer", "cli-1", "--db", str(db)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 10
        while r.xlen(api.INBOX) > 0 and time.monotonic() < deadline and worker.poll() is None:
            time.sleep(0.05)
        assert worker.poll() is None, worker.communicate()
    finally:
        worker.terminate()
        worker.wait(timeout=5)
    with sqlite3.connect(db) as check:
        assert check.execute("SELECT count(*) FROM messages").fetchone() == (3,)


# Redis restarts

def test_a_restarted_redis_has_no_functions_and_a_new_epoch(redis_server, r):
    old = api.publish_with_history(r, CHANNEL, {"n": 1}, history_size=100, history_ttl=86400)
    redis_server.restart()
    r = redis_server.client()
    with pytest.raises(redis.ResponseError, match="Function not found"):
        api.publish_with_history(r, CHANNEL, {"n": 2}, history_size=100, history_ttl=86400)
    load_relay_functions(r)  # what the first Relay to reconnect does
    top, epoch, recovered = position(r, CHANNEL, 1, old["epoch"])
    assert (top, recovered) == (0, 0) and epoch != old["epoch"], "subscribers must recover from the API"


# The document's own examples

def redis_cli_examples() -> list[str]:
    """Every `$ redis-cli ...` line of docs/REDIS.md's code blocks (with `\\` continuations)."""
    commands, current = [], None
    for line in (REPO_ROOT / "docs" / "REDIS.md").read_text().splitlines():
        if current is not None:
            current += " " + line.strip().rstrip("\\").strip()
        elif line.startswith("$ redis-cli "):
            current = line[2:].rstrip("\\").strip()
        else:
            continue
        if not line.rstrip().endswith("\\"):
            commands.append(current)
            current = None
    return commands


def test_every_redis_cli_example_of_the_document_runs(redis_server, r):
    examples = redis_cli_examples()
    assert len(examples) >= 15, examples
    client_publish(r, CHANNEL, "alice", {"text": "hello"}, inbox_max=100)  # something for XREADGROUP to read
    for example in examples:
        argv = shlex.split(example)
        assert argv[0] == "redis-cli"
        if argv[1].upper() in ("SUBSCRIBE", "PSUBSCRIBE", "MONITOR"):
            continue  # they never end
        result = subprocess.run(["redis-cli", "--no-raw", "-p", str(redis_server.port), *argv[1:]],
                                capture_output=True, text=True, timeout=10)
        assert result.returncode == 0 and "(error)" not in result.stdout and not result.stderr, \
            f"{example}\n{result.stdout}{result.stderr}"
