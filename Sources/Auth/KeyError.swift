/// Why a key could not be loaded. These come from configuration (PEM files, JWKS, secrets), never
/// from tokens, and their descriptions never include key material.
public enum KeyError: Error, Equatable, Sendable, CustomStringConvertible {
    /// Not a PEM `PUBLIC KEY` (SubjectPublicKeyInfo) or `CERTIFICATE` block OpenSSL can read.
    case invalidPEM
    /// A JWK that is not well formed: a missing or mistyped member, bad base64url, a point that is
    /// not on its curve...
    case invalidJWK(String)
    /// A JWK that is well formed but not usable for verification here (`use` other than `sig`, an
    /// unsupported `kty`, `crv` or `alg`). A JWKS skips these; a single JWK throws.
    case unusableJWK(String)
    /// A JWKS document that is not `{"keys": [...]}`, or a file that cannot be read.
    case invalidJWKS(String)
    /// A key OpenSSL read but Relay does not verify with (DSA, RSA-PSS-only, P-521, Ed448...).
    case unsupportedKey(String)
    /// A key too weak to trust: an empty HMAC secret, an RSA modulus under 2048 bits (RFC 7518
    /// §3.3 requires at least 2048).
    case weakKey(String)
    /// An algorithm asked for a key it cannot fit (`ES384` for a P-256 key, `HS256` for RSA...).
    case algorithmMismatch(JWTAlgorithm, KeyKind)

    public var description: String {
        switch self {
        case .invalidPEM: return "not a PEM public key or certificate"
        case .invalidJWK(let reason): return "invalid JWK: \(reason)"
        case .unusableJWK(let reason): return "unusable JWK: \(reason)"
        case .invalidJWKS(let reason): return "invalid JWKS: \(reason)"
        case .unsupportedKey(let reason): return "unsupported key: \(reason)"
        case .weakKey(let reason): return "weak key: \(reason)"
        case .algorithmMismatch(let algorithm, let kind):
            return "algorithm \(algorithm.rawValue) cannot be used with a key of type \(kind.rawValue)"
        }
    }
}
