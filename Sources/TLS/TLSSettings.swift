/// What the TLS listener serves: certificates, protocol versions, ciphers and session resumption.
/// Read from the `tls` section of the config (docs/CONFIG.md); `TLSContext` turns it into OpenSSL
/// contexts.
public struct TLSSettings: Sendable, Equatable {
    /// One certificate chain and its key, both PEM files. The first is served to clients that send
    /// no SNI name or a name no certificate covers.
    public struct Certificate: Sendable, Equatable {
        public var certificateFile: String
        public var keyFile: String

        public init(certificateFile: String, keyFile: String) {
            self.certificateFile = certificateFile
            self.keyFile = keyFile
        }
    }

    public enum ProtocolVersion: String, Sendable, Equatable {
        case tls12 = "1.2"
        case tls13 = "1.3"
    }

    public var certificates: [Certificate]
    public var minimumVersion = ProtocolVersion.tls12
    /// TLS 1.2 cipher list (OpenSSL syntax): forward-secret AEAD suites only, as in Mozilla's
    /// "intermediate" profile minus the finite-field DHE suites (slow, and rarely the only choice).
    public var ciphers = "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"
    /// TLS 1.3 suites (OpenSSL syntax); all three are AEAD and forward-secret.
    public var ciphersuites = "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256"
    /// How long a session may be resumed (seconds): TLS 1.3 tickets and TLS 1.2 session ids alike.
    public var sessionTimeout = 7200
    /// Sessions the server keeps for TLS 1.2 session-id resumption (tickets need no server state).
    public var sessionCacheSize = 20_480

    public init(certificates: [Certificate]) {
        self.certificates = certificates
    }
}
