/// Why an authenticated connection ended, as the events stream reports it (docs/REDIS.md).
public struct DisconnectCause: Sendable, Equatable {
    /// `client_closed`, `connection_lost`, `ping_timeout`, `protocol_error`, or the reason the
    /// server gave in its close frame (`token_expired`, `server shutting down`, ...).
    public let reason: String
    /// The close code sent or received, if there was one.
    public let code: UInt16?

    public init(reason: String, code: UInt16?) {
        self.reason = reason
        self.code = code
    }

    public static let lost = DisconnectCause(reason: "connection_lost", code: nil)
}
