/// One loop's transport counters: plain integers bumped on the loop's own thread (no atomics,
/// no locks), read by the same thread when the gateway folds its metrics (GatewayMetrics).
public struct TransportStats: Sendable {
    public var bytesIn: UInt64 = 0
    public var bytesOut: UInt64 = 0
    /// Upgrades accepted; open connections are these minus `closed`.
    public var opened: UInt64 = 0
    public var closed: UInt64 = 0
    /// Requests answered with an HTTP status instead of an upgrade, by status code.
    public var refused: [Int: UInt64] = [:]
    /// Connections closed because output piled up for a peer that did not read.
    public var slowConsumerCloses: UInt64 = 0

    public init() {}
}
