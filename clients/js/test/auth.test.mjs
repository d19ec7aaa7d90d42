// Tokens: refresh before expiry, a new token after an expiry, and the close codes after which
// the client must not come back on its own.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { api, client, sleep, token, until } from './support.mjs';

// The relay of these tests warns 2 s before expiry (auth.expiry_warning) with no leeway.
const TTL = 3;

test('refreshes a short-lived token before it expires, without reconnecting', { timeout: 15000 }, async (t) => {
  const reasons = [];
  const alice = client(t, { getToken: async ({ reason }) => { reasons.push(reason); return token('alice', { ttl: TTL }); } });
  const { expires } = await alice.relay.connect();
  // Past the first token's expiry by a second: without a refresh Relay would have closed with 4004.
  await sleep(Math.max(0, expires * 1000 - Date.now()) + 1000);
  assert.deepEqual(alice.recorder.of('disconnected'), []);
  assert.equal(alice.relay.state, 'connected');
  const refreshed = alice.recorder.of('refreshed').map((event) => event.expires);
  assert.ok(refreshed.length >= 2, `refreshed ${refreshed.length} times`);
  // Never earlier; the same `exp` only for a token minted in the same second as the previous one.
  assert.ok(refreshed.every((value, index) => value >= (index ? refreshed[index - 1] : expires)), `expires ${expires}, ${refreshed}`);
  assert.ok(refreshed.at(-1) >= expires + 2, `expires ${expires}, ${refreshed}`);
  assert.deepEqual(reasons, ['connect', ...refreshed.map(() => 'refresh')]);
  assert.ok((await alice.relay.ping()) >= 0);
});

test('an expired token (4004): a new one from getToken, a reconnect, the subscriptions back', { timeout: 15000 }, async (t) => {
  const channel = 'conversation:expiry';
  const reasons = [];
  // The refresh hands out a token for someone else: Relay refuses it and the old one runs out.
  const alice = client(t, {
    getToken: async ({ reason }) => {
      reasons.push(reason);
      return token(reason === 'refresh' ? 'mallory' : 'alice', { ttl: TTL, channels: ['conversation:*'] });
    },
  });
  await alice.relay.connect();
  await alice.relay.subscribe(channel);
  await alice.relay.publish(channel, 'before');

  const gone = await until(() => alice.recorder.of('disconnected')[0], 'the expiry', 6000);
  assert.deepEqual([gone.code, gone.reason, gone.reconnect], [4004, 'token_expired', true]);
  assert.equal(alice.recorder.of('error')[0].code, 'permission_denied');
  await until(() => alice.recorder.of('connected').length === 2, 'the reconnect');
  assert.deepEqual(reasons, ['connect', 'refresh', 'expired']);
  await until(() => alice.recorder.of('subscribed').length === 2, 'the subscription again');
  assert.equal(alice.recorder.of('subscribed')[1].recovered, true);
  await alice.relay.publish(channel, 'after');
  await until(() => alice.recorder.data(channel).length === 2, 'both publications');
});

test('a refused token (4003) is not retried', { timeout: 15000 }, async (t) => {
  let calls = 0;
  const alice = client(t, { getToken: async () => { calls += 1; return token('alice', { secret: 'not-the-secret' }); } });
  await assert.rejects(alice.relay.connect(), { code: 'auth_failed', message: 'bad_signature' });
  assert.equal(alice.relay.state, 'disconnected');
  const [gone] = alice.recorder.of('disconnected');
  assert.deepEqual([gone.code, gone.reconnect], [4003, false]);
  assert.equal(alice.recorder.of('error')[0].code, 'auth_failed');
  await sleep(1000); // with minReconnectDelay 50 ms a retry would have come several times over
  assert.equal(calls, 1);
  assert.deepEqual(alice.recorder.of('state').map((event) => event.state), ['connecting', 'disconnected']);

  const bob = client(t, { token: token('bob', { ttl: -10 }) });
  await assert.rejects(bob.relay.connect(), { code: 'auth_failed', message: 'expired' });
  await sleep(300);
  assert.equal(bob.recorder.of('state').length, 2);
});

test('disconnected by the server API (4006): no reconnect until the app asks', { timeout: 15000 }, async (t) => {
  const channel = 'conversation:banned';
  const dave = client(t, { getToken: async () => token('dave', { channels: ['conversation:*'] }) });
  await dave.relay.connect();
  await dave.relay.subscribe(channel);
  // A channel with history keeps its epoch while nobody is subscribed (an empty one may be
  // swept, and its next epoch would make the recovery below a gap).
  await dave.relay.publish(channel, 'before');
  await api('/api/disconnect', { user: 'dave', reason: 'banned' });
  const gone = await until(() => dave.recorder.of('disconnected')[0], 'the disconnect');
  assert.deepEqual([gone.code, gone.reason, gone.reconnect], [4006, 'banned', false]);
  await sleep(700);
  assert.equal(dave.relay.state, 'disconnected');
  assert.equal(dave.recorder.of('state', (event) => event.state === 'connecting').length, 1);
  await api('/api/publish', { channel, data: 'while banned' });

  // The app decides to come back: the subscription and its position were kept.
  const again = await dave.relay.connect();
  assert.equal(again.user, 'dave');
  await until(() => dave.recorder.of('subscribed').length === 2, 'the subscription again');
  assert.equal(dave.recorder.of('subscribed')[1].recovered, true);
  await until(() => dave.recorder.data(channel).length === 2, 'what was published meanwhile');
  assert.deepEqual(dave.recorder.data(channel), ['before', 'while banned']);
});
