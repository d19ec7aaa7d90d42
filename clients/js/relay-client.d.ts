// Type declarations for relay-client.js (Relay's protocol relay.v1, docs/PROTOCOL.md).

export const SUBPROTOCOL: 'relay.v1';

/** Anything that constructs a browser-compatible WebSocket (the global one, Node's, `ws`). */
export interface WebSocketLike {
  readonly readyState: number;
  onopen: ((event: unknown) => void) | null;
  onmessage: ((event: { data: unknown }) => void) | null;
  onclose: ((event: { code: number; reason: string }) => void) | null;
  onerror: ((event: unknown) => void) | null;
  send(data: string): void;
  close(code?: number, reason?: string): void;
}
export type WebSocketConstructor = new (url: string, protocols: string[]) => WebSocketLike;

/** Why getToken is called: a (re)connect, a reconnect after close 4004, or a refresh. */
export type TokenReason = 'connect' | 'expired' | 'refresh';

export interface RelayClientOptions {
  /** A connection token (JWT). Used as is for every connect when there is no getToken. */
  token?: string;
  /** Fetches a fresh connection token: called before every (re)connect and for every refresh. */
  getToken?: (context: { reason: TokenReason }) => string | Promise<string>;
  /** Default: globalThis.WebSocket. */
  WebSocket?: WebSocketConstructor;
  /** ms; the first reconnect waits between this and twice this. Default 500. */
  minReconnectDelay?: number;
  /** ms; the most a reconnect waits. Default 30000. */
  maxReconnectDelay?: number;
  /** ms from opening the socket to the connect reply. Default 10000. */
  connectTimeout?: number;
  /** ms to wait for the reply to a command (not publish). Default 10000. */
  commandTimeout?: number;
  /** ms between application-level pings; 0 turns them off. Default 25000. */
  pingInterval?: number;
  /** ms without any frame after a ping before the connection counts as dead. Default 10000. */
  pingTimeout?: number;
  /** ms: typing() sends "start" at most this often. Default 3000. */
  typingInterval?: number;
  /** ms without a typing() call after which "stop" is sent. Default 4000. */
  typingTimeout?: number;
  /** Users per `online` command (the server's gateway.max_online_users). Default 100. */
  maxOnlineUsers?: number;
}

export type ConnectionState = 'disconnected' | 'connecting' | 'connected' | 'reconnecting';

export interface Position {
  offset: number;
  epoch: string;
}

export interface Publication {
  channel: string;
  /** Absent for an event the main API published straight into Redis (not recoverable). */
  offset?: number;
  /** Absent for publications from the server API. */
  user?: string;
  data: unknown;
}

export interface Subscribed extends Position {
  channel: string;
  /** Only when `since` was sent (a resubscription): true = nothing was missed, false = a gap. */
  recovered?: boolean;
}

export interface PresenceEntry {
  user: string;
  connections: number;
  info?: unknown;
}

export interface PublishResult extends Position {
  key: string;
}

export interface HistoryPage extends Position {
  publications: Array<{ offset?: number; user?: string; data: unknown }>;
}

export interface RelayClientEvents {
  state: { state: ConnectionState; previous: ConnectionState; attempt?: number; delay?: number; code?: number; reason?: string };
  connected: { user: string; expires: number; reconnected: boolean };
  /** `reconnect` false: the client stopped; only connect() starts it again. */
  disconnected: { code: number; reason: string; reconnect: boolean };
  subscribed: Subscribed;
  /** A resubscription could not recover what was missed: refetch it from the main API. */
  gap: Subscribed;
  /** The subscription ended from the server's side or could not be renewed (reason: Relay's, or an error code). */
  unsubscribed: { channel: string; reason: string };
  publication: Publication;
  join: { channel: string; user: string; info?: unknown };
  leave: { channel: string; user: string };
  typing: { channel: string; user: string; state: 'start' | 'stop' };
  status: { user: string; online: boolean };
  refreshed: { expires: number };
  error: { code: string; message: string; channel?: string };
}

export class RelayError extends Error {
  constructor(code: string, message?: string);
  /** A relay.v1 error code (auth_failed, permission_denied, ...) or one of the client's:
   * disconnected, timeout, closed, unsubscribed, token_unavailable, no_token_source, close_<code>. */
  readonly code: string;
}

/** Reconnect delay in ms: uniform in [min, min(max, min * 2^(attempt+1))]. */
export function backoffDelay(attempt: number, min: number, max: number, random?: () => number): number;

export class RelayClient {
  /** One URL, or a list (replicas) that each reconnect goes through in turn. */
  constructor(url: string | string[], options: RelayClientOptions);
  readonly urls: string[];
  /** The URL of the current (or next) connection. */
  readonly url: string;
  readonly state: ConnectionState;
  /** The user of the current or last connection. */
  readonly user: string | null;
  readonly subscriptions: string[];
  /** Publishes not acknowledged yet. */
  readonly pendingPublishes: number;

  /** Resolves once connected; rejects if the client stops for good first. */
  connect(): Promise<{ user: string; expires: number }>;
  /** Stops for good: pending commands and unacknowledged publishes are rejected (code "closed"). */
  close(): void;
  /** Drops the connection (or the wait before the next attempt) and connects again now. */
  reconnect(): void;
  /** Refreshes the connection's token now with one from getToken. */
  refresh(): Promise<{ expires: number }>;

  subscribe(channel: string, options?: {
    token?: string;
    getToken?: (context: { channel: string }) => string | Promise<string>;
    since?: Position;
  }): Promise<Subscribed>;
  unsubscribe(channel: string): Promise<void>;
  /** The last position seen in a channel. */
  position(channel: string): Position | undefined;

  publish(channel: string, data: unknown, options?: { key?: string }): Promise<PublishResult>;
  history(channel: string, options?: { limit?: number; before?: number }): Promise<HistoryPage>;
  presence(channel: string): Promise<PresenceEntry[]>;
  online(users: string[], options?: { watch?: boolean }): Promise<Record<string, boolean>>;
  unwatch(users: string[]): void;
  /** Call on every keystroke. */
  typing(channel: string): void;
  stopTyping(channel: string): void;
  /** Round trip in ms. */
  ping(): Promise<number>;

  /** Returns a function that removes the listener. */
  on<K extends keyof RelayClientEvents>(type: K, listener: (detail: RelayClientEvents[K]) => void): () => void;
  off<K extends keyof RelayClientEvents>(type: K, listener: (detail: RelayClientEvents[K]) => void): void;
}
