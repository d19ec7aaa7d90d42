/// Relay's names in Redis (docs/REDIS.md). A channel's keys and its pub/sub channel share the hash
/// tag `{channel}`, a user's share `{user}`: in a cluster each lives in one slot, which the
/// functions (one channel or one user per call) require.
enum RedisKeys {
    static func meta(_ channel: String) -> String { "relay:ch:{\(channel)}:meta" }
    static func history(_ channel: String) -> String { "relay:ch:{\(channel)}:history" }
    /// The user's length first: `a` with key `b:c` and `a:b` with key `c` are different keys.
    static func idempotency(_ channel: String, user: String?, key: String) -> String {
        let user = user ?? ""
        return "relay:ch:{\(channel)}:idem:\(user.utf8.count):\(user):\(key)"
    }
    static func throttle(_ channel: String, key: String) -> String { "relay:ch:{\(channel)}:throttle:\(key)" }
    /// The presence hash, expiry set and per-user counts of a channel.
    static func presence(_ channel: String) -> [String] {
        ["relay:ch:{\(channel)}:presence", "relay:ch:{\(channel)}:presence:expiry", "relay:ch:{\(channel)}:presence:users"]
    }
    static func connections(_ user: String) -> String { "relay:user:{\(user)}:connections" }

    static let inbox = "relay:inbox"
    /// The leases of the entries the server API's readers hold: id → until when (ms). Its hash
    /// tag puts it in the inbox's slot.
    static let inboxLeases = "{relay:inbox}:leases"
    /// The events stream the API consumes (connects, disconnects, joins, leaves, online, offline).
    static let events = "relay:events"
    /// The consumer group the server API's inbox endpoints read with.
    static let inboxGroup = "relay"
    static let nodes = "relay:nodes"
    static func nodeChannels(_ node: String) -> String { "relay:node:\(node):presence" }
    static func nodeUsers(_ node: String) -> String { "relay:node:\(node):users" }

    // Pub/sub channels.
    static let publicationPrefix = "relay:pub:{"
    static let statusPrefix = "relay:status:{"
    static let control = "relay:control"
    static func publications(_ channel: String) -> String { publicationPrefix + channel + "}" }
    static func status(_ user: String) -> String { statusPrefix + user + "}" }

    /// The channel (or user) a pub/sub channel name is about, given its prefix.
    static func name(in pubsub: String, prefix: String) -> String? {
        guard pubsub.hasPrefix(prefix), pubsub.hasSuffix("}") else { return nil }
        return String(pubsub.dropFirst(prefix.count).dropLast())
    }
}
