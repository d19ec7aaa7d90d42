/// A request that passed every check of RFC 6455 §4.2.1: what the policy layer decides on
/// (path, origin, subprotocols, extensions) and what the accept key is computed from.
public struct UpgradeRequest: Sendable {
    public let head: HTTPRequestHead
    public let key: String
    /// Offered subprotocols in the client's order of preference.
    public let subprotocols: [String]
    /// Raw extension offers (`Sec-WebSocket-Extensions` elements), for extension negotiation.
    public let extensionOffers: [String]
    public var origin: String? { head.value("Origin") }
    public var path: Substring { head.path }
}

/// Why an upgrade request was refused: the status, the extra response headers, a log reason.
public struct HandshakeRejection: Error, Sendable {
    public let status: HTTPStatus
    public let headers: [(String, String)]
    public let reason: String

    public init(_ status: HTTPStatus, headers: [(String, String)] = [], reason: String) {
        self.status = status
        self.headers = headers
        self.reason = reason
    }
}
