/// One entry of the API's events stream, `relay:events` (docs/REDIS.md): a connection that
/// authenticated or closed, or a user's transition (joining or leaving a channel, going online or
/// offline) as the functions decided it, once for all replicas.
struct RelayEvent: Equatable {
    enum Kind: String {
        case connect, disconnect, join, leave, online, offline

        var isPresence: Bool { self == .join || self == .leave }
    }

    let kind: Kind
    let user: String
    /// The connection, `<node>/<connection>` (empty for an `offline` found by expiry).
    let client: String
    let channel: String?
    let reason: String
    let code: UInt16?

    /// The XADD, trimmed approximately (`~`: whole nodes of the stream, cheap) to `maxEntries`.
    func command(maxEntries: Int, node: String, time: Int64) -> [String] {
        var command = ["XADD", RedisKeys.events, "MAXLEN", "~", String(maxEntries), "*", "type", kind.rawValue, "user", user]
        if !client.isEmpty { command += ["client", client] }
        if let channel { command += ["channel", channel] }
        if !reason.isEmpty { command += ["reason", reason] }
        if let code { command += ["code", String(code)] }
        return command + ["node", node, "time", String(time)]
    }
}
