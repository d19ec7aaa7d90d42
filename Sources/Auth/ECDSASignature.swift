import COpenSSL

/// JWS carries an ECDSA signature as the fixed-width concatenation r || s (RFC 7518 §3.4);
/// OpenSSL verifies the DER `ECDSA-Sig-Value` SEQUENCE { r INTEGER, s INTEGER }.
enum ECDSASignature {
    /// The DER form of a raw signature, or nil unless `raw` is exactly two components of
    /// `componentSize` bytes (32 for P-256, 48 for P-384): a shorter or longer signature is
    /// refused rather than guessed at.
    static func der(fromRaw raw: [UInt8], componentSize: Int) -> [UInt8]? {
        guard raw.count == 2 * componentSize else { return nil }
        return discardingOpenSSLErrors { () -> [UInt8]? in
            guard let signature = ECDSA_SIG_new() else { return nil }
            defer { ECDSA_SIG_free(signature) }
            let r = raw.withUnsafeBufferPointer { BN_bin2bn($0.baseAddress, Int32(componentSize), nil) }
            let s = raw.withUnsafeBufferPointer { BN_bin2bn($0.baseAddress! + componentSize, Int32(componentSize), nil) }
            // set0 takes ownership of r and s only when it succeeds.
            guard let r, let s, ECDSA_SIG_set0(signature, r, s) == 1 else {
                BN_free(r)
                BN_free(s)
                return nil
            }
            let length = i2d_ECDSA_SIG(signature, nil)
            guard length > 0 else { return nil }
            var der = [UInt8](repeating: 0, count: Int(length))
            let written = der.withUnsafeMutableBufferPointer { buffer -> Int32 in
                var cursor = buffer.baseAddress
                return i2d_ECDSA_SIG(signature, &cursor)
            }
            return written == length ? der : nil
        }
    }
}
