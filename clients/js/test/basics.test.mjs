// Connecting, subscribing, publishing, presence, typing and online status against a real Relay.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RelayError } from '../relay-client.js';
import { api, client, sleep, token, until } from './support.mjs';

const claims = { channels: ['conversation:*'] };

test('connect, subscribe, publish and receive', { timeout: 15000 }, async (t) => {
  const alice = client(t, { token: token('alice', claims) });
  const bob = client(t, { getToken: async () => token('bob', { ...claims, info: { name: 'Bob' } }) });
  const connected = await alice.relay.connect();
  assert.equal(connected.user, 'alice');
  assert.equal(alice.relay.state, 'connected');
  assert.deepEqual(alice.recorder.of('state').map((event) => event.state), ['connecting', 'connected']);
  await bob.relay.connect();

  const channel = 'conversation:basics';
  const subscribed = await bob.relay.subscribe(channel);
  assert.equal(subscribed.offset, 0);
  assert.equal(subscribed.recovered, undefined);
  await alice.relay.subscribe(channel);

  const ack = await alice.relay.publish(channel, { text: 'hello bob' });
  assert.equal(ack.offset, 1);
  assert.match(ack.key, /^[0-9a-f]{32}$/);
  const keyed = await alice.relay.publish(channel, { text: 'second' }, { key: 'my-key-1' });
  assert.deepEqual([keyed.offset, keyed.key], [2, 'my-key-1']);
  await api('/api/publish', { channel, data: { text: 'from the API' } });

  await until(() => bob.recorder.data(channel).length === 3, 'three publications at bob');
  assert.deepEqual(bob.recorder.of('publication').map(({ offset, user, data }) => ({ offset, user, data })), [
    { offset: 1, user: 'alice', data: { text: 'hello bob' } },
    { offset: 2, user: 'alice', data: { text: 'second' } },
    { offset: 3, user: undefined, data: { text: 'from the API' } },
  ]);
  await until(() => alice.recorder.data(channel).length === 3, 'the publisher gets its own publications too');
  assert.deepEqual(alice.relay.position(channel), { offset: 3, epoch: subscribed.epoch });

  const history = await bob.relay.history(channel, { limit: 2 });
  assert.deepEqual(history.publications.map((pub) => pub.offset), [2, 3]);

  await assert.rejects(alice.relay.subscribe(channel), { code: 'already_subscribed' });
  await assert.rejects(alice.relay.subscribe('nope:x'), { code: 'unknown_namespace' });
  await assert.rejects(alice.relay.publish('conversation:not-joined', 1), { code: 'permission_denied' });
  assert.deepEqual(alice.relay.subscriptions, [channel]);
  assert.equal(alice.relay.pendingPublishes, 0);
  assert.ok((await alice.relay.ping()) >= 0);
});

test('presence, join and leave', { timeout: 15000 }, async (t) => {
  const channel = 'conversation:presence';
  const bob = client(t, { token: token('bob', { ...claims, info: { name: 'Bob' } }) });
  await bob.relay.connect();
  await bob.relay.subscribe(channel);
  const alice = client(t, { token: token('alice', { ...claims, info: { name: 'Alice' } }) });
  await alice.relay.connect();
  await alice.relay.subscribe(channel);

  await until(() => bob.recorder.of('join').length === 1, 'a join push at bob');
  assert.deepEqual(bob.recorder.of('join').map(({ channel: c, user, info }) => ({ c, user, info })),
    [{ c: channel, user: 'alice', info: { name: 'Alice' } }]);
  const users = await bob.relay.presence(channel);
  assert.deepEqual(users.map((entry) => entry.user).sort(), ['alice', 'bob']);

  await alice.relay.unsubscribe(channel);
  assert.deepEqual(alice.relay.subscriptions, []);
  await until(() => bob.recorder.of('leave').length === 1, 'a leave push at bob');
  assert.equal(bob.recorder.of('leave')[0].user, 'alice');
  assert.deepEqual((await bob.relay.presence(channel)).map((entry) => entry.user), ['bob']);
  await assert.rejects(alice.relay.presence(channel), { code: 'not_subscribed' });
});

test('typing: one start per interval, a stop after the idle timeout or on demand', { timeout: 15000 }, async (t) => {
  const channel = 'conversation:typing';
  const bob = client(t, { token: token('bob', claims) });
  await bob.relay.connect();
  await bob.relay.subscribe(channel);
  const alice = client(t, { token: token('alice', claims), typingInterval: 3000, typingTimeout: 400 });
  await alice.relay.connect();
  await alice.relay.subscribe(channel);

  const typing = () => bob.recorder.of('typing').map((event) => `${event.user}:${event.state}`);
  let lastKey;
  for (let key = 0; key < 5; key++) {
    alice.relay.typing(channel);
    lastKey = Date.now();
    await sleep(50);
  }
  await until(() => typing().length === 1, 'a start at bob');
  assert.deepEqual(typing(), ['alice:start']);
  // The keystrokes stopped: "stop" follows about typingTimeout after the last one.
  await until(() => typing().length === 2, 'a stop after the idle timeout', 3000);
  const stopAt = bob.recorder.of('typing')[1].at - lastKey;
  assert.equal(typing()[1], 'alice:stop');
  assert.ok(stopAt >= 400 && stopAt < 1500, `stop came ${stopAt} ms after the last keystroke`);

  // A new burst after the interval: a new start; stopTyping sends stop at once.
  await sleep(2100); // the server's own typing_interval (2 s) lets the next start through
  alice.relay.typing(channel);
  alice.relay.stopTyping(channel);
  await until(() => typing().length === 4, 'a start and a stop');
  assert.deepEqual(typing().slice(2), ['alice:start', 'alice:stop']);
  await sleep(600);
  assert.equal(typing().length, 4, 'no second stop after stopTyping');
  assert.equal(alice.recorder.of('typing').length, 0, 'the sender does not see its own typing');
});

test('online status with watch, across the watched user coming and going', { timeout: 15000 }, async (t) => {
  const tutor = client(t, { token: token('tutor1') });
  const student = client(t, { token: token('student') });
  await student.relay.connect();
  assert.deepEqual(await student.relay.online(['tutor1', 'tutor2'], { watch: true }), { tutor1: false, tutor2: false });
  await tutor.relay.connect();
  await until(() => student.recorder.of('status').length === 1, 'tutor1 online');
  tutor.relay.close();
  await until(() => student.recorder.of('status').length === 2, 'tutor1 offline');
  assert.deepEqual(student.recorder.of('status').map(({ user, online }) => [user, online]),
    [['tutor1', true], ['tutor1', false]]);
  assert.equal(tutor.relay.state, 'disconnected');

  // A change while the student is away is announced after the reconnect, and watching goes on.
  await api('/api/disconnect', { user: 'student', reconnect_after_ms: 500 });
  await until(() => student.relay.state === 'reconnecting', 'the disconnect');
  const tutor2 = client(t, { token: token('tutor2') });
  await tutor2.relay.connect();
  await until(() => student.recorder.of('status').length === 3, 'tutor2 online, learnt after the reconnect');
  const learnt = student.recorder.of('status')[2];
  assert.deepEqual([learnt.user, learnt.online], ['tutor2', true]);
  assert.ok(learnt.at >= student.recorder.of('connected')[1].at);
  tutor2.relay.close();
  await until(() => student.recorder.of('status').length === 4, 'tutor2 offline, live');
  assert.equal(student.recorder.of('status')[3].online, false);
  assert.deepEqual(student.recorder.of('status').map(({ user }) => user), ['tutor1', 'tutor1', 'tutor2', 'tutor2']);
});

test('commands while disconnected are refused, publishes wait', { timeout: 15000 }, async (t) => {
  const alice = client(t, { token: token('alice', claims) });
  await assert.rejects(alice.relay.presence('conversation:x'), (error) => error instanceof RelayError && error.code === 'disconnected');
  const subscribed = alice.relay.subscribe('conversation:early');
  const published = alice.relay.publish('conversation:early', { text: 'queued before connecting' });
  assert.equal(alice.relay.pendingPublishes, 1);
  await alice.relay.connect();
  assert.equal((await subscribed).offset, 0);
  assert.equal((await published).offset, 1);
  await until(() => alice.recorder.data('conversation:early').length === 1, 'the queued publication');

  alice.relay.close();
  const afterClose = alice.relay.publish('conversation:early', 'never sent');
  alice.relay.close();
  await assert.rejects(afterClose, { code: 'closed' });
});
