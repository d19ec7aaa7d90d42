// A publish whose ack was lost is sent again with the same key after the reconnect, and Relay
// publishes it once.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { api, client, recordingWebSocket, sleep, token, until } from './support.mjs';

const claims = { channels: ['conversation:*'] };

test('an unacknowledged publish is resent with the same key and published once', { timeout: 15000 }, async (t) => {
  const channel = 'conversation:idempotent';
  // The first publish reply is lost in transit: the server published, the client never heard.
  let lost = null;
  const wire = recordingWebSocket((message, log) => {
    const publish = log.sent.find((entry) => entry.message.cmd === 'publish');
    if (lost === null && publish && message.id === publish.message.id) {
      lost = message;
      return 0;
    }
    return 1;
  });
  const alice = client(t, { WebSocket: wire.WebSocket, token: token('alice', claims) });
  const bob = client(t, { token: token('bob', claims) });
  await Promise.all([alice.relay.connect(), bob.relay.connect()]);
  await Promise.all([alice.relay.subscribe(channel), bob.relay.subscribe(channel)]);

  let acked = null;
  alice.relay.publish(channel, { text: 'exactly once' }).then((result) => { acked = result; });
  await until(() => bob.recorder.data(channel).length === 1, 'the publication at bob');
  await until(() => lost, 'the lost reply');
  await sleep(200);
  assert.equal(acked, null, 'no ack yet: its reply was lost');
  assert.equal(alice.relay.pendingPublishes, 1);

  // The connection goes (the server asks for a reconnect): the publish is still unacknowledged.
  await api('/api/disconnect', { user: 'alice', reconnect_after_ms: 100 });
  await until(() => acked, 'the ack after the reconnect', 5000);
  assert.equal(alice.recorder.of('connected').length, 2);

  const sent = wire.log.sent.filter(({ message }) => message.cmd === 'publish');
  assert.deepEqual(sent.map(({ socket }) => socket), [1, 2], 'sent once on each connection');
  assert.equal(sent[0].message.key, sent[1].message.key);
  assert.equal(acked.key, sent[0].message.key);
  // The server's answer to the repeat is its first answer; nothing was published twice.
  assert.deepEqual({ offset: acked.offset, epoch: acked.epoch }, lost.result);
  await sleep(400);
  assert.deepEqual(bob.recorder.of('publication').map((event) => [event.offset, event.data.text]), [[1, 'exactly once']]);
  assert.deepEqual(alice.recorder.data(channel), [{ text: 'exactly once' }]);
  const history = await bob.relay.history(channel);
  assert.deepEqual(history.publications.map((pub) => pub.offset), [1]);
  assert.equal(alice.relay.pendingPublishes, 0);

  // A new publish gets a new key and a new offset.
  const next = await alice.relay.publish(channel, { text: 'another' });
  assert.notEqual(next.key, acked.key);
  assert.equal(next.offset, 2);
});

test('queued publishes keep their order across a reconnect', { timeout: 15000 }, async (t) => {
  const channel = 'conversation:order';
  const alice = client(t, { token: token('alice', claims) });
  await alice.relay.connect();
  await alice.relay.subscribe(channel);
  await api('/api/disconnect', { user: 'alice', reconnect_after_ms: 300 });
  await until(() => alice.relay.state === 'reconnecting', 'the disconnect');
  const results = await Promise.all(Array.from({ length: 20 }, (_, n) => alice.relay.publish(channel, n)));
  assert.deepEqual(results.map((result) => result.offset), Array.from({ length: 20 }, (_, n) => n + 1));
  await until(() => alice.recorder.data(channel).length === 20, 'twenty publications');
  assert.deepEqual(alice.recorder.data(channel), Array.from({ length: 20 }, (_, n) => n));
});
