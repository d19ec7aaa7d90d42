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
    /// TLS handshakes completed, and how many of them resumed an earlier session.
    public var tlsHandshakes: UInt64 = 0
    public var tlsResumed: UInt64 = 0
    /// TLS failures (handshake or later) by OpenSSL's reason, e.g. `no_shared_cipher`,
    /// `http_request` (plain HTTP sent to the TLS port), `handshake_timeout`.
    public var tlsErrors: [String: UInt64] = [:]

    public init() {}
}
