import COpenSSL

/// An OpenSSL public key (EVP_PKEY) that this object owns and frees.
///
/// `@unchecked Sendable`: the key is never modified after `init`, and OpenSSL 3 allows one
/// EVP_PKEY to be used for verification from many threads at once, each with its own
/// EVP_MD_CTX (openssl-threads(7)).
final class PublicKey: @unchecked Sendable {
    let pointer: OpaquePointer
    let kind: KeyKind
    /// The key size in bits (the modulus for RSA), for descriptions.
    let bits: Int

    /// Takes ownership of `pointer`: it is freed in deinit, or at once when the key is refused.
    init(taking pointer: OpaquePointer) throws(KeyError) {
        do {
            kind = try discardingOpenSSLErrors { () throws(KeyError) in try PublicKey.kind(of: pointer) }
        } catch {
            EVP_PKEY_free(pointer)
            throw error
        }
        self.pointer = pointer
        self.bits = Int(EVP_PKEY_get_bits(pointer))
    }

    deinit { EVP_PKEY_free(pointer) }

    /// What a key (public, or private: its public half decides) may verify.
    static func kind(of pointer: OpaquePointer) throws(KeyError) -> KeyKind {
        switch EVP_PKEY_get_base_id(pointer) {
        case EVP_PKEY_RSA:
            let bits = Int(EVP_PKEY_get_bits(pointer))
            guard bits >= 2048 else { throw .weakKey("RSA modulus of \(bits) bits; at least 2048 are required") }
            return .rsa
        case EVP_PKEY_EC:
            guard let curve = curve(of: pointer) else {
                throw .unsupportedKey("EC key on a curve other than P-256 or P-384")
            }
            // Decoding already refuses points off the curve; the full public check also catches
            // the point at infinity and points outside the prime-order subgroup.
            guard passesPublicCheck(pointer) else { throw .invalidJWK("EC public key fails OpenSSL's public key check") }
            return curve
        case EVP_PKEY_ED25519:
            return .ed25519
        default:
            throw .unsupportedKey("key type is not RSA, EC P-256/P-384 or Ed25519")
        }
    }

    private static func curve(of pointer: OpaquePointer) -> KeyKind? {
        var name = [CChar](repeating: 0, count: 64)
        var length = 0
        guard EVP_PKEY_get_group_name(pointer, &name, name.count, &length) == 1 else { return nil }
        switch String(decoding: name.prefix(length).map { UInt8(bitPattern: $0) }, as: UTF8.self) {
        case "prime256v1", "P-256", "secp256r1": return .p256
        case "secp384r1", "P-384": return .p384
        default: return nil
        }
    }

    private static func passesPublicCheck(_ pointer: OpaquePointer) -> Bool {
        guard let context = EVP_PKEY_CTX_new_from_pkey(nil, pointer, nil) else { return false }
        defer { EVP_PKEY_CTX_free(context) }
        return EVP_PKEY_public_check(context) == 1
    }
}
