// A dependency-free client for Relay's protocol relay.v1 (docs/PROTOCOL.md), for browsers and
// Node. See README.md beside this file for the behaviour it promises.

export const SUBPROTOCOL = 'relay.v1';

const OPEN = 1; // WebSocket.OPEN, spelled out so that any WebSocket-like constructor works

const DEFAULTS = {
  minReconnectDelay: 500,
  maxReconnectDelay: 30000,
  connectTimeout: 10000,
  commandTimeout: 10000,
  pingInterval: 25000,
  pingTimeout: 10000,
  typingInterval: 3000,
  typingTimeout: 4000,
  maxOnlineUsers: 100,
};

// What a close code asks of the client (the table in README.md, from docs/PROTOCOL.md).
const STOP_CODES = new Set([1002, 1003, 1007, 1009, 4003, 4006, 4010]);
const NEW_TOKEN_CODE = 4004;
const RATE_LIMITED_CODE = 4008;
// A connection that lasted this long starts the backoff over; one that ends sooner (a server
// that accepts and closes at once, again and again) keeps growing it.
const STABLE_CONNECTION_MS = 10000;
// A publish refused for a reason that passes: kept and sent again with the same key.
const RETRY_PUBLISH = new Set(['unavailable', 'rate_limited']);

export class RelayError extends Error {
  constructor(code, message) {
    super(message || code);
    this.name = 'RelayError';
    this.code = code;
  }
}

/** A reconnect delay in ms: uniform in [min, min(max, min * 2^(attempt+1))] ("full jitter"
 * above a floor), so that clients dropped together do not come back together. */
export function backoffDelay(attempt, min, max, random = Math.random) {
  const ceiling = Math.max(min, Math.min(max, min * 2 ** (attempt + 1)));
  return Math.round(min + random() * (ceiling - min));
}

function newKey() {
  const bytes = globalThis.crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (byte) => byte.toString(16).padStart(2, '0')).join('');
}

export class RelayClient {
  #options;
  #listeners = new Map();
  #state = 'disconnected';
  #session = null; // the current socket and what belongs to it; replaced on every (re)connect
  #nextId = 1;
  #attempt = 0;
  #reconnectTimer = null;
  #wasConnected = false;
  #started = null; // {promise, resolve, reject} of connect() until the first connection
  #token;
  #connection = null; // {user, expires} of the current or last connection
  #subs = new Map(); // channel -> {token, getToken, offset, epoch, waiters, session (where it is active)}
  #outbox = []; // publishes not acknowledged yet, in the order they were made
  #watched = new Set();
  #online = new Map();
  #typing = new Map(); // channel -> {lastStart, timer}

  constructor(url, options = {}) {
    // One URL or a list of them (replicas): each reconnect goes to the next one in turn, so a
    // replica that died is left at the first failure.
    this.urls = [].concat(url);
    this.url = this.urls[0];
    this.#options = { ...DEFAULTS, WebSocket: globalThis.WebSocket, ...options };
    this.#token = this.#options.token;
    if (typeof this.#options.WebSocket !== 'function') {
      throw new TypeError('no WebSocket: pass the constructor as options.WebSocket');
    }
    if (this.#token === undefined && typeof this.#options.getToken !== 'function') {
      throw new TypeError('options.token or options.getToken is required');
    }
  }

  get state() { return this.#state; }
  get user() { return this.#connection?.user ?? null; }
  get subscriptions() { return [...this.#subs.keys()]; }
  get pendingPublishes() { return this.#outbox.length; }

  /** The last position seen in a channel: give it as `since` to subscribe elsewhere. */
  position(channel) {
    const sub = this.#subs.get(channel);
    return sub && sub.epoch !== undefined ? { offset: sub.offset, epoch: sub.epoch } : undefined;
  }

  on(type, listener) {
    if (!this.#listeners.has(type)) this.#listeners.set(type, new Set());
    this.#listeners.get(type).add(listener);
    return () => this.off(type, listener);
  }

  off(type, listener) {
    this.#listeners.get(type)?.delete(listener);
  }

  #emit(type, detail) {
    for (const listener of [...(this.#listeners.get(type) ?? [])]) {
      try {
        listener(detail);
      } catch (error) {
        // A faulty listener must not break the connection's bookkeeping; report it out of band.
        queueMicrotask(() => { throw error; });
      }
    }
  }

  #setState(state, extra = {}) {
    const previous = this.#state;
    this.#state = state;
    this.#emit('state', { state, previous, ...extra });
  }

  // --- Connection lifecycle -------------------------------------------------------------------

  /** Starts connecting; resolves with {user, expires} once connected, rejects if the client
   * stops for good first (a refused token, close()). Transient failures are retried. */
  connect() {
    if (this.#state === 'connected') return Promise.resolve({ ...this.#connection });
    if (!this.#started) {
      let resolve, reject;
      const promise = new Promise((res, rej) => { resolve = res; reject = rej; });
      promise.catch(() => {}); // the caller may ignore it; 'disconnected' says the same
      this.#started = { promise, resolve, reject };
      if (this.#state === 'disconnected') {
        this.#attempt = 0;
        this.#open('connect');
      }
    }
    return this.#started.promise;
  }

  /** Closes for good: pending commands and unacknowledged publishes are rejected. */
  close() {
    clearTimeout(this.#reconnectTimer);
    if (this.#session) this.#end(this.#session, 1000, 'client_close', { stop: true, abandon: true });
    else if (this.#state !== 'disconnected') this.#stop(new RelayError('closed', 'closed by the client'));
    for (const entry of this.#outbox.splice(0)) {
      clearTimeout(entry.retryTimer);
      entry.reject(new RelayError('closed', 'closed by the client'));
    }
    for (const typing of this.#typing.values()) clearTimeout(typing.timer);
    this.#typing.clear();
  }

  /** Drops the current connection (or the wait before the next attempt) and connects again now:
   * for a network change or an app coming back to the foreground. */
  reconnect() {
    clearTimeout(this.#reconnectTimer);
    this.#attempt = 0;
    if (this.#session) this.#end(this.#session, 1006, 'client_reconnect', { delay: 0, abandon: true });
    else if (this.#state === 'reconnecting') this.#open('connect');
  }

  async #open(reason) {
    // ready: authenticated, with the subscriptions and publishes on their way again.
    const session = { ws: null, pending: new Map(), ready: false, lastReceived: 0 };
    this.#session = session;
    this.#setState('connecting', { attempt: this.#attempt });
    let token = this.#token;
    if (this.#options.getToken) {
      try {
        token = this.#token = await this.#options.getToken({ reason });
      } catch (error) {
        if (session !== this.#session) return;
        this.#emit('error', { code: 'token_unavailable', message: String(error?.message ?? error) });
        return this.#end(session, 1006, 'token_unavailable');
      }
      if (session !== this.#session) return;
    }
    let ws;
    try {
      ws = session.ws = new this.#options.WebSocket(this.url, [SUBPROTOCOL]);
    } catch (error) {
      this.#emit('error', { code: 'socket_error', message: String(error?.message ?? error) });
      return this.#end(session, 1006, 'socket_error');
    }
    session.connectTimer = setTimeout(() => this.#end(session, 1006, 'connect_timeout', { abandon: true }),
      this.#options.connectTimeout);
    ws.onopen = () => {
      session.opened = true;
      this.#request(session, { cmd: 'connect', token }, (error, result) => {
        if (!error) return this.#resume(session, result);
        // Relay closes with 4003 after auth_failed; anything else (rate_limited, a timeout) is retried.
        if (error.code === 'auth_failed') session.authError = error;
        this.#end(session, error.code === 'auth_failed' ? 4003 : 1006, error.code, { abandon: true });
      });
    };
    ws.onmessage = (event) => this.#receive(session, event.data);
    ws.onclose = (event) => this.#end(session, event.code, event.reason);
    // Once open, a close event follows any error, with its code. Before, Node 20's WebSocket
    // reports a refused connection with an error alone.
    ws.onerror = () => {
      if (!session.opened) this.#end(session, 1006, 'connect_failed', { abandon: true });
    };
  }

  // Authenticated: subscribe again (with `since`), resend what is unacknowledged, watch again.
  #resume(session, result) {
    clearTimeout(session.connectTimer);
    session.ready = true;
    session.readyAt = Date.now();
    this.#connection = { user: result.user, expires: result.expires };
    for (const [channel, sub] of this.#subs) this.#resubscribe(session, channel, sub);
    for (const entry of this.#outbox) this.#sendPublish(session, entry);
    this.#watch(session, [...this.#watched], { watch: true, resumed: true }).catch(() => {});
    if (this.#options.pingInterval > 0) {
      session.pingTimer = setInterval(() => this.#heartbeat(session), this.#options.pingInterval);
    }
    const reconnected = this.#wasConnected;
    this.#wasConnected = true;
    this.#setState('connected');
    this.#emit('connected', { ...this.#connection, reconnected });
    this.#started?.resolve({ ...this.#connection });
    this.#started = null;
  }

  #heartbeat(session) {
    if (session.pinging) return;
    session.pinging = true;
    this.ping().catch(() => {}).finally(() => { session.pinging = false; });
  }

  // The one place a connection ends: from a close event, a timeout, or the app. `abandon`
  // leaves the socket to die on its own: a dead network may never deliver the close handshake.
  #end(session, code, reason, { abandon = false, stop = false, delay } = {}) {
    if (session !== this.#session) return;
    this.#session = null;
    clearTimeout(session.connectTimer);
    clearTimeout(session.refreshTimer);
    clearInterval(session.pingTimer);
    if (abandon && session.ws) {
      session.ws.onopen = session.ws.onmessage = session.ws.onclose = session.ws.onerror = null;
      try { session.ws.close(1000); } catch { /* closing a socket that never opened */ }
    }
    for (const { done, timer } of session.pending.values()) {
      clearTimeout(timer);
      done(new RelayError('disconnected', `connection closed (${reason || code})`));
    }
    reason = session.serverReason ?? reason;
    const auth = session.authError;
    const ownToken = code === NEW_TOKEN_CODE && !this.#options.getToken;
    const fatal = stop || STOP_CODES.has(code) || ownToken;
    this.#emit('disconnected', { code, reason, reconnect: !fatal });
    if (fatal) {
      const error = auth ?? (stop ? new RelayError('closed', 'closed by the client') : new RelayError(`close_${code}`, reason));
      if (!stop) this.#emit('error', { code: error.code, message: error.message });
      return this.#stop(error);
    }
    if (session.readyAt <= Date.now() - STABLE_CONNECTION_MS) this.#attempt = 0;
    if (delay === undefined) {
      const advice = session.advice;
      const advised = advice ? advice.at + advice.after - Date.now() : 0;
      if (code === RATE_LIMITED_CODE) this.#attempt = Math.max(this.#attempt, 5);
      delay = advised > 0 ? advised : backoffDelay(this.#attempt++, this.#options.minReconnectDelay, this.#options.maxReconnectDelay);
    }
    const tokenReason = code === NEW_TOKEN_CODE ? 'expired' : 'connect';
    this.url = this.urls[(this.urls.indexOf(this.url) + 1) % this.urls.length];
    this.#setState('reconnecting', { delay, attempt: this.#attempt, code, reason });
    this.#reconnectTimer = setTimeout(() => this.#open(tokenReason), delay);
  }

  #stop(error) {
    this.#setState('disconnected', { reason: error.code });
    this.#started?.reject(error);
    this.#started = null;
  }

  // --- Frames ---------------------------------------------------------------------------------

  #receive(session, data) {
    if (session !== this.#session || typeof data !== 'string') return;
    session.lastReceived = Date.now();
    let message;
    try { message = JSON.parse(data); } catch { return; }
    if (message.push) return this.#push(session, message);
    const pending = session.pending.get(message.id);
    if (!pending) return;
    session.pending.delete(message.id);
    clearTimeout(pending.timer);
    pending.done(message.error ? new RelayError(message.error.code, message.error.message) : null, message.result);
  }

  #push(session, message) {
    const { push, channel } = message;
    switch (push) {
      case 'publication': {
        const sub = this.#subs.get(channel);
        if (!sub) return;
        const { offset } = message.pub;
        // A repeat (offset already seen) is dropped: the app sees each publication once.
        if (typeof offset === 'number') {
          if (sub.offset !== undefined && offset <= sub.offset) return;
          sub.offset = offset;
        }
        return this.#emit('publication', { channel, ...message.pub });
      }
      case 'join': case 'leave': case 'typing': {
        const { push: _, ...detail } = message;
        if (this.#subs.has(channel)) this.#emit(push, detail);
        return;
      }
      case 'status':
        if (!this.#watched.has(message.user)) return;
        this.#online.set(message.user, message.online);
        return this.#emit('status', { user: message.user, online: message.online });
      case 'unsubscribed': {
        const sub = this.#subs.get(channel);
        if (!sub) return;
        if (message.reason === 'resubscribe') {
          sub.session = null;
          return this.#resubscribe(session, channel, sub);
        }
        this.#subs.delete(channel);
        this.#flush(session, channel);
        return this.#emit('unsubscribed', { channel, reason: message.reason });
      }
      case 'token_expiring':
        return this.#refreshSoon(session);
      case 'disconnect':
        session.serverReason = message.reason;
        return;
      case 'reconnect':
        session.serverReason = message.reason;
        session.advice = { at: Date.now(), after: message.after };
        return;
    }
  }

  // `done(error, result)` runs as the reply is read, before any frame behind it: the client's
  // bookkeeping (a subscription's position, online status) is never overtaken by a push. Every
  // command gets its `done` once: the reply, a timeout (0: none), or the connection's end.
  #request(session, command, done, timeout = this.#options.commandTimeout) {
    if (!session || session !== this.#session || session.ws?.readyState !== OPEN) {
      return done(new RelayError('disconnected', 'not connected'));
    }
    const id = this.#nextId++;
    const timer = timeout > 0 && setTimeout(() => {
      session.pending.delete(id);
      done(new RelayError('timeout', `no reply to ${command.cmd} within ${timeout} ms`));
    }, timeout);
    session.pending.set(id, { done, timer });
    session.ws.send(JSON.stringify({ id, ...command }));
  }

  #call(session, command) {
    return new Promise((resolve, reject) => {
      this.#request(session, command, (error, result) => (error ? reject(error) : resolve(result)));
    });
  }

  // Commands that need an authenticated connection and are not kept across reconnects.
  #command(command) {
    const session = this.#session;
    if (!session?.ready) return Promise.reject(new RelayError('disconnected', 'not connected'));
    return this.#call(session, command);
  }

  // --- Tokens ---------------------------------------------------------------------------------

  /** Replaces the connection's token now with one from getToken (e.g. after the user's
   * permissions changed). Relay asks for this itself before the token expires. */
  async refresh() {
    const session = this.#session;
    if (!session?.ready) throw new RelayError('disconnected', 'not connected');
    if (!this.#options.getToken) throw new RelayError('no_token_source', 'options.getToken is needed to refresh');
    const token = await this.#options.getToken({ reason: 'refresh' });
    const result = await this.#call(session, { cmd: 'refresh', token });
    this.#token = token;
    if (session === this.#session) this.#connection.expires = result.expires;
    this.#emit('refreshed', { expires: result.expires });
    return result;
  }

  // At most one refresh a second. Relay warns again at once when the new token is inside the
  // warning window too, and a token minted in the same second as the last one has the same `exp`:
  // the next second's token is later, and a getToken handing out short tokens cannot make a loop.
  #refreshSoon(session) {
    if (session.refreshTimer) return;
    const wait = Math.max(0, (session.lastRefresh ?? -Infinity) + 1000 - Date.now());
    session.refreshTimer = setTimeout(() => {
      session.refreshTimer = null;
      session.lastRefresh = Date.now();
      this.refresh().catch((error) => {
        if (session === this.#session) this.#emit('error', { code: error.code ?? 'refresh_failed', message: error.message });
      });
    }, wait);
  }

  // --- Channels -------------------------------------------------------------------------------

  /** Joins a channel and stays in it across reconnects, recovering what was missed. Options:
   * `token` or `getToken({channel})` for a subscription token, `since` {offset, epoch}. */
  subscribe(channel, { token, getToken, since } = {}) {
    if (this.#subs.has(channel)) return Promise.reject(new RelayError('already_subscribed', `already subscribed to ${channel}`));
    return new Promise((resolve, reject) => {
      const sub = { token, getToken, offset: since?.offset, epoch: since?.epoch, waiters: { resolve, reject } };
      this.#subs.set(channel, sub);
      // Not connected yet: the subscribe goes out when the connection is ready.
      if (this.#session?.ready) this.#resubscribe(this.#session, channel, sub);
    });
  }

  async #resubscribe(session, channel, sub) {
    const fetched = await this.#subscriptionToken(channel, sub);
    if (this.#subs.get(channel) !== sub || session !== this.#session) return; // the next resume sends it
    if (fetched === true) this.#sendSubscribe(session, channel, sub);
    else this.#dropSubscription(channel, sub, fetched);
  }

  // true, or the error that getToken gave.
  async #subscriptionToken(channel, sub) {
    if (!sub.getToken) return true;
    try {
      sub.token = await sub.getToken({ channel });
      return true;
    } catch (error) {
      return new RelayError('token_unavailable', String(error?.message ?? error));
    }
  }

  // A subscription that cannot go on: the subscribe() caller learns it, or else the app by events.
  #dropSubscription(channel, sub, error) {
    this.#subs.delete(channel);
    if (this.#session?.ready) this.#flush(this.#session, channel);
    if (sub.waiters) return sub.waiters.reject(error);
    this.#emit('error', { code: error.code, channel, message: error.message });
    this.#emit('unsubscribed', { channel, reason: error.code });
  }

  #sendSubscribe(session, channel, sub) {
    const command = { cmd: 'subscribe', channel };
    if (sub.token) command.token = sub.token;
    const since = sub.epoch !== undefined && sub.offset !== undefined;
    if (since) command.since = { offset: sub.offset, epoch: sub.epoch };
    this.#request(session, command, (error, result) => {
      if (this.#subs.get(channel) !== sub) return;
      if (error) {
        if (error.code !== 'disconnected') this.#dropSubscription(channel, sub, error); // else: sent again on reconnect
        return;
      }
      sub.session = session;
      sub.epoch = result.epoch;
      // Recovered: the missed publications follow this reply and move the offset themselves.
      if (!result.recovered) sub.offset = result.offset;
      const detail = { channel, offset: result.offset, epoch: result.epoch, recovered: since ? result.recovered : undefined };
      this.#emit('subscribed', detail);
      if (since && !result.recovered) this.#emit('gap', { channel, offset: result.offset, epoch: result.epoch });
      sub.waiters?.resolve(detail);
      sub.waiters = null;
      this.#flush(session, channel);
    });
  }

  async unsubscribe(channel) {
    const sub = this.#subs.get(channel);
    if (!sub) return;
    this.#subs.delete(channel);
    sub.waiters?.reject(new RelayError('unsubscribed', `unsubscribed from ${channel}`));
    if (!this.#session?.ready) return;
    await this.#command({ cmd: 'unsubscribe', channel }).catch(() => {});
    this.#flush(this.#session, channel);
  }

  /** Publishes with an idempotency key (generated unless given) and resolves with
   * {offset, epoch, key} on the server's ack. While disconnected it waits in a queue; after a
   * reconnect an unacknowledged publish is sent again with the same key, so it is published once. */
  publish(channel, data, { key = newKey() } = {}) {
    return new Promise((resolve, reject) => {
      const entry = { channel, data, key, resolve, reject, sent: false, attempt: 0, retryTimer: null };
      this.#outbox.push(entry);
      if (this.#session?.ready) this.#sendPublish(this.#session, entry);
    });
  }

  // Relay refuses a publish that arrives before the reply to the channel's subscribe (commands
  // do not wait for one another), so a publish waits for that reply.
  #sendPublish(session, entry) {
    const sub = this.#subs.get(entry.channel);
    if (entry.sent || entry.retryTimer || (sub && sub.session !== session)) return;
    entry.sent = true;
    const command = { cmd: 'publish', channel: entry.channel, data: entry.data, key: entry.key };
    this.#request(session, command, (error, result) => {
      entry.sent = false;
      if (!this.#outbox.includes(entry)) return; // close() rejected it
      if (!error) {
        this.#outbox.splice(this.#outbox.indexOf(entry), 1);
        return entry.resolve({ ...result, key: entry.key });
      }
      if (error.code === 'disconnected') return; // sent again on reconnect
      if (RETRY_PUBLISH.has(error.code)) {
        const delay = backoffDelay(entry.attempt++, this.#options.minReconnectDelay, this.#options.maxReconnectDelay);
        entry.retryTimer = setTimeout(() => {
          entry.retryTimer = null;
          if (this.#session?.ready) this.#sendPublish(this.#session, entry);
        }, delay);
        return;
      }
      this.#outbox.splice(this.#outbox.indexOf(entry), 1);
      entry.reject(error);
    }, 0);
  }

  #flush(session, channel) {
    if (!session) return;
    for (const entry of this.#outbox) if (entry.channel === channel) this.#sendPublish(session, entry);
  }

  history(channel, { limit, before } = {}) {
    return this.#command({ cmd: 'history', channel, limit, before });
  }

  async presence(channel) {
    return (await this.#command({ cmd: 'presence', channel })).users;
  }

  // --- Online status --------------------------------------------------------------------------

  /** Which users are online: {user: boolean}. With `watch`, 'status' events follow for them,
   * across reconnects too. */
  async online(users, { watch = false } = {}) {
    if (watch) users.forEach((user) => this.#watched.add(user));
    const session = this.#session;
    if (!session?.ready) throw new RelayError('disconnected', 'not connected');
    return this.#watch(session, users, { watch, resumed: false });
  }

  /** Stops 'status' events for these users (Relay keeps sending until the next reconnect:
   * they are filtered out here). */
  unwatch(users) {
    for (const user of users) {
      this.#watched.delete(user);
      this.#online.delete(user);
    }
  }

  // Asks in chunks of maxOnlineUsers (the server's limit). After a reconnect (`resumed`) every
  // watched user whose status is new or changed while away gets a 'status' event, as a live
  // transition would have given.
  #watch(session, users, { watch, resumed }) {
    const chunks = [];
    for (let start = 0; start < users.length; start += this.#options.maxOnlineUsers) {
      chunks.push(users.slice(start, start + this.#options.maxOnlineUsers));
    }
    return Promise.all(chunks.map((chunk) => new Promise((resolve, reject) => {
      this.#request(session, { cmd: 'online', users: chunk, watch }, (error, result) => {
        if (error) {
          if (resumed && error.code !== 'disconnected') this.#emit('error', { code: error.code, message: error.message });
          return reject(error);
        }
        for (const [user, online] of Object.entries(result.users)) {
          if (!this.#watched.has(user)) continue;
          const known = this.#online.get(user);
          this.#online.set(user, online);
          if (known !== online && (resumed || known !== undefined)) this.#emit('status', { user, online });
        }
        resolve(result.users);
      });
    }))).then((answers) => Object.assign({}, ...answers));
  }

  // --- Typing ---------------------------------------------------------------------------------

  /** Call on every keystroke: sends "start" at most once per typingInterval, and "stop" after
   * typingTimeout without a call. Nothing is sent while disconnected: typing is ephemeral. */
  typing(channel) {
    const typing = this.#typing.get(channel) ?? { lastStart: 0, timer: null };
    this.#typing.set(channel, typing);
    const now = Date.now();
    if (now - typing.lastStart >= this.#options.typingInterval && this.#sendTyping(channel, 'start')) {
      typing.lastStart = now;
    }
    clearTimeout(typing.timer);
    typing.timer = setTimeout(() => this.stopTyping(channel), this.#options.typingTimeout);
  }

  /** Sends "stop" now (e.g. when the message is sent) if "start" was. */
  stopTyping(channel) {
    const typing = this.#typing.get(channel);
    if (!typing) return;
    clearTimeout(typing.timer);
    this.#typing.delete(channel);
    this.#sendTyping(channel, 'stop');
  }

  #sendTyping(channel, state) {
    if (!this.#session?.ready) return false;
    this.#command({ cmd: 'typing', channel, state }).catch((error) => {
      if (error.code !== 'disconnected') this.#emit('error', { code: error.code, channel, message: error.message });
    });
    return true;
  }

  /** Round trip in ms of an application-level ping. A reply or any other frame proves the
   * connection alive; nothing within pingTimeout means it is dead (a network gone without a
   * FIN, which no close event would ever report): it is dropped, and the client reconnects. */
  ping() {
    const session = this.#session;
    if (!session?.ready) return Promise.reject(new RelayError('disconnected', 'not connected'));
    const sentAt = Date.now();
    return new Promise((resolve, reject) => this.#request(session, { cmd: 'ping' }, (error) => {
      if (!error) return resolve(Date.now() - sentAt);
      if (error.code === 'timeout' && session.lastReceived < sentAt) this.#end(session, 1006, 'ping_timeout', { abandon: true });
      reject(error);
    }, this.#options.pingTimeout));
  }
}
