/// One loop's gateway counters: plain integers bumped on the loop's thread (no atomics, no locks,
/// nothing allocated per message), folded into swift-metrics once a second by `GatewayMetrics`.
struct GatewayStats {
    /// The token buckets a command can be refused by.
    enum Bucket: Int, CaseIterable {
        case connection, user, typing
    }

    /// Replies by command kind and result: slot 0 is `ok`, slot 1 + n the n-th ProtocolError.
    private(set) var replies = [UInt64](repeating: 0, count: CommandKind.allCases.count * Self.resultCount)
    /// Refused session tokens by reason code (connect, upgrade, refresh).
    var authFailures: [String: UInt64] = [:]
    /// Publications accepted on this loop (client publishes and the server API's).
    var publications: UInt64 = 0
    /// Frames queued to subscribers: publications, typing, join and leave.
    var deliveries: UInt64 = 0
    /// Typing, join and leave pushes skipped for connections whose output was backed up.
    var droppedPushes: UInt64 = 0
    private(set) var rateLimited = [UInt64](repeating: 0, count: Bucket.allCases.count)
    /// Active subscriptions on this loop (a gauge).
    var subscriptions = 0

    static let resultCount = 1 + ProtocolError.allCases.count
    private static let errorSlots = Dictionary(uniqueKeysWithValues: ProtocolError.allCases.enumerated().map { ($1, $0 + 1) })

    mutating func countReply(_ kind: CommandKind, _ error: ProtocolError?) {
        replies[kind.rawValue * Self.resultCount + (error.map { Self.errorSlots[$0]! } ?? 0)] &+= 1
    }

    mutating func countRateLimited(_ bucket: Bucket) {
        rateLimited[bucket.rawValue] &+= 1
    }

    /// The reply counter at a slot, with its labels.
    static func labels(ofReplySlot slot: Int) -> (command: String, result: String) {
        let kind = CommandKind.allCases[slot / resultCount]
        let result = slot % resultCount
        return (kind.name, result == 0 ? "ok" : ProtocolError.allCases[result - 1].rawValue)
    }
}
