import Broker
import RelayServer

/// What a namespace allows and keeps. A channel is `namespace:name`; its namespace decides who may
/// subscribe and publish and what the broker stores for it.
public struct NamespacePolicy: Sendable, Equatable {
    /// Ways a connection may be allowed into a channel; any one listed suffices.
    public enum SubscribeRule: String, Sendable, CaseIterable {
        /// Only `user:<sub>`: a user's own channel.
        case own
        /// With a subscription token for this channel and user, signed by the API.
        case token
        /// When the channel, or a prefix pattern `ns:prefix*`, is in the token's `channels` claim.
        case claim
        /// Any authenticated connection.
        case authenticated
        /// Anyone (still after connect).
        case `public`
    }

    public enum PublishRule: String, Sendable {
        /// Only the server API publishes; clients get permission_denied.
        case server
        /// Any subscriber of the channel may publish.
        case subscribers
    }

    public var subscribe: Set<SubscribeRule> = [.authenticated]
    public var publish: PublishRule = .server
    public var historySize = 0
    public var historyTTL = 0.0
    public var presence = false
    public var joinLeave = false
    public var typing = false
    public var inbox = false
    public var maxPublicationBytes = 4096
    /// Publications are sent compressed to clients that agreed on permessage-deflate. Off for
    /// data that does not compress (already compressed or encrypted payloads): no CPU spent.
    public var compression = true

    public init() {}

    public func channelOptions(idempotencyWindow: Double) -> ChannelOptions {
        ChannelOptions(historySize: historySize, historyTTL: historyTTL, presence: presence, joinLeave: joinLeave,
                       idempotencyWindow: idempotencyWindow, inbox: inbox)
    }

    static func read(_ reader: inout ConfigReader) throws -> NamespacePolicy {
        var policy = NamespacePolicy()
        let rules = try reader.strings("subscribe", default: policy.subscribe.map(\.rawValue))
        policy.subscribe = Set(try rules.map { rule in
            guard let parsed = SubscribeRule(rawValue: rule) else {
                throw ConfigError("\(reader.keyPath("subscribe")): \(rule) is not one of own, token, claim, authenticated, public")
            }
            return parsed
        })
        let publish = try reader.string("publish", default: policy.publish.rawValue)
        guard let publishRule = PublishRule(rawValue: publish) else {
            throw ConfigError("\(reader.keyPath("publish")): \(publish) is not one of server, subscribers")
        }
        policy.publish = publishRule
        policy.historySize = try reader.int("history_size", default: 0, range: 0...100_000)
        policy.historyTTL = try reader.seconds("history_ttl", default: 0, range: 0...(86_400 * 365))
        policy.presence = try reader.bool("presence", default: false)
        policy.joinLeave = try reader.bool("join_leave", default: false)
        policy.typing = try reader.bool("typing", default: false)
        policy.inbox = try reader.bool("inbox", default: false)
        policy.maxPublicationBytes = try reader.int("max_publication_bytes", default: 4096, range: 2...(16 << 20))
        policy.compression = try reader.bool("compression", default: true)
        try reader.rejectUnknownKeys()
        if policy.joinLeave, !policy.presence {
            throw ConfigError("\(reader.keyPath("join_leave")): join/leave pushes need presence: true")
        }
        if policy.historySize > 0, policy.historyTTL == 0 {
            throw ConfigError("\(reader.keyPath("history_ttl")): a namespace with history needs a TTL (seconds)")
        }
        return policy
    }
}
