// Reconnects that Relay asks for, and what the client recovers across them.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { api, client, recordingWebSocket, sleep, token, until, wireOffsets } from './support.mjs';

const claims = { channels: ['conversation:*'] };

test('a reconnect the server advises (1012) recovers every publication exactly once', { timeout: 15000 }, async (t) => {
  const channel = 'conversation:recovery';
  const reasons = [];
  const wire = recordingWebSocket();
  const alice = client(t, {
    WebSocket: wire.WebSocket,
    getToken: async ({ reason }) => { reasons.push(reason); return token('alice', claims); },
  });
  const bob = client(t, { token: token('bob', claims) });
  await Promise.all([alice.relay.connect(), bob.relay.connect()]);
  const first = await alice.relay.subscribe(channel);
  await bob.relay.subscribe(channel);
  await bob.relay.publish(channel, 'b1');
  await api('/api/publish', { channel, data: 'a1' });
  await until(() => alice.recorder.data(channel).length === 2, 'two live publications');

  await api('/api/disconnect', { user: 'alice', reconnect_after_ms: 1000 });
  const gone = await until(() => alice.recorder.of('disconnected')[0], 'the disconnect');
  assert.equal(gone.code, 1012);
  assert.equal(gone.reconnect, true);
  const waiting = alice.recorder.of('state', (event) => event.state === 'reconnecting');
  assert.equal(waiting.length, 1);
  // The server's advice (1000 ms plus its jitter of up to half) is the delay, not the backoff.
  assert.ok(waiting[0].delay >= 900 && waiting[0].delay <= 1500, `delay ${waiting[0].delay}`);

  // While alice is away: bob and the API publish, and alice publishes into her queue.
  await bob.relay.publish(channel, 'b2');
  await bob.relay.publish(channel, 'b3');
  await api('/api/publish', { channel, data: 'a2' });
  const queued = alice.relay.publish(channel, 'queued by alice while away');
  assert.equal(alice.relay.pendingPublishes, 1);
  assert.equal(alice.relay.state, 'reconnecting');

  const back = await until(() => alice.recorder.of('connected')[1], 'the reconnect', 4000);
  assert.equal(back.reconnected, true);
  assert.ok(back.at - gone.at >= 850, `came back ${back.at - gone.at} ms after the close`);
  assert.equal((await queued).offset, 6);
  await until(() => alice.recorder.data(channel).length === 6, 'six publications');
  await sleep(300); // a duplicate would come right behind
  assert.deepEqual(alice.recorder.data(channel), ['b1', 'a1', 'b2', 'b3', 'a2', 'queued by alice while away']);
  assert.deepEqual(alice.recorder.of('publication').map((event) => event.offset), [1, 2, 3, 4, 5, 6]);
  // Relay itself sent each one once: two live, three recovered after the subscribe reply, one live.
  assert.deepEqual(wireOffsets(wire.log, channel), [1, 2, 3, 4, 5, 6]);
  const resubscribed = alice.recorder.of('subscribed')[1];
  assert.equal(resubscribed.recovered, true);
  const order = alice.recorder.events.filter((event) => event.type === 'subscribed' || event.type === 'publication');
  assert.deepEqual(order.map((event) => event.type === 'subscribed' ? 'subscribed' : event.data).slice(3, 7),
    ['subscribed', 'b2', 'b3', 'a2'], 'the recovered publications come after the subscribed event');
  assert.equal(resubscribed.epoch, first.epoch);
  const since = wire.log.sent.find(({ socket, message }) => socket === 2 && message.cmd === 'subscribe').message.since;
  assert.deepEqual(since, { offset: 2, epoch: first.epoch });
  assert.equal(alice.recorder.of('gap').length, 0);
  assert.deepEqual(reasons, ['connect', 'connect']);
  assert.deepEqual(bob.recorder.data(channel).length, 6);
});

test('away longer than the history keeps: a gap, then live publications again', { timeout: 15000 }, async (t) => {
  const channel = 'short:gap';
  const alice = client(t, { token: token('alice') });
  await alice.relay.connect();
  await alice.relay.subscribe(channel);
  await api('/api/publish', { channel, data: 'p1' });
  await until(() => alice.recorder.data(channel).length === 1, 'p1');

  await api('/api/disconnect', { user: 'alice', reconnect_after_ms: 1000 });
  await until(() => alice.recorder.of('disconnected').length === 1, 'the disconnect');
  for (let n = 2; n <= 6; n++) await api('/api/publish', { channel, data: `p${n}` }); // history keeps p4..p6
  const gap = await until(() => alice.recorder.of('gap')[0], 'the gap', 4000);
  assert.deepEqual([gap.channel, gap.offset], [channel, 6]);
  const resubscribed = alice.recorder.of('subscribed')[1];
  assert.equal(resubscribed.recovered, false);
  assert.deepEqual(alice.relay.position(channel), { offset: 6, epoch: resubscribed.epoch });

  await api('/api/publish', { channel, data: 'p7' });
  await until(() => alice.recorder.data(channel).length === 2, 'p7');
  assert.deepEqual(alice.recorder.data(channel), ['p1', 'p7'], 'nothing of the gap is pushed: the app refetches it');
});

test('a subscription token from getToken is fetched again for each subscribe', { timeout: 15000 }, async (t) => {
  const channel = 'conversation:private';
  const fetched = [];
  const carol = client(t, { token: token('carol') }); // no channels claim: the channel needs its own token
  await carol.relay.connect();
  await assert.rejects(carol.relay.subscribe('conversation:other'), { code: 'permission_denied' });
  const getToken = async ({ channel: name }) => { fetched.push(name); return token('carol', { channel: name, ttl: 60 }); };
  await carol.relay.subscribe(channel, { getToken });
  await carol.relay.publish(channel, 'before');

  carol.relay.reconnect();
  await until(() => carol.recorder.of('subscribed').length === 2, 'the subscription again');
  assert.deepEqual(fetched, [channel, channel]);
  assert.equal(carol.recorder.of('subscribed')[1].recovered, true);
  await carol.relay.publish(channel, 'after');
  await until(() => carol.recorder.data(channel).length === 2, 'both publications');
  assert.deepEqual(carol.recorder.data(channel), ['before', 'after']);
  assert.deepEqual(carol.recorder.of('disconnected').map((event) => [event.reason, event.reconnect]), [['client_reconnect', true]]);
});

test('a publication that arrives twice reaches the app once', { timeout: 15000 }, async (t) => {
  const channel = 'conversation:twice';
  const wire = recordingWebSocket((message) => (message.push === 'publication' ? 2 : 1));
  const alice = client(t, { WebSocket: wire.WebSocket, token: token('alice', claims) });
  await alice.relay.connect();
  await alice.relay.subscribe(channel);
  for (const text of ['one', 'two', 'three']) await api('/api/publish', { channel, data: text });
  await until(() => alice.recorder.data(channel).length === 3, 'three publications');
  await sleep(200);
  assert.deepEqual(alice.recorder.data(channel), ['one', 'two', 'three']);
  assert.deepEqual(wireOffsets(wire.log, channel), [1, 2, 3]);
});
