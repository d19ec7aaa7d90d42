import Buffers

/// Reading one JWK (RFC 7517, with the key types of RFC 7518 §6 and RFC 8037) into a
/// `VerificationKey`.
///
/// A JWK that is well formed but meant for something else (`use: enc`, `key_ops` without
/// `verify`) or of a kind Relay does not verify (P-521, X25519, RSA-OAEP...) is *skipped*: a
/// published JWKS may hold such keys beside the signing ones. A JWK that claims to be a usable
/// key but is broken *throws*, so a bad configuration is seen at start-up rather than as
/// rejected tokens later.
enum JWK {
    enum Outcome {
        case key(VerificationKey)
        case skipped(reason: String)
    }

    static func parse(_ members: [String: Any]) throws(KeyError) -> Outcome {
        guard let kty = members["kty"] as? String else { throw .invalidJWK("missing kty") }
        let kid = try optionalString(members, "kid")

        if let use = try optionalString(members, "use"), use != "sig" {
            return .skipped(reason: "use is \"\(use)\", not \"sig\"")
        }
        if let operations = members["key_ops"] {
            guard let list = operations as? [String] else { throw .invalidJWK("key_ops is not an array of strings") }
            if !list.contains("verify") { return .skipped(reason: "key_ops does not include \"verify\"") }
        }
        var algorithms: Set<JWTAlgorithm>?
        if let name = try optionalString(members, "alg") {
            guard let algorithm = JWTAlgorithm(rawValue: name) else {
                return .skipped(reason: "alg \"\(name)\" is not supported")
            }
            algorithms = [algorithm]
        }

        let material: VerificationKey.Material
        switch kty {
        case "RSA":
            let key = try PublicKey.rsa(modulus: bytes(members, "n"), exponent: bytes(members, "e"))
            material = .publicKey(key)
        case "EC":
            let curve: KeyKind
            switch try requiredString(members, "crv") {
            case "P-256": curve = .p256
            case "P-384": curve = .p384
            case let other: return .skipped(reason: "EC curve \"\(other)\" is not supported")
            }
            material = .publicKey(try PublicKey.ec(curve: curve, x: bytes(members, "x"), y: bytes(members, "y")))
        case "OKP":
            let curve = try requiredString(members, "crv")
            guard curve == "Ed25519" else { return .skipped(reason: "OKP curve \"\(curve)\" is not supported") }
            material = .publicKey(try PublicKey.ed25519(x: bytes(members, "x")))
        case "oct":
            let secret = try bytes(members, "k")
            guard !secret.isEmpty else { throw .weakKey("empty HMAC secret") }
            material = .secret(secret)
        default:
            return .skipped(reason: "kty \"\(kty)\" is not supported")
        }
        let kind: KeyKind
        switch material {
        case .secret: kind = .secret
        case .publicKey(let key): kind = key.kind
        }
        return .key(try VerificationKey(material: material, kind: kind, kid: kid, algorithms: algorithms))
    }

    private static func optionalString(_ members: [String: Any], _ name: String) throws(KeyError) -> String? {
        guard let value = members[name] else { return nil }
        guard let string = value as? String else { throw .invalidJWK("\(name) is not a string") }
        return string
    }

    private static func requiredString(_ members: [String: Any], _ name: String) throws(KeyError) -> String {
        guard let string = try optionalString(members, name) else { throw .invalidJWK("missing \(name)") }
        return string
    }

    /// A base64url member, strictly decoded (no padding, no stray characters).
    private static func bytes(_ members: [String: Any], _ name: String) throws(KeyError) -> [UInt8] {
        guard let decoded = Base64.decode(try requiredString(members, name), alphabet: .url) else {
            throw .invalidJWK("\(name) is not base64url")
        }
        return decoded
    }
}
