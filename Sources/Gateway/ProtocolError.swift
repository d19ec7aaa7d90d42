/// The error codes of command replies (docs/PROTOCOL.md lists each with its meaning).
public enum ProtocolError: String, Error, Sendable, CaseIterable {
    /// Not JSON, not an object, a missing or mistyped field.
    case badRequest = "bad_request"
    case unknownCommand = "unknown_command"
    /// A command other than connect before the connection is authenticated.
    case notConnected = "not_connected"
    case alreadyConnected = "already_connected"
    /// The token was refused; `message` carries the reason code (expired, bad_signature, ...).
    case authFailed = "auth_failed"
    case unknownNamespace = "unknown_namespace"
    case permissionDenied = "permission_denied"
    case alreadySubscribed = "already_subscribed"
    case notSubscribed = "not_subscribed"
    /// A publication over the namespace's max_publication_bytes.
    case tooLarge = "too_large"
    /// Too many subscriptions on this connection, or a list or page too long.
    case limitExceeded = "limit_exceeded"
    /// The namespace does not offer this (presence, typing).
    case notAvailable = "not_available"
    /// Too many commands: slow down (the connection is closed after `strikes` in a row).
    case rateLimited = "rate_limited"
    /// The engine cannot serve the request right now; retry.
    case unavailable = "unavailable"
}

/// Close codes of the client protocol (4000–4999, the application range of RFC 6455).
public enum GatewayCloseCode {
    /// No successful `connect` within auth.timeout.
    public static let authTimeout: UInt16 = 4001
    /// The token given at connect or at the upgrade was refused: do not reconnect with it.
    public static let authFailed: UInt16 = 4003
    /// The token expired without a `refresh`.
    public static let tokenExpired: UInt16 = 4004
    /// The server API disconnected the user (a `disconnect` push says why).
    public static let disconnected: UInt16 = 4006
    /// Commands kept coming after `rate_limits.strikes` rate-limited replies in a row.
    public static let rateLimited: UInt16 = 4008
    /// Output piled up past the outbound bound for a connection that did not read it.
    public static let slowConsumer: UInt16 = 4009
    /// The user already has `gateway.max_connections_per_user` connections.
    public static let tooManyConnections: UInt16 = 4010
}
