import Foundation

/// The keys tokens are verified with, and the rule for choosing among them.
public struct KeySet: Sendable {
    public let keys: [VerificationKey]
    /// JWKS entries left out as not meant for, or not supported by, verification here, with why;
    /// for a start-up log line. Empty for a set built from a list.
    public let skipped: [SkippedKey]

    public init(_ keys: [VerificationKey]) {
        self.keys = keys
        self.skipped = []
    }

    init(keys: [VerificationKey], skipped: [SkippedKey]) {
        self.keys = keys
        self.skipped = skipped
    }

    /// Reads a JWKS document, `{"keys": [...]}`. Entries that are not for signatures or of an
    /// unsupported kind are skipped (see `skipped`); a broken entry throws.
    public static func load(jwks data: Data) throws(KeyError) -> KeySet {
        let object: Any
        do {
            object = try JSONSerialization.jsonObject(with: data)
        } catch {
            throw .invalidJWKS("not JSON")
        }
        guard let document = object as? [String: Any], let entries = document["keys"] as? [Any] else {
            throw .invalidJWKS("not an object with a \"keys\" array")
        }
        var keys: [VerificationKey] = []
        var skipped: [SkippedKey] = []
        for (index, entry) in entries.enumerated() {
            guard let members = entry as? [String: Any] else { throw .invalidJWKS("keys[\(index)] is not an object") }
            do {
                switch try JWK.parse(members) {
                case .key(let key): keys.append(key)
                case .skipped(let reason): skipped.append(SkippedKey(kid: members["kid"] as? String, reason: reason))
                }
            } catch {
                throw .invalidJWKS("keys[\(index)]: \(error)")
            }
        }
        return KeySet(keys: keys, skipped: skipped)
    }

    /// Reads a JWKS file (see `load(jwks:)`).
    public static func load(jwksFile path: String) throws(KeyError) -> KeySet {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw .invalidJWKS("cannot read \(path)")
        }
        return try load(jwks: data)
    }

    /// The keys a token's signature is checked against, in set order.
    ///
    /// With a `kid`, only the keys bearing that `kid` (none: `unknownKey`). Without one, only the
    /// keys that have no `kid` themselves (none: `unknownKey`): once an issuer names its keys, a
    /// token must name its key too. Among those, only the keys allowed `algorithm`; when none is,
    /// the algorithm is refused (`unsupportedAlgorithm`): this is where an HS256 token aimed at an
    /// RSA key, or an RS384 token aimed at a JWK restricted to RS256, stops.
    func candidates(kid: String?, algorithm: JWTAlgorithm) -> Result<[VerificationKey], AuthError> {
        let named = keys.filter { $0.kid == kid }
        guard !named.isEmpty else { return .failure(.unknownKey) }
        let allowed = named.filter { $0.algorithms.contains(algorithm) }
        guard !allowed.isEmpty else { return .failure(.unsupportedAlgorithm) }
        return .success(allowed)
    }
}

/// A JWKS entry the loader left out, and why.
public struct SkippedKey: Sendable, Equatable, CustomStringConvertible {
    public let kid: String?
    public let reason: String

    public var description: String { "JWK \(kid ?? "without kid") skipped: \(reason)" }
}
