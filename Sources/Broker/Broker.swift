import Buffers
import Reactor

/// A broker factory: one per process, one broker per loop. Engines: `MemoryEngine` (one node)
/// and `RedisEngine` (replicas sharing a Redis).
public protocol Engine: Sendable {
    /// Called on each loop during set-up.
    func makeBroker(on loop: EventLoop) -> Broker
    /// Called once every loop ran set-up and before any accepts.
    func activate(_ handles: [LoopHandle])
}

/// The seam between the gateway and the engines (in-memory, Redis). One instance per loop,
/// called on that loop; every completion runs on that loop too. Engines own channel streams
/// (offsets, epochs, history), presence and idempotency, and deliver to each loop the frames it
/// must fan out to its local subscribers through the `BrokerDelegate`.
public protocol Broker: AnyObject {
    var delegate: BrokerDelegate? { get set }

    /// Registers this loop's interest in a channel (idempotent per channel) and returns the
    /// stream position; with `since`, also the publications after it, in order, or
    /// `recovered == false` when they are gone. Every live publication after the reply is
    /// delivered to `BrokerDelegate.deliver` after the completion runs.
    func subscribe(_ request: SubscribeRequest, completion: @escaping (Result<SubscribeResult, BrokerError>) -> Void)

    /// Removes a subscriber (its presence, if it had any); `lastOnLoop` ends this loop's interest.
    func unsubscribe(channel: String, member: PresenceMember?, lastOnLoop: Bool, options: ChannelOptions)

    func publish(_ request: PublishRequest, completion: @escaping (Result<PublishResult, BrokerError>) -> Void)

    /// An ephemeral frame to the channel's subscribers on every loop but its sender, never
    /// stored (typing). With a throttle, it is sent only if no frame under the same key went to
    /// this channel within the throttle's interval, across every loop (and every replica with a
    /// shared engine); the completion says whether it was sent.
    func broadcast(channel: String, frame: SharedBytes, sender: UInt64, throttle: Throttle?,
                   completion: @escaping (Result<Bool, BrokerError>) -> Void)

    func history(channel: String, limit: Int, before: UInt64?, completion: @escaping (Result<HistoryResult, BrokerError>) -> Void)

    /// The channel's present users; `options` are its namespace's (whether leaves of members
    /// found expired are announced).
    func presence(channel: String, options: ChannelOptions, completion: @escaping (Result<[PresenceEntry], BrokerError>) -> Void)

    /// A connection of `user` authenticated (on any loop); its first makes the user online. The
    /// completion gets the user's number of connections, this one included.
    func userConnected(_ user: String, connection: UInt64, completion: @escaping (Result<Int, BrokerError>) -> Void)
    /// An authenticated connection of `user` closed, for `cause`; its last makes the user offline.
    func userDisconnected(_ user: String, connection: UInt64, cause: DisconnectCause)

    /// Which of `users` have at least one connection. With `watch`, this loop is also told every
    /// later transition of theirs (`BrokerDelegate.statusChanged`), starting right after the
    /// answer: none is missed between the two.
    func online(users: [String], watch: Bool, completion: @escaping (Result<[String: Bool], BrokerError>) -> Void)

    /// This loop no longer needs the transitions of `users`.
    func unwatch(users: [String])

    /// Up to `limit` inbox entries, oldest first, that no other reader holds; they are leased to
    /// this reader for `lease` seconds, then offered again unless acknowledged.
    func readInbox(limit: Int, lease: Double, completion: @escaping (Result<[InboxEntry], BrokerError>) -> Void)

    /// Removes inbox entries by id; the completion gets how many were still there.
    func acknowledgeInbox(ids: [String], completion: @escaping (Result<Int, BrokerError>) -> Void)

    /// Sends a command to every loop of every node (`BrokerDelegate.control`), this one included.
    func sendControl(_ command: ControlCommand, completion: @escaping (Result<Void, BrokerError>) -> Void)

    /// Whether the engine can serve requests now (for `/ready`).
    var isHealthy: Bool { get }
}

/// What the server API asks of every node: acted on by each loop for its own connections.
public enum ControlCommand: Sendable, Equatable {
    /// Every connection of the user is closed: with a `disconnect` push and 4006, or with
    /// `reconnectAfter` (milliseconds), a `reconnect` push and 1012.
    case disconnect(user: String, reason: String, reconnectAfter: Int?)
    /// The user's connections leave the channel (an `unsubscribed` push).
    case unsubscribe(user: String, channel: String)
}

/// The loop's side of the broker: frames to fan out to local subscribers.
public protocol BrokerDelegate: AnyObject {
    /// `ephemeral` is set for frames that are not stored (typing): they skip their sender and
    /// are the first thing a backed-up connection goes without. `acceptedAt` is when the engine
    /// accepted the frame (monotonic nanoseconds on this host: a publish on this node, or its
    /// arrival from a shared engine), for the fan-out latency.
    func deliver(channel: String, frame: SharedBytes, ephemeral: Ephemeral?, acceptedAt: UInt64)
    /// A watched user went online or offline: one transition per user, however many connections.
    func statusChanged(user: String, frame: SharedBytes)
    /// A server API command, from this node or another.
    func control(_ command: ControlCommand)
    /// The engine lost the channel's live stream for a while (a shared engine that was away) and
    /// cannot fill the gap from history: the local subscribers must subscribe again with their
    /// position, and learn from the reply whether they recovered.
    func streamLost(channel: String)
}

public struct Ephemeral: Sendable {
    /// The connection that sent it, which does not get it back (0: none, for presence changes).
    public let sender: UInt64

    public init(sender: UInt64) { self.sender = sender }

    /// A presence change (join, leave): droppable, like typing, but sent to everyone.
    public static let presence = Ephemeral(sender: 0)
}

/// Limits how often frames under one key reach a channel (a user's typing indicator).
public struct Throttle: Sendable {
    public let key: String
    /// Seconds; 0 always passes and lets the next frame under the key through at once.
    public let interval: Double

    public init(key: String, interval: Double) {
        self.key = key
        self.interval = interval
    }
}

public struct SubscribeRequest: Sendable {
    public let channel: String
    public let since: StreamPosition?
    /// Set when the namespace tracks presence.
    public let member: PresenceMember?
    public let options: ChannelOptions

    public init(channel: String, since: StreamPosition?, member: PresenceMember?, options: ChannelOptions) {
        self.channel = channel
        self.since = since
        self.member = member
        self.options = options
    }
}

public struct SubscribeResult: Sendable {
    public let position: StreamPosition
    /// Whether `since` could be honoured; the missed publications are in `publications`.
    public let recovered: Bool
    public let publications: [Publication]

    public init(position: StreamPosition, recovered: Bool, publications: [Publication]) {
        self.position = position
        self.recovered = recovered
        self.publications = publications
    }
}

public struct PublishResult: Sendable, Equatable {
    public let offset: UInt64
    public let epoch: String
    /// True when an idempotency key matched: nothing was published this time.
    public let duplicate: Bool

    public init(offset: UInt64, epoch: String, duplicate: Bool) {
        self.offset = offset
        self.epoch = epoch
        self.duplicate = duplicate
    }
}

public struct HistoryResult: Sendable {
    public let position: StreamPosition
    public let publications: [Publication]

    public init(position: StreamPosition, publications: [Publication]) {
        self.position = position
        self.publications = publications
    }
}

/// A connection present in a channel: the user, the connection, the public info from its token.
public struct PresenceMember: Sendable, Hashable {
    public let user: String
    public let connection: UInt64
    /// Compact JSON from the token's `info` claim, if any.
    public let info: String?

    public init(user: String, connection: UInt64, info: String?) {
        self.user = user
        self.connection = connection
        self.info = info
    }
}

/// A user present in a channel, however many connections they have there.
public struct PresenceEntry: Sendable, Equatable {
    public let user: String
    public let connections: Int
    public let info: String?

    public init(user: String, connections: Int, info: String?) {
        self.user = user
        self.connections = connections
        self.info = info
    }
}

public enum BrokerError: Error, Sendable, Equatable {
    /// The engine cannot serve the request now (e.g. Redis unreachable).
    case unavailable
    /// The inbox is full: the main API is not acknowledging what it reads. Retry later.
    case inboxFull
}
