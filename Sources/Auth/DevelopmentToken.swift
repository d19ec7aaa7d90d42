import Buffers
import Foundation

/// HS256 tokens for development only (`relay token`): in production the main API issues every
/// token and Relay only verifies them. This lets a developer try the gateway without the API.
public enum DevelopmentToken {
    /// Signs `claims` (JSON-serializable values) with `secret`. Keys are sorted so the same
    /// claims give the same token.
    public static func mint(claims: [String: Any], secret: [UInt8]) throws -> String {
        let header = try JSONSerialization.data(withJSONObject: ["alg": "HS256", "typ": "JWT"], options: [.sortedKeys])
        let payload = try JSONSerialization.data(withJSONObject: claims, options: [.sortedKeys])
        let signingInput = Base64.encode(Array(header), alphabet: .url) + "." + Base64.encode(Array(payload), alphabet: .url)
        guard let mac = SignatureCheck.mac(over: Array(signingInput.utf8)[...], secret: secret, digest: .sha256) else {
            throw KeyError.unsupportedKey("HMAC-SHA256 failed in OpenSSL")
        }
        return signingInput + "." + Base64.encode(mac, alphabet: .url)
    }
}
