/// Verifies the JWTs the main API issues: signature first, with a key chosen from `keys`, then
/// the claims against `options`. Holds no mutable state; one value can serve every thread.
public struct JWTVerifier: Sendable {
    public let keys: KeySet
    public let options: Options

    public init(keys: KeySet, options: Options = Options()) {
        self.keys = keys
        self.options = options
    }

    /// Verifies `token` as of `now` (seconds since the Unix epoch; passed in so the caller's clock,
    /// and the tests', decide). The checks run cheapest and least trusting first: size, shape,
    /// header, key choice, signature, and only then the claims.
    public func verify(_ token: String, now: Double) -> Result<Claims, AuthError> {
        guard token.utf8.count <= options.maxTokenBytes else { return .failure(.tooLarge) }
        guard let parts = CompactToken(token) else { return .failure(.malformed) }
        let header: JOSEHeader
        switch JOSEHeader.parse(parts.header) {
        case .success(let parsed): header = parsed
        case .failure(let error): return .failure(error)
        }
        let candidates: [VerificationKey]
        switch keys.candidates(kid: header.kid, algorithm: header.algorithm) {
        case .success(let keys): candidates = keys
        case .failure(let error): return .failure(error)
        }
        let verified = candidates.contains { key in
            SignatureCheck.verify(parts.signature, over: parts.signingInput, algorithm: header.algorithm, key: key)
        }
        guard verified else { return .failure(.badSignature) }
        return ClaimsReader(options: options, now: now).read(parts.payload)
    }
}
