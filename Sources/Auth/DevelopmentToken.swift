/// HS256 tokens for development only (`relay token`): in production the main API issues every
/// token and Relay only verifies them. This lets a developer try the gateway without the API.
public enum DevelopmentToken {
    /// Signs `claims` (JSON-serializable values) with `secret`. Keys are sorted so the same
    /// claims give the same token.
    public static func mint(claims: [String: Any], secret: [UInt8]) throws -> String {
        try TokenSigner(algorithm: .hs256, secret: secret).sign(claims: claims)
    }
}
