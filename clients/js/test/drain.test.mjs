// A server that shuts down drains its connections (a `reconnect` push, then close 1001); the
// client comes back when it can, here to a new relay on the same port (the Python side of the
// test restarts it; RELAY_ENGINE says whether the history outlives it).

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { client, control, token, until } from './support.mjs';

test('a drain (reconnect push, close 1001): the client reconnects to the restarted server', { timeout: 20000 }, async (t) => {
  const channel = 'conversation:drain';
  const alice = client(t, { getToken: async () => token('alice', { channels: ['conversation:*'] }) });
  await alice.relay.connect();
  await alice.relay.subscribe(channel);
  await alice.relay.publish(channel, 'before');
  await until(() => alice.recorder.data(channel).length === 1, 'the first publication');

  const restarted = control('/restart');
  const gone = await until(() => alice.recorder.of('disconnected')[0], 'the drain', 5000);
  assert.deepEqual([gone.code, gone.reason, gone.reconnect], [1001, 'server_shutdown', true]);
  assert.equal((await restarted).exit_code, 0);
  const back = await until(() => alice.recorder.of('connected')[1], 'the reconnect', 8000);
  assert.equal(back.reconnected, true);
  // While no relay listened, attempts were refused and retried.
  const refused = alice.recorder.of('disconnected', (event) => event.reason === 'connect_failed');
  assert.ok(refused.length >= 1 && refused.every((event) => event.code === 1006 && event.reconnect));

  const resubscribed = await until(() => alice.recorder.of('subscribed')[1], 'the subscription again');
  if (process.env.RELAY_ENGINE === 'redis') {
    // The history lives in Redis, which outlived the relay: recovered, as on another replica.
    assert.equal(resubscribed.recovered, true);
    assert.equal(alice.recorder.of('gap').length, 0);
    assert.equal((await alice.relay.publish(channel, 'after')).offset, 2);
  } else {
    // A new memory engine: a new epoch, nothing of the old history. The client says so.
    assert.equal(resubscribed.recovered, false);
    const [gap] = alice.recorder.of('gap');
    assert.deepEqual([gap.channel, gap.offset], [channel, 0]);
    assert.equal((await alice.relay.publish(channel, 'after')).offset, 1);
  }
  await until(() => alice.recorder.data(channel).length === 2, 'a live publication');
  assert.deepEqual(alice.recorder.data(channel), ['before', 'after']);
  assert.equal(alice.recorder.of('disconnected', (event) => !event.reconnect).length, 0);
});
