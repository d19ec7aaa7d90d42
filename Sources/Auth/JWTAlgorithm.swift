import COpenSSL

/// The JWS algorithms (RFC 7518) Relay verifies. Raw values are the exact, case-sensitive `alg`
/// header values; anything else, `none` in any spelling included, has no case and is refused.
public enum JWTAlgorithm: String, CaseIterable, Hashable, Sendable {
    case hs256 = "HS256", hs384 = "HS384", hs512 = "HS512"
    case rs256 = "RS256", rs384 = "RS384", rs512 = "RS512"
    case ps256 = "PS256"
    case es256 = "ES256", es384 = "ES384"
    case eddsa = "EdDSA"

    /// The one kind of key each algorithm may be verified with. Checking it is what stops
    /// algorithm confusion: an `HS256` token "signed" with an RSA key's public PEM as the HMAC
    /// secret never reaches HMAC, because an RSA key does not verify HS256.
    public var keyKind: KeyKind {
        switch self {
        case .hs256, .hs384, .hs512: return .secret
        case .rs256, .rs384, .rs512, .ps256: return .rsa
        case .es256: return .p256
        case .es384: return .p384
        case .eddsa: return .ed25519
        }
    }

    /// Every algorithm a key of this kind can verify: the default when a key names none.
    public static func all(for kind: KeyKind) -> Set<JWTAlgorithm> {
        Set(allCases.filter { $0.keyKind == kind })
    }

    /// The hash, or nil for EdDSA, which hashes inside the signature scheme (one-shot verify).
    var digest: Digest? {
        switch self {
        case .hs256, .rs256, .ps256, .es256: return .sha256
        case .hs384, .rs384, .es384: return .sha384
        case .hs512, .rs512: return .sha512
        case .eddsa: return nil
        }
    }
}

/// The SHA-2 digests the algorithms use.
enum Digest {
    case sha256, sha384, sha512

    var md: OpaquePointer {
        switch self {
        case .sha256: return EVP_sha256()
        case .sha384: return EVP_sha384()
        case .sha512: return EVP_sha512()
        }
    }
}

/// What a verification key is; each algorithm fits exactly one kind.
public enum KeyKind: String, Hashable, Sendable {
    case secret = "oct"
    case rsa = "RSA"
    case p256 = "EC P-256"
    case p384 = "EC P-384"
    case ed25519 = "Ed25519"
}
