import Broker
import Logging
import Reactor
import Redis

/// The engine for replicas: every loop of every node keeps two connections to Redis (commands,
/// pipelined; pub/sub), subscribes only to the channels it has subscribers for, and shares
/// streams, history, presence, online status and the inbox with the other nodes through the
/// functions of `RelayFunctions`.
public final class RedisEngine: Engine {
    public struct Settings: Sendable, Equatable {
        public var endpoint: RedisEndpoint
        /// Seconds a presence or connection entry lives unless its node refreshes it (a third of
        /// this): how long a replica killed with -9 stays present.
        public var presenceTTL = 30.0
        /// Seconds a loop stays subscribed to a channel after its last subscriber left.
        public var linger = 2.0
        /// The inbox stream's bound in entries (publishes are refused past it).
        public var inboxMaxEntries = 100_000
        /// The events stream's approximate bound in entries (0: no events stream).
        public var eventsMaxEntries = 100_000
        /// A Redis Cluster: `endpoint` is one of its nodes, the others are found from it.
        public var cluster = false
        public var connectTimeout = 2.0
        public var replyTimeout = 5.0

        public init(endpoint: RedisEndpoint) { self.endpoint = endpoint }

        var connection: RedisConnection.Settings {
            var settings = RedisConnection.Settings()
            settings.connectTimeout = connectTimeout
            settings.replyTimeout = replyTimeout
            return settings
        }
    }

    public let settings: Settings
    let encoder: PushEncoding
    /// This process among the replicas: presence members are `<node>/<connection>`.
    let node: String

    public init(settings: Settings, encoder: PushEncoding) {
        self.settings = settings
        self.encoder = encoder
        node = String(UInt64.random(in: 1...UInt64.max), radix: 36)
    }

    public func makeBroker(on loop: EventLoop) -> Broker {
        let broker = RedisBroker(engine: self, loop: loop)
        broker.start()
        return broker
    }

    public func activate(_ handles: [LoopHandle]) {}
}
