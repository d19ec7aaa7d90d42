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

    /// The raw r || s form of a DER signature OpenSSL made, each component left-padded to
    /// `componentSize` bytes.
    static func raw(fromDER der: [UInt8], componentSize: Int) -> [UInt8]? {
        discardingOpenSSLErrors { () -> [UInt8]? in
            var cursor: UnsafePointer<UInt8>?
            guard let signature = der.withUnsafeBufferPointer({ buffer -> OpaquePointer? in
                cursor = buffer.baseAddress
                return d2i_ECDSA_SIG(nil, &cursor, buffer.count)
            }) else { return nil }
            defer { ECDSA_SIG_free(signature) }
            var r: OpaquePointer?, s: OpaquePointer?
            ECDSA_SIG_get0(signature, &r, &s)
            var raw = [UInt8](repeating: 0, count: 2 * componentSize)
            let written = raw.withUnsafeMutableBufferPointer { buffer in
                BN_bn2binpad(r, buffer.baseAddress, Int32(componentSize)) + BN_bn2binpad(s, buffer.baseAddress! + componentSize, Int32(componentSize))
            }
            return written == Int32(2 * componentSize) ? raw : nil
        }
    }
}
