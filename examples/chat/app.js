// The demo page: a student and a tutor chat in one conversation, beside a board of tutors'
// availability that the main API publishes. relay-client.js does the protocol (reconnects,
// recovery, typing throttles, online watches); this file only draws. README.md beside it lists
// the query parameters and the shapes of the publications.
import { RelayClient } from '/clients/js/relay-client.js';

const BOARD = 'availability:tutors';
const HISTORY_LIMIT = 50;
// A "start" is repeated every few seconds while someone types; past this without one (their
// "stop" may be lost with their connection), the indicator goes.
const TYPING_SHOWN_MS = 6000;

// The pair `make run` offers; any other user works with name, role and peer given.
const PEOPLE = {
  alice: { name: 'Alice', role: 'student', peer: 'tutor-bob' },
  'tutor-bob': { name: 'Bob', role: 'tutor', peer: 'alice' },
};

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
const user = params.get('user');

if (user) start(); else showPicker();

function showPicker() {
  for (const [id, who] of [['open-student', 'alice'], ['open-tutor', 'tutor-bob']]) {
    const query = new URLSearchParams(params);
    query.set('user', who);
    $(id).href = `?${query}`;
  }
  $('picker').hidden = false;
}

function start() {
  const known = PEOPLE[user] ?? {};
  const name = params.get('name') ?? known.name ?? user;
  const role = params.get('role') ?? known.role ?? 'student';
  const peer = params.get('peer') ?? known.peer ?? (role === 'tutor' ? 'alice' : 'tutor-bob');
  const channel = `conversation:${params.get('conversation') ?? '42'}`;
  // Several URLs (replicas) are tried in turn when one fails; the default is `make run`'s.
  const urls = (params.get('ws') ?? `ws://${location.hostname}:8080/ws`).split(',');

  const names = new Map([[user, name], [peer, PEOPLE[peer]?.name ?? peer]]);
  const nameOf = (id) => names.get(id) ?? id;

  // Tokens come from the development endpoint on this page's origin; the main API would sign them
  // in production. The channels claim is what lets this user into the conversation.
  async function getToken() {
    const query = new URLSearchParams({ user, name, role, channels: channel });
    const response = await fetch(`/dev/token?${query}`);
    if (!response.ok) throw new Error(`/dev/token answered ${response.status}`);
    return (await response.json()).token;
  }

  const client = new RelayClient(urls, { getToken });
  document.title = `${name} (${role}) · Relay demo`;
  $('me').textContent = `You: ${name} (${role})`;
  $('app').hidden = false;

  const connection = showConnection(client);
  const chat = conversation(client, { channel, user, peer, nameOf, names });
  const board = availabilityBoard(client);

  client.on('publication', (pub) => {
    if (pub.channel === channel) chat.add(pub);
    else if (pub.channel === BOARD) board.apply(pub);
  });
  client.on('connected', () => connection.connected());
  // A page left for another may stay in the back/forward cache with its socket open: close it,
  // so that the others see this user leave now; coming back from that cache starts afresh.
  window.addEventListener('pagehide', () => client.close());
  window.addEventListener('pageshow', (event) => { if (event.persisted) location.reload(); });

  // Subscribes wait inside the client until the connection is ready; `online` cannot.
  chat.subscribe();
  board.subscribe();
  client.connect().then(
    () => client.online([peer], { watch: true }).then((status) => chat.online(status[peer]),
      // Dropped before the answer: the client watches again on reconnect and reports by 'status'.
      () => {}),
    (error) => connection.failed(error));
}

// The connection badge: connected (and to which server), reconnecting with a countdown, offline.
function showConnection(client) {
  const badge = $('connection');
  const text = $('connection-text');
  let countdown = null;

  function show(state, label) {
    clearInterval(countdown);
    badge.dataset.state = state;
    document.body.dataset.connection = state;
    text.textContent = label;
  }

  client.on('state', ({ state, delay }) => {
    if (state === 'connecting') show('connecting', 'connecting…');
    else if (state === 'disconnected') show('offline', 'offline');
    else if (state === 'reconnecting') {
      const until = Date.now() + delay;
      const tick = () => {
        const seconds = Math.max(0, Math.ceil((until - Date.now()) / 1000));
        text.textContent = navigator.onLine ? `reconnecting in ${seconds} s` : 'offline: waiting for the network';
      };
      show('reconnecting', '');
      tick();
      countdown = setInterval(tick, 250);
    }
  });
  // Back on the network: no reason to sit out the rest of the backoff.
  window.addEventListener('online', () => client.reconnect());

  return {
    connected() {
      show('connected', 'connected');
      $('server').textContent = `via ${client.url}`;
      $('server').dataset.url = client.url;
    },
    failed(error) {
      show('offline', `offline: ${error.message}`);
    },
  };
}

function conversation(client, { channel, user, peer, nameOf, names }) {
  const list = $('messages');
  const shown = new Map(); // offset -> element: history, live and recovered copies meet here
  const pending = new Map(); // message id -> element, until its publication comes back
  const present = new Set();
  let epoch = null;
  let typingUser = null; // who the indicator shows, until their stop, message or leave
  let typingTimer = null;

  function element(pub) {
    const mine = pub.user === user;
    const item = document.createElement('li');
    item.dataset.testid = 'message';
    item.className = `message ${pub.user === undefined ? 'api' : mine ? 'mine' : 'theirs'}`;
    if (pub.user !== undefined) item.dataset.user = pub.user;
    const who = document.createElement('span');
    who.className = 'who';
    who.textContent = pub.user === undefined ? 'Tutoring team' : mine ? 'You' : nameOf(pub.user);
    const text = document.createElement('span');
    text.className = 'text';
    text.dataset.testid = 'message-text';
    text.textContent = typeof pub.data?.text === 'string' ? pub.data.text : JSON.stringify(pub.data);
    item.append(who, text);
    return item;
  }

  // A publication goes before the first one with a higher offset (history may answer after live
  // publications came); anything else (events without an offset, notes, pending messages) last.
  function place(item, offset) {
    const next = offset === undefined ? null
      : [...list.children].find((other) => Number(other.dataset.offset) > offset);
    list.insertBefore(item, next ?? null);
    list.scrollTop = list.scrollHeight;
  }

  function add(pub) {
    if (pub.offset !== undefined && shown.has(pub.offset)) return;
    const item = element(pub);
    pending.get(pub.data?.id)?.remove();
    pending.delete(pub.data?.id);
    if (pub.offset !== undefined) {
      item.dataset.offset = pub.offset;
      item.title = `offset ${pub.offset}`;
      shown.set(pub.offset, item);
    }
    place(item, pub.offset);
    if (pub.user === typingUser) hideTyping();
  }

  function note(text) {
    const item = document.createElement('li');
    item.className = 'note';
    item.textContent = text;
    place(item);
  }

  async function loadHistory() {
    const { publications } = await client.history(channel, { limit: HISTORY_LIMIT });
    publications.forEach(add);
  }

  // Sent but not yet published (offline, or waiting for the reply): shown greyed; the client
  // resends it after a reconnect with the same key, so it is published once.
  function send(text) {
    const id = `${user}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
    const item = element({ user, data: { text } });
    item.classList.add('pending');
    pending.set(id, item);
    place(item);
    client.stopTyping(channel);
    client.publish(channel, { text, id }, { key: id }).catch((error) => {
      item.classList.replace('pending', 'failed');
      item.title = `not sent: ${error.code}`;
    });
  }

  const input = $('message-input');
  $('composer').addEventListener('submit', (event) => {
    event.preventDefault();
    const text = input.value.trim();
    input.value = '';
    if (text) send(text);
  });
  input.addEventListener('input', () => { if (input.value) client.typing(channel); });

  function hideTyping() {
    clearTimeout(typingTimer);
    typingUser = null;
    $('typing').hidden = true;
  }
  client.on('state', ({ state }) => { if (state !== 'connected') hideTyping(); });
  client.on('typing', (event) => {
    if (event.channel !== channel || event.user === user) return;
    if (event.state === 'stop') return hideTyping();
    typingUser = event.user;
    $('typing').textContent = `${nameOf(event.user)} is typing…`;
    $('typing').hidden = false;
    clearTimeout(typingTimer);
    typingTimer = setTimeout(hideTyping, TYPING_SHOWN_MS);
  });

  // Presence: the two parties always listed, a dot lit for whoever has the conversation open.
  // Names come from the tokens' info, which presence and joins carry.
  function drawPresence() {
    $('peer-name').textContent = nameOf(peer);
    for (const who of list.querySelectorAll('.theirs .who')) who.textContent = nameOf(who.parentElement.dataset.user);
    const users = [...new Set([user, peer, ...present])];
    $('presence').replaceChildren(...users.map((id) => {
      const item = document.createElement('li');
      item.dataset.user = id;
      item.dataset.present = present.has(id);
      item.innerHTML = '<span class="dot"></span>';
      item.append(id === user ? `${nameOf(id)} (you)` : nameOf(id));
      return item;
    }));
  }
  function remember(id, info) {
    if (info?.name) names.set(id, info.name);
  }
  client.on('join', (event) => {
    if (event.channel !== channel) return;
    remember(event.user, event.info);
    present.add(event.user);
    drawPresence();
  });
  client.on('leave', (event) => {
    if (event.channel !== channel) return;
    present.delete(event.user);
    drawPresence();
    if (event.user === typingUser) hideTyping();
  });
  drawPresence();

  // Every (re)subscribe: presence afresh (joins and leaves were missed while away); a gap in the
  // publications (history lost, or too old) means reloading what history still has.
  client.on('subscribed', async (event) => {
    if (event.channel !== channel) return;
    if (event.recovered) note('reconnected: caught up with what was missed');
    const users = await client.presence(channel).catch(() => null);
    if (users) {
      present.clear();
      for (const entry of users) {
        remember(entry.user, entry.info);
        present.add(entry.user);
      }
      drawPresence();
    }
  });
  client.on('gap', async (event) => {
    if (event.channel !== channel) return;
    if (event.epoch !== epoch) {
      // A new epoch numbers its publications afresh: the old offsets mean nothing any more.
      epoch = event.epoch;
      shown.clear();
      list.replaceChildren(...pending.values());
    }
    note('reconnected: some messages may be missing, reloaded the latest');
    await loadHistory().catch(() => {});
  });

  // Online: whether the other party is connected at all (any tab, device or page).
  client.on('status', (event) => { if (event.user === peer) online(event.online); });
  function online(isOnline) {
    const badge = $('peer-online');
    badge.dataset.online = isOnline;
    badge.textContent = isOnline ? 'online' : 'offline';
  }

  return {
    add,
    online,
    async subscribe() {
      try {
        ({ epoch } = await client.subscribe(channel));
        await loadHistory();
      } catch (error) {
        note(`cannot join the conversation: ${error.code ?? error.message}`);
      }
    },
  };
}

// The board: the latest publication of each tutor wins. History (kept 10 minutes in the dev
// config) fills it on load; a real app would fetch the current state from its API instead.
function availabilityBoard(client) {
  const tutors = new Map(); // tutor id -> {name, subject, available, offset}

  function draw(changed) {
    const rows = [...tutors.entries()].sort(([, a], [, b]) => (a.name ?? '').localeCompare(b.name ?? ''));
    $('board').replaceChildren(...rows.map(([id, tutor]) => {
      const row = document.createElement('tr');
      row.dataset.tutor = id;
      row.dataset.available = tutor.available === true;
      if (id === changed) row.className = 'changed';
      for (const [field, text] of [['name', tutor.name ?? id], ['subject', tutor.subject ?? ''],
        ['status', tutor.available ? 'available' : 'busy']]) {
        const cell = document.createElement('td');
        cell.className = field;
        cell.dataset.testid = `tutor-${field}`;
        cell.textContent = text;
        row.append(cell);
      }
      return row;
    }));
    $('board-empty').hidden = tutors.size > 0;
  }

  // A change may name only some fields ({"tutor": "t1", "available": false}): they are merged into
  // the row. One older than what is shown (history answering after a live change) only fills in
  // what the newer ones did not set.
  function apply(pub, { redraw = true } = {}) {
    if (typeof pub.data?.tutor !== 'string') return;
    const { tutor, ...fields } = pub.data;
    const known = tutors.get(tutor) ?? {};
    const older = pub.offset !== undefined && pub.offset <= known.offset;
    tutors.set(tutor, older ? { ...fields, ...known } : { ...known, ...fields, offset: pub.offset ?? known.offset });
    if (redraw) draw(tutor);
  }

  async function load() {
    const { publications } = await client.history(BOARD, { limit: HISTORY_LIMIT });
    publications.forEach((pub) => apply(pub, { redraw: false }));
    draw(null);
  }

  client.on('gap', (event) => {
    if (event.channel !== BOARD) return;
    tutors.clear();
    load().catch(() => {});
  });

  return {
    apply,
    async subscribe() {
      await client.subscribe(BOARD).catch(() => {});
      await load().catch(() => {});
    },
  };
}
