// The network goes away without a word (no FIN, no RST): a proxy between the client and Relay
// (Tests/integration/test_js_client.py) stops forwarding, and later forwards again.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { api, client, control, sleep, token, until } from './support.mjs';

const proxyUrl = process.env.RELAY_PROXY_URL;

test('a dead connection is found by the app ping, and everything published meanwhile is recovered', { timeout: 20000 }, async (t) => {
  const channel = 'conversation:tunnel';
  const alice = client(t, {
    url: proxyUrl,
    token: token('alice', { channels: ['conversation:*'] }),
    pingInterval: 1000,
    pingTimeout: 1000,
    connectTimeout: 1500,
    minReconnectDelay: 100,
    maxReconnectDelay: 400,
  });
  await alice.relay.connect();
  await alice.relay.subscribe(channel);
  await api('/api/publish', { channel, data: 'before' });
  await until(() => alice.recorder.data(channel).length === 1, 'the first publication');
  await sleep(1200); // a heartbeat or two go through the proxy while it forwards
  assert.deepEqual(alice.recorder.of('disconnected'), []);

  const cut = Date.now();
  await control('/blackhole');
  await api('/api/publish', { channel, data: 'during 1' });
  await api('/api/publish', { channel, data: 'during 2' });

  // No close event can come: only the unanswered ping tells (within pingInterval + pingTimeout).
  const dead = await until(() => alice.recorder.of('disconnected')[0], 'the ping timeout', 5000);
  assert.equal(dead.reason, 'ping_timeout');
  assert.equal(dead.reconnect, true);
  assert.ok(dead.at - cut >= 900 && dead.at - cut <= 3000, `found dead ${dead.at - cut} ms after the cut`);

  // Relay drops its side on its own keepalive (the proxy sees its FIN); the attempts to come back
  // hang in the dead network until connectTimeout and are retried.
  await until(async () => (await control('/status')).dead[0] != null, 'Relay closing its side', 5000);
  await api('/api/publish', { channel, data: 'during 3' });
  await until(() => alice.recorder.of('state', (event) => event.reason === 'connect_timeout').length >= 1,
    'an attempt that timed out in the dead network', 5000);
  assert.equal(alice.recorder.of('connected').length, 1);

  await control('/restore');
  const back = await until(() => alice.recorder.of('connected')[1], 'the reconnect', 5000);
  assert.equal(back.reconnected, true);
  await until(() => alice.recorder.data(channel).length === 4, 'the publications from the outage');
  await api('/api/publish', { channel, data: 'after' });
  await until(() => alice.recorder.data(channel).length === 5, 'a live publication');
  await sleep(300);
  assert.deepEqual(alice.recorder.data(channel), ['before', 'during 1', 'during 2', 'during 3', 'after']);
  assert.deepEqual(alice.recorder.of('publication').map((event) => event.offset), [1, 2, 3, 4, 5]);
  assert.equal(alice.recorder.of('subscribed')[1].recovered, true);
});
