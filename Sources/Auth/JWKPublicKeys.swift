import COpenSSL

/// Public keys from JWK components, through OpenSSL 3's provider APIs (EVP_PKEY_fromdata with an
/// OSSL_PARAM_BLD; EVP_PKEY_new_raw_public_key for Ed25519) rather than the deprecated RSA/EC_KEY
/// setters.
extension PublicKey {
    /// RSA from the big-endian modulus `n` and exponent `e`.
    static func rsa(modulus: [UInt8], exponent: [UInt8]) throws(KeyError) -> PublicKey {
        let key: OpaquePointer? = discardingOpenSSLErrors {
            guard let n = BN_bin2bn(modulus, Int32(modulus.count), nil) else { return nil }
            defer { BN_free(n) }
            guard let e = BN_bin2bn(exponent, Int32(exponent.count), nil) else { return nil }
            defer { BN_free(e) }
            // The builder keeps pointers to the BIGNUMs until `to_param` copies them: both stay
            // alive (deferred frees) until `fromData` has returned.
            return fromData(type: "RSA") { builder in
                OSSL_PARAM_BLD_push_BN(builder, ParamName.rsaModulus, n) == 1
                    && OSSL_PARAM_BLD_push_BN(builder, ParamName.rsaExponent, e) == 1
            }
        }
        guard let key else { throw .invalidJWK("OpenSSL refused the RSA modulus or exponent") }
        return try PublicKey(taking: key)
    }

    /// EC from the affine coordinates, each exactly the field size (RFC 7518 §6.2.1.2).
    static func ec(curve: KeyKind, x: [UInt8], y: [UInt8]) throws(KeyError) -> PublicKey {
        let (group, size): (StaticString, Int)
        switch curve {
        case .p256: (group, size) = ("prime256v1", 32)
        case .p384: (group, size) = ("secp384r1", 48)
        default: throw .unsupportedKey("EC key on a curve other than P-256 or P-384")
        }
        guard x.count == size, y.count == size else {
            throw .invalidJWK("EC coordinates must be \(size) bytes each")
        }
        // SEC 1 uncompressed point: 0x04 || X || Y.
        let point = [0x04] + x + y
        let key: OpaquePointer? = discardingOpenSSLErrors {
            point.withUnsafeBytes { bytes in
                fromData(type: "EC") { builder in
                    OSSL_PARAM_BLD_push_utf8_string(builder, ParamName.group, cString(group), 0) == 1
                        && OSSL_PARAM_BLD_push_octet_string(builder, ParamName.publicKey, bytes.baseAddress, bytes.count) == 1
                }
            }
        }
        guard let key else { throw .invalidJWK("EC point is not on the curve") }
        return try PublicKey(taking: key)
    }

    /// Ed25519 from its 32-byte public key (RFC 8037 §2).
    static func ed25519(x: [UInt8]) throws(KeyError) -> PublicKey {
        guard x.count == 32 else { throw .invalidJWK("Ed25519 public key must be 32 bytes") }
        let key = discardingOpenSSLErrors { EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nil, x, x.count) }
        guard let key else { throw .invalidJWK("OpenSSL refused the Ed25519 public key") }
        return try PublicKey(taking: key)
    }

    /// Builds the parameters with `push`, then imports them as a public key of `type`. The
    /// parameters are converted (`to_param`) inside this call, while everything `push` pointed
    /// at is still alive.
    private static func fromData(type: String, push: (OpaquePointer) -> Bool) -> OpaquePointer? {
        guard let builder = OSSL_PARAM_BLD_new() else { return nil }
        defer { OSSL_PARAM_BLD_free(builder) }
        guard push(builder), let params = OSSL_PARAM_BLD_to_param(builder) else { return nil }
        defer { OSSL_PARAM_free(params) }
        guard let context = EVP_PKEY_CTX_new_from_name(nil, type, nil) else { return nil }
        defer { EVP_PKEY_CTX_free(context) }
        var key: OpaquePointer?
        guard EVP_PKEY_fromdata_init(context) == 1,
              EVP_PKEY_fromdata(context, &key, publicKeySelection, params) == 1 else {
            EVP_PKEY_free(key)
            return nil
        }
        return key
    }
}

/// EVP_PKEY_PUBLIC_KEY, a macro too compound for Swift to import: the public key and its domain
/// and other parameters (the EC group).
private let publicKeySelection = Int32(OSSL_KEYMGMT_SELECT_DOMAIN_PARAMETERS | OSSL_KEYMGMT_SELECT_OTHER_PARAMETERS
    | OSSL_KEYMGMT_SELECT_PUBLIC_KEY)

/// OSSL_PARAM names (core_names.h). The builder and the OSSL_PARAM array it makes keep the name
/// pointers rather than copies, so they must point at static storage: a `StaticString`'s bytes
/// live as long as the program, unlike the temporary C string Swift makes from a `String`.
private enum ParamName {
    static var rsaModulus: UnsafePointer<CChar> { cString("n") }
    static var rsaExponent: UnsafePointer<CChar> { cString("e") }
    static var group: UnsafePointer<CChar> { cString("group") }
    static var publicKey: UnsafePointer<CChar> { cString("pub") }
}

private func cString(_ string: StaticString) -> UnsafePointer<CChar> {
    UnsafeRawPointer(string.utf8Start).assumingMemoryBound(to: CChar.self)
}
