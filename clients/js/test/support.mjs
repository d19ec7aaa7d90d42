// Shared by the tests that run against a real Relay (Tests/integration/test_js_client.py starts
// it and passes its addresses in the environment).

import { createHmac } from 'node:crypto';
import { RelayClient } from '../relay-client.js';

export const env = {
  url: process.env.RELAY_URL,
  secret: process.env.RELAY_SECRET,
  adminUrl: process.env.RELAY_ADMIN_URL,
  apiKey: process.env.RELAY_API_KEY,
};
if (!env.url || !env.secret || !env.adminUrl || !env.apiKey) {
  throw new Error('RELAY_URL, RELAY_SECRET, RELAY_ADMIN_URL and RELAY_API_KEY must be set: run through Tests/integration/test_js_client.py');
}

const b64 = (value) => Buffer.from(JSON.stringify(value)).toString('base64url');

/** An HS256 JWT for `sub`, valid `ttl` seconds, with extra claims. */
export function token(sub, { ttl = 300, secret = env.secret, ...claims } = {}) {
  const now = Math.floor(Date.now() / 1000);
  const input = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64({ sub, iat: now, exp: now + ttl, ...claims })}`;
  return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;
}

/** A call to the server API; throws unless it answers 2xx. */
export async function api(path, body) {
  const response = await fetch(env.adminUrl + path, {
    method: 'POST',
    headers: { Authorization: `Bearer ${env.apiKey}`, 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(5000),
  });
  const answer = await response.json();
  if (!response.ok) throw new Error(`${path} answered ${response.status}: ${JSON.stringify(answer)}`);
  return answer;
}

/** An action of the Python side of the test (CONTROL_URL): `/blackhole`, `/restart`, ... */
export async function control(action) {
  const response = await fetch(process.env.CONTROL_URL + action, { method: 'POST', signal: AbortSignal.timeout(15000) });
  if (!response.ok) throw new Error(`${action} answered ${response.status}`);
  return response.json();
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Waits until `condition()` (or the promise it returns) is truthy, checking every 10 ms;
 * fails after `timeout` ms. */
export async function until(condition, what, timeout = 5000) {
  const deadline = Date.now() + timeout;
  for (;;) {
    const value = await condition();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeout} ms waiting for ${what}`);
    await sleep(10);
  }
}

const EVENTS = ['state', 'connected', 'disconnected', 'subscribed', 'gap', 'unsubscribed', 'publication',
  'join', 'leave', 'typing', 'status', 'refreshed', 'error'];

/** Every event the client emits, in order, as {type, at, ...detail}. */
export class Recorder {
  events = [];

  constructor(client) {
    for (const type of EVENTS) client.on(type, (detail) => this.events.push({ type, at: Date.now(), ...detail }));
  }

  of(type, filter = () => true) {
    return this.events.filter((event) => event.type === type && filter(event));
  }

  /** The data of the publications seen on `channel`, in order. */
  data(channel) {
    return this.of('publication', (event) => event.channel === channel).map((event) => event.data);
  }
}

/** A client with quick reconnects, closed when the test ends, and its recorder. */
export function client(t, options) {
  const relay = new RelayClient(options.url ?? env.url, { minReconnectDelay: 50, maxReconnectDelay: 500, ...options });
  const recorder = new Recorder(relay);
  t.after(() => relay.close());
  return { relay, recorder };
}

/** A WebSocket constructor for the client that logs every frame both ways, as parsed JSON with
 * the number of the socket it went over, and hands each received frame to the client as many
 * times as `deliveries(message, log)` says: 0 for a frame lost in transit, 2 for a repeat. */
export function recordingWebSocket(deliveries = () => 1) {
  const log = { sockets: 0, sent: [], received: [] };
  class RecordingWebSocket {
    constructor(url, protocols) {
      const socket = this.socket = ++log.sockets;
      this.inner = new WebSocket(url, protocols);
      this.inner.onopen = (event) => this.onopen?.(event);
      this.inner.onclose = (event) => this.onclose?.(event);
      this.inner.onerror = (event) => this.onerror?.(event);
      this.inner.onmessage = (event) => {
        const message = JSON.parse(event.data);
        log.received.push({ socket, message });
        for (let n = deliveries(message, log); n > 0; n--) this.onmessage?.(event);
      };
    }

    get readyState() { return this.inner.readyState; }
    send(data) {
      log.sent.push({ socket: this.socket, message: JSON.parse(data) });
      this.inner.send(data);
    }
    close(code, reason) { this.inner.close(code, reason); }
  }
  return { WebSocket: RecordingWebSocket, log };
}

/** The offsets of the publication frames that reached the socket on `channel`, in order. */
export function wireOffsets(log, channel) {
  return log.received.filter(({ message }) => message.push === 'publication' && message.channel === channel)
    .map(({ message }) => message.pub.offset);
}
