import Buffers
import COpenSSL
import Foundation

/// Signs JWTs the way the main API does, for the tools that need tokens without it: `relay
/// token` and relay-swarm. Relay itself only verifies. HS* with a secret; RS*, PS256, ES* and
/// EdDSA with a PEM private key (its type must fit the algorithm, as verification demands).
///
/// `@unchecked Sendable`: the key is never modified after `init`.
public final class TokenSigner: @unchecked Sendable {
    public let algorithm: JWTAlgorithm
    private let secret: [UInt8]
    private let privateKey: OpaquePointer?

    public init(algorithm: JWTAlgorithm, secret: [UInt8]) throws(KeyError) {
        guard algorithm.keyKind == .secret else { throw .algorithmMismatch(algorithm, .secret) }
        guard !secret.isEmpty else { throw .weakKey("empty HMAC secret") }
        self.algorithm = algorithm
        self.secret = secret
        privateKey = nil
    }

    /// A PEM private key (`BEGIN PRIVATE KEY`, `BEGIN RSA PRIVATE KEY`, `BEGIN EC PRIVATE KEY`),
    /// unencrypted.
    public init(algorithm: JWTAlgorithm, privateKeyPEM pem: [UInt8]) throws(KeyError) {
        let key: OpaquePointer? = discardingOpenSSLErrors {
            pem.withUnsafeBytes { bytes in
                guard let bio = BIO_new_mem_buf(bytes.baseAddress, Int32(bytes.count)) else { return nil }
                defer { BIO_free(bio) }
                // No passphrase callback: an encrypted key fails instead of prompting.
                return PEM_read_bio_PrivateKey(bio, nil, { _, _, _, _ in 0 }, nil)
            }
        }
        guard let key else { throw .invalidPEM }
        let kind: KeyKind
        do {
            kind = try discardingOpenSSLErrors { () throws(KeyError) in try PublicKey.kind(of: key) }
        } catch {
            EVP_PKEY_free(key)
            throw error
        }
        guard kind == algorithm.keyKind else {
            EVP_PKEY_free(key)
            throw .algorithmMismatch(algorithm, kind)
        }
        self.algorithm = algorithm
        secret = []
        privateKey = key
    }

    deinit { if let privateKey { EVP_PKEY_free(privateKey) } }

    /// `claims` (JSON-serializable values) as a signed compact JWT; keys sorted, so the same
    /// claims give the same token with deterministic algorithms.
    public func sign(claims: [String: Any]) throws -> String {
        let header = try JSONSerialization.data(withJSONObject: ["alg": algorithm.rawValue, "typ": "JWT"], options: [.sortedKeys])
        let payload = try JSONSerialization.data(withJSONObject: claims, options: [.sortedKeys])
        let signingInput = Base64.encode(Array(header), alphabet: .url) + "." + Base64.encode(Array(payload), alphabet: .url)
        let input = Array(signingInput.utf8)
        let signature = privateKey.map { digestSign(input, key: $0) } ?? SignatureCheck.mac(over: input[...], secret: secret, digest: algorithm.digest!)
        guard let signature else { throw KeyError.unsupportedKey("OpenSSL could not sign with \(algorithm.rawValue)") }
        return signingInput + "." + Base64.encode(signature, alphabet: .url)
    }

    private func digestSign(_ input: [UInt8], key: OpaquePointer) -> [UInt8]? {
        discardingOpenSSLErrors { () -> [UInt8]? in
            guard let context = EVP_MD_CTX_new() else { return nil }
            defer { EVP_MD_CTX_free(context) }
            var keyContext: OpaquePointer?
            guard EVP_DigestSignInit(context, &keyContext, algorithm.digest?.md, nil, key) == 1 else { return nil }
            if algorithm == .ps256 {
                guard let keyContext, EVP_PKEY_CTX_set_rsa_padding(keyContext, RSA_PKCS1_PSS_PADDING) == 1,
                      EVP_PKEY_CTX_set_rsa_mgf1_md(keyContext, algorithm.digest?.md) == 1,
                      EVP_PKEY_CTX_set_rsa_pss_saltlen(keyContext, RSA_PSS_SALTLEN_DIGEST) == 1 else { return nil }
            }
            var length = 0
            guard EVP_DigestSign(context, nil, &length, input, input.count) == 1 else { return nil }
            var signature = [UInt8](repeating: 0, count: length)
            guard EVP_DigestSign(context, &signature, &length, input, input.count) == 1 else { return nil }
            signature.removeSubrange(length...)
            switch algorithm {
            case .es256: return ECDSASignature.raw(fromDER: signature, componentSize: 32)
            case .es384: return ECDSASignature.raw(fromDER: signature, componentSize: 48)
            default: return signature
            }
        }
    }
}
