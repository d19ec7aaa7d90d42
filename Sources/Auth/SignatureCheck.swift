import COpenSSL

/// Checks one JWS signature with one key. Returns false for any failure (wrong signature, wrong
/// length, an OpenSSL error), because the caller answers all of them the same way.
enum SignatureCheck {
    static func verify(_ signature: [UInt8], over input: ArraySlice<UInt8>, algorithm: JWTAlgorithm,
                       key: VerificationKey) -> Bool {
        // The key set already filtered on this; checked again because it is the one rule that
        // stops algorithm confusion.
        guard key.algorithms.contains(algorithm), algorithm.keyKind == key.kind else { return false }
        switch (key.material, algorithm) {
        case (.secret(let secret), _):
            guard let digest = algorithm.digest else { return false }
            return hmac(signature, over: input, secret: secret, digest: digest)
        case (.publicKey(let publicKey), .rs256), (.publicKey(let publicKey), .rs384), (.publicKey(let publicKey), .rs512):
            return digestVerify(signature, over: input, key: publicKey, digest: algorithm.digest)
        case (.publicKey(let publicKey), .ps256):
            return digestVerify(signature, over: input, key: publicKey, digest: .sha256, pss: true)
        case (.publicKey(let publicKey), .es256):
            guard let der = ECDSASignature.der(fromRaw: signature, componentSize: 32) else { return false }
            return digestVerify(der, over: input, key: publicKey, digest: .sha256)
        case (.publicKey(let publicKey), .es384):
            guard let der = ECDSASignature.der(fromRaw: signature, componentSize: 48) else { return false }
            return digestVerify(der, over: input, key: publicKey, digest: .sha384)
        case (.publicKey(let publicKey), .eddsa):
            // Ed25519 hashes internally: no digest, and only the one-shot EVP_DigestVerify.
            return digestVerify(signature, over: input, key: publicKey, digest: nil)
        case (.publicKey, .hs256), (.publicKey, .hs384), (.publicKey, .hs512):
            return false
        }
    }

    /// HMAC, compared in constant time (CRYPTO_memcmp) so the time taken reveals nothing about
    /// how many leading bytes of a forged MAC were right.
    private static func hmac(_ signature: [UInt8], over input: ArraySlice<UInt8>, secret: [UInt8], digest: Digest) -> Bool {
        // The length is public (it follows from the algorithm), so checking it first leaks nothing.
        guard let mac = mac(over: input, secret: secret, digest: digest), mac.count == signature.count else { return false }
        return CRYPTO_memcmp(mac, signature, signature.count) == 0
    }

    /// The HMAC of `input`, or nil when OpenSSL fails.
    static func mac(over input: ArraySlice<UInt8>, secret: [UInt8], digest: Digest) -> [UInt8]? {
        var mac = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var length: UInt32 = 0
        let computed = discardingOpenSSLErrors {
            input.withUnsafeBytes { message in
                HMAC(digest.md, secret, Int32(secret.count),
                     message.baseAddress?.assumingMemoryBound(to: UInt8.self), message.count, &mac, &length)
            }
        }
        guard computed != nil else { return nil }
        return Array(mac[..<Int(length)])
    }

    /// EVP_DigestVerify: RSA PKCS#1 v1.5 by default; RSA-PSS (RFC 7518 §3.5: MGF1 with the same
    /// hash, salt as long as the hash) when `pss`; ECDSA on DER signatures; Ed25519 with no digest.
    private static func digestVerify(_ signature: [UInt8], over input: ArraySlice<UInt8>, key: PublicKey,
                                     digest: Digest?, pss: Bool = false) -> Bool {
        discardingOpenSSLErrors {
            guard let context = EVP_MD_CTX_new() else { return false }
            defer { EVP_MD_CTX_free(context) }
            var keyContext: OpaquePointer?
            guard EVP_DigestVerifyInit(context, &keyContext, digest?.md, nil, key.pointer) == 1 else { return false }
            if pss {
                guard let keyContext,
                      EVP_PKEY_CTX_set_rsa_padding(keyContext, RSA_PKCS1_PSS_PADDING) == 1,
                      EVP_PKEY_CTX_set_rsa_mgf1_md(keyContext, digest?.md) == 1,
                      EVP_PKEY_CTX_set_rsa_pss_saltlen(keyContext, RSA_PSS_SALTLEN_DIGEST) == 1
                else { return false }
            }
            return input.withUnsafeBytes { message in
                EVP_DigestVerify(context, signature, signature.count,
                                 message.baseAddress?.assumingMemoryBound(to: UInt8.self), message.count) == 1
            }
        }
    }
}
