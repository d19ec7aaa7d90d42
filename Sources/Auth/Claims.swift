/// What a verified token says, as Relay uses it. Times are seconds since the Unix epoch.
public struct Claims: Sendable, Equatable {
    /// `sub`: who the connection acts for. Never empty while `requireSubject` is on (the
    /// default); with it off, a token without `sub` gives "".
    public let subject: String
    /// `exp`. With `requireExpiry` off, a token without `exp` gives `.infinity`.
    public let expiresAt: Double
    /// `nbf`.
    public let notBefore: Double?
    /// `iat`.
    public let issuedAt: Double?
    /// `iss`.
    public let issuer: String?
    /// `aud`, a single string given as a one-element list; empty when absent.
    public let audience: [String]
    /// `channels`: the channels a connection token grants; empty when absent.
    public let channels: [String]
    /// `info`: data shown to others through presence, as compact JSON text with sorted keys, so
    /// it can be forwarded without being re-encoded and compared byte for byte.
    public let info: String?
    /// `channel`: the one channel a subscription token is for.
    public let channel: String?

    public init(subject: String, expiresAt: Double, notBefore: Double? = nil, issuedAt: Double? = nil,
                issuer: String? = nil, audience: [String] = [], channels: [String] = [], info: String? = nil,
                channel: String? = nil) {
        self.subject = subject
        self.expiresAt = expiresAt
        self.notBefore = notBefore
        self.issuedAt = issuedAt
        self.issuer = issuer
        self.audience = audience
        self.channels = channels
        self.info = info
        self.channel = channel
    }
}
