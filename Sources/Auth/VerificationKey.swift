import Foundation

/// One key a token may be verified with: an HMAC secret or a public key, an optional `kid`, and
/// the algorithms it may verify. Every algorithm must fit the key's kind (see
/// `JWTAlgorithm.keyKind`), so an RSA key can never be asked to check an HMAC.
public struct VerificationKey: Sendable, CustomStringConvertible {
    enum Material: Sendable {
        case secret([UInt8])
        case publicKey(PublicKey)
    }

    let material: Material
    public let kid: String?
    public let algorithms: Set<JWTAlgorithm>

    public var kind: KeyKind {
        switch material {
        case .secret: return .secret
        case .publicKey(let key): return key.kind
        }
    }

    /// An HMAC secret (HS256/384/512 unless `algorithms` narrows them). An empty secret is refused.
    public init(secret: [UInt8], kid: String? = nil, algorithms: Set<JWTAlgorithm>? = nil) throws(KeyError) {
        guard !secret.isEmpty else { throw .weakKey("empty HMAC secret") }
        try self.init(material: .secret(secret), kind: .secret, kid: kid, algorithms: algorithms)
    }

    /// A public key from PEM: `BEGIN PUBLIC KEY` (SubjectPublicKeyInfo) or `BEGIN CERTIFICATE`
    /// (its key is used; the certificate itself is not checked). RSA (2048 bits or more), EC P-256,
    /// EC P-384 or Ed25519; by default every algorithm the kind fits.
    public init(pem: String, kid: String? = nil, algorithms: Set<JWTAlgorithm>? = nil) throws(KeyError) {
        let key = try PublicKey.fromPEM(Array(pem.utf8))
        try self.init(material: .publicKey(key), kind: key.kind, kid: kid, algorithms: algorithms)
    }

    /// A key from one JWK (RFC 7517) given as JSON text. Its `kid` and `alg` are taken from it. A
    /// JWK that a JWKS would skip (`use` other than `sig`, an unsupported `kty`, `crv` or `alg`)
    /// throws `KeyError.unusableJWK` here.
    public init(jwk json: String) throws(KeyError) {
        let object: Any
        do {
            object = try JSONSerialization.jsonObject(with: Data(json.utf8))
        } catch {
            throw .invalidJWK("not JSON")
        }
        guard let members = object as? [String: Any] else { throw .invalidJWK("not a JSON object") }
        switch try JWK.parse(members) {
        case .key(let key): self = key
        case .skipped(let reason): throw .unusableJWK(reason)
        }
    }

    init(material: Material, kind: KeyKind, kid: String?, algorithms: Set<JWTAlgorithm>?) throws(KeyError) {
        let algorithms = algorithms ?? JWTAlgorithm.all(for: kind)
        if let misfit = algorithms.sorted(by: { $0.rawValue < $1.rawValue }).first(where: { $0.keyKind != kind }) {
            throw .algorithmMismatch(misfit, kind)
        }
        self.material = material
        self.kid = kid
        self.algorithms = algorithms
    }

    /// Never shows the secret or the key, only what identifies the key in a log.
    public var description: String {
        let size: String
        switch material {
        case .secret(let bytes): size = "\(bytes.count * 8) bits"
        case .publicKey(let key): size = "\(key.bits) bits"
        }
        let names = algorithms.map(\.rawValue).sorted().joined(separator: ",")
        return "VerificationKey(kid: \(kid ?? "none"), \(kind.rawValue), \(size), algorithms: \(names))"
    }
}
