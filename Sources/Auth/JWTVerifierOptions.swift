extension JWTVerifier {
    /// What a verified token must also satisfy.
    public struct Options: Sendable, Equatable {
        /// Seconds of clock skew allowed on `exp`, `nbf` and `iat`.
        public var leeway: Double
        /// When set, `iss` must equal it.
        public var issuer: String?
        /// When set, `aud` (a string or an array of strings) must contain it. When nil, `aud` is
        /// not checked beyond its type.
        public var audience: String?
        /// Longer tokens are refused before any decoding: a bound on the work a client can cause.
        public var maxTokenBytes: Int
        /// `sub` must be a non-empty string.
        public var requireSubject: Bool
        /// `exp` must be present.
        public var requireExpiry: Bool

        public init(leeway: Double = 30, issuer: String? = nil, audience: String? = nil, maxTokenBytes: Int = 8192,
                    requireSubject: Bool = true, requireExpiry: Bool = true) {
            self.leeway = leeway
            self.issuer = issuer
            self.audience = audience
            self.maxTokenBytes = maxTokenBytes
            self.requireSubject = requireSubject
            self.requireExpiry = requireExpiry
        }
    }
}
