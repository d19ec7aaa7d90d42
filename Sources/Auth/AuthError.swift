/// Why a token was refused. `code` is the stable string that protocol error replies and logs carry;
/// it never changes once shipped, so clients may switch on it.
///
/// No case carries anything taken from the token (bearer tokens are secrets, and a log line is no
/// place for one), so `description` is built only from fixed text and the claim's name.
public enum AuthError: Error, Equatable, Hashable, Sendable, CustomStringConvertible {
    /// Not three strict base64url segments, or a header or payload that is not the expected JSON.
    case malformed
    /// Longer than `JWTVerifier.Options.maxTokenBytes`; refused before any decoding.
    case tooLarge
    /// `alg` is not one Relay verifies (including `none` in any spelling), or not one the selected
    /// key may be used with.
    case unsupportedAlgorithm
    /// No key in the set has the token's `kid`, or the token has no `kid` and no key lacks one.
    case unknownKey
    /// No candidate key verifies the signature.
    case badSignature
    case expired
    case notYetValid
    case issuedInFuture
    case wrongIssuer
    case wrongAudience
    /// `sub` is absent or the empty string.
    case missingSubject
    case missingExpiry
    /// A claim is present with the wrong JSON type (a string `exp`, a `channels` that is no array
    /// of strings, ...).
    case invalidClaim(ClaimName)

    public var code: String {
        switch self {
        case .malformed: return "malformed"
        case .tooLarge: return "too_large"
        case .unsupportedAlgorithm: return "unsupported_algorithm"
        case .unknownKey: return "unknown_key"
        case .badSignature: return "bad_signature"
        case .expired: return "expired"
        case .notYetValid: return "not_yet_valid"
        case .issuedInFuture: return "issued_in_future"
        case .wrongIssuer: return "wrong_issuer"
        case .wrongAudience: return "wrong_audience"
        case .missingSubject: return "missing_subject"
        case .missingExpiry: return "missing_expiry"
        case .invalidClaim: return "invalid_claim"
        }
    }

    public var description: String {
        switch self {
        case .malformed: return "token is malformed"
        case .tooLarge: return "token is too large"
        case .unsupportedAlgorithm: return "token algorithm is not accepted"
        case .unknownKey: return "no key matches the token"
        case .badSignature: return "token signature does not verify"
        case .expired: return "token has expired"
        case .notYetValid: return "token is not valid yet"
        case .issuedInFuture: return "token was issued in the future"
        case .wrongIssuer: return "token issuer is not the expected one"
        case .wrongAudience: return "token audience does not include this service"
        case .missingSubject: return "token has no subject"
        case .missingExpiry: return "token has no expiry"
        case .invalidClaim(let name): return "token claim '\(name.rawValue)' has the wrong type"
        }
    }
}

/// The claims Relay reads; named in `AuthError.invalidClaim` (a name is ours, never token data).
public enum ClaimName: String, Sendable, Hashable, CaseIterable {
    case exp, nbf, iat, iss, aud, sub, channels, info, channel
}
